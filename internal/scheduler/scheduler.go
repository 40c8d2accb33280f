// Package scheduler runs the jobs of a config file: each on its cron
// schedule, each run collecting the window since the previous tick, catching
// up missed windows at start, and leaving a signed run record of every run,
// whatever its outcome.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/schedules"
)

// recordTimeout bounds writing a run record after the run's context ended.
const recordTimeout = 30 * time.Second

// Job is a config job resolved for running: its collector, schedule,
// request (scope and policy; the window is set per run) and the pipeline
// that judges and writes its evidence.
type Job struct {
	Name      string
	Schedule  *schedules.Schedule
	Collector collectors.Collector
	Request   collectors.Request
	Runner    *pipeline.Runner
}

// Options configure a Scheduler.
type Options struct {
	// Ledger writes run records and finds each job's last window.
	Ledger *ledger.Ledger
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// MaxCatchUp bounds the windows run at once (default 31).
	MaxCatchUp int
	// Producer and Config are recorded in every run record.
	Producer evidence.Producer
	Config   *evidence.RunConfig
	// Metrics, when set, is updated after every run.
	Metrics *Metrics
	// Flush, when set, uploads evidence a store spooled earlier; it runs
	// before each job's due windows.
	Flush func(context.Context) error
	// Report, when set, is called after every run (for progress output).
	Report func(Result)
	// ShutdownGrace is how long Serve lets a run finish after its context
	// is cancelled before abandoning it (default 30s).
	ShutdownGrace time.Duration
	// Lock, when set, is held while a job's windows are collected and
	// recorded, so that writers of one store take turns and chains never
	// fork (see internal/storelock); without it the scheduler's runs take
	// turns among themselves.
	Lock func(context.Context) (unlock func(), err error)
	// APIStats, when set, returns the GitHub client's counts so far; each
	// run record gets what they grew by during the run (evidence.RunAPI).
	APIStats func() evidence.RunAPI
	// Claims, when set, claims each window before it is collected, so
	// that of all processes running the job, on whichever host, exactly
	// one collects and records it (see ledger.Claims). A window another
	// run holds is left to it: no evidence, no run record (Result.Held).
	// A run stops collecting ledger.ClaimMargin before its claim expires,
	// and writes nothing once it has expired.
	Claims *ledger.Claims
}

// Scheduler runs jobs.
type Scheduler struct {
	opts  Options
	jobs  []*Job
	state map[string]*jobState
	// stopping is set once Serve stops taking runs; /healthz reports it.
	stopping atomic.Bool
	abort    context.CancelFunc
	abortMu  sync.Mutex
	// storeMu makes runs take turns when Options.Lock is not set.
	storeMu sync.Mutex
}

type jobState struct {
	mu sync.Mutex // one run of a job at a time, in every mode
	// started is set once the daemon ran the job's catch-up.
	started atomic.Bool
}

// Result is the outcome of one run.
type Result struct {
	Job     string
	Trigger string
	Window  schedules.Window
	Status  evidence.RunStatus
	// Err is why the run did not succeed.
	Err error
	// Evidence is the evidence written, when any.
	Evidence *ledger.Entry
	// Outcome is the pipeline's outcome, when the collection returned.
	Outcome *pipeline.Outcome
	// Record is the run record written; nil when the store took none.
	Record *ledger.RunEntry
	// RecordErr is why no run record could be written.
	RecordErr error
	Duration  time.Duration
	// Finished is when the run (or the attempt to start it) ended.
	Finished time.Time
	// Held, when set, says that another run holds the window (or has
	// collected it): this one collected and recorded nothing, and did
	// not fail. Err is the same error.
	Held *ledger.HeldError
}

// New returns a scheduler for jobs.
func New(jobs []*Job, opts Options) *Scheduler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxCatchUp <= 0 {
		opts.MaxCatchUp = schedules.DefaultMaxCatchUp
	}
	if opts.ShutdownGrace == 0 {
		opts.ShutdownGrace = 30 * time.Second
	}
	s := &Scheduler{opts: opts, jobs: jobs, state: map[string]*jobState{}}
	for _, j := range jobs {
		s.state[j.Name] = &jobState{}
		if opts.Metrics != nil {
			opts.Metrics.Register(j.Name)
		}
	}
	return s
}

// lock takes the store lock: appending to a chain reads its head and then
// writes after it, which two writers must not do at once.
func (s *Scheduler) lock(ctx context.Context) (func(), error) {
	if s.opts.Lock != nil {
		return s.opts.Lock(ctx)
	}
	s.storeMu.Lock()
	return s.storeMu.Unlock, nil
}

// Jobs are the scheduler's jobs.
func (s *Scheduler) Jobs() []*Job { return s.jobs }

// Once runs every job's due windows (catch-up included) and returns the
// results, job by job in config order. It stops early only when ctx ends.
func (s *Scheduler) Once(ctx context.Context) []Result {
	var all []Result
	for _, j := range s.jobs {
		if ctx.Err() != nil {
			break
		}
		all = append(all, s.RunDue(ctx, j, evidence.TriggerOnce)...)
	}
	return all
}

// RunDue runs the windows of a job that are due now: every window since the
// last one its run records show, oldest first, at most MaxCatchUp of them
// (older ones are recorded as missed). A job already running is waited for.
func (s *Scheduler) RunDue(ctx context.Context, j *Job, trigger string) []Result {
	st := s.state[j.Name]
	st.mu.Lock()
	defer st.mu.Unlock()
	log := s.opts.Logger.With("job", j.Name)
	unlock, err := s.lock(ctx)
	if err != nil {
		// Nothing was collected; the next tick or start tries again.
		return []Result{s.notRun(j, trigger, err)}
	}
	defer unlock()
	if s.stopping.Load() {
		return nil // shutdown began while waiting for the lock
	}
	if s.opts.Flush != nil {
		if err := s.opts.Flush(ctx); err != nil {
			log.Warn("spooled evidence could not be uploaded yet", "err", err)
		}
	}
	// Read under the lock every time: another process (a `run --once`
	// beside the daemon) may have collected windows since.
	last, err := s.opts.Ledger.LastWindowEnd(ctx, j.Name)
	if err != nil {
		// Without the last window, running would leave a gap or an
		// overlap; the next tick tries again.
		return []Result{s.notRun(j, trigger, fmt.Errorf("job %s: finding its last window in the store: %w", j.Name, err))}
	}
	due, err := j.Schedule.Due(last, s.opts.Now(), s.opts.MaxCatchUp)
	if err != nil {
		return []Result{s.notRun(j, trigger, fmt.Errorf("job %s: %w", j.Name, err))}
	}
	var out []Result
	if !due.Missed.Start.IsZero() {
		r := s.recordMissed(ctx, j, due, trigger)
		out = append(out, r)
		if r.Record == nil {
			// Collecting after an unrecorded gap would hide it; the next
			// tick tries to record it again.
			return out
		}
	}
	for _, w := range due.Windows {
		// Once stopping, the run in progress may finish but no further
		// window starts: the next start catches up from here.
		if ctx.Err() != nil || s.stopping.Load() {
			break
		}
		r := s.runWindow(ctx, j, w, trigger)
		out = append(out, r)
		if r.Status == evidence.RunInterrupted || r.Record == nil {
			// Collected again on the next tick or start; a window held by
			// another run is followed by that run's next windows, never by
			// this one's (two hosts collecting different windows of one
			// job at once would fork its chains).
			break
		}
	}
	return out
}

func (s *Scheduler) recordMissed(ctx context.Context, j *Job, due schedules.Due, trigger string) Result {
	wc, held, err := s.claim(ctx, j, due.Missed, trigger)
	exhausted := errors.Is(err, ledger.ErrClaimsExhausted)
	if held != nil || (err != nil && !exhausted) {
		return s.notClaimed(j, due.Missed, trigger, held, err)
	}
	if exhausted {
		// Recording the gap unclaimed is better than never recording it
		// and blocking the job's later windows for ever.
		s.opts.Logger.Warn("recording missed windows without a claim", "job", j.Name, "err", err)
	}
	now := s.opts.Now().UTC()
	rec := s.newRecord(j, due.Missed, trigger, now)
	if wc != nil {
		rec.Claim = wc.RunClaim()
	}
	rec.Status = evidence.RunMissed
	rec.Error = fmt.Sprintf("not collected: %d windows were due, more than the catch-up limit of %d; %s",
		len(due.Windows)+countTicks(j.Schedule, due.Missed), s.opts.MaxCatchUp, s.backfill("collect this period", j, due.Missed))
	rec.FinishedAt = now
	r := Result{Job: j.Name, Trigger: trigger, Window: due.Missed, Status: evidence.RunMissed, Err: errors.New(rec.Error)}
	r.Record, r.RecordErr = s.writeRecord(ctx, rec)
	s.opts.Logger.Warn("windows missed beyond the catch-up limit; recorded", "job", j.Name, "window", due.Missed.String())
	s.observe(r)
	s.report(r)
	return r
}

// countTicks counts the schedule's windows in w (for the missed record).
func countTicks(sc *schedules.Schedule, w schedules.Window) int {
	n := 0
	for t := sc.Next(w.Start.Add(-time.Nanosecond)); !t.IsZero() && !t.After(w.End) && n < 1_000_000; t = sc.Next(t) {
		if t.After(w.Start) {
			n++
		}
	}
	return n
}

func (s *Scheduler) newRecord(j *Job, w schedules.Window, trigger string, started time.Time) *evidence.RunRecord {
	return &evidence.RunRecord{
		Job:       j.Name,
		Collector: evidence.CollectorInfo{Name: j.Collector.Name(), Version: j.Collector.Version()},
		Schedule:  j.Schedule.Spec(),
		TimeZone:  j.Schedule.Location().String(),
		Trigger:   trigger,
		Window:    w,
		StartedAt: started,
		Evidence:  []evidence.RunEvidence{},
		Config:    s.opts.Config,
		Producer:  s.opts.Producer,
	}
}

// claim claims window w of job j when the scheduler has Claims: it returns
// the claim won (nil without Claims), or held when another run holds the
// window or, for a scheduled window, recorded it meanwhile; err when the
// store could not be asked.
func (s *Scheduler) claim(ctx context.Context, j *Job, w schedules.Window, trigger string) (wc *ledger.WindowClaim, held *ledger.HeldError, err error) {
	c := s.opts.Claims
	if c == nil {
		return nil, nil, nil
	}
	manual := trigger == evidence.TriggerManual
	wc, err = c.Acquire(ctx, j.Name, w, manual)
	if errors.As(err, &held) {
		return nil, held, nil
	}
	if err != nil || manual {
		return wc, nil, err
	}
	// Another host may have collected and recorded the window between
	// this pass reading the job's last window and winning the claim.
	rec, err := s.opts.Ledger.Recorded(ctx, j.Name, w)
	if err != nil {
		return nil, nil, fmt.Errorf("job %s: reading its run records after claiming window %s: %w", j.Name, w, err)
	}
	if rec != nil {
		return nil, &ledger.HeldError{Job: j.Name, Window: w, Key: wc.Key, Holder: "another run", Until: wc.Claim.ExpiresAt, Record: rec.Key}, nil
	}
	return wc, nil, nil
}

// notClaimed reports a window this pass could not claim: another run holds
// it (held), or the store could not be asked (err). Nothing was collected
// or recorded.
func (s *Scheduler) notClaimed(j *Job, w schedules.Window, trigger string, held *ledger.HeldError, err error) Result {
	if err != nil {
		r := s.notRun(j, trigger, err)
		r.Window = w
		return r
	}
	s.opts.Logger.Info("window held by another run; leaving it to that run", "job", j.Name, "window", w.String(),
		"holder", held.Holder, "until", held.Until, "claim", held.Key, "record", held.Record)
	r := Result{Job: j.Name, Trigger: trigger, Window: w, Err: held, Held: held, Finished: s.opts.Now()}
	s.report(r)
	return r
}

// notRun reports a pass of job j that could not start: nothing was
// collected and no run record written; the next tick or start tries again.
func (s *Scheduler) notRun(j *Job, trigger string, err error) Result {
	s.opts.Logger.Error("cannot run the job's windows; the next tick tries again", "job", j.Name, "err", err)
	r := Result{Job: j.Name, Trigger: trigger, Status: evidence.RunError, Err: fmt.Errorf("not run (nothing recorded): %w", err)}
	s.observe(r)
	s.report(r)
	return r
}

// backfill says how to collect w of job j by hand.
func (s *Scheduler) backfill(what string, j *Job, w schedules.Window) string {
	config := "FILE"
	if c := s.opts.Config; c != nil && c.Path != "" && !strings.ContainsAny(c.Path, " '\"`$\\") {
		config = c.Path
	}
	return fmt.Sprintf("%s with `changeproof collect --config %s --job %s --from %s --to %s`",
		what, config, j.Name, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
}

// RunWindow collects one window of a job and records the run, holding the
// store lock. A panic in the collection is recovered and recorded as an
// error run; a run whose context ends is recorded as interrupted.
func (s *Scheduler) RunWindow(ctx context.Context, j *Job, w schedules.Window, trigger string) Result {
	unlock, err := s.lock(ctx)
	if err != nil {
		return Result{Job: j.Name, Trigger: trigger, Window: w, Status: evidence.RunInterrupted, Err: err}
	}
	defer unlock()
	return s.runWindow(ctx, j, w, trigger)
}

// runWindow is RunWindow with the store lock held.
func (s *Scheduler) runWindow(ctx context.Context, j *Job, w schedules.Window, trigger string) (r Result) {
	wc, held, err := s.claim(ctx, j, w, trigger)
	if errors.Is(err, ledger.ErrClaimsExhausted) && trigger != evidence.TriggerManual {
		return s.recordUnclaimable(ctx, j, w, trigger, err)
	}
	if held != nil || err != nil {
		return s.notClaimed(j, w, trigger, held, err)
	}
	// The run ends with its claim: after that another process may take
	// the window over, and two collections of it would fork chains. The
	// collection stops a margin before the claim expires, so that its
	// evidence and run record are written while the claim holds; a write
	// not done by then fails (writes); takers wait the margin after the
	// expiry.
	runCtx, cancelRun := ctx, context.CancelFunc(func() {})
	writes := ctx
	runner, collector := j.Runner, j.Collector
	if wc != nil {
		margin := ledger.ClaimMargin(s.opts.Claims.TTL)
		runCtx, cancelRun = context.WithTimeout(ctx, wc.Claim.ExpiresAt.Add(-margin).Sub(s.opts.Now()))
		cw := newClaimContext(ctx, s.opts.Now, wc.Claim.ExpiresAt)
		defer cw.stop()
		writes = cw
		collector = stopAt{Collector: j.Collector, stop: runCtx}
		runner = s.guardedRunner(j.Runner, wc)
	}
	defer cancelRun()
	started := s.opts.Now().UTC()
	rec := s.newRecord(j, w, trigger, started)
	r = Result{Job: j.Name, Trigger: trigger, Window: w}
	log := s.opts.Logger.With("job", j.Name, "window", w.String(), "trigger", trigger)
	// The run chain's head, read before the run: with the lock held
	// nobody appends meanwhile, and the record can still be written (to
	// the spool) if the store goes away during the run.
	prev, headAt, headErr := s.opts.Ledger.RunHead(ctx, j.Name)
	if errors.Is(headErr, ledger.ErrUnverifiableRuns) {
		log.Error("not running", "err", headErr)
		r.Status, r.Err = evidence.RunError, headErr
		s.observe(r)
		s.report(r)
		return r
	}
	log.Info("run starting")
	var apiBefore evidence.RunAPI
	if s.opts.APIStats != nil {
		apiBefore = s.opts.APIStats()
	}

	func() {
		defer func() {
			if p := recover(); p != nil {
				r.Err = fmt.Errorf("the run panicked: %v", p)
				log.Error("run panicked; recording it", "panic", fmt.Sprint(p))
				log.Debug("panic stack", "stack", string(debug.Stack()))
			}
		}()
		req := j.Request
		req.Window = w
		// With a claim, the collector stops at runCtx's end, and the
		// evidence is written with writes.
		runWith := runCtx
		if wc != nil {
			runWith = writes
		}
		out, err := runner.Run(runWith, collector, req)
		r.Outcome = out
		switch {
		case err != nil:
			r.Err = err
		case out.CollectErr != nil:
			r.Err = out.CollectErr
		}
		if out != nil && out.Entry != nil {
			r.Evidence = out.Entry
		}
	}()

	// A run succeeds only with evidence whose collection completed; the
	// run record's verifier holds it to that too.
	if r.Err == nil && r.Evidence == nil {
		r.Err = errors.New("the run wrote no evidence")
	} else if r.Err == nil && r.Evidence.Statement.Predicate.Status == evidence.StatusError {
		r.Err = fmt.Errorf("the evidence has status error: %s", r.Evidence.Statement.Predicate.Reason)
	}
	switch {
	case r.Err == nil:
		r.Status = evidence.RunSuccess
	case ctx.Err() != nil:
		r.Status = evidence.RunInterrupted
		r.Err = fmt.Errorf("interrupted by shutdown; the window is collected again at the next start: %w", r.Err)
	case runCtx.Err() != nil:
		r.Status = evidence.RunError
		r.Err = fmt.Errorf("stopped when its claim on the window was about to expire (scheduler.claim_ttl %s; raise it above the job's longest run): %w", s.opts.Claims.TTL, r.Err)
	default:
		r.Status = evidence.RunError
	}
	rec.Status = r.Status
	switch {
	case r.Status == evidence.RunError:
		rec.Error = r.Err.Error() + "; " + s.backfill("this window is not collected again by the schedule: collect it", j, w)
	case r.Err != nil:
		rec.Error = r.Err.Error()
	}
	if e := r.Evidence; e != nil {
		rec.Evidence = append(rec.Evidence, evidence.RunEvidence{Key: e.Key, SHA256: e.SHA256, Status: e.Statement.Predicate.Status})
	}
	if s.opts.APIStats != nil {
		rec.API = apiSince(s.opts.APIStats(), apiBefore)
	}
	if wc != nil {
		rec.Claim = wc.RunClaim()
	}
	rec.FinishedAt = s.opts.Now().UTC()
	r.Finished, r.Duration = rec.FinishedAt, rec.FinishedAt.Sub(started)
	if took := s.superseded(ctx, wc); took != nil {
		// Only a clock off the store's by more than the claim's margin
		// gets here: the run stopped before its claim expired, and a
		// taker waits the margin after. The taker records the window.
		r.RecordErr = fmt.Errorf("not recorded: the window's claim was taken over by %s (claim %s) before this run ended", took.Holder, took.Key)
		log.Error("the run record was not written", "err", r.RecordErr)
		s.observe(r)
		s.report(r)
		return r
	}
	if headErr == nil {
		r.Record, r.RecordErr = s.writeRecordAfter(writes, rec, prev, headAt)
	} else {
		r.Record, r.RecordErr = s.writeRecord(writes, rec)
	}
	if r.RecordErr != nil {
		log.Error("the run record could not be written", "err", r.RecordErr)
	} else {
		log.Info("run recorded", "status", r.Status, "record", r.Record.Key)
	}
	s.observe(r)
	s.report(r)
	return r
}

// recordUnclaimable records window w of job j as not collected, without a
// claim: its claims reached their last generation (a store filled with
// planted claims), so no process can claim it. The job goes on with its
// next window; the error record says why this one has no evidence.
func (s *Scheduler) recordUnclaimable(ctx context.Context, j *Job, w schedules.Window, trigger string, err error) Result {
	now := s.opts.Now().UTC()
	rec := s.newRecord(j, w, trigger, now)
	rec.Status = evidence.RunError
	rec.Error = fmt.Sprintf("not collected: %v; the claims under %s were not all written by changeproof (look into who can write the store); the schedule goes on with the next window",
		err, ledger.ClaimsPrefix+j.Name+"/")
	rec.FinishedAt = now
	r := Result{Job: j.Name, Trigger: trigger, Window: w, Status: evidence.RunError, Err: errors.New(rec.Error), Finished: now}
	r.Record, r.RecordErr = s.writeRecord(ctx, rec)
	s.opts.Logger.Error("window not collected: it cannot be claimed", "job", j.Name, "window", w.String(), "err", err)
	s.observe(r)
	s.report(r)
	return r
}

// superseded returns the claim that took wc's window over, if any; a store
// that cannot say is taken to mean none.
func (s *Scheduler) superseded(ctx context.Context, wc *ledger.WindowClaim) *ledger.HeldError {
	if wc == nil {
		return nil
	}
	ctx, cancel := recordContext(ctx)
	defer cancel()
	took, err := s.opts.Claims.Superseded(ctx, wc)
	if err != nil {
		s.opts.Logger.Warn("could not check that the window's claim is still this run's", "claim", wc.Key, "err", err)
	}
	return took
}

// apiSince is what the counts grew by since before.
func apiSince(now, before evidence.RunAPI) *evidence.RunAPI {
	return &evidence.RunAPI{
		Requests:             now.Requests - before.Requests,
		Retries:              now.Retries - before.Retries,
		RateLimitWaitSeconds: max(now.RateLimitWaitSeconds-before.RateLimitWaitSeconds, 0),
		NotModified:          now.NotModified - before.NotModified,
	}
}

// writeRecord appends a run record after the job's current head.
func (s *Scheduler) writeRecord(ctx context.Context, rec *evidence.RunRecord) (*ledger.RunEntry, error) {
	ctx, cancel := recordContext(ctx)
	defer cancel()
	return s.opts.Ledger.AppendRun(ctx, rec)
}

// writeRecordAfter appends a run record after the head read before the run.
func (s *Scheduler) writeRecordAfter(ctx context.Context, rec *evidence.RunRecord, prev evidence.Previous, headAt time.Time) (*ledger.RunEntry, error) {
	ctx, cancel := recordContext(ctx)
	defer cancel()
	return s.opts.Ledger.AppendRunAfter(ctx, rec, prev, headAt)
}

// recordContext: after shutdown ended ctx, the record is still written,
// within a bound.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

func (s *Scheduler) observe(r Result) {
	if r.Finished.IsZero() {
		r.Finished = s.opts.Now()
	}
	if s.opts.Metrics != nil {
		s.opts.Metrics.Observe(r)
	}
}

func (s *Scheduler) report(r Result) {
	if s.opts.Report != nil {
		s.opts.Report(r)
	}
}

// Healthy reports whether the daemon is taking runs.
func (s *Scheduler) Healthy() bool { return !s.stopping.Load() }

// Abort cancels the runs in progress of Serve at once (a second signal).
func (s *Scheduler) Abort() {
	s.abortMu.Lock()
	defer s.abortMu.Unlock()
	if s.abort != nil {
		s.abort()
	}
}

// Serve runs every job's catch-up, then each job on its schedule, until ctx
// ends. Then it takes no new runs, lets the runs in progress finish for
// ShutdownGrace, and abandons what is left (recorded as interrupted). Runs
// of one job never overlap: a tick that comes while the job still runs is
// skipped (cron.SkipIfStillRunning) and its window is collected by the
// next run, which runs every window due.
func (s *Scheduler) Serve(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s.abortMu.Lock()
	s.abort = cancel
	s.abortMu.Unlock()

	logger := cronLogger{log: s.opts.Logger}
	c := cron.New(cron.WithLocation(time.UTC), cron.WithLogger(logger))
	var catchUps sync.WaitGroup
	for _, j := range s.jobs {
		skipLog := cronLogger{log: s.opts.Logger.With("job", j.Name), skipped: func() {
			if s.opts.Metrics != nil {
				s.opts.Metrics.Skipped(j.Name)
			}
		}}
		st := s.state[j.Name]
		run := cron.NewChain(cron.Recover(logger), cron.SkipIfStillRunning(skipLog)).Then(cron.FuncJob(func() {
			trigger := evidence.TriggerSchedule
			if !st.started.Swap(true) {
				trigger = evidence.TriggerCatchUp
			}
			s.RunDue(runCtx, j, trigger)
		}))
		c.Schedule(j.Schedule, run)
		catchUps.Add(1)
		go func() {
			defer catchUps.Done()
			run.Run()
		}()
		s.opts.Logger.Info("job scheduled", "job", j.Name, "schedule", j.Schedule.String(), "next", j.Schedule.Next(s.opts.Now()))
	}
	c.Start()
	<-ctx.Done()

	s.stopping.Store(true)
	s.opts.Logger.Info("stopping: no new runs; waiting for the runs in progress", "grace", s.opts.ShutdownGrace)
	stopped := c.Stop() // returns once the scheduler loop took no more runs
	done := make(chan struct{})
	go func() {
		<-stopped.Done()
		catchUps.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(s.opts.ShutdownGrace):
		s.opts.Logger.Warn("abandoning the runs in progress; they are recorded as interrupted")
		cancel()
		<-done
	}
	return nil
}

// cronLogger adapts slog to cron's logger; skipped counts skipped ticks.
type cronLogger struct {
	log     *slog.Logger
	skipped func()
}

func (l cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" && l.skipped != nil {
		l.skipped()
		l.log.Warn("tick skipped: the job's previous run is still going; its window is collected by the next run")
		return
	}
	l.log.Debug("cron: "+msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
