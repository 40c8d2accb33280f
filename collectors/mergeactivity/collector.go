// Package mergeactivity collects every change that reached a branch in a
// window — each pull request merged into it and each commit pushed to it
// without one — and judges each as of its merge: independently approved on
// the merged head, CI green, no bypass, emergency changes reviewed within
// their grace period. It is the population evidence of SOC 2 CC8.1 and
// ISO/IEC 27001 A.8.32 / A.8.25.
//
// The raw facts (facts.go) keep what the API said, byte for byte, with the
// queries that produced the population, its size and digest; the judgement
// (evaluate.go) is a pure function of those facts, the policy and the
// collection time, so an auditor can re-evaluate them (EvaluateFacts).
package mergeactivity

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/parallel"
	"github.com/changeproof/changeproof/schedules"
)

const (
	// Name is the collector's registered name.
	Name = "merge-activity"
	// Version is recorded in the evidence; bump it when the facts or the
	// judgement change.
	Version = "1.2.0"
)

// SampleConfig is a commented policy section holding every key and its
// default.
//
//go:embed sample.yaml
var SampleConfig string

// Collector is the merge-activity collector.
type Collector struct {
	gh          *githubapi.Client
	graphql     bool
	log         *slog.Logger
	now         func() time.Time
	concurrency int
}

var _ collectors.Collector = (*Collector)(nil)

// New builds the collector.
func New(d collectors.Deps) collectors.Collector {
	return &Collector{gh: d.GitHub, graphql: d.GitHub.GraphQL(), log: d.Log(Name), now: d.Clock(), concurrency: d.GitHub.Concurrency()}
}

// Info describes the collector for registration.
func Info() collectors.Info {
	return collectors.Info{
		Name:        Name,
		Description: "every pull request merged and every direct push to a branch in the window, each judged as of its merge",
		New:         New,
	}
}

// Name implements collectors.Collector.
func (c *Collector) Name() string { return Name }

// Version implements collectors.Collector.
func (c *Collector) Version() string { return Version }

// PointInTime implements collectors.PointInTime: the facts are the window's
// history — what merged in it, judged as of each merge — not a snapshot.
// (Only whether an emergency change's grace period is over depends on the
// collection time, which the facts record.)
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

// Collect implements collectors.Collector. A listing GitHub withholds (403,
// 404) makes that repository's population unknown: a not_verifiable finding
// and an incomplete result. Any other listing failure, or a cancelled
// context, fails the collection: a population that may be missing changes
// is not evidence. A change whose own reads fail after retries is a
// not_verifiable finding naming the failure and makes the result
// incomplete (the evidence's status is then error).
func (c *Collector) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	p, err := validate(req)
	if err != nil {
		return nil, err
	}
	if c.gh == nil {
		return nil, errors.New("merge activity: no GitHub client")
	}
	start := c.gh.Stats.Requests()
	now := c.now().UTC()
	w := req.Window
	w.Start, w.End = w.Start.UTC(), w.End.UTC()
	facts := &Facts{
		Window: w, CollectedAt: now, LookbackStart: w.Start.Add(-p.grace()),
		Queries: []githubapi.Query{}, SkippedArchived: []string{}, Repos: []RepoFacts{},
	}
	pop, err := collectors.ListRepos(ctx, c.gh, req.Scope)
	facts.Queries = append(facts.Queries, pop.Queries...)
	if err != nil {
		return nil, fmt.Errorf("merge activity: %w", err)
	}
	facts.SkippedArchived = append(facts.SkippedArchived, pop.SkippedArchived...)
	jobs := pop.Repos
	run := &run{c: c, g: &gatherer{gh: c.gh}, p: p, facts: facts, branches: req.Scope.Branches}
	if err := run.collect(ctx, jobs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("merge activity collection interrupted: %w", err)
	}

	res := &collectors.Result{Facts: facts, Findings: EvaluateFacts(*facts, *p)}
	res.Targets = collectors.Targets(res.Findings)
	res.Incomplete = incomplete(facts.Repos)
	res.Requests = c.gh.Stats.Requests() - start
	c.log.Info("collected", "repos", len(facts.Repos), "changes", facts.Population.Count,
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
	job     collectors.ScopedRepo
	facts   RepoFacts
	fatal   error
	pulls   []pullItem
	commits map[string][]commitItem
	// prs are the pull request changes to read, with their listing items.
	prs   []*ChangeFacts
	items []pullItem
	// candidates are the commits no pull request of the listing accounts
	// for, to ask GitHub about.
	candidates []candidate
	window     schedules.Window
	selection  string
}

type candidate struct {
	owner, name string
	branch      string
	item        commitItem
	// index into facts.BranchCommits.
	index int
	pulls *Source
	// merged are the pull requests merged into the branch that GitHub
	// says brought the commit, with their merge times.
	merged map[int]time.Time
	err    error
}

// collect reads every repository in three rounds, each spread over a
// bounded pool: the listings, then each pull request's own reads, then the
// commits no pull request accounts for.
func (r *run) collect(ctx context.Context, jobs []collectors.ScopedRepo) error {
	n := r.c.concurrency
	repos := parallel.Map(ctx, n, jobs, r.list)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("merge activity collection interrupted: %w", err)
	}
	var errs []error
	for _, rr := range repos {
		if rr.fatal != nil {
			errs = append(errs, rr.fatal)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("merge activity: the population is not known: %w", err)
	}

	type pullJob struct {
		rr *repoRun
		i  int
	}
	var pulls []pullJob
	for _, rr := range repos {
		for i, ch := range rr.prs {
			if item := rr.items[i]; item.graph != nil {
				ch.GraphQL = item.node
				if item.restReason == "" {
					fromGraph(ch, item)
					continue
				}
				ch.RESTReason = item.restReason
			}
			pulls = append(pulls, pullJob{rr, i})
		}
	}
	parallel.Map(ctx, n, pulls, func(ctx context.Context, j pullJob) struct{} {
		r.g.readPull(ctx, j.rr.job.Repo.Owner, j.rr.job.Repo.Name, j.rr.prs[j.i], j.rr.items[j.i])
		return struct{}{}
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("merge activity collection interrupted: %w", err)
	}

	var commits []*candidate
	for _, rr := range repos {
		rr.classifyCommits()
		for i := range rr.candidates {
			commits = append(commits, &rr.candidates[i])
		}
	}
	parallel.Map(ctx, n, commits, func(ctx context.Context, cd *candidate) struct{} {
		cd.pulls, cd.merged, cd.err = r.g.commitPulls(ctx, cd.owner, cd.name, cd.branch, cd.item.SHA)
		return struct{}{}
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("merge activity collection interrupted: %w", err)
	}

	var all []string
	for _, rr := range repos {
		rr.finish()
		r.facts.Repos = append(r.facts.Repos, rr.facts)
		all = append(all, rr.facts.Population.Items...)
	}
	slices.SortFunc(r.facts.Repos, func(a, b RepoFacts) int {
		return collectors.CompareFold(a.Repo, b.Repo)
	})
	r.facts.Population = NewPopulation(all)
	return nil
}

// list reads one repository's listings and decides its pull request
// population.
func (r *run) list(ctx context.Context, j collectors.ScopedRepo) *repoRun {
	rr := &repoRun{job: j, commits: map[string][]commitItem{}, window: r.facts.Window}
	info := j.Repo
	rr.facts = RepoFacts{Repo: info.FullName(), Status: RepoRead, Branches: []string{}, Commits: []Listing{},
		ListedPulls: []ListedPull{}, BranchCommits: []ListedCommit{}, Changes: []ChangeFacts{}}
	log := r.c.log.With("repo", info.FullName())
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
		rr.job.Repo = got
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
	rr.facts.Branches = collectors.SortedUnique(branches)

	w := r.facts.Window
	lookback := r.facts.LookbackStart
	needed := func(updated time.Time) bool { return !updated.Before(w.Start) || updated.After(lookback) }
	type branchCommits struct {
		l   Listing
		cs  []commitItem
		err error
	}
	listCommits := func(ctx context.Context) []branchCommits {
		out := make([]branchCommits, 0, len(rr.facts.Branches))
		for _, b := range rr.facts.Branches {
			l, cs, err := r.g.listCommits(ctx, info.Owner, info.Name, b, w.Start, w.End)
			out = append(out, branchCommits{l, cs, err})
			if err != nil {
				break
			}
		}
		return out
	}
	var listing *Listing
	var items []pullItem
	var err error
	var early chan []branchCommits
	if r.c.graphql {
		// Over GraphQL a repository takes a few requests, so their chain
		// is the wall time: list the branches' commits meanwhile.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		early = make(chan []branchCommits, 1)
		go func() { early <- listCommits(cctx) }()
		listing, items, err = r.g.listPullsGraphQL(ctx, info.Owner, info.Name, needed)
		if err != nil {
			if ctx.Err() != nil {
				rr.fatal = err
				return rr
			}
			// REST tells withheld from failed, repository by repository.
			log.Warn("GraphQL listing failed; listing over REST", "err", err)
			rr.facts.GraphQLFallback = strings.ReplaceAll(err.Error(), "\n", "; ")
		}
	}
	if !r.c.graphql || err != nil {
		listing, items, err = r.g.listPulls(ctx, info.Owner, info.Name, needed)
	}
	rr.facts.Pulls = listing
	if err != nil {
		var le *collectors.ListError
		if errors.As(err, &le) && le.Withheld() {
			rr.unreadable(collectors.WithheldReason(le.Call, githubapi.PermPulls))
			return rr
		}
		rr.fatal = err
		return rr
	}
	log.Debug("listed pull requests", "pages", listing.Pages, "items", listing.Items, "stop", listing.Stop)
	var commits []branchCommits
	if early != nil {
		commits = <-early
	} else {
		commits = listCommits(ctx)
	}
	for i, bc := range commits {
		b, l, cs, err := rr.facts.Branches[i], bc.l, bc.cs, bc.err
		rr.facts.Commits = append(rr.facts.Commits, l)
		if err != nil {
			var le *collectors.ListError
			if errors.As(err, &le) && le.Withheld() {
				rr.unreadable(collectors.WithheldReason(le.Call, githubapi.PermContents))
				return rr
			}
			rr.fatal = err
			return rr
		}
		rr.commits[b] = cs
	}
	rr.classifyPulls(items, r.p, w.Start, w.End, lookback)
	rr.selection = "none: the emergency procedure is off (emergency_label is empty)"
	if r.p.emergencyEnabled() {
		rr.selection = fmt.Sprintf("pull requests into %s labelled %q merged in (%s, %s), whose %s grace period was still open at the window start; from the same listing as the window's pull requests, read back to the look-back start",
			strings.Join(rr.facts.Branches, ", "), r.p.EmergencyLabel, lookback.Format(time.RFC3339), w.Start.Format(time.RFC3339), r.p.EmergencyGrace)
	}
	return rr
}

// unreadable marks the repository's population unknown.
func (rr *repoRun) unreadable(reason string) {
	rr.facts.Status, rr.facts.Reason = RepoUnreadable, reason
	rr.prs, rr.items, rr.commits = nil, nil, map[string][]commitItem{}
}

// classifyPulls decides, for each listed pull request, whether it is in the
// window's population, re-examined, or neither and why.
func (rr *repoRun) classifyPulls(items []pullItem, p *Policy, start, end, lookback time.Time) {
	seen := map[int]bool{}
	for _, it := range items {
		lp := ListedPull{Number: it.Number, Base: it.Base.Ref, UpdatedAt: it.UpdatedAt.UTC(), MergedAt: utcPtr(it.MergedAt)}
		switch {
		case seen[it.Number]:
			// A pull request updated while the listing was paged moves to
			// the front and can be listed twice.
			lp.Disposition = PullDuplicate
		case it.MergedAt == nil:
			lp.Disposition = PullNotMerged
		case !slices.Contains(rr.facts.Branches, it.Base.Ref):
			lp.Disposition = PullOtherBranch
		case !it.MergedAt.Before(end):
			lp.Disposition = PullMergedAfter
		case !it.MergedAt.Before(start):
			lp.Disposition = PullWindow
		case it.MergedAt.After(lookback) && p.emergencyEnabled() && it.hasLabel(p.EmergencyLabel):
			lp.Disposition = PullReexamined
		default:
			lp.Disposition = PullMergedBefore
		}
		seen[it.Number] = true
		rr.facts.ListedPulls = append(rr.facts.ListedPulls, lp)
		if lp.Disposition == PullWindow || lp.Disposition == PullReexamined {
			pop := InWindow
			if lp.Disposition == PullReexamined {
				pop = InReexamined
			}
			ch := &ChangeFacts{Kind: KindPull, Repo: rr.facts.Repo, Branch: it.Base.Ref, Population: pop, Number: it.Number}
			if it.MergeSHA != nil {
				ch.SHA = *it.MergeSHA
			}
			rr.prs = append(rr.prs, ch)
			rr.items = append(rr.items, it)
		}
	}
	rr.pulls = items
}

// classifyCommits accounts for each listed commit through the pull requests
// the listing and their commits give, and leaves the rest as candidates
// to ask GitHub about.
func (rr *repoRun) classifyCommits() {
	if rr.facts.Status != RepoRead {
		return
	}
	type key struct{ branch, sha string }
	merges := map[key][]int{}
	for _, it := range rr.pulls {
		if it.MergedAt != nil && it.MergeSHA != nil && *it.MergeSHA != "" {
			k := key{it.Base.Ref, *it.MergeSHA}
			merges[k] = append(merges[k], it.Number)
		}
	}
	prCommits := map[key][]int{}
	for _, ch := range rr.prs {
		if ch.PR == nil {
			continue
		}
		for _, c := range ch.PR.Commits {
			k := key{ch.Branch, c.SHA}
			prCommits[k] = append(prCommits[k], ch.Number)
		}
	}
	w := rr.window
	for _, b := range rr.facts.Branches {
		for _, it := range rr.commits[b] {
			lc := ListedCommit{SHA: it.SHA, Branch: b, CommittedAt: it.committedAt()}
			k := key{b, it.SHA}
			switch {
			case lc.CommittedAt != nil && !w.Contains(*lc.CommittedAt):
				// GitHub's until is inclusive; the window's end is not.
				lc.Disposition = CommitOutOfWindow
			case len(merges[k]) > 0:
				lc.Disposition, lc.Pulls = CommitMerge, collectors.SortedUnique(merges[k])
			case len(prCommits[k]) > 0:
				lc.Disposition, lc.Pulls = CommitOfPull, collectors.SortedUnique(prCommits[k])
			default:
				rr.candidates = append(rr.candidates, candidate{owner: rr.job.Repo.Owner, name: rr.job.Repo.Name,
					branch: b, item: it, index: len(rr.facts.BranchCommits)})
			}
			rr.facts.BranchCommits = append(rr.facts.BranchCommits, lc)
		}
	}
}

// finish turns the candidates into direct pushes, the pull requests into
// changes, and computes the populations.
func (rr *repoRun) finish() {
	if rr.facts.Status != RepoRead {
		rr.facts.Population = NewPopulation(nil)
		rr.facts.Reexamined = Reexamined{Population: NewPopulation(nil)}
		return
	}
	listed := map[int]bool{}
	for _, it := range rr.pulls {
		listed[it.Number] = true
	}
	missed := map[int]bool{}
	for _, cd := range rr.candidates {
		lc := &rr.facts.BranchCommits[cd.index]
		switch {
		case cd.err == nil && cd.pulls != nil && cd.pulls.Status == SourceRead && len(cd.merged) > 0:
			lc.Disposition, lc.Pulls = CommitAssociated, slices.Sorted(maps.Keys(cd.merged))
			for _, n := range lc.Pulls {
				// A pull request merged in the window that the listing did
				// not give was updated while it was paged (and moved to a
				// page already read): it is in the population, unread.
				if at := cd.merged[n]; rr.window.Contains(at) && !listed[n] && !missed[n] {
					missed[n] = true
					rr.facts.Changes = append(rr.facts.Changes, ChangeFacts{Kind: KindPull, Repo: rr.facts.Repo, Branch: cd.branch,
						Population: InWindow, Number: n, SHA: cd.item.SHA,
						Error: fmt.Sprintf("pull request #%d was merged into %s at %s (GitHub says it brought commit %s) but the listing of pull requests did not give it: it was updated while the listing was paged; collect again",
							n, cd.branch, at.Format(time.RFC3339), shortSHA(cd.item.SHA))})
				}
			}
			continue
		case cd.err == nil && cd.pulls != nil && cd.pulls.Status == SourceRead:
			lc.Disposition = CommitDirectPush
		default:
			lc.Disposition = CommitUndecided
		}
		ch := ChangeFacts{Kind: KindDirectPush, Repo: rr.facts.Repo, Branch: cd.branch, Population: InWindow,
			SHA: cd.item.SHA, Commit: cd.item.raw, CommitPulls: cd.pulls}
		if cd.err != nil {
			ch.Error = strings.ReplaceAll(fmt.Sprintf("asking GitHub which pull request brought commit %s of %s: %v", shortSHA(cd.item.SHA), rr.facts.Repo, cd.err), "\n", "; ")
		} else {
			ch.Push = pushView(cd.item, cd.pulls)
		}
		rr.facts.Changes = append(rr.facts.Changes, ch)
	}
	for _, ch := range rr.prs {
		rr.facts.Changes = append(rr.facts.Changes, *ch)
	}
	slices.SortFunc(rr.facts.Changes, func(a, b ChangeFacts) int {
		return cmp.Or(cmp.Compare(a.Branch, b.Branch), a.when().Compare(b.when()), cmp.Compare(a.Target(), b.Target()), cmp.Compare(a.SHA, b.SHA))
	})
	var window, again []string
	for _, ch := range rr.facts.Changes {
		if ch.Population == InReexamined {
			again = append(again, PopulationItem(ch))
		} else {
			window = append(window, PopulationItem(ch))
		}
	}
	rr.facts.Population = NewPopulation(window)
	rr.facts.Reexamined = Reexamined{Population: NewPopulation(again), Query: rr.facts.Pulls, Selection: rr.selection}
}

// incomplete names the repositories whose population is unknown and the
// changes that could not be collected, or "".
func incomplete(repos []RepoFacts) string {
	var unknown, failed []string
	total := 0
	for _, r := range repos {
		if r.Status != RepoRead {
			unknown = append(unknown, r.Repo)
			continue
		}
		total += len(r.Changes)
		for _, c := range r.Changes {
			if c.Error != "" {
				failed = append(failed, strings.TrimPrefix(c.Target(), "github.com/"))
			}
		}
	}
	var parts []string
	if len(unknown) > 0 {
		parts = append(parts, "population unknown for "+collectors.Named(unknown))
	}
	if len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d changes could not be collected: %s", len(failed), total, collectors.Named(failed)))
	}
	return strings.Join(parts, "; ")
}
