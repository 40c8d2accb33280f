// Package cistatus collects the CI of every commit that landed on a branch
// in a window — the check runs, commit statuses and GitHub Actions workflow
// runs on it — and the workflow runs that failed on the branch, and judges
// them: each landed commit had CI and all of it (or the required checks and
// workflows) succeeded; each failed run was re-run green on its commit; the
// repository has CI at all; the share of green commits. It is evidence for
// SOC 2 CC8.1 and ISO/IEC 27001 A.8.32 / A.8.29 (testing in development and
// acceptance).
//
// The raw facts (facts.go) keep what the API said, byte for byte, with the
// queries that produced the population; the judgement (evaluate.go) is a
// pure function of those facts and the policy, so an auditor can
// re-evaluate them (EvaluateFacts).
package cistatus

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/parallel"
)

const (
	// Name is the collector's registered name.
	Name = "ci-status"
	// Version is recorded in the evidence; bump it when the facts or the
	// judgement change.
	Version = "1.2.0"
)

// SampleConfig is a commented policy section holding every key and its
// default.
//
//go:embed sample.yaml
var SampleConfig string

// Collector is the ci-status collector.
type Collector struct {
	gh          *githubapi.Client
	log         *slog.Logger
	now         func() time.Time
	concurrency int
}

var _ collectors.Collector = (*Collector)(nil)

// New builds the collector.
func New(d collectors.Deps) collectors.Collector {
	return &Collector{gh: d.GitHub, log: d.Log(Name), now: d.Clock(), concurrency: d.GitHub.Concurrency()}
}

// Info describes the collector for registration.
func Info() collectors.Info {
	return collectors.Info{
		Name:        Name,
		Description: "the CI of every commit that landed on a branch in the window, and the workflow runs that failed on it",
		New:         New,
	}
}

// Name implements collectors.Collector.
func (c *Collector) Name() string { return Name }

// Version implements collectors.Collector.
func (c *Collector) Version() string { return Version }

// PointInTime implements collectors.PointInTime: the facts are the window's
// history — the commits that landed and the runs created in it. (Their
// checks are read as they stand at collection time, which the facts
// record: a check still running then is pending.)
func (c *Collector) PointInTime() bool { return false }

// NewPolicy implements collectors.Collector: a *Policy holding the defaults.
func (c *Collector) NewPolicy() any { return NewPolicy() }

// Validate implements collectors.Collector. It does not touch the network.
func (c *Collector) Validate(req collectors.Request) error {
	_, err := validate(req)
	return err
}

func validate(req collectors.Request) (*Policy, error) {
	return collectors.ValidateWindowed[Policy](req)
}

// Collect implements collectors.Collector. A commit or run listing GitHub
// withholds (403, 404) makes that repository's population unknown: a
// not_verifiable finding and an incomplete result — but a repository
// without commits (409 "Git Repository is empty.") is known to be empty, and
// a branch named with --branch that GET …/branches/{branch} says is not
// found is missing (not_verifiable, no permission problem). Any other
// listing failure (null where a list belongs included), or a cancelled
// context, fails the collection. A commit, run or branch head whose own
// reads fail after retries makes what needed them not_verifiable, naming
// the failure, and the result incomplete.
func (c *Collector) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	p, err := validate(req)
	if err != nil {
		return nil, err
	}
	if c.gh == nil {
		return nil, errors.New("ci status: no GitHub client")
	}
	start := c.gh.Stats.Requests()
	w := req.Window
	w.Start, w.End = w.Start.UTC(), w.End.UTC()
	facts := &Facts{Window: w, Queries: []githubapi.Query{}, SkippedArchived: []string{}, Repos: []RepoFacts{}}
	pop, err := collectors.ListRepos(ctx, c.gh, req.Scope)
	facts.Queries = append(facts.Queries, pop.Queries...)
	if err != nil {
		return nil, fmt.Errorf("ci status: %w", err)
	}
	facts.SkippedArchived = append(facts.SkippedArchived, pop.SkippedArchived...)
	r := &run{c: c, g: &gatherer{gh: c.gh}, p: p, facts: facts, branches: req.Scope.Branches}
	if err := r.collect(ctx, pop.Repos); err != nil {
		return nil, err
	}
	// The checks are judged as they stood when the last of them was read.
	facts.CollectedAt = c.now().UTC()

	findings, unread := judgeFacts(*facts, *p)
	res := &collectors.Result{Facts: facts, Findings: findings}
	res.Targets = collectors.Targets(res.Findings)
	res.Incomplete = incomplete(facts.Repos, res.Findings, unread)
	res.Requests = c.gh.Stats.Requests() - start
	commits := 0
	for _, rf := range facts.Repos {
		commits += len(rf.Commits)
	}
	c.log.Info("collected", "repos", len(facts.Repos), "commits", commits,
		"status", evidence.Overall(res.Findings), "requests", res.Requests)
	return res, nil
}

// run is one collection's working state.
type run struct {
	c        *Collector
	g        *gatherer
	p        *Policy
	facts    *Facts
	branches []string
}

// repoRun is one repository's working state.
type repoRun struct {
	owner, name string
	facts       RepoFacts
	fatal       error
}

// collect reads every repository in three rounds, each spread over a
// bounded pool: the listings; then each commit's checks and the earlier
// attempts of re-run runs; then what the listings could not decide (the
// runs of single commits, the head of branches without visible CI).
func (r *run) collect(ctx context.Context, jobs []collectors.ScopedRepo) error {
	n := r.c.concurrency
	interrupted := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ci status collection interrupted: %w", err)
		}
		return nil
	}
	repos := parallel.Map(ctx, n, jobs, r.list)
	if err := interrupted(); err != nil {
		return err
	}
	var errs []error
	for _, rr := range repos {
		if rr.fatal != nil {
			errs = append(errs, rr.fatal)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ci status: the population is not known: %w", err)
	}

	// Round 2: each commit's checks, each re-run's earlier attempts.
	var tasks []func(context.Context)
	for _, rr := range repos {
		if rr.facts.Status != StatusRead {
			continue
		}
		for i := range rr.facts.Commits {
			cf := &rr.facts.Commits[i]
			tasks = append(tasks, func(ctx context.Context) { r.g.readCommit(ctx, rr.owner, rr.name, cf) })
		}
		for _, b := range rr.facts.Branches {
			if b.Runs == nil {
				continue
			}
			for i := range b.Runs.Runs {
				run := &b.Runs.Runs[i]
				if !r.facts.Window.Contains(run.CreatedAt) || !r.needsAttempts(*run) {
					continue
				}
				tasks = append(tasks, func(ctx context.Context) {
					for k := max(1, run.RunAttempt-maxAttempts); k < run.RunAttempt; k++ {
						run.Attempts = append(run.Attempts, r.g.readAttempt(ctx, rr.owner, rr.name, run.ID, k))
					}
				})
			}
		}
	}
	runTasks(ctx, n, tasks)
	if err := interrupted(); err != nil {
		return err
	}

	// Round 3: lookups and head probes.
	tasks = nil
	for _, rr := range repos {
		if rr.facts.Status != StatusRead {
			continue
		}
		shas := lookupsNeeded(rr.facts, r.p, r.facts.Window)
		rr.facts.Lookups = make([]Lookup, len(shas))
		for i, sha := range shas {
			lk := &rr.facts.Lookups[i]
			tasks = append(tasks, func(ctx context.Context) { *lk = r.g.lookupRuns(ctx, rr.owner, rr.name, sha) })
		}
		if needsProbe(rr.facts) {
			for i := range rr.facts.Branches {
				b := &rr.facts.Branches[i]
				if b.Missing {
					continue
				}
				tasks = append(tasks, func(ctx context.Context) { b.Head = r.g.probeHead(ctx, rr.owner, rr.name, b.Branch) })
			}
		}
	}
	runTasks(ctx, n, tasks)
	if err := interrupted(); err != nil {
		return err
	}

	for _, rr := range repos {
		r.facts.Repos = append(r.facts.Repos, rr.facts)
	}
	slices.SortFunc(r.facts.Repos, func(a, b RepoFacts) int {
		return collectors.CompareFold(a.Repo, b.Repo)
	})
	return nil
}

// runTasks runs tasks with at most n at once.
func runTasks(ctx context.Context, n int, tasks []func(context.Context)) {
	parallel.Map(ctx, n, tasks, func(ctx context.Context, t func(context.Context)) struct{} {
		t(ctx)
		return struct{}{}
	})
}

// needsAttempts reports whether a run's earlier attempts are read: it was
// re-run, and its latest attempt did not fail, so a failed earlier attempt
// would otherwise go unseen.
func (r *run) needsAttempts(run Run) bool {
	return run.RunAttempt > 1 && !(run.Status == "completed" && r.p.failedRun(run.Conclusion))
}

// list reads one repository's listings: its commits, workflows and runs.
func (r *run) list(ctx context.Context, j collectors.ScopedRepo) *repoRun {
	info := j.Repo
	rr := &repoRun{owner: info.Owner, name: info.Name}
	rr.facts = RepoFacts{Repo: info.FullName(), Status: StatusRead, Branches: []BranchFacts{}, Commits: []CommitFacts{}, Lookups: []Lookup{}}
	if j.Lookup {
		got, err := r.c.gh.GetRepo(ctx, info.Owner, info.Name)
		if err != nil {
			status := githubapi.HTTPStatus(err)
			if status == http.StatusNotFound || status == http.StatusForbidden {
				rr.unreadable(fmt.Sprintf("GET /repos/%s: GitHub answered %d %s; the repository does not exist or the token cannot see it (it needs %s)",
					info.FullName(), status, githubapi.Message(err), githubapi.PermMetadata))
				return rr
			}
			rr.fatal = err
			return rr
		}
		info = got
		rr.owner, rr.name = got.Owner, got.Name
		rr.facts.Repo = got.FullName()
	}
	branches := r.branches
	if len(branches) == 0 {
		if info.DefaultBranch == "" {
			rr.fatal = fmt.Errorf("GitHub reported no default branch for %s", info.FullName())
			return rr
		}
		branches = []string{info.DefaultBranch}
	}
	for _, b := range collectors.SortedUnique(branches) {
		rr.facts.Branches = append(rr.facts.Branches, BranchFacts{Branch: b, Listed: []ListedCommit{}})
	}

	w := r.facts.Window
	commits := map[string]int{}
	for i := range rr.facts.Branches {
		b := &rr.facts.Branches[i]
		l, items, err := r.g.listCommits(ctx, rr.owner, rr.name, b.Branch, w.Start, w.End)
		b.CommitQuery = l
		if err != nil {
			var le *collectors.ListError
			switch {
			case errors.As(err, &le) && emptyRepository(le.Call):
				// The repository has no commit at all: nothing landed on any
				// branch, and there is nothing else to read.
				l.Stop = fmt.Sprintf("GitHub answered %d %s: the repository has no commit", le.Call.HTTPStatus, le.Call.Message)
				rr.empty(le.Call)
				return rr
			case errors.As(err, &le) && le.Withheld():
				reason := collectors.WithheldReason(le.Call, githubapi.PermContents)
				if le.Call.HTTPStatus == http.StatusNotFound && len(r.branches) > 0 {
					// A branch named with --branch may not exist in every
					// repository of the scope: ask (one request).
					check := r.g.checkBranch(ctx, rr.owner, rr.name, b.Branch)
					b.BranchCheck = &check
					if branchMissing(check) {
						b.Missing = true
						l.Stop = fmt.Sprintf("GitHub answered %d; %s answered %d %s: the branch does not exist", le.Call.HTTPStatus, check.Request, check.HTTPStatus, check.Message)
						continue
					}
					reason += "; " + branchCheckNote(check)
				}
				rr.unreadable(reason)
				return rr
			}
			rr.fatal = err
			return rr
		}
		for _, it := range items {
			lc := ListedCommit{SHA: it.SHA, CommittedAt: it.committedAt(), Disposition: InWindow}
			if lc.CommittedAt != nil && !w.Contains(*lc.CommittedAt) {
				// GitHub's until is inclusive; the window's end is not.
				lc.Disposition = OutsideWindow
			}
			b.Listed = append(b.Listed, lc)
			if lc.Disposition != InWindow {
				continue
			}
			if k, ok := commits[it.SHA]; ok {
				cf := &rr.facts.Commits[k]
				if !slices.Contains(cf.Branches, b.Branch) {
					cf.Branches = append(cf.Branches, b.Branch)
				}
				continue
			}
			msg, _, _ := strings.Cut(it.Commit.Message, "\n")
			commits[it.SHA] = len(rr.facts.Commits)
			rr.facts.Commits = append(rr.facts.Commits, CommitFacts{SHA: it.SHA, Branches: []string{b.Branch},
				CommittedAt: lc.CommittedAt, Message: msg, Checks: []CheckResult{}, Unread: []Unread{}})
		}
	}
	slices.SortStableFunc(rr.facts.Commits, func(a, b CommitFacts) int {
		return cmp.Or(compareTimes(a.CommittedAt, b.CommittedAt), cmp.Compare(a.SHA, b.SHA))
	})

	if !slices.ContainsFunc(rr.facts.Branches, func(b BranchFacts) bool { return !b.Missing }) {
		// None of the branches exists: nothing ran on them.
		return rr
	}
	wf, err := r.g.readWorkflows(ctx, rr.owner, rr.name)
	rr.facts.Workflows = wf
	if err != nil {
		rr.fatal = err
		return rr
	}
	for i := range rr.facts.Branches {
		b := &rr.facts.Branches[i]
		if b.Missing {
			continue
		}
		runs, err := r.g.listRuns(ctx, rr.owner, rr.name, b.Branch, w.Start, w.End)
		b.Runs = runs
		if err != nil {
			rr.fatal = err
			return rr
		}
	}
	return rr
}

// branchCheckNote says what the branch check answered when it did not show
// the branch missing.
func branchCheckNote(check Call) string {
	switch {
	case check.HTTPStatus == http.StatusOK:
		return check.Request + " answered 200: the branch exists"
	case check.HTTPStatus != 0:
		return fmt.Sprintf("%s answered %d %s: whether the branch exists is unknown", check.Request, check.HTTPStatus, check.Message)
	}
	return fmt.Sprintf("%s failed (%s): whether the branch exists is unknown", check.Request, check.Message)
}

// empty marks the repository empty: GitHub answered its commit listing 409
// "Git Repository is empty.".
func (rr *repoRun) empty(call Call) {
	rr.facts.Empty = true
	rr.facts.Reason = fmt.Sprintf("%s: GitHub answered %d %s", call.Request, call.HTTPStatus, call.Message)
	rr.facts.Commits = []CommitFacts{}
	for i := range rr.facts.Branches {
		rr.facts.Branches[i].Listed = []ListedCommit{}
	}
}

// unreadable marks the repository's population unknown.
func (rr *repoRun) unreadable(reason string) {
	rr.facts.Status, rr.facts.Reason = StatusUnreadable, reason
	rr.facts.Commits = []CommitFacts{}
	for i := range rr.facts.Branches {
		rr.facts.Branches[i].Listed = []ListedCommit{}
	}
}

// incomplete names what could not be collected, or "": repositories whose
// commits or runs GitHub would not list, and the findings that needed a
// read that failed after retries (unread, their targets) or are errors.
func incomplete(repos []RepoFacts, findings []evidence.Finding, unread []string) string {
	var unknown, runs []string
	for _, r := range repos {
		if r.Status != StatusRead {
			unknown = append(unknown, r.Repo)
			continue
		}
		for _, b := range r.Branches {
			if b.Runs != nil && b.Runs.Status != StatusRead {
				runs = append(runs, r.Repo+"@"+b.Branch+" ("+b.Runs.Status+")")
			}
		}
	}
	var failed []string
	for _, f := range findings {
		if f.Status == evidence.StatusError || slices.Contains(unread, f.Target) {
			failed = append(failed, strings.TrimPrefix(f.Target, "github.com/"))
		}
	}
	var parts []string
	if len(unknown) > 0 {
		parts = append(parts, "commits unknown for "+collectors.Named(unknown))
	}
	if len(runs) > 0 {
		parts = append(parts, "workflow runs unknown for "+collectors.Named(runs))
	}
	if len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d findings could not be collected: %s", len(failed), len(findings), collectors.Named(failed)))
	}
	return strings.Join(parts, "; ")
}
