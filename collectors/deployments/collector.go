// Package deployments collects every production deployment of a window —
// GitHub Deployments of the repositories in scope, Cloudflare Workers
// deployments and Cloudflare Pages deployments configured in the policy —
// and judges each: it deploys a commit on its repository's default branch,
// brought there by a change merge-activity judges approved (the tracing is
// merge-activity's own: mergeactivity.JudgeCommit). Failed deployments and
// rollbacks are findings too. It is the deployment evidence of SOC 2 CC8.1
// and ISO/IEC 27001 A.8.32 / A.8.31.
//
// The raw facts (facts.go) keep what the APIs said, byte for byte; the
// judgement (evaluate.go) is a pure function of those facts, the policy and
// the collection time (EvaluateFacts).
package deployments

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/parallel"
)

const (
	// Name is the collector's registered name.
	Name = "deployments"
	// Version is recorded in the evidence; bump it when the facts or the
	// judgement change.
	Version = "1.2.0"
)

// SampleConfig is a commented policy section holding every key and its
// default.
//
//go:embed sample.yaml
var SampleConfig string

// Collector is the deployments collector.
type Collector struct {
	gh          *githubapi.Client
	cf          *cfapi.Client
	log         *slog.Logger
	now         func() time.Time
	concurrency int
}

var _ collectors.Collector = (*Collector)(nil)

// New builds the collector.
func New(d collectors.Deps) collectors.Collector {
	return &Collector{gh: d.GitHub, cf: d.Cloudflare, log: d.Log(Name), now: d.Clock(), concurrency: d.GitHub.Concurrency()}
}

// Info describes the collector for registration.
func Info() collectors.Info {
	return collectors.Info{
		Name:        Name,
		Description: "every production deployment in the window (GitHub Deployments, Cloudflare Workers and Pages), each traced to an approved change on the default branch",
		New:         New,
	}
}

// Name implements collectors.Collector.
func (c *Collector) Name() string { return Name }

// Version implements collectors.Collector.
func (c *Collector) Version() string { return Version }

// PointInTime implements collectors.PointInTime: the facts are the window's
// deployments, not a snapshot.
func (c *Collector) PointInTime() bool { return false }

// NewPolicy implements collectors.Collector: a *Policy holding the defaults.
func (c *Collector) NewPolicy() any { return NewPolicy() }

// Validate implements collectors.Collector. It does not touch the network.
func (c *Collector) Validate(req collectors.Request) error {
	_, err := c.validate(req)
	return err
}

func (c *Collector) validate(req collectors.Request) (*Policy, error) {
	p, err := collectors.PolicyOf[Policy](req.Policy)
	if err != nil {
		return nil, err
	}
	if p.GitHub.Enabled || len(req.Scope.Orgs)+len(req.Scope.Repos) > 0 {
		if err := req.Scope.Validate(); err != nil {
			return nil, err
		}
	}
	if len(req.Scope.Branches) > 0 {
		return nil, errors.New("--branch does not apply: deployments are traced to each repository's default branch")
	}
	if err := req.Window.Validate(); err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	if p.Cloudflare.enabled() && !c.cf.HasToken() {
		return nil, fmt.Errorf("the policy lists Cloudflare workers or pages but there is no Cloudflare API token: set %s", cfapi.TokenEnv)
	}
	return p, nil
}

// Collect implements collectors.Collector. A source whose listing is
// withheld (403, 404) is not_verifiable and makes the result incomplete; any
// other listing failure, or a cancelled context, fails the collection: a
// population that may be missing deployments is not evidence. A deployed
// commit whose repository, comparison or trace could not be read after
// retries makes the deployment not_verifiable, naming the failure, and the
// result incomplete.
func (c *Collector) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	p, err := c.validate(req)
	if err != nil {
		return nil, err
	}
	if c.gh == nil {
		return nil, errors.New("deployments: no GitHub client")
	}
	ghStart := c.gh.Stats.Requests()
	var cfStart int64
	if c.cf != nil {
		cfStart = c.cf.Stats.Requests()
	}
	now := c.now().UTC()
	w := req.Window
	w.Start, w.End = w.Start.UTC(), w.End.UTC()
	facts := &Facts{
		Window: w, CollectedAt: now, LookbackStart: w.Start.Add(-p.lookback()),
		Queries: []githubapi.Query{}, SkippedArchived: []string{},
		GitHub: []RepoFacts{}, Workers: []ScriptFacts{}, Pages: []ProjectFacts{},
		Repos: []RepoLookup{}, Compares: []CompareFacts{}, Traces: []mergeactivity.Trace{},
	}
	r := &run{c: c, p: p, facts: facts}
	if err := r.sources(ctx, req.Scope); err != nil {
		return nil, err
	}
	if err := r.trace(ctx); err != nil {
		return nil, err
	}
	facts.Population = NewPopulation(*facts)

	findings, unread := judgeFacts(*facts, *p)
	res := &collectors.Result{Facts: facts, Findings: findings}
	res.Targets = collectors.Targets(res.Findings)
	res.Incomplete = incomplete(*facts, res.Findings, unread)
	res.Requests = c.gh.Stats.Requests() - ghStart
	if c.cf != nil {
		res.Requests += c.cf.Stats.Requests() - cfStart
	}
	c.log.Info("collected", "deployments", facts.Population.Count, "status", evidence.Overall(res.Findings), "requests", res.Requests)
	return res, nil
}

// run is one collection's working state.
type run struct {
	c     *Collector
	p     *Policy
	facts *Facts
}

// sources reads every source's deployments.
func (r *run) sources(ctx context.Context, scope collectors.Scope) error {
	n := r.c.concurrency
	var errs []error
	if r.p.GitHub.Enabled {
		pop, err := collectors.ListRepos(ctx, r.c.gh, scope)
		r.facts.Queries = append(r.facts.Queries, pop.Queries...)
		if err != nil {
			return fmt.Errorf("deployments: %w", err)
		}
		r.facts.SkippedArchived = append(r.facts.SkippedArchived, pop.SkippedArchived...)
		for _, res := range parallel.Map(ctx, n, pop.Repos, r.githubRepo) {
			r.facts.GitHub = append(r.facts.GitHub, res.facts)
			errs = append(errs, res.fatal)
		}
	}
	for _, res := range parallel.Map(ctx, n, r.p.Cloudflare.Workers, r.workerScript) {
		r.facts.Workers = append(r.facts.Workers, res.facts)
		errs = append(errs, res.fatal)
	}
	for _, res := range parallel.Map(ctx, n, r.p.Cloudflare.Pages, r.pagesProject) {
		r.facts.Pages = append(r.facts.Pages, res.facts)
		errs = append(errs, res.fatal)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deployments collection interrupted: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deployments: the population is not known: %w", err)
	}
	slices.SortFunc(r.facts.GitHub, func(a, b RepoFacts) int {
		return collectors.CompareFold(a.Repo, b.Repo)
	})
	return nil
}

// commit is one deployed commit to trace.
type commit struct {
	repo, sha string
}

// trace reads, for every commit a production deployment of the window
// deploys, whether it is on its repository's default branch (compare), and
// if so merge-activity's trace of the change that brought it there. Each
// commit is compared once (an abbreviated SHA that abbreviates a deployed
// full one, under the full one) and traced once, under its full SHA.
func (r *run) trace(ctx context.Context) error {
	commits, _ := deployedCommits(*r.facts, *r.p)

	// Default branches: from the organisation listings, else read.
	branches := map[string]string{}
	for _, rf := range r.facts.GitHub {
		if rf.DefaultBranch != "" {
			branches[strings.ToLower(rf.Repo)] = rf.DefaultBranch
		}
	}
	var lookups []string
	for _, c := range commits {
		k := strings.ToLower(c.repo)
		if _, ok := branches[k]; !ok && !slices.Contains(lookups, k) {
			lookups = append(lookups, k)
			branches[k] = ""
		}
	}
	repoOf := map[string]string{}
	for _, c := range commits {
		repoOf[strings.ToLower(c.repo)] = c.repo
	}
	for _, rl := range parallel.Map(ctx, r.c.concurrency, lookups, func(ctx context.Context, k string) RepoLookup {
		rl, err := lookupRepo(ctx, r.c.gh, repoOf[k])
		if err != nil {
			r.c.log.Debug("repository lookup failed", "repo", repoOf[k], "err", err)
		}
		return rl
	}) {
		r.facts.Repos = append(r.facts.Repos, rl)
		branches[strings.ToLower(rl.Repo)] = rl.DefaultBranch
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deployments collection interrupted: %w", err)
	}

	compares := parallel.Map(ctx, r.c.concurrency, commits, func(ctx context.Context, c commit) CompareFacts {
		base := branches[strings.ToLower(c.repo)]
		if base == "" {
			return CompareFacts{}
		}
		owner, name, _ := strings.Cut(c.repo, "/")
		cf := CompareFacts{Repo: c.repo, Base: base, SHA: c.sha}
		call, _, err := r.c.gh.GetRaw(ctx, fmt.Sprintf("repos/%s/%s/compare/%s...%s", esc(owner), esc(name), esc(base), esc(c.sha)))
		cf.Call = call
		if err == nil {
			cf.Status = compareStatus(call.Body)
		}
		return cf
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deployments collection interrupted: %w", err)
	}
	type toTrace struct {
		repo, base, sha string
	}
	var traces []toTrace
	seen := map[string]bool{}
	for _, cf := range compares {
		if cf.Repo == "" {
			continue
		}
		r.facts.Compares = append(r.facts.Compares, cf)
		if cf.Status != "identical" && cf.Status != "behind" {
			continue
		}
		full := headSHA(cf)
		if k := key(cf.Repo, full); !seen[k] {
			seen[k] = true
			traces = append(traces, toTrace{repo: cf.Repo, base: cf.Base, sha: full})
		}
	}
	results := parallel.Map(ctx, r.c.concurrency, traces, func(ctx context.Context, c toTrace) mergeactivity.Trace {
		owner, name, _ := strings.Cut(c.repo, "/")
		t, _, err := mergeactivity.JudgeCommit(ctx, r.c.gh, &r.p.Review, r.facts.CollectedAt, owner, name, c.base, c.sha)
		if err != nil {
			r.c.log.Debug("trace failed", "repo", c.repo, "sha", c.sha, "err", err)
		}
		return t
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deployments collection interrupted: %w", err)
	}
	r.facts.Traces = append(r.facts.Traces, results...)
	return nil
}

// compareStatus is a compare's status field, "" when absent.
func compareStatus(body []byte) string {
	var c struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return ""
	}
	return c.Status
}

// allViews are every normalised deployment of the facts, by source, in
// order.
func allViews(f Facts) []Deployment {
	var out []Deployment
	for _, rf := range f.GitHub {
		for _, d := range rf.Deployments {
			out = append(out, d.View)
		}
	}
	for _, sf := range f.Workers {
		out = append(out, sf.Views...)
	}
	for _, pf := range f.Pages {
		out = append(out, pf.Views...)
	}
	return out
}

// NewPopulation is the window's production deployments over every source:
// one line per deployment,
//
//	TARGET ENVIRONMENT CREATED_AT SHA[+SHA]
//
// sorted bytewise and digested as merge-activity's populations are (the
// sha256 of the lines, each followed by "\n"). SHA is "-" when the code
// names no commit.
func NewPopulation(f Facts) mergeactivity.Population {
	var items []string
	for _, d := range allViews(f) {
		if d.Production && d.InWindow {
			items = append(items, PopulationItem(d))
		}
	}
	return mergeactivity.NewPopulation(items)
}

// PopulationItem is a deployment's line in the population.
func PopulationItem(d Deployment) string {
	var shas []string
	for _, c := range d.Code {
		if c.SHA != "" {
			shas = append(shas, c.SHA)
		} else {
			shas = append(shas, "-")
		}
	}
	if len(shas) == 0 {
		shas = []string{"-"}
	}
	env := d.Environment
	if env == "" {
		env = "-"
	}
	return strings.Join([]string{d.Target, strings.ReplaceAll(env, " ", "_"), d.CreatedAt.UTC().Format(time.RFC3339), strings.Join(shas, "+")}, " ")
}

// incomplete names the sources that could not be read and the deployments
// whose judgement needed a read that failed after retries (unread, their
// targets) or is an error, or "".
func incomplete(f Facts, findings []evidence.Finding, unread []string) string {
	var unknown, failed []string
	for _, rf := range f.GitHub {
		if rf.Status != StatusRead {
			unknown = append(unknown, "github.com/"+rf.Repo)
		}
	}
	var partial []string
	for _, sf := range f.Workers {
		switch sf.Status {
		case StatusRead:
		case StatusPartial:
			p := "Worker " + sf.Script
			if len(sf.Listed) > 0 {
				oldest := slices.MinFunc(sf.Listed, func(a, b Listed) int { return a.CreatedAt.Compare(b.CreatedAt) })
				p += fmt.Sprintf(" (the listing, which Cloudflare does not paginate, reaches back only to deployment %s of %s)", oldest.ID, oldest.CreatedAt.UTC().Format(time.RFC3339))
			}
			partial = append(partial, p)
		default:
			unknown = append(unknown, "Worker "+sf.Script)
		}
	}
	for _, pf := range f.Pages {
		if pf.Status != StatusRead {
			unknown = append(unknown, "Pages project "+pf.Project)
		}
	}
	for _, fd := range findings {
		if fd.Status == evidence.StatusError || slices.Contains(unread, fd.Target) {
			failed = append(failed, fd.Target)
		}
	}
	var parts []string
	if len(unknown) > 0 {
		parts = append(parts, "deployments unknown for "+collectors.Named(unknown))
	}
	if len(partial) > 0 {
		parts = append(parts, "deployments possibly missing for "+collectors.Named(partial))
	}
	if len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d deployments could not be judged: %s", len(failed), collectors.Named(failed)))
	}
	return strings.Join(parts, "; ")
}
