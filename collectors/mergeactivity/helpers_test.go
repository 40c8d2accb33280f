package mergeactivity

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// fakeGitHub serves a fixture directory and returns the server and a client
// pointed at it, with millisecond retry waits.
func fakeGitHub(t testing.TB, dir string, opts ...ghfake.Option) (*ghfake.Server, *githubapi.Client) {
	t.Helper()
	return serveFixture(t, collectortest.LoadGitHub(t, dir), opts...)
}

func serveFixture(t testing.TB, fx *ghfake.Fixture, opts ...ghfake.Option) (*ghfake.Server, *githubapi.Client) {
	t.Helper()
	if err := fx.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := ghfake.New(fx, append([]ghfake.Option{ghfake.WithToken(testToken)}, opts...)...)
	_, gh := serveHandler(t, srv, srv)
	return srv, gh
}

// serveHandler serves h (srv, or a handler wrapping it) and returns a client
// for it.
func serveHandler(t testing.TB, srv *ghfake.Server, h http.Handler) (*httptest.Server, *githubapi.Client) {
	t.Helper()
	return collectortest.GitHubClient(t, srv, h, testToken, testLogger(t))
}

// testLogger logs to the test's output; benchmarks discard.
func testLogger(t testing.TB) *slog.Logger { return collectortest.Logger(t, slog.LevelInfo) }

// newCollector builds the collector over REST (the golden cases' API) with
// a fixed clock and a concurrency.
func newCollector(t testing.TB, gh *githubapi.Client, now time.Time, concurrency int) *Collector {
	c := newGraphQLCollector(t, gh, now, concurrency)
	c.graphql = false
	return c
}

// newGraphQLCollector builds the collector as users get it: the pull
// requests listed over GraphQL.
func newGraphQLCollector(t testing.TB, gh *githubapi.Client, now time.Time, concurrency int) *Collector {
	c := New(collectors.Deps{GitHub: gh, Logger: testLogger(t), Now: func() time.Time { return now }}).(*Collector)
	if !c.graphql {
		t.Fatal("the client keeps to REST")
	}
	if concurrency > 0 {
		c.concurrency = concurrency
	}
	return c
}

// week is the demo window, [2026-11-16, 2026-11-23).
func week() schedules.Window {
	return schedules.Window{Start: mustTime(weekStart), End: mustTime(weekEnd)}
}

// collect runs a collection and fails the test on error.
func collect(t testing.TB, c *Collector, scope collectors.Scope, w schedules.Window, p *Policy) *collectors.Result {
	t.Helper()
	return collectortest.Collect(t, c, collectors.Request{Scope: scope, Window: w, Policy: p})
}
