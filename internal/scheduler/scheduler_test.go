package scheduler_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// fakeCollector records the windows it was asked for. block, when set, makes
// Collect wait for it or for the context; panics makes it panic.
type fakeCollector struct {
	mu      sync.Mutex
	windows []schedules.Window
	block   chan struct{}
	started chan struct{}
	panics  bool
	fail    bool
	// incomplete: the collection completes, but one target's data could
	// not be obtained (a not_verifiable finding; the result incomplete).
	incomplete bool
}

func (f *fakeCollector) Name() string                      { return "branch-protection" }
func (f *fakeCollector) Version() string                   { return "0.0.1-test" }
func (f *fakeCollector) NewPolicy() any                    { return &struct{}{} }
func (f *fakeCollector) Validate(collectors.Request) error { return nil }
func (f *fakeCollector) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	f.mu.Lock()
	f.windows = append(f.windows, req.Window)
	f.mu.Unlock()
	if f.started != nil {
		select {
		case f.started <- struct{}{}:
		default:
		}
	}
	if f.panics {
		panic("collector bug")
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail {
		return nil, errors.New("GitHub said 502")
	}
	if f.incomplete {
		return &collectors.Result{
			Targets: []string{"github.com/acme/api@main"},
			Facts:   map[string]string{"window": req.Window.String()},
			Findings: []evidence.Finding{{Target: "github.com/acme/api@main", Status: evidence.StatusNotVerifiable,
				Summary: "could not be checked: GET /repos/acme/api/branches/main/protection: HTTP 500 Internal Server Error"}},
			Incomplete: "1 of 1 branches could not be collected: acme/api@main",
		}, nil
	}
	return &collectors.Result{
		Targets:  []string{"github.com/acme/api@main"},
		Facts:    map[string]string{"window": req.Window.String()},
		Findings: []evidence.Finding{{Target: "github.com/acme/api@main", Status: evidence.StatusPass, Summary: "ok"}},
	}, nil
}

func (f *fakeCollector) seen() []schedules.Window {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]schedules.Window(nil), f.windows...)
}

// testClock is a settable clock that moves a millisecond per reading, as
// time does, so records are strictly ordered.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	ledger *ledger.Ledger
	clock  *testClock
	col    *fakeCollector
	job    *scheduler.Job
}

func newFixture(t *testing.T, spec string, loc *time.Location) *fixture {
	t.Helper()
	st, err := file.Open(context.Background(), "file://"+t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := schedules.ParseSchedule(spec, loc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ledger: &ledger.Ledger{Store: st, Signer: signer}, clock: &testClock{}, col: &fakeCollector{}}
	f.job = &scheduler.Job{
		Name:      "bp-daily",
		Schedule:  sched,
		Collector: f.col,
		Request:   collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: &struct{}{}},
		Runner: &pipeline.Runner{
			Ledger: f.ledger, Catalog: controls.Default(), Producer: evidence.Producer{Name: "changeproof", Version: "test"},
			Sources: map[string]string{"github": "http://127.0.0.1/"}, Now: f.clock.Now, Logger: slog.New(slog.DiscardHandler), Job: "bp-daily",
		},
	}
	return f
}

func (f *fixture) scheduler(opts scheduler.Options) *scheduler.Scheduler {
	opts.Ledger = f.ledger
	opts.Now = f.clock.Now
	opts.Producer = evidence.Producer{Name: "changeproof", Version: "test"}
	return scheduler.New([]*scheduler.Job{f.job}, opts)
}

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

func assertContiguous(t *testing.T, ws []schedules.Window) {
	t.Helper()
	for i := 1; i < len(ws); i++ {
		if !ws[i].Start.Equal(ws[i-1].End) {
			t.Fatalf("windows %d and %d are not contiguous: %s then %s", i-1, i, ws[i-1], ws[i])
		}
	}
	for _, w := range ws {
		if !w.End.After(w.Start) {
			t.Fatalf("empty window %s", w)
		}
	}
}

func windowsOf(rs []scheduler.Result) []schedules.Window {
	var ws []schedules.Window
	for _, r := range rs {
		ws = append(ws, r.Window)
	}
	return ws
}

func TestOnceFirstRunCollectsTheLatestWindow(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.clock.Set(day(23).Add(5 * time.Minute))
	rs := f.scheduler(scheduler.Options{}).Once(context.Background())
	if len(rs) != 1 || rs[0].Status != evidence.RunSuccess || rs[0].Trigger != evidence.TriggerOnce {
		t.Fatalf("results = %+v", rs)
	}
	if want := (schedules.Window{Start: day(22), End: day(23)}); rs[0].Window != want {
		t.Fatalf("window = %s, want %s", rs[0].Window, want)
	}
	rec := rs[0].Record.Statement.Predicate
	if rec.Job != "bp-daily" || rec.Status != evidence.RunSuccess || len(rec.Evidence) != 1 || rec.Evidence[0].Key != rs[0].Evidence.Key ||
		rec.Evidence[0].SHA256 != rs[0].Evidence.SHA256 || rec.Schedule != "@daily" || rec.TimeZone != "UTC" || !rec.Previous.First {
		t.Fatalf("run record = %+v", rec)
	}
	if job := rs[0].Evidence.Statement.Predicate.Job; job != "bp-daily" {
		t.Fatalf("evidence job = %q", job)
	}
	// Nothing more is due until the next tick.
	if rs := f.scheduler(scheduler.Options{}).Once(context.Background()); len(rs) != 0 {
		t.Fatalf("second pass ran %+v", rs)
	}
}

func TestCatchUpAfterAGapRunsEveryMissedWindowInOrder(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.clock.Set(day(10).Add(time.Hour))
	first := f.scheduler(scheduler.Options{}).Once(context.Background())
	// Down for three days: the next start finds the last window's end in
	// the store and runs the three windows since, oldest first.
	f.clock.Set(day(13).Add(2 * time.Hour))
	rs := f.scheduler(scheduler.Options{}).Once(context.Background())
	ws := windowsOf(append(first, rs...))
	want := []schedules.Window{{Start: day(9), End: day(10)}, {Start: day(10), End: day(11)}, {Start: day(11), End: day(12)}, {Start: day(12), End: day(13)}}
	if len(ws) != len(want) {
		t.Fatalf("windows = %v, want %v", ws, want)
	}
	for i := range want {
		if ws[i] != want[i] {
			t.Fatalf("window %d = %s, want %s", i, ws[i], want[i])
		}
	}
	assertContiguous(t, f.col.seen())
	runs, err := f.ledger.Runs(context.Background(), "bp-daily")
	if err != nil || len(runs) != 4 {
		t.Fatalf("runs = %d, %v", len(runs), err)
	}
	for i := 1; i < len(runs); i++ {
		if runs[i].Statement.Predicate.Previous.SHA256 != runs[i-1].SHA256 {
			t.Fatalf("run record %d does not chain to %d", i, i-1)
		}
	}
}

func TestCatchUpBeyondTheLimitRecordsTheMissedPeriod(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.clock.Set(day(1).Add(time.Hour))
	f.scheduler(scheduler.Options{MaxCatchUp: 5}).Once(context.Background())
	f.clock.Set(day(9).Add(time.Hour)) // 8 windows due, 5 allowed
	rs := f.scheduler(scheduler.Options{MaxCatchUp: 5}).Once(context.Background())
	if len(rs) != 6 || rs[0].Status != evidence.RunMissed {
		t.Fatalf("results = %d, first %+v", len(rs), rs[0])
	}
	if want := (schedules.Window{Start: day(1), End: day(4)}); rs[0].Window != want {
		t.Fatalf("missed = %s, want %s", rs[0].Window, want)
	}
	rec := rs[0].Record.Statement.Predicate
	if rec.Status != evidence.RunMissed || !strings.Contains(rec.Error, "--job bp-daily --from 2026-11-01T00:00:00Z --to 2026-11-04T00:00:00Z") ||
		!strings.Contains(rec.Error, "8 windows were due") {
		t.Fatalf("missed record = %+v", rec)
	}
	assertContiguous(t, windowsOf(rs))
	if last := rs[len(rs)-1].Window.End; !last.Equal(day(9)) {
		t.Fatalf("last window ends %s", last)
	}
}

func TestAPanickingCollectorIsRecorded(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.col.panics = true
	f.clock.Set(day(23).Add(time.Minute))
	rs := f.scheduler(scheduler.Options{}).Once(context.Background())
	if len(rs) != 1 || rs[0].Status != evidence.RunError || rs[0].Record == nil {
		t.Fatalf("results = %+v", rs)
	}
	rec := rs[0].Record.Statement.Predicate
	if !strings.Contains(rec.Error, "panicked: collector bug") || len(rec.Evidence) != 1 || rec.Evidence[0].Status != evidence.StatusError {
		t.Fatalf("record = %+v", rec)
	}
	// The failed window counts as collected (its failure is evidence).
	end, err := f.ledger.LastWindowEnd(context.Background(), "bp-daily")
	if err != nil || !end.Equal(day(23)) {
		t.Fatalf("LastWindowEnd = %s, %v", end, err)
	}
}

// A collection that completes incomplete (its evidence an error) is not a
// successful run: the record says error (and is written: the verifier
// refuses a success whose evidence is error).
func TestEvidenceInErrorMakesTheRunAnError(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.col.incomplete = true
	f.clock.Set(day(23).Add(time.Hour))
	res := f.scheduler(scheduler.Options{}).Once(context.Background())
	if len(res) != 1 || res[0].Status != evidence.RunError || res[0].RecordErr != nil || res[0].Record == nil {
		t.Fatalf("results = %+v", res)
	}
	rec := res[0].Record.Statement.Predicate
	if rec.Status != evidence.RunError || !strings.Contains(rec.Error, "collection incomplete: 1 of 1 branches could not be collected") || len(rec.Evidence) != 1 || rec.Evidence[0].Status != evidence.StatusError {
		t.Fatalf("record = %+v", rec)
	}
}

func TestAnInterruptedRunIsCollectedAgainAtTheNextStart(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.col.block = make(chan struct{})
	f.col.started = make(chan struct{}, 1)
	f.clock.Set(day(23).Add(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-f.col.started; cancel() }()
	rs := f.scheduler(scheduler.Options{}).Once(ctx)
	if len(rs) != 1 || rs[0].Status != evidence.RunInterrupted || rs[0].Record == nil {
		t.Fatalf("results = %+v", rs)
	}
	if rs[0].Evidence == nil || rs[0].Evidence.Statement.Predicate.Status != evidence.StatusError {
		t.Fatalf("the cancelled collection was not recorded as error evidence: %+v", rs[0].Evidence)
	}
	close(f.col.block)
	rs = f.scheduler(scheduler.Options{}).Once(context.Background())
	if len(rs) != 1 || rs[0].Status != evidence.RunSuccess || rs[0].Window != (schedules.Window{Start: day(22), End: day(23)}) {
		t.Fatalf("rerun = %+v", rs)
	}
}

func TestMetricsAfterRuns(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	m := scheduler.NewMetrics()
	f.clock.Set(day(20).Add(time.Minute))
	f.scheduler(scheduler.Options{Metrics: m}).Once(context.Background())
	f.col.fail = true
	f.clock.Set(day(22).Add(time.Minute))
	f.scheduler(scheduler.Options{Metrics: m}).Once(context.Background())
	checks := map[string]float64{
		`changeproof_job_runs_total{job="bp-daily",status="success"}`:       1,
		`changeproof_job_runs_total{job="bp-daily",status="error"}`:         2,
		`changeproof_job_last_run_status{job="bp-daily",status="error"}`:    1,
		`changeproof_job_last_run_status{job="bp-daily",status="success"}`:  0,
		`changeproof_job_last_window_end_timestamp_seconds{job="bp-daily"}`: float64(day(22).Unix()),
		`changeproof_job_last_run_findings{job="bp-daily",status="pass"}`:   0,
		`changeproof_job_last_run_findings{job="bp-daily",status="error"}`:  0,
	}
	body := gather(t, m)
	for series, want := range checks {
		if got, ok := body[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if got := body[`changeproof_job_last_success_timestamp_seconds{job="bp-daily"}`]; got < float64(day(20).Unix()) || got > float64(day(21).Unix()) {
		t.Errorf("last success = %v, want on 2026-11-20", got)
	}
}

// gather scrapes /metrics through the handler the daemon serves and returns
// each series' value by "name{labels}".
func gather(t *testing.T, m *scheduler.Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler(func() bool { return true }).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return scheduler.ParseMetrics(t, rec.Body.String())
}

func TestHealthz(t *testing.T) {
	m := scheduler.NewMetrics()
	healthy := true
	h := m.Handler(func() bool { return healthy })
	for _, tc := range []struct {
		healthy bool
		code    int
		body    string
	}{{true, 200, "ok\n"}, {false, 503, "stopping\n"}} {
		healthy = tc.healthy
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != tc.code || rec.Body.String() != tc.body {
			t.Errorf("healthy=%v: %d %q", tc.healthy, rec.Code, rec.Body.String())
		}
	}
}

// countingCollector adds to a client's counts as it collects, as a
// collector's GitHub requests do.
type countingCollector struct {
	*fakeCollector
	mu  sync.Mutex
	api evidence.RunAPI
	// per collection
	add evidence.RunAPI
}

func (c *countingCollector) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	c.mu.Lock()
	c.api.Requests += c.add.Requests
	c.api.Retries += c.add.Retries
	c.api.NotModified += c.add.NotModified
	c.api.RateLimitWaitSeconds += c.add.RateLimitWaitSeconds
	c.mu.Unlock()
	return c.fakeCollector.Collect(ctx, req)
}

func (c *countingCollector) stats() evidence.RunAPI {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api
}

func TestRunRecordsShowEachRunsAPIStats(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	cc := &countingCollector{fakeCollector: f.col, api: evidence.RunAPI{Requests: 1000, Retries: 10, NotModified: 5, RateLimitWaitSeconds: 7}, add: evidence.RunAPI{Requests: 13, Retries: 2, NotModified: 6, RateLimitWaitSeconds: 1.5}}
	f.job.Collector = cc
	f.clock.Set(day(10).Add(time.Hour))
	f.scheduler(scheduler.Options{}).Once(context.Background())
	f.clock.Set(day(13).Add(time.Hour))
	rs := f.scheduler(scheduler.Options{APIStats: cc.stats}).Once(context.Background())
	if len(rs) != 3 {
		t.Fatalf("ran %d windows, want 3", len(rs))
	}
	for _, r := range rs {
		got := r.Record.Statement.Predicate.API
		if got == nil || *got != cc.add {
			t.Errorf("run %s: api = %+v, want the run's own %+v", r.Window, got, cc.add)
		}
	}
	// Without a source of counts, records have none (as before).
	f.clock.Set(day(14).Add(time.Hour))
	rs = f.scheduler(scheduler.Options{}).Once(context.Background())
	if len(rs) != 1 || rs[0].Record.Statement.Predicate.API != nil {
		t.Errorf("without APIStats: %+v", rs)
	}
}
