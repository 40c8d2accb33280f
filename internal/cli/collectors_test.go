package cli_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/cffake"
)

// fakeCloudflare serves the bundled sample account, requiring the token.
func fakeCloudflare(t *testing.T) string {
	t.Helper()
	f, err := cffake.Load(filepath.Join("..", "..", "testdata", "cloudflare", "sample-account"))
	if err != nil {
		t.Fatal(err)
	}
	srv := cffake.New(f, cffake.WithToken(testCFToken))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv.URL(hs.URL)
}

func findings(t *testing.T, r result) (collectJSON, map[string]string) {
	t.Helper()
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("collect --output json printed %q: %v (stderr %s)", r.stdout, err, r.stderr)
	}
	got := map[string]string{}
	for _, f := range out.Findings {
		got[f.Target] = f.Status
	}
	return out, got
}

// The demo's collections of ci-status and deployments, end to end through
// the command line, as `make demo` runs them.
func TestCollectCIStatusAndDeployments(t *testing.T) {
	e := newEnv(t)
	week := []string{"--repo", "acme/payments", "--repo", "acme/web", "--from", "2026-11-16", "--to", "2026-11-23",
		"--store", "file://" + e.store, "--key", e.key, "--github-api-url", e.api, "--output", "json"}

	r := run(t, append([]string{"collect", "ci-status"}, week...)...)
	if r.code != 0 {
		t.Fatalf("collect ci-status: exit %d: %s", r.code, r.stderr)
	}
	out, got := findings(t, r)
	if out.Status != "fail" || got["github.com/acme/payments@main"] == "" || out.Counts["pass"] == 0 || out.Counts["fail"] == 0 || out.Counts["not_verifiable"] == 0 {
		t.Fatalf("ci-status: status %s, counts %v, findings %v", out.Status, out.Counts, got)
	}

	cfg := filepath.Join(e.dir, "changeproof.yaml")
	if err := os.WriteFile(cfg, []byte(`cloudflare:
  account_id: 0123456789abcdef0123456789abcdef
policies:
  deployments:
    cloudflare:
      workers:
        - {script: payments-api, repo: acme/payments}
      pages:
        - {project: web}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cf := fakeCloudflare(t)
	r = run(t, append([]string{"collect", "deployments", "--config", cfg, "--cloudflare-api-url", cf}, week...)...)
	if r.code != 0 {
		t.Fatalf("collect deployments: exit %d: %s", r.code, r.stderr)
	}
	out, got = findings(t, r)
	var workers, pages, github int
	for target := range got {
		switch {
		case strings.Contains(target, "workers"):
			workers++
		case strings.Contains(target, "pages"):
			pages++
		default:
			github++
		}
	}
	if out.Status != "fail" || workers == 0 || pages == 0 || github == 0 || out.Counts["fail"] == 0 || out.Counts["pass"] == 0 {
		t.Fatalf("deployments: status %s, counts %v, findings %v", out.Status, out.Counts, got)
	}

	// Both chains verify, and the deployments evidence names both sources.
	v := run(t, "verify", e.store, "--pubkey", e.pub)
	if v.code != 0 || !strings.Contains(v.stdout, "2 chain(s)") || !strings.Contains(v.stdout, "cloudflare="+cf) {
		t.Fatalf("verify: %+v", v)
	}
	assertNoToken(t, e.store, r.stdout, r.stderr, v.stdout)
	for _, o := range []string{r.stdout, r.stderr} {
		if strings.Contains(o, testCFToken) {
			t.Fatal("the Cloudflare token was printed")
		}
	}

	// Without a Cloudflare token the policy's Cloudflare sources are refused
	// before anything is written.
	before := len(envelopes(t, e.store))
	r = runEnv(t, map[string]string{"GITHUB_TOKEN": testToken}, append([]string{"collect", "deployments", "--config", cfg, "--cloudflare-api-url", cf}, week...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "CLOUDFLARE_API_TOKEN") || len(envelopes(t, e.store)) != before {
		t.Fatalf("deployments without a Cloudflare token: exit %d, stderr %q", r.code, r.stderr)
	}
}
