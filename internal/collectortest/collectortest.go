// Package collectortest holds the helpers the collectors' tests share: a
// fake GitHub served over HTTP with a client for it, a logger writing to
// the test's output, and a collection that fails the test on error.
package collectortest

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
)

// Token is the token the fake GitHub requires and the client sends.
const Token = "test-token-not-a-secret"

// Retries is how often the clients retry in tests: GitHub's answer to a
// request that keeps failing is seen 1+Retries times.
const Retries = 2

// LoadGitHub loads a fake GitHub fixture directory, failing the test when
// it cannot be read.
func LoadGitHub(t testing.TB, dir string) *ghfake.Fixture {
	t.Helper()
	fx, err := ghfake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// GitHubClient serves h (srv, or a handler in front of it) on an httptest
// server closed at the test's end, and returns the server and a client for
// it sending token, logging to log, with millisecond retry waits.
func GitHubClient(t testing.TB, srv *ghfake.Server, h http.Handler, token string, log *slog.Logger) (*httptest.Server, *githubapi.Client) {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	gh, err := githubapi.New(githubapi.Options{
		BaseURL:      srv.URL(hs.URL),
		Token:        secret.New(token),
		Logger:       log,
		RetryMax:     Retries,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return hs, gh
}

// Logger logs from level up to the test's output; a benchmark's logger
// discards.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(Writer{T: t}, &slog.HandlerOptions{Level: level}))
}

// Writer writes to the test's output, a log line at a time.
type Writer struct{ T testing.TB }

func (w Writer) Write(p []byte) (int, error) {
	w.T.Helper()
	w.T.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Collect validates req and collects it, failing the test on either error.
func Collect(t testing.TB, c collectors.Collector, req collectors.Request) *collectors.Result {
	t.Helper()
	if err := c.Validate(req); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	res, err := c.Collect(context.Background(), req)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return res
}
