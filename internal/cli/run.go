package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/schedules"
)

type runFlags struct {
	configPath string
	once       bool
	listen     string
	output     string
	jobs       []string
	sourceFlags
}

func (app *App) runCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --config FILE [--once] [--job NAME]...",
		Short: "Run the config's jobs on their schedules (or once, for cron jobs and timers)",
		Long: `Run every job of the config file on its cron schedule. Each run collects the
window between the job's previous schedule tick and this one, so successive
windows are contiguous: no gap, no overlap.

At start, each job catches up: the end of its last window is read from the run
records in the store, and every window missed since is collected in order, at
most scheduler.max_catch_up of them (default 31); older missed windows are
recorded as missed, with the command that collects them.

Every run, whatever its outcome, writes a signed run record to the store
(runs/<job>/...): job, window, start and end, status (success, error,
interrupted, missed), the digests of the evidence written and the error. A tick
that comes while the job's previous run is still going is skipped; the next run
collects its window. A panic in a run is recovered and recorded. A failed run
is recorded as error with the command that collects its window again; the
schedule does not retry it.

Runs and collect commands of this host writing to one store take turns (a
lock on a directory store's directory, or on a file beside the spool for a
bucket), so hash chains never fork.

Across hosts, each window is claimed before it is collected: a create-only
object claims/<job>/<window>/<generation>.json in the store. Of all the
processes running a job's window at once (two CronJob pods, a daemon and a
--once), exactly one wins the claim and collects and records it; the others
print who holds the window until when, write nothing and exit 0. A claim
left by a crashed run expires after scheduler.claim_ttl (default 1h) and is
then taken over by the next run, whose run record says so; a claim left by a
crashed run of this host under its host lock (a container restarted in its
pod) is taken over at once. A run stops collecting a margin (claim_ttl/10,
at most 5m) before its own claim expires and writes nothing after it, so
keep claim_ttl above the longest run.

On SIGTERM or SIGINT the daemon takes no new runs and gives the run in progress
scheduler.shutdown_grace (default 30s) to finish; then, or at a second signal,
it abandons it: the cancelled collection is recorded as error evidence and the
run as interrupted, and the next start collects the window again. Nothing is
left half-written.

/healthz and Prometheus /metrics are served on scheduler.listen (default
127.0.0.1:9464; --listen overrides, "off" disables): per job the last run
time, last success time, duration, status, findings by status, the end of the
newest window, runs and skipped ticks.

--once runs every job's due windows (catch-up included) and exits: for
Kubernetes CronJobs and systemd timers. Exit 0 when every run succeeded or
was left to the run holding its window, 2 when any failed or its evidence is
only in the spool. --job (repeatable) runs only the named jobs (one CronJob
per job).`,
		Example: `  changeproof config validate changeproof.yaml
  changeproof run --config changeproof.yaml
  changeproof run --config changeproof.yaml --once
  changeproof run --config changeproof.yaml --once --job bp-daily
  changeproof run --config changeproof.yaml --listen 127.0.0.1:9100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.runJobs(cmd, &f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.configPath, "config", "", "config file with the jobs (required)")
	fs.BoolVar(&f.once, "once", false, "run the due windows of every job, then exit")
	fs.StringVar(&f.listen, "listen", "", "address of /healthz and /metrics (default the config's scheduler.listen, else "+config.DefaultListen+"; off disables)")
	fs.StringVarP(&f.output, "output", "o", "table", "output format of the run lines: table or json")
	fs.StringArrayVar(&f.jobs, "job", nil, "run only this job of the config (repeatable; default every job)")
	f.sourceFlags.register(fs)
	return cmd
}

func (app *App) runJobs(cmd *cobra.Command, f *runFlags) error {
	sch, s, err := app.prepareRun(cmd, f)
	if err != nil {
		return fail(ExitError, err)
	}
	ctx := cmd.Context()
	if f.once {
		results := sch.Once(ctx)
		if len(results) == 0 {
			app.nothingDue(sch.Jobs())
		}
		return app.onceExit(results, s)
	}
	addr := orDefault(f.listen, s.cfg.ListenAddr())
	if f.listen == "off" {
		addr = ""
	}
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(ExitError, fmt.Errorf("--listen %s: %w", addr, err))
		}
		srv := &http.Server{Handler: app.metrics.Handler(sch.Healthy), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		s.logger.Info("serving /healthz and /metrics", "addr", "http://"+ln.Addr().String())
		if app.Listening != nil {
			app.Listening(ln.Addr().String())
		}
	}
	// The first signal cancels ctx (main); a second one abandons the runs
	// in progress at once.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	served := make(chan struct{})
	defer close(served)
	go func() {
		for n := 0; ; {
			select {
			case <-sig:
				if n++; n >= 2 {
					sch.Abort()
				}
			case <-served:
				return
			}
		}
	}()
	fmt.Fprintf(app.Stderr, "changeproof: running %d job(s) from %s; store %s\n", len(sch.Jobs()), s.cfg.Path(), s.desc.URL)
	return sch.Serve(ctx)
}

// nothingDue says on stderr why --once did nothing and when it next will.
func (app *App) nothingDue(jobs []*scheduler.Job) {
	var first *scheduler.Job
	var at time.Time
	for _, j := range jobs {
		if n := j.Schedule.Next(app.Now()); first == nil || n.Before(at) {
			first, at = j, n
		}
	}
	if first == nil {
		return
	}
	fmt.Fprintf(app.Stderr, "changeproof: nothing due: every job's latest window is collected; next: %s at %s\n", first.Name, at.UTC().Format(time.RFC3339))
}

// onceExit: 0 when every run succeeded and the store holds everything.
func (app *App) onceExit(results []scheduler.Result, s *session) error {
	failed := 0
	for _, r := range results {
		if r.Held != nil {
			continue // another run holds (or collected) the window: not a failure
		}
		if r.Status != evidence.RunSuccess || r.RecordErr != nil {
			failed++
		}
	}
	if s.spool != nil {
		// One more try, so that what an earlier job spooled is not left
		// behind if the store came back.
		ctx := context.Background()
		if unlock, err := s.lock(ctx); err == nil {
			_, _ = s.spool.Flush(ctx)
			unlock()
		}
		if n, err := s.spool.Pending(ctx); err != nil || n > 0 {
			return fail(ExitError, fmt.Errorf("the store %s was unavailable: %d signed object(s) are kept in the spool %s; the next run or `changeproof flush` uploads them", s.desc.URL, n, s.spool.Dir()))
		}
	}
	if failed > 0 {
		return fail(ExitError, fmt.Errorf("%d of %d run(s) did not succeed (see the lines above: each run that started is recorded in the store)", failed, len(results)))
	}
	return nil
}

func (app *App) prepareRun(cmd *cobra.Command, f *runFlags) (*scheduler.Scheduler, *session, error) {
	if f.configPath == "" {
		return nil, nil, errors.New("--config is required: the file that defines the jobs (see `changeproof config validate --help`)")
	}
	if err := checkOutput(f.output); err != nil {
		return nil, nil, err
	}
	if f.once && f.listen != "" && f.listen != "off" {
		return nil, nil, errors.New("--listen cannot be combined with --once: a single pass serves no metrics")
	}
	cfg, catalog, err := app.loadConfig(f.configPath)
	if err != nil {
		return nil, nil, err
	}
	if len(cfg.Jobs) == 0 {
		return nil, nil, fmt.Errorf("%s has no jobs: add a jobs section (see `changeproof config validate --help`)", f.configPath)
	}
	for _, name := range f.jobs {
		if _, err := cfg.Job(name); err != nil {
			return nil, nil, fmt.Errorf("--job: %w", err)
		}
	}
	s, err := app.newSession(cfg, catalog, &f.sourceFlags, true)
	if err != nil {
		return nil, nil, err
	}
	// Only the jobs named are resolved: a job this process does not run
	// needs none of its secrets.
	jobs, err := s.jobs(f.jobs...)
	if err != nil {
		return nil, nil, err
	}
	if err := s.open(cmd.Context(), jobs...); err != nil {
		return nil, nil, err
	}
	if hostLock != nil {
		s.lock = hostLock
	}
	app.metrics = scheduler.NewMetrics()
	for _, j := range jobs {
		app.jobWidth = max(app.jobWidth, len(j.Name))
	}
	opts := scheduler.Options{
		Metrics:       app.metrics,
		ShutdownGrace: s.cfg.ShutdownGrace(),
		Report:        func(r scheduler.Result) { app.printRun(f.output, r) },
	}
	return s.scheduler(jobs, opts), s, nil
}

// hostLock, when set, replaces the store's host lock in run. Only tests
// set it: to give each process its own lock, as processes on two hosts
// sharing a store have, so that only claims keep them apart.
var hostLock func(context.Context) (func(), error)

// claimHost, when set, replaces the host name in this process's claims.
// Only tests set it: processes simulating two hosts on one machine.
var claimHost string

// claims are the claims on job windows, in the store itself (never its
// spool), held by this process. The scheduler holds the host lock from
// before it claims a window until after it recorded the run, so the
// claims name that lock (ClaimHolder.Lock): a claim of this host and lock
// that no record settles is a dead process's, taken over at once. The
// lock is named by what it locks: the store directory, or the spool
// directory of a bucket (two spool directories may share one lock file;
// then their claims still count as two hosts', which is only slower).
func (s *session) claims() *ledger.Claims {
	store := s.store
	locked := s.desc.URL
	if s.spool != nil {
		store, locked = s.spool.Remote(), "spool "+s.spool.Dir()+" of "+s.desc.URL
	}
	holder := ledger.NewClaimHolder()
	if claimHost != "" {
		holder.Host = claimHost
	}
	if s.lock != nil {
		holder.Lock = ledger.LockID(locked)
	}
	return &ledger.Claims{Store: store, Ledger: s.ledger, TTL: s.cfg.ClaimTTL(), Now: s.app.Now, Holder: holder}
}

// loadJobs loads a config and resolves all its jobs, writing nothing.
func (app *App) loadJobs(path string, f *sourceFlags) (*session, []*scheduler.Job, error) {
	cfg, catalog, err := app.loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	s, err := app.newSession(cfg, catalog, f, len(cfg.Jobs) > 0)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := s.jobs()
	if err != nil {
		return nil, nil, err
	}
	return s, jobs, nil
}

// windowWidth is the width of a window as printed.
var windowWidth = len(schedules.Window{Start: time.Unix(0, 0).UTC(), End: time.Unix(0, 0).UTC()}.String())

// runLine is one run as printed by run (--output json: one object a line).
type runLine struct {
	Job      string                  `json:"job"`
	Trigger  string                  `json:"trigger"`
	Window   string                  `json:"window,omitempty"`
	Start    *time.Time              `json:"start,omitempty"`
	End      *time.Time              `json:"end,omitempty"`
	Status   evidence.RunStatus      `json:"status"`
	Evidence string                  `json:"evidence,omitempty"`
	Verdict  evidence.Status         `json:"evidenceStatus,omitempty"`
	Counts   map[evidence.Status]int `json:"counts,omitempty"`
	Record   string                  `json:"record,omitempty"`
	Error    string                  `json:"error,omitempty"`
	// Held says which run holds the window (status "held"): this process
	// left it to that run, writing nothing.
	Held string `json:"held,omitempty"`
}

// statusHeld is the status printed for a window left to the run holding it.
const statusHeld evidence.RunStatus = "held"

func (app *App) printRun(format string, r scheduler.Result) {
	l := runLine{Job: r.Job, Trigger: r.Trigger, Status: r.Status}
	window := "-" // the pass could not start: no window
	if !r.Window.Start.IsZero() {
		l.Window, l.Start, l.End = r.Window.String(), &r.Window.Start, &r.Window.End
		window = l.Window
	}
	if r.Evidence != nil {
		l.Evidence, l.Verdict, l.Counts = r.Evidence.Key, r.Evidence.Statement.Predicate.Status, r.Evidence.Statement.Predicate.Counts
	}
	if r.Record != nil {
		l.Record = r.Record.Key
	}
	switch {
	case r.Held != nil:
		l.Status, l.Held = statusHeld, oneLine(r.Held.Error())
	case r.Err != nil:
		l.Error = oneLine(r.Err.Error())
	}
	if r.RecordErr != nil {
		l.Error = oneLine(fmt.Sprintf("%s; the run record could not be written: %v", l.Error, r.RecordErr))
	}
	app.outMu.Lock()
	defer app.outMu.Unlock()
	if format == "json" {
		_ = json.NewEncoder(app.Stdout).Encode(l)
		return
	}
	// Lines are printed as runs end, so columns have fixed widths: the
	// longest job name, a window (always as long), the longest status.
	line := fmt.Sprintf("%-*s  %-*s  %-11s  %-8s", app.jobWidth, l.Job, windowWidth, window, l.Status, l.Trigger)
	if l.Evidence != "" {
		line += fmt.Sprintf("  evidence %s (pass %d, fail %d, not_verifiable %d, error %d)", l.Verdict,
			l.Counts[evidence.StatusPass], l.Counts[evidence.StatusFail], l.Counts[evidence.StatusNotVerifiable], l.Counts[evidence.StatusError])
	}
	if l.Error != "" {
		line += "  " + l.Error
	}
	if l.Held != "" {
		line += "  " + l.Held
	}
	fmt.Fprintln(app.Stdout, strings.TrimRight(line, " "))
}

func (app *App) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a config file",
	}
	var f sourceFlags
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file without running anything",
		Long: `Check a config file strictly, without network access and without writing:
unknown keys, wrong types, bad cron expressions and time zones, unknown
collectors and controls, bad scopes and policies, a missing signing key, and
missing secrets (the GitHub token variable, or the GitHub App's private key
file and its permissions; the Cloudflare token for jobs reading Workers or
Pages). Each error names the file, line and key.

On success it lists each job with its schedule and the window its next run
will collect. A commented example is docs/changeproof.example.yaml.`,
		Example: `  changeproof config validate changeproof.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, jobs, err := app.loadJobs(args[0], &f)
			if err != nil {
				return fail(ExitError, err)
			}
			if _, err := s.storeOptions(); err != nil {
				return fail(ExitError, err)
			}
			now := app.Now()
			fmt.Fprintf(app.Stdout, "%s: ok: %d job(s); store %s\n", args[0], len(jobs), redact(orDefault(s.cfg.Store, DefaultStore)))
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tCOLLECTOR\tSCHEDULE\tNEXT RUN\tITS WINDOW")
			for _, j := range jobs {
				next := j.Schedule.Next(now)
				w, _ := j.Schedule.Latest(next)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Name, j.Collector.Name(), j.Schedule, next.UTC().Format(time.RFC3339), w)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(validate)
	return cmd
}
