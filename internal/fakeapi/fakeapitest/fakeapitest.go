// Package fakeapitest runs a fake API's command line (internal/cmd/ghfake,
// cffake) inside a test: started with a URL file, stopped by cancelling its
// context, its stderr kept.
package fakeapitest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/syncbuf"
)

// wait bounds how long Start waits for the URL file and Stop for the exit.
const wait = 10 * time.Second

// RunFunc is a fake's program: it serves until ctx is done and returns the
// exit code.
type RunFunc func(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int

// Process is a fake's command line running in a test.
type Process struct {
	// URL is the API base URL the program wrote to its URL file; empty if
	// none appeared in time.
	URL string

	urlFile string
	cancel  context.CancelFunc
	code    chan int
	stderr  syncbuf.Buffer
}

// Start runs run with args and --url-file, env as its environment, and
// waits for the URL file. The program is cancelled when the test ends, if
// Stop was not called.
func Start(t *testing.T, run RunFunc, args []string, env map[string]string) *Process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{urlFile: filepath.Join(t.TempDir(), "api.url"), cancel: cancel, code: make(chan int, 1)}
	t.Cleanup(cancel)
	args = append(append([]string(nil), args...), "--url-file", p.urlFile)
	go func() { p.code <- run(ctx, args, &p.stderr, func(k string) string { return env[k] }) }()
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(p.urlFile); err == nil && len(b) > 0 {
			p.URL = string(b)
			break
		}
	}
	return p
}

// Logs is what the program wrote to stderr so far.
func (p *Process) Logs() string { return p.stderr.String() }

// Stop cancels the program and waits for it to exit. The test fails unless
// it exits 0 and removes its URL file. Stop returns the program's stderr.
func (p *Process) Stop(t *testing.T) string {
	t.Helper()
	p.cancel()
	select {
	case c := <-p.code:
		if c != 0 {
			t.Errorf("exit code %d; stderr:\n%s", c, p.Logs())
		}
	case <-time.After(wait):
		t.Fatalf("the program did not stop; stderr:\n%s", p.Logs())
	}
	if _, err := os.Stat(p.urlFile); !os.IsNotExist(err) {
		t.Errorf("URL file left behind: %v", err)
	}
	return p.Logs()
}

// ListenFunc is a fake's ListenAndServe with its server bound.
type ListenFunc func(ctx context.Context, addr string, ready func(baseURL string) error) error

// Listen runs listen on a free loopback port until the test calls stop, and
// returns the base URL passed to ready. stop cancels listen and returns its
// error; the test fails if listen ends early or does not end in time.
func Listen(t *testing.T, listen ListenFunc) (baseURL string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- listen(ctx, "127.0.0.1:0", func(u string) error { urls <- u; return nil })
	}()
	select {
	case baseURL = <-urls:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	case <-time.After(wait):
		t.Fatal("no URL within 10s")
	}
	return baseURL, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(wait):
			t.Fatal("ListenAndServe did not stop")
			return nil
		}
	}
}

// CheckLog fails the test unless logs record, at debug level, a request
// whose path starts with path, and unless they never show the token.
func CheckLog(t *testing.T, logs, path, token string) {
	t.Helper()
	if !strings.Contains(logs, "path="+path) || !strings.Contains(logs, "level=DEBUG") {
		t.Errorf("requests are not logged at debug:\n%s", logs)
	}
	if strings.Contains(logs, token) {
		t.Error("the token appears in the log")
	}
}

// MissingFixture checks that run fails (exit 1), naming routesFile, for a
// fixture directory without it.
func MissingFixture(t *testing.T, run RunFunc, routesFile string) {
	t.Helper()
	var stderr bytes.Buffer
	if c := run(context.Background(), []string{"--fixture", t.TempDir()}, &stderr, os.Getenv); c != 1 || !strings.Contains(stderr.String(), routesFile) {
		t.Errorf("missing fixture: %d %q", c, stderr.String())
	}
}
