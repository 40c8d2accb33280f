package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/cli"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
	"github.com/changeproof/changeproof/internal/syncbuf"
	"github.com/changeproof/changeproof/schedules"
)

// serveNow is the serve tests' clock reading: just after the Nov 13
// window of the daily jobs ended.
var serveNow = time.Date(2026, 11, 14, 0, 30, 0, 0, time.UTC)

const serveToken = "cpserve_TESTtokenNeverPrinted_4242"

// serveStore is a store of real signed run records and evidence of two
// @daily jobs, Oct 10 to Nov 13, with deliberate gaps, and the config
// that names them:
//
//	bp-daily      every day passes, except Nov 5 (missing: no run record)
//	              and Nov 7 (a failing finding)
//	merges-daily  every day passes, except Nov 9 (the run failed)
type serveStore struct {
	b          *coveragetest.Builder
	config     string
	storeDir   string
	specs      []coverage.Spec
	envelope   string // key of one envelope
	gapWindow  schedules.Window
	failWindow schedules.Window
}

func newServeStore(t *testing.T) *serveStore {
	t.Helper()
	b := coveragetest.New(t)
	cat := controls.Default()
	bpCtl, err := cat.For("branch-protection")
	if err != nil {
		t.Fatal(err)
	}
	maCtl, err := cat.Evidence([]string{"CC8.1"})
	if err != nil {
		t.Fatal(err)
	}
	s := &serveStore{
		b: b, storeDir: filepath.Join(b.Dir, "evidence"),
		gapWindow:  schedules.Window{Start: nov(5), End: nov(6)},
		failWindow: schedules.Window{Start: nov(7), End: nov(8)},
		specs: []coverage.Spec{
			{Name: "bp-daily", Collector: "branch-protection", Schedule: "@daily", TimeZone: "UTC", Controls: bpCtl},
			{Name: "merges-daily", Collector: "merge-activity", Schedule: "@daily", TimeZone: "UTC", Controls: maCtl},
		},
	}
	for d := time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC); d.Before(nov(14)); d = d.AddDate(0, 0, 1) {
		w := schedules.Window{Start: d, End: d.AddDate(0, 0, 1)}
		bp := coveragetest.Run{Job: "bp-daily", Collector: "branch-protection", Schedule: "@daily", TimeZone: "UTC", Window: w, Status: evidence.RunSuccess, Controls: bpCtl}
		switch w {
		case s.gapWindow:
		case s.failWindow:
			bp.Findings = []evidence.Finding{
				{Target: "github.com/acme/api@main", Status: evidence.StatusPass, Summary: "protected: 1 approving review, status checks required"},
				{Target: "github.com/acme/web@main", Status: evidence.StatusFail, Verdict: "unprotected", Summary: "main accepts direct pushes: no pull request review required"},
			}
			fallthrough
		default:
			ev, _ := b.Write(bp)
			s.envelope = ev.Key
		}
		ma := coveragetest.Run{Job: "merges-daily", Collector: "merge-activity", Schedule: "@daily", TimeZone: "UTC", Window: w, Status: evidence.RunSuccess, Controls: maCtl}
		if d.Equal(nov(9)) {
			ma.Status, ma.Error = evidence.RunError, "GET /repos/acme/api/pulls: 502 Bad Gateway"
		}
		b.Write(ma)
	}
	s.config = filepath.Join(b.Dir, "changeproof.yaml")
	cfg := fmt.Sprintf(`store: file://%s
key: %s
jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
  - name: merges-daily
    collector: merge-activity
    schedule: "@daily"
    scope: {orgs: [acme]}
    controls: [CC8.1]
`, s.storeDir, b.KeyFile)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func nov(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

// settableClock is the served App's clock.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// server is a running `changeproof serve`.
type serveProcess struct {
	base           string
	clock          *settableClock
	stdout, stderr *syncbuf.Buffer
	stop           func() int
}

// startServe runs `changeproof serve ARGS --listen 127.0.0.1:0` until the
// test ends (or stop), with the environment env and the clock at serveNow.
func startServe(t *testing.T, env map[string]string, args ...string) *serveProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serveProcess{clock: &settableClock{t: serveNow}, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}}
	addr := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), &cli.App{
			Stdout: s.stdout, Stderr: s.stderr,
			Getenv:    func(k string) string { return env[k] },
			Now:       s.clock.Now,
			Build:     cli.Build{Version: "test"},
			Listening: func(a string) { addr <- a },
		})
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}
	var once sync.Once
	code := -1
	s.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(15 * time.Second):
				t.Error("serve did not stop within 15s of its context's end")
			}
		})
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

type serveResponse struct {
	code   int
	header http.Header
	body   []byte
}

// get requests base+path with the headers given as name, value pairs.
func (s *serveProcess) get(t *testing.T, method, path string, headers ...string) serveResponse {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return serveResponse{resp.StatusCode, resp.Header, body}
}

// asJSON decodes JSON into generic values, so that two encodings of the
// same report compare equal.
func asJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	return v
}

func TestServeCoverageIsComputeReport(t *testing.T) {
	st := newServeStore(t)
	srv := startServe(t, nil, "--config", st.config)

	compute := func(p coverage.Period) any {
		t.Helper()
		rep, err := coverage.Compute(context.Background(), coverage.Input{Store: st.b.Store, Verifier: st.b.Verifier, Specs: st.specs, Period: p, Now: serveNow})
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		return asJSON(t, data)
	}
	// An explicit period, and the default one: the 30 days before now.
	r := srv.get(t, "GET", "/api/v1/coverage?from=2026-11-01&to=2026-11-14")
	if r.code != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("coverage: %d %s", r.code, r.body)
	}
	got := asJSON(t, r.body)
	if want := compute(coverage.Period{From: nov(1), To: nov(14)}); !reflect.DeepEqual(got, want) {
		t.Fatalf("served coverage differs from coverage.Compute's:\n%s", r.body)
	}
	// And it is what `changeproof coverage --output json` prints.
	var out, errb strings.Builder
	if code := cli.Main(context.Background(), []string{"coverage", "--config", st.config, "--from", "2026-11-01", "--to", "2026-11-14", "--output", "json"},
		&cli.App{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: func() time.Time { return serveNow }}); code != 0 {
		t.Fatalf("coverage: %d %s", code, errb.String())
	}
	if !reflect.DeepEqual(asJSON(t, []byte(out.String())), got) {
		t.Fatalf("served coverage differs from `changeproof coverage --output json`:\n%s", out.String())
	}
	var rep coverage.Report
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatal(err)
	}
	bp := rep.Jobs[0]
	if bp.Name != "bp-daily" || bp.Expected != 13 || bp.Covered != 12 || len(bp.Gaps) != 1 || bp.Gaps[0].Status != coverage.WindowMissing || !bp.Gaps[0].Start.Equal(st.gapWindow.Start) {
		t.Fatalf("bp-daily = %d/%d, gaps %+v", bp.Covered, bp.Expected, bp.Gaps)
	}
	def := srv.get(t, "GET", "/api/v1/coverage")
	if want := compute(coverage.Period{From: serveNow.AddDate(0, 0, -30), To: serveNow}); def.code != 200 || !reflect.DeepEqual(asJSON(t, def.body), want) {
		t.Fatalf("default period: %d, differs from Compute's:\n%s", def.code, def.body)
	}

	// The report is reused for 30 s: a run written meanwhile shows after.
	if r := srv.get(t, "GET", "/api/v1/coverage?from=2026-11-01&to=2026-11-14"); !reflect.DeepEqual(asJSON(t, r.body), got) {
		t.Fatal("the same period gave a different report within the cache time")
	}
	st.b.Write(coveragetest.Run{Job: "bp-daily", Collector: "branch-protection", Schedule: "@daily", TimeZone: "UTC", Trigger: evidence.TriggerManual,
		Window: st.gapWindow, Status: evidence.RunSuccess, Controls: st.specs[0].Controls, FinishedAt: serveNow.Add(-time.Minute)})
	srv.clock.Add(10 * time.Second)
	if r := srv.get(t, "GET", "/api/v1/coverage?from=2026-11-01&to=2026-11-14"); !reflect.DeepEqual(asJSON(t, r.body), got) {
		t.Fatal("the report was recomputed within 30 s")
	}
	srv.clock.Add(25 * time.Second)
	r = srv.get(t, "GET", "/api/v1/coverage?from=2026-11-01&to=2026-11-14")
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Jobs[0].Covered != 13 || len(rep.Jobs[0].Gaps) != 0 {
		t.Fatalf("after 35 s the backfilled window is still a gap: %+v", rep.Jobs[0].Gaps)
	}

	// Bad periods name their parameter.
	for _, c := range []struct{ query, param string }{
		{"from=yesterday", "from"}, {"to=2026-13-01", "to"}, {"from=2026-11-10&to=2026-11-01", "from"},
	} {
		r := srv.get(t, "GET", "/api/v1/coverage?"+c.query)
		var e struct{ Error, Parameter string }
		if err := json.Unmarshal(r.body, &e); err != nil || r.code != 400 || e.Parameter != c.param || !strings.Contains(e.Error, c.param) {
			t.Errorf("%s: %d %s", c.query, r.code, r.body)
		}
	}
	if r := srv.get(t, "GET", "/?from=nope"); r.code != 400 {
		t.Errorf("page with a bad period: %d", r.code)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exited %d after its context ended: %s", code, srv.stderr.String())
	}
}

// Without a config, serve derives the jobs from the store's run records,
// as coverage does.
func TestServeWithoutAConfig(t *testing.T) {
	st := newServeStore(t)
	srv := startServe(t, nil, "--store", "file://"+st.storeDir, "--pubkey", st.b.PubFile)
	r := srv.get(t, "GET", "/api/v1/coverage?from=2026-11-01&to=2026-11-14")
	var rep coverage.Report
	if err := json.Unmarshal(r.body, &rep); err != nil || r.code != 200 {
		t.Fatalf("coverage: %d %s", r.code, r.body)
	}
	if len(rep.Jobs) != 2 || rep.Jobs[0].Name != "bp-daily" || rep.Jobs[0].Covered != 12 || rep.Jobs[1].Name != "merges-daily" || rep.Jobs[1].Covered != 12 {
		t.Fatalf("jobs from the run records: %+v", rep.Jobs)
	}
}

func TestServePageShowsTheGaps(t *testing.T) {
	st := newServeStore(t)
	srv := startServe(t, nil, "--config", st.config)
	r := srv.get(t, "GET", "/?from=2026-11-01&to=2026-11-14")
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("page: %d %v", r.code, r.header)
	}
	page := string(r.body)
	for _, want := range []string{
		`data-status="missing" data-start="2026-11-05T00:00:00Z" data-end="2026-11-06T00:00:00Z"`,
		`data-status="failed" data-start="2026-11-09T00:00:00Z"`,
		"GET /repos/acme/api/pulls: 502 Bad Gateway",
		"main accepts direct pushes: no pull request review required",
		`href="api/v1/evidence/evidence/branch-protection/`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if r := srv.get(t, "HEAD", "/healthz"); r.code != 200 {
		t.Errorf("HEAD /healthz: %d", r.code)
	}
}

func TestServeRequiresTheToken(t *testing.T) {
	st := newServeStore(t)
	srv := startServe(t, map[string]string{"CP_TOKEN": serveToken}, "--config", st.config, "--token-env", "CP_TOKEN", "--log-level", "debug")
	paths := []string{"/", "/api/v1/coverage", "/api/v1/evidence", "/api/v1/evidence/" + st.envelope, "/metrics", "/nowhere"}
	for _, p := range paths {
		for _, auth := range []string{"", "Bearer wrong-token", "Basic " + serveToken, "Bearer " + serveToken + "x"} {
			r := srv.get(t, "GET", p, "Authorization", auth)
			if r.code != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("GET %s with %q: %d, WWW-Authenticate %q", p, auth, r.code, r.header.Get("WWW-Authenticate"))
			}
		}
		r := srv.get(t, "GET", p, "Authorization", "Bearer "+serveToken)
		if want := map[bool]int{true: 404, false: 200}[p == "/nowhere"]; r.code != want {
			t.Errorf("GET %s with the token: %d, want %d: %s", p, r.code, want, r.body)
		}
		if strings.Contains(string(r.body), serveToken) {
			t.Errorf("GET %s answers with the token", p)
		}
	}
	if r := srv.get(t, "GET", "/healthz"); r.code != 200 || string(r.body) != "ok\n" {
		t.Errorf("/healthz without a token: %d %q", r.code, r.body)
	}
	srv.stop()
	if !strings.Contains(srv.stderr.String(), "bearer token required") || !strings.Contains(srv.stderr.String(), "status=401") {
		t.Errorf("stderr does not say a token is required or log requests:\n%s", srv.stderr.String())
	}
	assertNoToken(t, st.storeDir, srv.stdout.String(), srv.stderr.String())
	for _, out := range []string{srv.stdout.String(), srv.stderr.String()} {
		if strings.Contains(out, serveToken) {
			t.Fatal("the serve token was printed")
		}
	}
}

func TestServeEvidenceListingAndDownload(t *testing.T) {
	st := newServeStore(t)
	// A file in the store's directory outside the served prefixes, and one
	// beside it: neither may be read.
	if err := os.WriteFile(filepath.Join(st.storeDir, "private.json"), []byte(`{"secret":"store-private"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, nil, "--config", st.config)

	var listing struct {
		Prefix  string
		Objects []struct {
			Key     string
			Size    int64
			ModTime time.Time
		}
		Truncated bool
		Next      string
	}
	r := srv.get(t, "GET", "/api/v1/evidence?prefix=evidence/")
	if err := json.Unmarshal(r.body, &listing); err != nil || r.code != 200 {
		t.Fatalf("listing: %d %s", r.code, r.body)
	}
	var want []string
	for obj, err := range st.b.Store.List(context.Background(), "evidence/") {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, obj.Key)
	}
	var got []string
	for _, o := range listing.Objects {
		got = append(got, o.Key)
		if o.Size <= 0 || o.ModTime.IsZero() {
			t.Errorf("%s: size %d, modTime %v", o.Key, o.Size, o.ModTime)
		}
	}
	if len(want) < 30 || !reflect.DeepEqual(got, want) || listing.Truncated {
		t.Fatalf("listed %d keys, the store has %d under evidence/", len(got), len(want))
	}

	// Paging: every key once, in order, across pages of 7.
	var paged []string
	for after, pages := "", 0; ; pages++ {
		r := srv.get(t, "GET", "/api/v1/evidence?limit=7&after="+after)
		listing.Objects, listing.Truncated, listing.Next = nil, false, ""
		if err := json.Unmarshal(r.body, &listing); err != nil || r.code != 200 || pages > 100 {
			t.Fatalf("page %d: %d %s", pages, r.code, r.body)
		}
		for _, o := range listing.Objects {
			paged = append(paged, o.Key)
		}
		if !listing.Truncated {
			break
		}
		after = listing.Next
	}
	var all []string
	for _, p := range []string{"evidence/", "keys/", "raw/", "runs/"} { // in key order
		for obj, err := range st.b.Store.List(context.Background(), p) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, obj.Key)
		}
	}
	if !reflect.DeepEqual(paged, all) {
		t.Fatalf("paged listing: %d keys, want %d", len(paged), len(all))
	}

	// Download: the stored bytes.
	r = srv.get(t, "GET", "/api/v1/evidence/"+st.envelope)
	data, err := st.b.Store.Get(context.Background(), st.envelope)
	if err != nil {
		t.Fatal(err)
	}
	if r.code != 200 || string(r.body) != string(data) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("download: %d %s", r.code, r.header)
	}
	if r := srv.get(t, "HEAD", "/api/v1/evidence/"+st.envelope); r.code != 200 || len(r.body) != 0 || r.header.Get("Content-Length") != fmt.Sprint(len(data)) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %s", r.code, len(r.body), r.header.Get("Content-Length"))
	}

	// Refused: missing keys, other prefixes, traversal, writes.
	refused := []struct {
		method, path string
		code         int
	}{
		{"GET", "/api/v1/evidence/evidence/branch-protection/nope.json", 404},
		{"GET", "/api/v1/evidence/private.json", 400},
		{"GET", "/api/v1/evidence?prefix=private", 400},
		{"GET", "/api/v1/evidence?prefix=../", 400},
		{"GET", "/api/v1/evidence?limit=0", 400},
		{"GET", "/api/v1/evidence/evidence/%2e%2e/private.json", 400},
		{"GET", "/api/v1/evidence/evidence/..%2fprivate.json", 400},
		{"GET", "/api/v1/evidence/evidence%2f..%2f..%2fsigning.key", 400},
		{"GET", "/api/v1/evidence/evidence/a%5c..%5cprivate.json", 400},
		{"GET", "/api/v1/evidence/evidence/../private.json", 307}, // the mux cleans the path: a redirect to a refused key, not the file
		{"POST", "/api/v1/evidence/" + st.envelope, 405},
		{"PUT", "/api/v1/evidence/evidence/new.json", 405},
		{"DELETE", "/api/v1/evidence/" + st.envelope, 405},
	}
	for _, c := range refused {
		r := srv.get(t, c.method, c.path)
		if r.code != c.code || strings.Contains(string(r.body), "store-private") || strings.Contains(string(r.body), "PRIVATE KEY") {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, r.code, c.code, r.body)
		}
		if c.code == 405 && r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, r.header.Get("Allow"))
		}
	}
	if _, err := st.b.Store.Stat(context.Background(), "evidence/new.json"); err == nil {
		t.Fatal("PUT wrote to the store")
	}
}

func TestServeMetrics(t *testing.T) {
	st := newServeStore(t)
	srv := startServe(t, nil, "--config", st.config)
	m := scrape(t, srv.base+"/metrics")
	// The default period, [Oct 15 00:30, Nov 14 00:30), expects the windows
	// of Oct 15 to Nov 13: 30 per job.
	checks := map[string]float64{
		`changeproof_job_windows{job="bp-daily",status="pass"}`:                         28,
		`changeproof_job_windows{job="bp-daily",status="fail"}`:                         1,
		`changeproof_job_windows{job="bp-daily",status="missing"}`:                      1,
		`changeproof_job_windows{job="bp-daily",status="unverifiable"}`:                 0,
		`changeproof_job_windows{job="merges-daily",status="failed"}`:                   1,
		`changeproof_job_coverage_ratio{job="bp-daily"}`:                                29.0 / 30,
		`changeproof_job_coverage_ratio{job="merges-daily"}`:                            29.0 / 30,
		`changeproof_control_coverage_ratio{control="CC8.1",framework="soc2"}`:          58.0 / 60,
		`changeproof_job_last_covered_window_end_timestamp_seconds{job="bp-daily"}`:     float64(nov(14).Unix()),
		`changeproof_job_last_covered_window_end_timestamp_seconds{job="merges-daily"}`: float64(nov(14).Unix()),
		`changeproof_job_stale{job="bp-daily"}`:                                         0,
		`changeproof_coverage_exceptions{}`:                                             1,
		`changeproof_coverage_verification_problems{}`:                                  0,
	}
	for series, want := range checks {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	// The ratios are those of coverage.Compute for the same period.
	rep, err := coverage.Compute(context.Background(), coverage.Input{Store: st.b.Store, Verifier: st.b.Verifier, Specs: st.specs, Period: coverage.Period{From: serveNow.AddDate(0, 0, -30), To: serveNow}, Now: serveNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Controls {
		key := fmt.Sprintf(`changeproof_control_coverage_ratio{control=%q,framework=%q}`, c.ID, c.Framework)
		if got, ok := m[key]; !ok || got != c.Ratio {
			t.Errorf("%s = %v, Compute says %v", key, got, c.Ratio)
		}
	}
	if len(rep.Controls) < 2 {
		t.Errorf("want the branch-protection job's controls of both frameworks, got %+v", rep.Controls)
	}
}

func TestServeRefusesBadSetups(t *testing.T) {
	st := newServeStore(t)
	emptyConfig := filepath.Join(st.b.Dir, "empty.yaml")
	if err := os.WriteFile(emptyConfig, []byte("key: "+st.b.KeyFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no key", nil, []string{"serve", "--store", "file://" + st.storeDir}, "--pubkey is required"},
		{"config without jobs", nil, []string{"serve", "--config", emptyConfig}, "has no jobs"},
		{"token variable unset", nil, []string{"serve", "--config", st.config, "--token-env", "CP_TOKEN"}, "--token-env CP_TOKEN: the environment variable CP_TOKEN is not set"},
		{"bad listen", nil, []string{"serve", "--config", st.config, "--listen", "9465"}, `--listen "9465"`},
		{"missing pubkey", nil, []string{"serve", "--config", st.config, "--pubkey", filepath.Join(st.b.Dir, "nope.pub")}, "--pubkey"},
		{"missing store", nil, []string{"serve", "--config", st.config, "--store", filepath.Join(st.b.Dir, "nope")}, "nope"},
		{"extra argument", nil, []string{"serve", "--config", st.config, "now"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runEnv(t, c.env, c.args...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Fatalf("got %d %q, want one line containing %q", r.code, r.stderr, c.want)
			}
		})
	}
}

func TestServeWarnsWhenListeningBeyondLoopbackWithoutAToken(t *testing.T) {
	st := newServeStore(t)
	srv := startServe(t, nil, "--config", st.config, "--listen", "0.0.0.0:0")
	srv.stop()
	if !strings.Contains(srv.stderr.String(), "level=WARN") || !strings.Contains(srv.stderr.String(), "without a token") {
		t.Fatalf("no warning:\n%s", srv.stderr.String())
	}
	srv = startServe(t, map[string]string{"CP_TOKEN": serveToken}, "--config", st.config, "--listen", "0.0.0.0:0", "--token-env", "CP_TOKEN")
	srv.stop()
	if strings.Contains(srv.stderr.String(), "without a token") {
		t.Fatalf("warned with a token:\n%s", srv.stderr.String())
	}
}

func TestServeHelpExplainsItself(t *testing.T) {
	r := run(t, "serve", "--help")
	for _, want := range []string{"/api/v1/coverage", "/metrics", "30 seconds", "127.0.0.1:9465", "--token-env", "Exit codes", "Examples:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}
