package main

import (
	"bytes"
	"context"
	"encoding/json"
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

const sampleAccount = "../../../testdata/cloudflare/sample-account"

func TestServesSampleAccountAndStops(t *testing.T) {
	urlFile := filepath.Join(t.TempDir(), "cffake.url")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	env := map[string]string{"FAKE_CF_TOKEN": "cf-tok-123"}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--fixture", sampleAccount, "--url-file", urlFile, "--token-env", "FAKE_CF_TOKEN", "--log-level", "debug"},
			&stderr, func(k string) string { return env[k] })
	}()
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			base = string(b)
			break
		}
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/client/v4") {
		t.Fatalf("URL file holds %q; stderr:\n%s", base, stderr.String())
	}
	get := func(token string, path ...string) (int, []byte) {
		p := "/accounts/0123456789abcdef0123456789abcdef/pages/projects/web"
		if len(path) > 0 {
			p = path[0]
		}
		req, _ := http.NewRequest(http.MethodGet, base+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get("cf-tok-123")
	var env2 struct {
		Success bool `json:"success"`
		Result  struct {
			Name string `json:"name"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &env2); status != 200 || err != nil || !env2.Success || env2.Result.Name != "web" {
		t.Errorf("GET project = %d %.200s", status, body)
	}
	// A Worker's deployments are not paginated, in the sample account as at
	// Cloudflare: page and per_page are ignored, there is no result_info.
	status, body = get("cf-tok-123", "/accounts/0123456789abcdef0123456789abcdef/workers/scripts/payments-api/deployments?page=2&per_page=1")
	var deps struct {
		Result struct {
			Deployments []json.RawMessage `json:"deployments"`
		} `json:"result"`
		ResultInfo json.RawMessage `json:"result_info"`
	}
	if err := json.Unmarshal(body, &deps); status != 200 || err != nil || len(deps.Result.Deployments) != 5 || deps.ResultInfo != nil {
		t.Errorf("GET Worker deployments page 2 of 1 = %d: %d deployments, result_info %s; want all 5, none", status, len(deps.Result.Deployments), deps.ResultInfo)
	}
	if status, _ := get("wrong"); status != http.StatusForbidden {
		t.Errorf("a wrong token got %d", status)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cffake did not stop")
	}
	if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
		t.Errorf("URL file left behind: %v", err)
	}
	logs := stderr.String()
	if !strings.Contains(logs, "path=/client/v4/accounts/") || !strings.Contains(logs, "level=DEBUG") {
		t.Errorf("requests are not logged at debug:\n%s", logs)
	}
	if strings.Contains(logs, "cf-tok-123") {
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
