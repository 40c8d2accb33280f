package deployments

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/internal/syncbuf"
	"github.com/changeproof/changeproof/schedules"
)

// The tokens the fakes require and the clients send. They look like real
// tokens so a leak would be recognisable in evidence, errors and logs.
const (
	ghToken = "ghp_TestTokenNotASecret0123456789abcdef"
	cfToken = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
)

// testRetries is how often the clients retry in tests.
const testRetries = collectortest.Retries

const (
	sampleOrg     = "../../testdata/github/sample-org"
	sampleAccount = "../../testdata/cloudflare/sample-account"
	acct          = "0123456789abcdef0123456789abcdef"
	weekStart     = "2026-11-16T00:00:00Z"
	weekEnd       = "2026-11-23T00:00:00Z"
	caseNow       = "2026-11-23T12:00:00Z"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// week is the demo window, [2026-11-16, 2026-11-23).
func week() schedules.Window {
	return schedules.Window{Start: mustTime(weekStart), End: mustTime(weekEnd)}
}

// env is a fake GitHub and a fake Cloudflare with clients for them.
type env struct {
	gh   *ghfake.Server
	cf   *cffake.Server
	ghc  *githubapi.Client
	cfc  *cfapi.Client
	logs *syncbuf.Buffer
}

type envOptions struct {
	ghMaxPerPage, cfMaxPerPage int
	// cfClientToken, when set, is the token the Cloudflare client sends.
	cfClientToken string
	// ghWrap, when set, wraps the fake GitHub's handler.
	ghWrap func(http.Handler) http.Handler
}

func loadGitHub(t testing.TB, dir string) *ghfake.Fixture { return collectortest.LoadGitHub(t, dir) }

func loadCloudflare(t testing.TB, dir string) *cffake.Fixture {
	t.Helper()
	fx, err := cffake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// newEnv serves the fixtures (a nil Cloudflare fixture serves no route)
// and builds clients with millisecond retry waits.
func newEnv(t testing.TB, ghfx *ghfake.Fixture, cffx *cffake.Fixture, o envOptions) *env {
	t.Helper()
	if cffx == nil {
		cffx = &cffake.Fixture{}
	}
	if err := ghfx.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cffx.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{logs: &syncbuf.Buffer{}}
	ghOpts := []ghfake.Option{ghfake.WithToken(ghToken)}
	if o.ghMaxPerPage > 0 {
		ghOpts = append(ghOpts, ghfake.WithMaxPerPage(o.ghMaxPerPage))
	}
	e.gh = ghfake.New(ghfx, ghOpts...)
	cfOpts := []cffake.Option{cffake.WithToken(cfToken)}
	if o.cfMaxPerPage > 0 {
		cfOpts = append(cfOpts, cffake.WithMaxPerPage(o.cfMaxPerPage))
	}
	e.cf = cffake.New(cffx, cfOpts...)
	var gh http.Handler = e.gh
	if o.ghWrap != nil {
		gh = o.ghWrap(gh)
	}
	log := testLogger(t, e.logs)
	_, e.ghc = collectortest.GitHubClient(t, e.gh, gh, ghToken, log)
	cfs := httptest.NewServer(e.cf)
	t.Cleanup(cfs.Close)
	var err error
	tok := cfToken
	if o.cfClientToken != "" {
		tok = o.cfClientToken
	}
	e.cfc, err = cfapi.New(cfapi.Options{BaseURL: e.cf.URL(cfs.URL), Token: secret.New(tok), Logger: log,
		RetryMax: testRetries, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, RateLimit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testLogger logs at debug to the buffer and, at info, to the test output;
// benchmarks only to the buffer.
func testLogger(t testing.TB, buf *syncbuf.Buffer) *slog.Logger {
	h := slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(teeHandler{h, collectortest.Logger(t, slog.LevelInfo).Handler()})
}

type teeHandler struct{ a, b slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.a.Enabled(ctx, l) || h.b.Enabled(ctx, l)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.a.Enabled(ctx, r.Level) {
		_ = h.a.Handle(ctx, r.Clone())
	}
	if h.b.Enabled(ctx, r.Level) {
		return h.b.Handle(ctx, r)
	}
	return nil
}

func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.a.WithAttrs(as), h.b.WithAttrs(as)}
}

func (h teeHandler) WithGroup(n string) slog.Handler {
	return teeHandler{h.a.WithGroup(n), h.b.WithGroup(n)}
}

// collector builds the collector with a fixed clock.
func (e *env) collector(t testing.TB, now time.Time) *Collector {
	return New(collectors.Deps{GitHub: e.ghc, Cloudflare: e.cfc, Logger: testLogger(t, e.logs), Now: func() time.Time { return now }}).(*Collector)
}

// requests is what both fakes received.
func (e *env) requests() int { return e.gh.Requests() + e.cf.Requests() }

// collect runs a collection and fails the test on error.
func collect(t testing.TB, c *Collector, scope collectors.Scope, w schedules.Window, p *Policy) *collectors.Result {
	t.Helper()
	return collectortest.Collect(t, c, collectors.Request{Scope: scope, Window: w, Policy: p})
}

func repos(names ...string) collectors.Scope {
	var s collectors.Scope
	for _, n := range names {
		r, err := collectors.ParseRepo(n)
		if err != nil {
			panic(err)
		}
		s.Repos = append(s.Repos, r)
	}
	return s
}

// samplePolicy is the demo's policy: the sample account's Worker and Pages
// project.
func samplePolicy() *Policy {
	p := NewPolicy()
	p.Cloudflare.AccountID = acct
	p.Cloudflare.Workers = []WorkerPolicy{{Script: "payments-api", Repo: "acme/payments"}}
	p.Cloudflare.Pages = []PagesPolicy{{Project: "web"}}
	return p
}
