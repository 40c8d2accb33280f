package deployments

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
)

// Policy says where deployments come from and what every production
// deployment must trace to. It is the collector's config section: the
// Cloudflare account, scripts and projects, and the repository each maps to,
// live here, per job.
type Policy struct {
	// ProductionEnvironments are the GitHub deployment environments that
	// are production (case-insensitive). A deployment GitHub marks
	// production_environment: true is production too.
	ProductionEnvironments []string `yaml:"production_environments" json:"production_environments"`
	// RequireNonProductionFirst: the commit of every production deployment
	// was deployed successfully to a non-production environment (a GitHub
	// environment not in ProductionEnvironments, a Pages preview, a Worker
	// script marked production: false) before it.
	RequireNonProductionFirst bool `yaml:"require_non_production_first" json:"require_non_production_first"`
	// NonProductionLookback is how far before the window non-production
	// deployments are read for RequireNonProductionFirst.
	NonProductionLookback mergeactivity.Duration `yaml:"non_production_lookback" json:"non_production_lookback"`
	// Untraced is the status of a deployment whose code names no commit
	// and was not an interactive edit (a wrangler, API or Terraform upload
	// without a commit link): not_verifiable (default) or fail.
	Untraced string `yaml:"untraced" json:"untraced"`
	// GitHub configures the GitHub Deployments source.
	GitHub GitHubPolicy `yaml:"github" json:"github"`
	// Cloudflare configures the Workers and Pages sources.
	Cloudflare CloudflarePolicy `yaml:"cloudflare" json:"cloudflare"`
	// Review is the merge-activity policy the change behind each deployed
	// commit is judged by (merge-activity's keys and defaults).
	Review mergeactivity.Policy `yaml:"review" json:"review"`
}

// GitHubPolicy configures the GitHub Deployments source.
type GitHubPolicy struct {
	// Enabled lists the deployments of every repository in scope.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Environments, when set, lists only these environments (one listing
	// each, ?environment=NAME); empty lists every environment. It must name
	// every production environment (ProductionEnvironments): a filter
	// that leaves one out would hide its deployments and the repository
	// would pass as having none.
	Environments []string `yaml:"environments" json:"environments"`
}

// CloudflarePolicy configures the Cloudflare sources.
type CloudflarePolicy struct {
	// AccountID is the Cloudflare account (32 hexadecimal characters).
	AccountID string `yaml:"account_id" json:"account_id"`
	// Workers are the Worker scripts whose deployments are collected.
	Workers []WorkerPolicy `yaml:"workers" json:"workers"`
	// Pages are the Pages projects whose deployments are collected.
	Pages []PagesPolicy `yaml:"pages" json:"pages"`
	// WorkersTagIsCommit takes a Worker version's "workers/tag" annotation,
	// when it is a full 40-character commit SHA, as the version's commit
	// (e.g. `wrangler versions upload --tag $GITHUB_SHA`). Off by default:
	// whoever uploads sets the tag, so it is a claim, not a link Cloudflare
	// made.
	WorkersTagIsCommit bool `yaml:"workers_tag_is_commit" json:"workers_tag_is_commit"`
	// PagesUploadCommitIsCommit takes the commit_hash a Pages direct upload
	// (deployment_trigger.type ad_hoc) names as its commit (`wrangler pages
	// deploy --commit-hash`). Off by default: whoever uploads chooses it,
	// so it is a claim; only the Git integration's own builds (github:push,
	// deploy_hook) are trusted to name the commit they built.
	PagesUploadCommitIsCommit bool `yaml:"pages_upload_commit_is_commit" json:"pages_upload_commit_is_commit"`
}

// WorkerPolicy is one Worker script.
type WorkerPolicy struct {
	// Script is the script name.
	Script string `yaml:"script" json:"script"`
	// Repo is the GitHub repository (OWNER/NAME) the script is built from:
	// Cloudflare's deployments do not name it. A Workers Builds build from
	// another repository fails (other_repository): the script runs code of
	// a repository the policy does not name.
	Repo string `yaml:"repo" json:"repo"`
	// Production: every deployment of the script is production (default
	// true); false makes the script a non-production environment, e.g. a
	// staging Worker.
	Production *bool `yaml:"production" json:"production"`
}

// PagesPolicy is one Pages project.
type PagesPolicy struct {
	// Project is the project name.
	Project string `yaml:"project" json:"project"`
	// Repo is the GitHub repository (OWNER/NAME) the project is built from;
	// empty takes it from the project's source.config (git-connected
	// projects). Needed for direct-upload projects.
	Repo string `yaml:"repo" json:"repo"`
}

// Untraced statuses.
const (
	UntracedNotVerifiable = "not_verifiable"
	UntracedFail          = "fail"
)

// Limits.
const (
	// MaxLookback bounds non_production_lookback.
	MaxLookback = 90 * 24 * time.Hour
	// DefaultLookback is non_production_lookback's default.
	DefaultLookback = 7 * 24 * time.Hour
)

// DefaultPolicy is the policy used when the config has none: GitHub
// Deployments of the repositories in scope, environments "production" and
// "prod" are production, untraced code is not_verifiable, no Cloudflare
// source, merge-activity's default review policy.
func DefaultPolicy() Policy {
	return Policy{
		ProductionEnvironments: []string{"production", "prod"},
		NonProductionLookback:  mergeactivity.Duration(DefaultLookback),
		Untraced:               UntracedNotVerifiable,
		GitHub:                 GitHubPolicy{Enabled: true, Environments: []string{}},
		Cloudflare:             CloudflarePolicy{Workers: []WorkerPolicy{}, Pages: []PagesPolicy{}},
		Review:                 mergeactivity.DefaultPolicy(),
	}
}

// NewPolicy returns a fresh policy holding the defaults.
func NewPolicy() *Policy {
	p := DefaultPolicy()
	return &p
}

var (
	accountRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	scriptRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	projectRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// Validate checks the policy without touching the network.
func (p *Policy) Validate() error {
	var errs []error
	if len(p.ProductionEnvironments) == 0 {
		errs = append(errs, errors.New("production_environments is empty: name at least one production environment"))
	}
	for i, e := range p.ProductionEnvironments {
		if strings.TrimSpace(e) == "" {
			errs = append(errs, fmt.Errorf("production_environments[%d] is empty", i))
		}
	}
	for i, e := range p.GitHub.Environments {
		if strings.TrimSpace(e) == "" {
			errs = append(errs, fmt.Errorf("github.environments[%d] is empty", i))
		}
	}
	if len(p.GitHub.Environments) > 0 {
		for _, e := range p.ProductionEnvironments {
			if strings.TrimSpace(e) != "" && !slices.ContainsFunc(p.GitHub.Environments, func(f string) bool { return strings.EqualFold(e, f) }) {
				errs = append(errs, fmt.Errorf("github.environments %q leaves out production environment %q (production_environments): its deployments would not be listed; add it, or take it out of production_environments", p.GitHub.Environments, e))
			}
		}
	}
	switch p.Untraced {
	case UntracedNotVerifiable, UntracedFail:
	default:
		errs = append(errs, fmt.Errorf("untraced is %q: want %s or %s", p.Untraced, UntracedNotVerifiable, UntracedFail))
	}
	if l := time.Duration(p.NonProductionLookback); p.RequireNonProductionFirst && (l <= 0 || l > MaxLookback) {
		errs = append(errs, fmt.Errorf("non_production_lookback is %s: want more than 0 and at most %s", p.NonProductionLookback, mergeactivity.Duration(MaxLookback)))
	}
	errs = append(errs, p.Cloudflare.validate()...)
	if !p.GitHub.Enabled && !p.Cloudflare.enabled() {
		errs = append(errs, errors.New("no source: github.enabled is false and no Cloudflare workers or pages are listed"))
	}
	if err := p.Review.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("review: %w", errors.Unwrap(err)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

func (c *CloudflarePolicy) enabled() bool { return len(c.Workers) > 0 || len(c.Pages) > 0 }

func (c *CloudflarePolicy) validate() []error {
	var errs []error
	switch {
	case c.enabled() && c.AccountID == "":
		errs = append(errs, errors.New("cloudflare.account_id is missing: it is needed for the workers and pages listed"))
	case c.AccountID != "" && !accountRE.MatchString(c.AccountID):
		errs = append(errs, fmt.Errorf("cloudflare.account_id %q: want the 32 lower-case hexadecimal characters of a Cloudflare account id", c.AccountID))
	case c.AccountID != "" && !c.enabled():
		errs = append(errs, errors.New("cloudflare.account_id is set but no workers or pages are listed"))
	}
	seen := map[string]bool{}
	for i, w := range c.Workers {
		where := fmt.Sprintf("cloudflare.workers[%d]", i)
		if !scriptRE.MatchString(w.Script) {
			errs = append(errs, fmt.Errorf("%s.script %q: want a Worker script name (letters, digits, - and _)", where, w.Script))
		} else if seen[w.Script] {
			errs = append(errs, fmt.Errorf("%s.script %q is listed twice", where, w.Script))
		}
		seen[w.Script] = true
		if w.Repo == "" {
			errs = append(errs, fmt.Errorf("%s.repo is missing: name the GitHub repository (OWNER/NAME) %q is built from", where, w.Script))
		} else if _, err := collectors.ParseRepo(w.Repo); err != nil {
			errs = append(errs, fmt.Errorf("%s.repo: %w", where, err))
		}
	}
	seenP := map[string]bool{}
	for i, pp := range c.Pages {
		where := fmt.Sprintf("cloudflare.pages[%d]", i)
		if !projectRE.MatchString(pp.Project) {
			errs = append(errs, fmt.Errorf("%s.project %q: want a Pages project name (lower-case letters, digits and -)", where, pp.Project))
		} else if seenP[pp.Project] {
			errs = append(errs, fmt.Errorf("%s.project %q is listed twice", where, pp.Project))
		}
		seenP[pp.Project] = true
		if pp.Repo != "" {
			if _, err := collectors.ParseRepo(pp.Repo); err != nil {
				errs = append(errs, fmt.Errorf("%s.repo: %w", where, err))
			}
		}
	}
	return errs
}

// isProduction reports whether a GitHub environment is production.
func (p *Policy) isProduction(env string, flagged bool) bool {
	return flagged || slices.ContainsFunc(p.ProductionEnvironments, func(e string) bool { return strings.EqualFold(e, env) })
}

// lookback is how far before the window non-production deployments are
// read: 0 unless RequireNonProductionFirst.
func (p *Policy) lookback() time.Duration {
	if !p.RequireNonProductionFirst {
		return 0
	}
	return time.Duration(p.NonProductionLookback)
}

// production reports whether the Worker script is production.
func (w WorkerPolicy) production() bool { return w.Production == nil || *w.Production }
