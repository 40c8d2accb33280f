package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServesSampleOrgAndStops(t *testing.T) {
	urlFile := filepath.Join(t.TempDir(), "ghfake.url")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	env := map[string]string{"FAKE_TOKEN": "tok-123"}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--fixture", "../../../testdata/github/sample-org", "--url-file", urlFile,
			"--token-env", "FAKE_TOKEN", "--log-level", "debug"}, &stderr, func(k string) string { return env[k] })
	}()

	var url string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			url = string(b)
			break
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/api/v3/") {
		t.Fatalf("URL file holds %q; stderr:\n%s", url, stderr.String())
	}
	req, _ := http.NewRequest(http.MethodGet, url+"orgs/acme/repos", nil)
	req.Header.Set("Authorization", "Bearer tok-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"full_name": "acme/payments"`)) {
		t.Errorf("GET orgs/acme/repos = %d %.200s", resp.StatusCode, body)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ghfake did not stop")
	}
	if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
		t.Errorf("URL file left behind: %v", err)
	}
	logs := stderr.String()
	if !strings.Contains(logs, "path=/api/v3/orgs/acme/repos") || !strings.Contains(logs, "level=DEBUG") {
		t.Errorf("requests are not logged at debug:\n%s", logs)
	}
	if strings.Contains(logs, "tok-123") {
		t.Error("the token appears in the log")
	}
}

// The command line itself is tested in internal/fakeapi; this checks the
// fixture is this fake's own.
func TestMissingFixture(t *testing.T) {
	var stderr bytes.Buffer
	if c := run(context.Background(), []string{"--fixture", t.TempDir()}, &stderr, os.Getenv); c != 1 || !strings.Contains(stderr.String(), "routes.json") {
		t.Errorf("missing fixture: %d %q", c, stderr.String())
	}
}
