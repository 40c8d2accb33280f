package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/schedules"
)

// DefaultStore is the embedded default evidence store.
const DefaultStore = "file://evidence"

// collectFlags are the flags every collector takes.
type collectFlags struct {
	orgs, repos, branches []string
	from, to, since       string
	configPath            string
	job                   string
	output                string
	failOn                string
	sourceFlags
}

func (f *collectFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringArrayVar(&f.orgs, "org", nil, "GitHub organisation: every non-archived repository (repeatable)")
	fs.StringArrayVar(&f.repos, "repo", nil, "repository OWNER/NAME (repeatable)")
	fs.StringArrayVar(&f.branches, "branch", nil, "branch to examine (repeatable; default: each repository's default branch)")
	fs.StringVar(&f.from, "from", "", "window start, RFC 3339 or YYYY-MM-DD (UTC); the window is [from, to)")
	fs.StringVar(&f.to, "to", "", "window end (exclusive), RFC 3339 or YYYY-MM-DD (default: now)")
	fs.StringVar(&f.since, "since", "", "window as a duration up to now, e.g. 24h, 90m or 7d (default 24h)")
	fs.StringVar(&f.configPath, "config", "", "config file (store, key, GitHub settings, controls, policies, jobs)")
	fs.StringVar(&f.job, "job", "", "run this job of the --config file now: its collector, scope, policy and controls; the window is its latest complete one unless --from/--to/--since say otherwise; a run record is written")
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	fs.StringVar(&f.failOn, "fail-on", "none", "exit 1 when the evidence status is at least this: fail, not_verifiable or none")
	f.sourceFlags.register(fs)
}

// register adds the store, key and API flags.
func (f *sourceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.store, "store", "", "evidence store URL: file://DIR (or a directory), s3://BUCKET/PREFIX?region=R or r2://ACCOUNT/BUCKET/PREFIX (default "+DefaultStore+", or the config's store)")
	fs.StringVar(&f.key, "key", "", "Ed25519 signing key, PKCS#8 PEM with mode 0600 (create with: changeproof keygen)")
	fs.StringVar(&f.githubAPIURL, "github-api-url", "", "GitHub REST API root (default "+githubapi.DefaultBaseURL+"; Enterprise Server: https://HOST/api/v3)")
	fs.StringVar(&f.cloudflareAPIURL, "cloudflare-api-url", "", "Cloudflare API root, for collectors with Cloudflare sources (default https://api.cloudflare.com/client/v4)")
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
		Use:   "collect COLLECTOR [flags] | collect --config FILE --job NAME",
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

A collection that fails or is partial (API unreachable, cancelled, data the
API did not give after retries) is still recorded as signed evidence with
status "error" and the reason, and the command exits 2. A finding whose data
could not be obtained is "not_verifiable" naming the failure, never "pass".`,
		Example: `  changeproof collect branch-protection --org acme --key signing.key
  changeproof collect branch-protection --repo acme/api --branch main --store file:///srv/evidence --key signing.key --output json
  changeproof collect merge-activity --repo acme/api --from 2026-11-01 --to 2026-12-01 --key signing.key --fail-on fail
  changeproof collect ci-status --org acme --since 24h --key signing.key --store "s3://acme-evidence/changeproof?region=eu-west-1"
  changeproof collect deployments --repo acme/api --since 7d --key signing.key --config changeproof.yaml
  changeproof collect --config changeproof.yaml --job merge-activity-daily
  changeproof collect --config changeproof.yaml --job merge-activity-daily --from 2026-11-01 --to 2026-11-08

Each collector's README (collectors/<name>/README.md) lists the endpoints it
calls, the token permissions it needs and its policy keys.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if f.job != "" && len(args) <= 1 {
				return nil
			}
			if len(args) != 1 {
				return fmt.Errorf("want exactly one collector name (known: %s)", strings.Join(app.Collectors.Names(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.job != "" {
				return app.runJob(cmd, args, &f)
			}
			return app.runCollect(cmd, args[0], &f)
		},
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

func (app *App) runCollect(cmd *cobra.Command, name string, f *collectFlags) error {
	s, j, err := app.prepareCollect(cmd, name, f)
	if err != nil {
		return fail(ExitError, err)
	}
	unlock, err := s.lock(cmd.Context())
	if err != nil {
		return fail(ExitError, err)
	}
	out, err := j.Runner.Run(cmd.Context(), j.Collector, j.Request)
	unlock()
	if err != nil {
		return fail(ExitError, err)
	}
	if err := printOutcome(app, f.output, out, s, nil); err != nil {
		return fail(ExitError, err)
	}
	return app.collectExit(name, f.failOn, s, out)
}

// collectExit turns an outcome into collect's exit code: 2 when the
// evidence is only in the spool or records a failed collection, 1 for
// findings at or above --fail-on.
func (app *App) collectExit(name, failOn string, s *session, out *pipeline.Outcome) error {
	if s.spool != nil && len(s.spool.Spooled()) > 0 {
		return fail(ExitError, fmt.Errorf("%s: the store %s was unavailable: the signed evidence %s and %d other object(s) are kept in the spool %s; the next collection or `changeproof flush` uploads them",
			name, s.store.Describe().URL, out.Entry.Key, len(s.spool.Spooled())-1, s.spool.Dir()))
	}
	if out.CollectErr != nil {
		return fail(ExitError, fmt.Errorf("%s: %w (recorded as error evidence %s)", name, out.CollectErr, out.Entry.Key))
	}
	if failOn != "none" {
		threshold := evidence.Status(failOn)
		if evidence.Worse(out.Entry.Statement.Predicate.Status, threshold) == out.Entry.Statement.Predicate.Status {
			return fail(ExitFindings, nil)
		}
	}
	return nil
}

func checkFailOn(failOn string) error {
	switch failOn {
	case "none", string(evidence.StatusFail), string(evidence.StatusNotVerifiable):
		return nil
	}
	return fmt.Errorf("--fail-on %q: want fail, not_verifiable or none", failOn)
}

// prepareCollect validates everything that can be checked without the
// network, in an order that writes nothing until all of it passed.
func (app *App) prepareCollect(cmd *cobra.Command, name string, f *collectFlags) (*session, *scheduler.Job, error) {
	if _, err := app.Collectors.Lookup(name); err != nil {
		return nil, nil, err
	}
	if err := checkOutput(f.output); err != nil {
		return nil, nil, err
	}
	if err := checkFailOn(f.failOn); err != nil {
		return nil, nil, err
	}
	cfg, catalog, err := app.loadConfig(f.configPath)
	if err != nil {
		return nil, nil, err
	}
	scope := collectors.Scope{Orgs: f.orgs, Branches: f.branches}
	for _, r := range f.repos {
		repo, err := collectors.ParseRepo(r)
		if err != nil {
			return nil, nil, fmt.Errorf("--repo: %w", err)
		}
		scope.Repos = append(scope.Repos, repo)
	}
	if err := scope.Validate(); err != nil {
		return nil, nil, err
	}
	window, err := f.window(app)
	if err != nil {
		return nil, nil, err
	}
	s, err := app.newSession(cfg, catalog, &f.sourceFlags, false)
	if err != nil {
		return nil, nil, err
	}
	j, err := s.collection(name, scope, func(p any) error { return cfg.DecodePolicy(name, p) }, nil)
	if err != nil {
		return nil, nil, err
	}
	j.Request.Window = window
	if err := j.Collector.Validate(j.Request); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := s.open(cmd.Context(), j); err != nil {
		return nil, nil, err
	}
	return s, j, nil
}

// window resolves --from/--to/--since.
func (f *collectFlags) window(app *App) (schedules.Window, error) {
	since, err := parseSince(f.since)
	if err != nil {
		return schedules.Window{}, err
	}
	return schedules.WindowSpec{From: f.from, To: f.to, Since: since}.Resolve(app.Now())
}

// windowGiven reports whether --from, --to or --since was given.
func (f *collectFlags) windowGiven() bool { return f.from != "" || f.to != "" || f.since != "" }

// runJob runs one job of the config now (collect --job): its window is the
// latest complete one, or --from/--to/--since; the run is recorded.
func (app *App) runJob(cmd *cobra.Command, args []string, f *collectFlags) error {
	s, j, w, err := app.prepareJob(cmd, args, f)
	if err != nil {
		return fail(ExitError, err)
	}
	sch := s.scheduler([]*scheduler.Job{j}, scheduler.Options{})
	r := sch.RunWindow(cmd.Context(), j, w, evidence.TriggerManual)
	if r.Outcome == nil || r.Outcome.Entry == nil {
		err := r.Err
		if r.Record != nil {
			err = fmt.Errorf("%w (run recorded as %s)", err, r.Record.Key)
		}
		return fail(ExitError, fmt.Errorf("job %s: %w", j.Name, err))
	}
	if err := printOutcome(app, f.output, r.Outcome, s, r.Record); err != nil {
		return fail(ExitError, err)
	}
	if r.RecordErr != nil {
		return fail(ExitError, fmt.Errorf("job %s: the evidence %s was written but its run record was not: %w", j.Name, r.Outcome.Entry.Key, r.RecordErr))
	}
	return app.collectExit("job "+j.Name, f.failOn, s, r.Outcome)
}

func (app *App) prepareJob(cmd *cobra.Command, args []string, f *collectFlags) (*session, *scheduler.Job, schedules.Window, error) {
	var w schedules.Window
	switch {
	case f.configPath == "":
		return nil, nil, w, errors.New("--job needs --config: the file that defines the job")
	case len(f.orgs) > 0 || len(f.repos) > 0 || len(f.branches) > 0:
		return nil, nil, w, errors.New("--org, --repo and --branch cannot be combined with --job: the job's scope is in the config")
	}
	if err := checkOutput(f.output); err != nil {
		return nil, nil, w, err
	}
	if err := checkFailOn(f.failOn); err != nil {
		return nil, nil, w, err
	}
	cfg, catalog, err := app.loadConfig(f.configPath)
	if err != nil {
		return nil, nil, w, err
	}
	cj, err := cfg.Job(f.job)
	if err != nil {
		return nil, nil, w, fmt.Errorf("--job: %w", err)
	}
	if len(args) == 1 && args[0] != cj.Collector {
		return nil, nil, w, fmt.Errorf("job %s runs collector %s, not %s", cj.Name, cj.Collector, args[0])
	}
	if f.windowGiven() {
		if w, err = f.window(app); err != nil {
			return nil, nil, w, err
		}
	} else if w, err = cfg.ScheduleOf(cj).Latest(app.Now()); err != nil {
		return nil, nil, w, fmt.Errorf("%s: %w", cfg.JobAt(cj, "schedule"), err)
	}
	s, err := app.newSession(cfg, catalog, &f.sourceFlags, true)
	if err != nil {
		return nil, nil, w, err
	}
	j, err := s.job(cj)
	if err != nil {
		return nil, nil, w, err
	}
	req := j.Request
	req.Window = w
	if err := j.Collector.Validate(req); err != nil {
		return nil, nil, w, fmt.Errorf("job %s: %w", cj.Name, err)
	}
	if err := s.open(cmd.Context(), j); err != nil {
		return nil, nil, w, err
	}
	return s, j, w, nil
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
	// RunRecord is the run record of a job run (collect --job).
	RunRecord string `json:"runRecord,omitempty"`
}

func printOutcome(app *App, format string, out *pipeline.Outcome, s *session, run *ledger.RunEntry) error {
	pred := out.Entry.Statement.Predicate
	o := collectOutput{
		Evidence: out.Entry.Key, SHA256: out.Entry.SHA256, RawFacts: out.Entry.RawKey,
		Store: s.desc.URL, Status: pred.Status, Reason: pred.Reason,
		Counts: pred.Counts, Findings: pred.Findings, Requests: s.gh.Stats.Requests(),
		CloudflareRequests: s.cf.Stats.Requests(),
	}
	if run != nil {
		o.RunRecord = run.Key
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
	if o.RunRecord != "" {
		fmt.Fprintf(app.Stdout, "run:       %s\n", o.RunRecord)
	}
	fmt.Fprintf(app.Stdout, "store:     %s\n", o.Store)
	fmt.Fprintf(app.Stdout, "requests:  %d to the GitHub API", o.Requests)
	if o.CloudflareRequests > 0 {
		fmt.Fprintf(app.Stdout, ", %d to the Cloudflare API", o.CloudflareRequests)
	}
	fmt.Fprintln(app.Stdout)
	return nil
}
