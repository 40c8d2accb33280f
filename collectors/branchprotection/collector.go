// Package branchprotection collects the protection of repository branches on
// GitHub — classic branch protection and rulesets — and judges it against a
// policy: evidence that changes reach production branches only through
// review (SOC 2 CC8.1, ISO/IEC 27001 A.8.32).
//
// The raw facts (facts.go) keep what the API said, byte for byte, with a
// normalised view per branch; the judgement (policy.go) is a pure function
// of those facts, so an auditor can re-evaluate them under another policy.
package branchprotection

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

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/parallel"
)

const (
	// Name is the collector's registered name.
	Name = "branch-protection"
	// Version is recorded in the evidence; bump it when the facts or the
	// judgement change.
	Version = "1.1.0"
	// NotRead marks a source a branch's collection never reached.
	NotRead = "not_read"
)

// SampleConfig is a commented policy section holding every key and its
// default.
//
//go:embed sample.yaml
var SampleConfig string

// Collector is the branch-protection collector.
type Collector struct {
	gh          *githubapi.Client
	log         *slog.Logger
	concurrency int
}

var _ collectors.Collector = (*Collector)(nil)

// New builds the collector.
func New(d collectors.Deps) collectors.Collector {
	return &Collector{gh: d.GitHub, log: d.Log(Name), concurrency: d.GitHub.Concurrency()}
}

// Info describes the collector for registration.
func Info() collectors.Info {
	return collectors.Info{
		Name:        Name,
		Description: "branch protection and rulesets of GitHub repositories, judged against a policy",
		New:         New,
	}
}

// Name implements collectors.Collector.
func (c *Collector) Name() string { return Name }

// Version implements collectors.Collector.
func (c *Collector) Version() string { return Version }

// PointInTime implements collectors.PointInTime: protection settings are read
// as they are at collection time; GitHub keeps no history of them here.
func (c *Collector) PointInTime() bool { return true }

// NewPolicy implements collectors.Collector: a *Policy holding the defaults.
func (c *Collector) NewPolicy() any { return NewPolicy() }

// Validate implements collectors.Collector. It does not touch the network.
func (c *Collector) Validate(req collectors.Request) error {
	_, err := validate(req)
	return err
}

func validate(req collectors.Request) (*Policy, error) {
	if err := req.Scope.Validate(); err != nil {
		return nil, err
	}
	return collectors.PolicyOf[Policy](req.Policy)
}

// Collect implements collectors.Collector. A branch whose reads failed after
// retries is a not_verifiable finding naming the failure (fail if what was
// read already fails a rule) and makes the result incomplete; a failed
// organisation listing or a cancelled context fails the collection.
func (c *Collector) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	p, err := validate(req)
	if err != nil {
		return nil, err
	}
	if c.gh == nil {
		return nil, errors.New("branch protection: no GitHub client")
	}
	start := c.gh.Stats.Requests()
	facts := &Facts{Queries: []githubapi.Query{}, SkippedArchived: []string{}, Branches: []BranchFacts{}}
	pop, err := collectors.ListRepos(ctx, c.gh, req.Scope)
	facts.Queries = append(facts.Queries, pop.Queries...)
	if err != nil {
		return nil, fmt.Errorf("branch protection: %w", err)
	}
	for i, org := range collectors.UniqueFold(req.Scope.Orgs) {
		q := pop.Queries[i]
		c.log.Debug("listed organisation", "org", org, "repos", q.Items, "pages", q.Pages)
	}
	facts.SkippedArchived = append(facts.SkippedArchived, pop.SkippedArchived...)
	facts.Branches = c.gather(ctx, pop.Repos, req.Scope.Branches)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("branch protection collection interrupted: %w", err)
	}
	res := &collectors.Result{Facts: facts, Targets: []string{}, Findings: []evidence.Finding{}}
	for _, bf := range facts.Branches {
		res.Targets = append(res.Targets, bf.Target())
		res.Findings = append(res.Findings, Evaluate(bf, *p))
	}
	res.Incomplete = incomplete(facts.Branches)
	res.Requests = c.gh.Stats.Requests() - start
	c.log.Info("collected", "branches", len(facts.Branches), "skipped_archived", len(facts.SkippedArchived),
		"status", evidence.Overall(res.Findings), "requests", res.Requests)
	return res, nil
}

// gather reads every job's branches with a bounded pool of workers. The
// result is sorted by target, whatever the order the workers finished in.
func (c *Collector) gather(ctx context.Context, jobs []collectors.ScopedRepo, branches []string) []BranchFacts {
	g := newGatherer(c.gh)
	results := parallel.Map(ctx, c.concurrency, jobs, func(ctx context.Context, j collectors.ScopedRepo) []BranchFacts {
		return c.repo(ctx, g, j, branches)
	})
	out := []BranchFacts{}
	for _, r := range results {
		out = append(out, r...)
	}
	slices.SortFunc(out, func(a, b BranchFacts) int {
		return cmp.Or(cmp.Compare(a.Target(), b.Target()), cmp.Compare(a.Repo, b.Repo))
	})
	return out
}

// repo reads the branches of one repository: the branches given, or its
// default branch.
func (c *Collector) repo(ctx context.Context, g *gatherer, j collectors.ScopedRepo, branches []string) []BranchFacts {
	r := j.Repo
	log := c.log.With("repo", r.FullName())
	if j.Lookup {
		info, err := c.gh.GetRepo(ctx, r.Owner, r.Name)
		if err != nil {
			log.Warn("could not read the repository", "err", err)
			return []BranchFacts{notCollected(r, "", lookupError(r, err))}
		}
		r = info
	}
	names := branches
	if len(names) == 0 {
		if r.DefaultBranch == "" {
			return []BranchFacts{notCollected(r, "", "GitHub reported no default branch for "+r.FullName())}
		}
		names = []string{r.DefaultBranch}
	}
	var out []BranchFacts
	for _, b := range sortedUnique(slices.Clone(names)) {
		var isDefault *bool
		if r.DefaultBranch != "" {
			isDefault = ptr(b == r.DefaultBranch)
		}
		bf := g.branch(ctx, r.Owner, r.Name, b, isDefault)
		if bf.Error != "" {
			log.Warn("could not collect branch", "branch", b, "err", bf.Error)
		} else {
			log.Debug("collected branch", "branch", b, "classic", bf.View.Classic, "rules", bf.View.Rules, "sources", len(bf.View.Sources))
		}
		out = append(out, bf)
	}
	return out
}

// notCollected are the facts of a branch that could not be read at all.
func notCollected(r githubapi.RepoInfo, branch, reason string) BranchFacts {
	return BranchFacts{
		Repo: r.FullName(), Branch: branch, Error: reason,
		Classic:  ClassicFacts{Status: NotRead},
		Rules:    RulesFacts{Status: NotRead, Pages: []Call{}},
		Rulesets: []RulesetFacts{},
		View:     View{Classic: NotRead, Rules: NotRead, Sources: []Source{}, Settings: emptySettings()},
	}
}

// lookupError describes a failed repository lookup without the API host.
func lookupError(r githubapi.RepoInfo, err error) string {
	req := "GET /repos/" + r.FullName()
	status := githubapi.HTTPStatus(err)
	switch {
	case status == http.StatusNotFound || status == http.StatusForbidden:
		return fmt.Sprintf("%s: GitHub %s: the repository does not exist or the token cannot see it (it needs %s)",
			req, answered(status, githubapi.Message(err)), `"Metadata: read"; classic token: repo scope for a private repository`)
	case status != 0:
		return fmt.Sprintf("%s: GitHub %s", req, answered(status, githubapi.Message(err)))
	}
	return err.Error()
}

// incomplete names the branches that could not be collected, or "".
func incomplete(bs []BranchFacts) string {
	var names []string
	for _, b := range bs {
		if b.Error != "" {
			names = append(names, strings.TrimPrefix(b.Target(), "github.com/"))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d branches could not be collected: %s", len(names), len(bs), collectors.Named(names))
}
