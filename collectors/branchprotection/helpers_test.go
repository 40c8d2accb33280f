package branchprotection

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
)

// testToken is the token the fake requires and the client sends.
const testToken = "test-token-not-a-secret"

// testRetries is how often the client retries in tests: GitHub's answer to
// a request that keeps failing is seen 1+testRetries times.
const testRetries = 2

// fakeGitHub serves a fixture directory and returns the server and a client
// pointed at it, with millisecond retry waits.
func fakeGitHub(t testing.TB, dir string, opts ...ghfake.Option) (*ghfake.Server, *githubapi.Client) {
	t.Helper()
	fx, err := ghfake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return serveFixture(t, fx, opts...)
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
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	gh, err := githubapi.New(githubapi.Options{
		BaseURL:      srv.URL(hs.URL),
		Token:        secret.New(testToken),
		Logger:       testLogger(t),
		RetryMax:     testRetries,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return hs, gh
}

// testLogger logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

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
	req := collectors.Request{Scope: scope, Policy: p}
	if err := c.Validate(req); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	res, err := c.Collect(context.Background(), req)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return res
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
