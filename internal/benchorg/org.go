// Package benchorg is a synthetic GitHub organisation for benchmarks and
// fault tests: N repositories, M pull requests merged per repository per
// day with reviews, the check runs and statuses of their heads and merge
// commits, workflow runs, production deployments with statuses, branch
// protection and rulesets, and the merge commits on the default branch —
// all deterministic from a seed, in the payload shapes GitHub documents
// (templates/ holds one item of each, taken from
// testdata/github/sample-org).
//
// An Org answers requests lazily (Org.Body), so an organisation of
// thousands of repositories costs memory only for its small model; Fixture
// builds the same answers as an in-memory ghfake.Fixture for small
// organisations. Server serves an Org the way GitHub does (through
// ghfake's pagination and error bodies) with a latency per request,
// request counts per endpoint, a primary rate-limit budget with GitHub's
// X-RateLimit-* headers, and seeded faults: 502s, connection resets,
// secondary rate limits with Retry-After, slow and always-failing
// endpoints. It answers GitHub's GraphQL API too (gqlfake, from the same
// answers), each query one request with its own budget and faults.
package benchorg

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Config shapes an organisation. Zero values take the defaults named.
type Config struct {
	// Org is the organisation's login (default "bench").
	Org string
	// Repos is the number of repositories (default 10).
	Repos int
	// PRsPerDay is the number of pull requests merged into each
	// repository's default branch per day (default 5).
	PRsPerDay int
	// Days is the number of days of activity (default 1), starting at
	// Start.
	Days int
	// Start is the first day's start (default 2026-11-16T00:00:00Z).
	Start time.Time
	// Seed makes the organisation (authors, reviewers, self-approvals).
	Seed uint64
	// SelfApprovalPercent of the pull requests are approved only by their
	// own author (default 10; negative: none).
	SelfApprovalPercent int
	// DeployEvery: every DeployEvery-th merged pull request is deployed to
	// production (default 5; negative: no deployments).
	DeployEvery int
}

func (c Config) withDefaults() (Config, error) {
	if c.Org == "" {
		c.Org = "bench"
	}
	if c.Repos == 0 {
		c.Repos = 10
	}
	if c.PRsPerDay == 0 {
		c.PRsPerDay = 5
	}
	if c.Days == 0 {
		c.Days = 1
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	}
	if c.SelfApprovalPercent == 0 {
		c.SelfApprovalPercent = 10
	}
	if c.DeployEvery == 0 {
		c.DeployEvery = 5
	}
	switch {
	case c.Repos < 0 || c.PRsPerDay < 0 || c.Days < 0:
		return c, errors.New("benchorg: repos, PRs per day and days must not be negative")
	case c.Repos > 100_000 || c.PRsPerDay*c.Days > 100_000:
		return c, errors.New("benchorg: at most 100,000 repositories and 100,000 pull requests per repository")
	case c.SelfApprovalPercent > 100:
		return c, errors.New("benchorg: self-approval percent above 100")
	}
	return c, nil
}

// Users are the organisation's members: authors and reviewers.
var Users = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}

// Protection kinds of a repository's default branch.
const (
	// ProtectClassic: classic branch protection, no rulesets.
	ProtectClassic = iota
	// ProtectRulesets: rulesets only (the protection endpoint answers 404).
	ProtectRulesets
	// ProtectBoth: classic protection and a ruleset.
	ProtectBoth
)

// Org is a generated organisation.
type Org struct {
	Config Config
	Repos  []Repo
	// End is the end of the activity: Start + Days.
	End time.Time
}

// Repo is one repository.
type Repo struct {
	Name       string
	ID         int64
	Protection int
	// RulesetID is the repository ruleset's id (ProtectRulesets, ProtectBoth).
	RulesetID int64
	// PRs are the merged pull requests, oldest first.
	PRs []PR
	// Deployments are the production deployments, oldest first.
	Deployments []Deployment
}

// PR is one merged pull request.
type PR struct {
	Number    int
	Author    string
	Reviewer  string // == Author for a self-approval
	MergedBy  string
	HeadSHA   string
	MergeSHA  string
	CreatedAt time.Time
	MergedAt  time.Time
	// RunID is the workflow run of its merge commit on the default branch.
	RunID int64
}

// SelfApproved reports whether the only approval is the author's.
func (p PR) SelfApproved() bool { return p.Reviewer == p.Author }

// Deployment is one production deployment of a merge commit.
type Deployment struct {
	ID        int64
	PR        int // index into Repo.PRs
	SHA       string
	CreatedAt time.Time
}

// New generates an organisation.
func New(cfg Config) (*Org, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	o := &Org{Config: cfg, End: cfg.Start.Add(time.Duration(cfg.Days) * 24 * time.Hour)}
	o.Repos = make([]Repo, cfg.Repos)
	for i := range o.Repos {
		o.Repos[i] = o.repo(i)
	}
	return o, nil
}

// MergedPRs is the number of merged pull requests in the organisation.
func (o *Org) MergedPRs() int { return len(o.Repos) * o.Config.PRsPerDay * o.Config.Days }

// DeploymentCount is the number of deployments in the organisation.
func (o *Org) DeploymentCount() int {
	n := 0
	for _, r := range o.Repos {
		n += len(r.Deployments)
	}
	return n
}

func (o *Org) repo(i int) Repo {
	rng := rand.New(rand.NewPCG(o.Config.Seed, uint64(i)))
	r := Repo{Name: fmt.Sprintf("svc-%04d", i), ID: 500000 + int64(i), Protection: i % 3}
	if r.Protection != ProtectClassic {
		r.RulesetID = 9000 + int64(i)
	}
	n := o.Config.PRsPerDay * o.Config.Days
	span := o.End.Sub(o.Config.Start)
	r.PRs = make([]PR, n)
	for j := range r.PRs {
		author := Users[rng.IntN(len(Users))]
		reviewer := author
		if rng.IntN(100) >= o.Config.SelfApprovalPercent {
			for reviewer == author {
				reviewer = Users[rng.IntN(len(Users))]
			}
		}
		merged := o.Config.Start.Add(span * time.Duration(j+1) / time.Duration(n+1)).Truncate(time.Second)
		r.PRs[j] = PR{
			Number: j + 1, Author: author, Reviewer: reviewer, MergedBy: reviewer,
			HeadSHA:   sha(o.Config.Seed, r.Name, j, "head"),
			MergeSHA:  sha(o.Config.Seed, r.Name, j, "merge"),
			CreatedAt: merged.Add(-3 * time.Hour), MergedAt: merged,
			RunID: int64(i)*1_000_000 + int64(j) + 1,
		}
		if o.Config.DeployEvery > 0 && (j+1)%o.Config.DeployEvery == 0 {
			r.Deployments = append(r.Deployments, Deployment{
				ID: int64(i)*1_000_000 + int64(j) + 1, PR: j, SHA: r.PRs[j].MergeSHA,
				CreatedAt: merged.Add(5 * time.Minute),
			})
		}
	}
	return r
}

// sha is a deterministic commit id.
func sha(seed uint64, repo string, j int, what string) string {
	h := sha1.New()
	_ = binary.Write(h, binary.BigEndian, seed)
	fmt.Fprintf(h, "%s/%d/%s", repo, j, what)
	return hex.EncodeToString(h.Sum(nil))
}

// repoByName finds a repository.
func (o *Org) repoByName(name string) (*Repo, bool) {
	var i int
	if _, err := fmt.Sscanf(name, "svc-%04d", &i); err != nil || i < 0 || i >= len(o.Repos) || o.Repos[i].Name != name {
		return nil, false
	}
	return &o.Repos[i], true
}
