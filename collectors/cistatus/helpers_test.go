package cistatus

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/schedules"
)

// testToken is the token the fake requires and the client sends.
const testToken = collectortest.Token

// testRetries is how often the client retries in tests: GitHub's answer to
// a request that keeps failing is seen 1+testRetries times.
const testRetries = collectortest.Retries

const sampleOrg = "../../testdata/github/sample-org"

const (
	weekStart = "2026-11-16T00:00"
	weekEnd   = "2026-11-23T00:00"
	caseNow   = "2026-11-23T12:00"
)

// week is the demo window, [2026-11-16, 2026-11-23).
func week() schedules.Window {
	return schedules.Window{Start: mustTime(weekStart), End: mustTime(weekEnd)}
}

// pager serves a fixture through ghfake, which pages JSON arrays and the
// listings GitHub pages inside object bodies (check_runs, statuses,
// workflow_runs, workflows) as GitHub does, and records every body served
// by request, so tests can check the facts keep them byte for byte.
type pager struct {
	srv *ghfake.Server

	mu     sync.Mutex
	served map[string][]byte
}

func newPager(srv *ghfake.Server) *pager {
	return &pager{srv: srv, served: map[string][]byte{}}
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.srv.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	key := "GET /" + strings.TrimPrefix(r.URL.EscapedPath(), p.srv.BasePath())
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.RawQuery
	}
	p.mu.Lock()
	p.served[key] = append([]byte(nil), body...)
	p.mu.Unlock()
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// body is what was served for a request ("GET /repos/…?…").
func (p *pager) body(req string) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.served[req]
	return b, ok
}

// fakeGitHub serves a fixture directory through a pager and returns the
// fake, the pager and a client pointed at them.
func fakeGitHub(t testing.TB, dir string, maxPerPage int) (*ghfake.Server, *pager, *githubapi.Client) {
	t.Helper()
	return serveFixture(t, collectortest.LoadGitHub(t, dir), maxPerPage)
}

// serveFixture serves a fixture through a recording pager (maxPerPage 0: GitHub's
// 100).
func serveFixture(t testing.TB, fx *ghfake.Fixture, maxPerPage int) (*ghfake.Server, *pager, *githubapi.Client) {
	t.Helper()
	if err := fx.Validate(); err != nil {
		t.Fatal(err)
	}
	if maxPerPage <= 0 {
		maxPerPage = ghfake.MaxPerPage
	}
	srv := ghfake.New(fx, ghfake.WithToken(testToken), ghfake.WithMaxPerPage(maxPerPage))
	pg := newPager(srv)
	return srv, pg, serveHandler(t, srv, pg)
}

// serveHandler serves h (a handler in front of srv) and returns a client
// for it.
func serveHandler(t testing.TB, srv *ghfake.Server, h http.Handler) *githubapi.Client {
	t.Helper()
	_, gh := collectortest.GitHubClient(t, srv, h, testToken, testLogger(t))
	return gh
}

// memFixture turns generated routes and files into an in-memory fixture.
func memFixture(ffs ...*fixtureFiles) *ghfake.Fixture {
	fx := &ghfake.Fixture{}
	for _, ff := range ffs {
		for _, r := range ff.routes {
			if r.File != "" {
				r.Body, r.File = ff.files[r.File], ""
			}
			fx.Routes = append(fx.Routes, r)
		}
	}
	return fx
}

// testLogger logs to the test's output; benchmarks discard.
func testLogger(t testing.TB) *slog.Logger { return collectortest.Logger(t, slog.LevelInfo) }

// newCollector builds the collector with a fixed clock and a concurrency.
func newCollector(t testing.TB, gh *githubapi.Client, now time.Time, concurrency int) *Collector {
	c := New(collectors.Deps{GitHub: gh, Logger: testLogger(t), Now: func() time.Time { return now }}).(*Collector)
	if concurrency > 0 {
		c.concurrency = concurrency
	}
	return c
}

// collect runs a collection and fails the test on error.
func collect(t testing.TB, c *Collector, scope collectors.Scope, w schedules.Window, p *Policy) *collectors.Result {
	t.Helper()
	return collectortest.Collect(t, c, collectors.Request{Scope: scope, Window: w, Policy: p})
}

// apiScope is acme/api's main branch.
var apiScope = collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "api"}}, Branches: []string{"main"}}
