package branchprotection

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// testToken is the token the fake requires and the client sends.
const testToken = collectortest.Token

// testRetries is how often the client retries in tests: GitHub's answer to
// a request that keeps failing is seen 1+testRetries times.
const testRetries = collectortest.Retries

// fakeGitHub serves a fixture directory and returns the server and a client
// pointed at it, with millisecond retry waits.
func fakeGitHub(t testing.TB, dir string, opts ...ghfake.Option) (*ghfake.Server, *githubapi.Client) {
	t.Helper()
	return serveFixture(t, collectortest.LoadGitHub(t, dir), opts...)
}

func serveFixture(t testing.TB, fx *ghfake.Fixture, opts ...ghfake.Option) (*ghfake.Server, *githubapi.Client) {
	t.Helper()
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

// testLogger logs to the test's output, debug included; benchmarks discard.
func testLogger(t testing.TB) *slog.Logger { return collectortest.Logger(t, slog.LevelDebug) }

// newCollector builds the collector with a given concurrency.
func newCollector(t testing.TB, gh *githubapi.Client, concurrency int) *Collector {
	c := New(collectors.Deps{GitHub: gh, Logger: testLogger(t), Now: time.Now}).(*Collector)
	if concurrency > 0 {
		c.concurrency = concurrency
	}
	return c
}

// collect runs a collection and fails the test on error.
func collect(t testing.TB, c *Collector, scope collectors.Scope, p *Policy) *collectors.Result {
	t.Helper()
	return collectortest.Collect(t, c, collectors.Request{Scope: scope, Policy: p})
}

var rulesetPathRE = regexp.MustCompile(`^/repos/[^/]+/[^/]+/rulesets/`)

// normalisedRequests are the fake's request counts with ruleset reads
// keyed by ruleset only: which repository reads a shared organisation
// ruleset first depends on scheduling.
func normalisedRequests(srv *ghfake.Server) map[string]int {
	out := map[string]int{}
	for p, n := range srv.RequestsByPath() {
		out[rulesetPathRE.ReplaceAllString(p, "/repos/*/*/rulesets/")] += n
	}
	return out
}
