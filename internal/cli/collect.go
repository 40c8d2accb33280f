package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/deployments"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/internal/spool"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	s3store "github.com/changeproof/changeproof/storage/s3"
)

// DefaultStore is the embedded default evidence store.
const DefaultStore = "file://evidence"

// collectFlags are the flags every collector takes.
type collectFlags struct {
	orgs, repos, branches []string
	from, to, since       string
	store, key            string
	githubAPIURL          string
	cloudflareAPIURL      string
	configPath            string
	output                string
	failOn                string
	storage               storeFlags
}

func (f *collectFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringArrayVar(&f.orgs, "org", nil, "GitHub organisation: every non-archived repository (repeatable)")
	fs.StringArrayVar(&f.repos, "repo", nil, "repository OWNER/NAME (repeatable)")
	fs.StringArrayVar(&f.branches, "branch", nil, "branch to examine (repeatable; default: each repository's default branch)")
	fs.StringVar(&f.from, "from", "", "window start, RFC 3339 or YYYY-MM-DD (UTC); the window is [from, to)")
	fs.StringVar(&f.to, "to", "", "window end (exclusive), RFC 3339 or YYYY-MM-DD (default: now)")
	fs.StringVar(&f.since, "since", "", "window as a duration up to now, e.g. 24h, 90m or 7d (default 24h)")
	fs.StringVar(&f.store, "store", "", "evidence store URL: file://DIR (or a directory), s3://BUCKET/PREFIX?region=R or r2://ACCOUNT/BUCKET/PREFIX (default "+DefaultStore+", or the config's store)")
	fs.StringVar(&f.key, "key", "", "Ed25519 signing key, PKCS#8 PEM with mode 0600 (create with `changeproof keygen`)")
	fs.StringVar(&f.githubAPIURL, "github-api-url", "", "GitHub REST API root (default "+githubapi.DefaultBaseURL+"; Enterprise Server: https://HOST/api/v3)")
	fs.StringVar(&f.cloudflareAPIURL, "cloudflare-api-url", "", "Cloudflare API root, for collectors with Cloudflare sources (default https://api.cloudflare.com/client/v4)")
	fs.StringVar(&f.configPath, "config", "", "config file (store, key, GitHub settings, controls, policies)")
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	fs.StringVar(&f.failOn, "fail-on", "none", "exit 1 when the evidence status is at least this: fail, not_verifiable or none")
	f.storage.register(fs)
}

func parseSince(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := schedules.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--since %w", err)
	}
	if d > 3660*24*time.Hour {
		return 0, fmt.Errorf("--since %q: at most 3660 days", s)
	}
	return d, nil
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return fmt.Errorf("--output %q: want table or json", o)
	}
	return nil
}

func (app *App) collectCmd() *cobra.Command {
	var f collectFlags
	cmd := &cobra.Command{
		Use:   "collect COLLECTOR [flags]",
		Short: "Run one collector now and write its signed evidence",
		Long: `Run one collector over a scope and window, judge what it finds against the
policy, and append the signed evidence to the store.

Collectors:
` + app.collectorList() + `

The GitHub token is read from GITHUB_TOKEN (or the variable the config's
github.token_env names), the Cloudflare token (deployments of Workers and
Pages, R2 lock checks) from CLOUDFLARE_API_TOKEN (or cloudflare.token_env);
neither is ever printed or stored. The Cloudflare account is the config's
cloudflare.account_id.

s3:// and r2:// stores lock every object (see --retention, --lock-mode) and
refuse a bucket that does not; when such a store is unavailable the signed
evidence waits in a local spool (--spool) and the command exits 2 - the next
collection or ` + "`changeproof flush`" + ` uploads it.

A collection that fails (API unreachable, permissions, cancelled) is still
recorded as signed evidence with status "error" and the reason, and the
command exits 2.`,
		Example: `  changeproof collect branch-protection --org acme --key signing.key
  changeproof collect branch-protection --repo acme/api --branch main --store file:///srv/evidence --key signing.key --output json
  changeproof collect merge-activity --repo acme/api --from 2026-11-01 --to 2026-12-01 --key signing.key --fail-on fail
  changeproof collect ci-status --org acme --since 24h --key signing.key --store "s3://acme-evidence/changeproof?region=eu-west-1"
  changeproof collect deployments --repo acme/api --since 7d --key signing.key --config changeproof.yaml

Each collector's README (collectors/<name>/README.md) lists the endpoints it
calls, the token permissions it needs and its policy keys.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("want exactly one collector name (known: %s)", strings.Join(app.Collectors.Names(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return app.runCollect(cmd, args[0], &f) },
	}
	f.register(cmd)
	return cmd
}

func (app *App) collectorList() string {
	var b strings.Builder
	for _, n := range app.Collectors.Names() {
		info, _ := app.Collectors.Lookup(n)
		fmt.Fprintf(&b, "  %-20s %s\n", n, info.Description)
	}
	return strings.TrimRight(b.String(), "\n")
}

// prepared is a validated collection, ready to run.
type prepared struct {
	collector collectors.Collector
	req       collectors.Request
	runner    *pipeline.Runner
	gh        *githubapi.Client
	cf        *cfapi.Client
	store     storage.Store
	spool     *spool.Store
}

func (app *App) runCollect(cmd *cobra.Command, name string, f *collectFlags) error {
	p, err := app.prepareCollect(cmd, name, f)
	if err != nil {
		return fail(ExitError, err)
	}
	out, err := p.runner.Run(cmd.Context(), p.collector, p.req)
	if err != nil {
		return fail(ExitError, err)
	}
	if err := printOutcome(app, f.output, out, p); err != nil {
		return fail(ExitError, err)
	}
	if p.spool != nil && len(p.spool.Spooled()) > 0 {
		return fail(ExitError, fmt.Errorf("%s: the store %s was unavailable: the signed evidence %s and %d other object(s) are kept in the spool %s; the next collection or `changeproof flush` uploads them",
			name, p.store.Describe().URL, out.Entry.Key, len(p.spool.Spooled())-1, p.spool.Dir()))
	}
	if out.CollectErr != nil {
		return fail(ExitError, fmt.Errorf("%s: %w (recorded as error evidence %s)", name, out.CollectErr, out.Entry.Key))
	}
	if f.failOn != "none" {
		threshold := evidence.Status(f.failOn)
		if evidence.Worse(out.Entry.Statement.Predicate.Status, threshold) == out.Entry.Statement.Predicate.Status {
			return fail(ExitFindings, nil)
		}
	}
	return nil
}

// prepareCollect validates everything that can be checked without the
// network, in an order that writes nothing until all of it passed.
func (app *App) prepareCollect(cmd *cobra.Command, name string, f *collectFlags) (*prepared, error) {
	info, err := app.Collectors.Lookup(name)
	if err != nil {
		return nil, err
	}
	if err := checkOutput(f.output); err != nil {
		return nil, err
	}
	switch f.failOn {
	case "none", string(evidence.StatusFail), string(evidence.StatusNotVerifiable):
	default:
		return nil, fmt.Errorf("--fail-on %q: want fail, not_verifiable or none", f.failOn)
	}
	var cfg *config.Config
	if f.configPath != "" {
		if cfg, err = config.Load(f.configPath); err != nil {
			return nil, err
		}
		if err := cfg.CheckPolicies(func(n string) bool { _, err := app.Collectors.Lookup(n); return err == nil }); err != nil {
			return nil, err
		}
	} else {
		cfg = &config.Config{}
	}
	catalog, err := controls.Default().Apply(cfg.Controls)
	if err != nil {
		return nil, fmt.Errorf("%s: controls: %w", orDefault(cfg.Path(), "config"), err)
	}

	scope := collectors.Scope{Orgs: f.orgs, Branches: f.branches}
	for _, r := range f.repos {
		repo, err := collectors.ParseRepo(r)
		if err != nil {
			return nil, fmt.Errorf("--repo: %w", err)
		}
		scope.Repos = append(scope.Repos, repo)
	}
	if err := scope.Validate(); err != nil {
		return nil, err
	}
	since, err := parseSince(f.since)
	if err != nil {
		return nil, err
	}
	window, err := schedules.WindowSpec{From: f.from, To: f.to, Since: since}.Resolve(app.Now())
	if err != nil {
		return nil, err
	}

	keyPath := orDefault(f.key, cfg.Key)
	if keyPath == "" {
		return nil, errors.New("--key is required: the Ed25519 key that signs the evidence (create one with `changeproof keygen --out signing.key`)")
	}
	priv, err := evidence.LoadPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", keyPath, err)
	}

	cf, err := app.cloudflare(cfg, f.cloudflareAPIURL)
	if err != nil {
		return nil, err
	}
	tokenEnv := orDefault(cfg.GitHub.TokenEnv, githubapi.TokenEnv)
	logger := slog.Default()
	gh, err := githubapi.New(githubapi.Options{
		BaseURL:      orDefault(f.githubAPIURL, cfg.GitHub.APIURL),
		Token:        secret.New(app.Getenv(tokenEnv)),
		Logger:       logger,
		Now:          app.Now,
		RetryWaitMin: app.GitHubRetryWait,
		RetryWaitMax: app.GitHubRetryWait,
	})
	if err != nil {
		return nil, err
	}
	if app.Getenv(tokenEnv) == "" {
		logger.Warn("no GitHub token: requests are anonymous and most settings will be not_verifiable", "env", tokenEnv)
	}

	c := info.New(collectors.Deps{GitHub: gh, Cloudflare: cf, Logger: logger, Now: app.Now})
	policy := c.NewPolicy()
	if err := cfg.DecodePolicy(name, policy); err != nil {
		return nil, err
	}
	sources := map[string]string{"github": gh.BaseURL.String()}
	if dp, ok := policy.(*deployments.Policy); ok {
		// The account is a source setting; a policy may still name its own.
		if dp.Cloudflare.AccountID == "" {
			dp.Cloudflare.AccountID = cfg.Cloudflare.AccountID
		}
		sources["cloudflare"] = cf.BaseURL()
	}
	req := collectors.Request{Scope: scope, Window: window, Policy: policy}
	if err := c.Validate(req); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}

	storeURL := orDefault(f.store, cfg.Store, DefaultStore)
	store, sp, err := app.openWritable(cmd.Context(), storeURL, &f.storage, cfg, true, func() (s3store.R2Locks, error) { return app.cloudflareLocks(cfg, f.cloudflareAPIURL) })
	if err != nil {
		return nil, err
	}
	desc := store.Describe()
	return &prepared{
		collector: c,
		req:       req,
		gh:        gh,
		cf:        cf,
		store:     store,
		spool:     sp,
		runner: &pipeline.Runner{
			Ledger:   &ledger.Ledger{Store: store, Signer: signer},
			Catalog:  catalog,
			Producer: evidence.Producer{Name: "changeproof", Version: app.Build.Version},
			Sources:  sources,
			Storage:  &desc,
			Now:      app.Now,
			Logger:   logger,
		},
	}, nil
}

func orDefault(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// collectOutput is the JSON printed by collect --output json.
type collectOutput struct {
	Evidence string                  `json:"evidence"`
	SHA256   string                  `json:"sha256"`
	RawFacts string                  `json:"rawFacts"`
	Store    string                  `json:"store"`
	Status   evidence.Status         `json:"status"`
	Reason   string                  `json:"reason,omitempty"`
	Counts   map[evidence.Status]int `json:"counts"`
	Findings []evidence.Finding      `json:"findings"`
	Requests int64                   `json:"requests"`
	// CloudflareRequests counts requests to the Cloudflare API.
	CloudflareRequests int64 `json:"cloudflareRequests,omitempty"`
}

func printOutcome(app *App, format string, out *pipeline.Outcome, p *prepared) error {
	pred := out.Entry.Statement.Predicate
	o := collectOutput{
		Evidence: out.Entry.Key, SHA256: out.Entry.SHA256, RawFacts: out.Entry.RawKey,
		Store: p.store.Describe().URL, Status: pred.Status, Reason: pred.Reason,
		Counts: pred.Counts, Findings: pred.Findings, Requests: p.gh.Stats.Requests(),
		CloudflareRequests: p.cf.Stats.Requests(),
	}
	if format == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTATUS\tSUMMARY")
	for _, fd := range o.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", fd.Target, fd.Status, fd.Summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(app.Stdout)
	fmt.Fprintf(app.Stdout, "status:    %s (pass %d, fail %d, not_verifiable %d, error %d)\n", o.Status,
		o.Counts[evidence.StatusPass], o.Counts[evidence.StatusFail], o.Counts[evidence.StatusNotVerifiable], o.Counts[evidence.StatusError])
	if o.Reason != "" {
		fmt.Fprintf(app.Stdout, "reason:    %s\n", o.Reason)
	}
	fmt.Fprintf(app.Stdout, "evidence:  %s\n", o.Evidence)
	fmt.Fprintf(app.Stdout, "store:     %s\n", o.Store)
	fmt.Fprintf(app.Stdout, "requests:  %d to the GitHub API", o.Requests)
	if o.CloudflareRequests > 0 {
		fmt.Fprintf(app.Stdout, ", %d to the Cloudflare API", o.CloudflareRequests)
	}
	fmt.Fprintln(app.Stdout)
	return nil
}
