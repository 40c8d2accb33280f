package mergeactivity

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/schedules"
)

// testToken is the token the fake requires and the client sends.
const testToken = "test-token-not-a-secret"

// testRetries is how often the client retries in tests: GitHub's answer to
// a request that keeps failing is seen 1+testRetries times.
const testRetries = 2

const sampleOrg = "../../testdata/github/sample-org"

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

// testLogger logs to the test's output; benchmarks discard.
func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newCollector builds the collector with a fixed clock and a concurrency.
func newCollector(t testing.TB, gh *githubapi.Client, now time.Time, concurrency int) *Collector {
	c := New(collectors.Deps{GitHub: gh, Logger: testLogger(t), Now: func() time.Time { return now }}).(*Collector)
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
	req := collectors.Request{Scope: scope, Window: w, Policy: p}
	if err := c.Validate(req); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	res, err := c.Collect(context.Background(), req)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return res
}
