package githubapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/branchprotection"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
)

// Someone who can write the cache directory (a restored CI cache, a shared
// volume, a backup) but holds neither the token nor the signing key
// rewrites the body of an entry, keeps its ETag and recomputes every
// digest: GitHub's 304 would make changeproof serve the forged body, and
// acme/legacy's weak protection would be signed as "pass". The entry's MAC,
// keyed by the credential, does not match: it is fetched again.
func TestTamperedCacheEntryIsNotServed(t *testing.T) {
	fx := collectortest.LoadGitHub(t, "../../testdata/github/sample-org")
	srv := ghfake.New(fx, ghfake.WithToken(collectortest.Token))
	hs := httptest.NewServer(ghfake.ETags(srv))
	t.Cleanup(hs.Close)
	dir := filepath.Join(t.TempDir(), "http")
	collect := func() *collectors.Result {
		gh, err := githubapi.New(githubapi.Options{
			BaseURL: srv.URL(hs.URL), Token: secret.New(collectortest.Token),
			RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
			CacheDir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		c := branchprotection.New(collectors.Deps{GitHub: gh, Now: time.Now})
		res, err := c.Collect(context.Background(), collectors.Request{Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "legacy"}}}, Policy: branchprotection.NewPolicy()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := collect()
	if got := evidence.Overall(first.Findings); got != evidence.StatusFail {
		t.Fatalf("first run: %s, want fail (the sample's weak protection)", got)
	}

	// The attacker: only file access to the cache directory. Find the entry
	// of acme/legacy's classic protection and give it acme/payments' strong
	// protection, recomputing body_sha256; key and ETag are kept.
	strong, err := os.ReadFile("../../testdata/github/sample-org/protection-payments.json")
	if err != nil {
		t.Fatal(err)
	}
	strong = bytes.ReplaceAll(strong, []byte("acme/payments"), []byte("acme/legacy"))
	files, _ := os.ReadDir(dir)
	planted := false
	for _, f := range files {
		p := filepath.Join(dir, f.Name())
		data, _ := os.ReadFile(p)
		var e map[string]any
		if json.Unmarshal(data, &e) != nil {
			continue
		}
		body, _ := e["body"].(string) // []byte: base64
		if body == "" {
			continue
		}
		var raw []byte
		if err := json.Unmarshal([]byte(`"`+body+`"`), &raw); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte("repos/acme/legacy/branches/main/protection")) || !bytes.Contains(raw, []byte("required_pull_request_reviews")) {
			continue
		}
		sum := sha256.Sum256(strong)
		e["body"] = strong
		e["body_sha256"] = hex.EncodeToString(sum[:])
		out, _ := json.Marshal(e)
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		planted = true
	}
	if !planted {
		t.Fatal("no cache entry for acme/legacy's protection")
	}

	second := collect()
	if got := evidence.Overall(second.Findings); got == evidence.StatusPass {
		facts, _ := json.Marshal(second.Facts)
		t.Errorf("after planting a cache entry (no token, no signing key), acme/legacy's weak protection is judged %q; the raw facts present the planted body as GitHub's 200 answer:\n%.600s", got, facts)
	}
}

// A 304 served from the cache carries the X-From-Cache mark, so go-github
// does not remember its X-RateLimit-Remaining: 0 and fail the next request
// unsent: the pacer holds it until the reset instead. (GitHub still answers
// 304s when the budget is spent.)
func TestCachedNotModifiedWithRemainingZeroIsHeldNotFailed(t *testing.T) {
	reset := time.Now().Add(3 * time.Second)
	var remaining = "4000"
	h := ghfake.ETags(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", remaining)
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":1,"full_name":"acme/api","default_branch":"main"}`))
	}))
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	dir := filepath.Join(t.TempDir(), "http")
	opts := githubapi.Options{
		BaseURL: hs.URL + "/", Token: secret.New("ghp_review0123456789abcdefABCDEF0123"),
		RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
		CacheDir: dir, RateLimitMargin: -1,
	}
	gh, err := githubapi.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := gh.GetRaw(ctx, "repos/acme/api"); err != nil {
		t.Fatal(err)
	}
	// The budget is now spent; GitHub still answers conditional requests 304.
	remaining = "0"
	if _, _, err := gh.GetRaw(ctx, "repos/acme/api"); err != nil {
		t.Fatalf("the 304: %v", err)
	}
	// A non-cacheable request: the pacer would hold it until the reset
	// (3s, well within MaxRateLimitWait); go-github refuses it instead.
	if _, _, err := gh.GetRaw(ctx, "repos/acme/api/pulls?state=closed"); err != nil {
		t.Errorf("after a cache-served 304 with X-RateLimit-Remaining: 0, the next request failed without being sent: %v", err)
	}
}

// A 0700 cache directory owned by another user, who controls every entry,
// is refused (as the GitHub App key must be the running user's).
func TestCacheDirOwnedByAnotherUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give the directory to another user (CI runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "http")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := githubapi.New(githubapi.Options{BaseURL: "https://api.github.com/", CacheDir: dir}); err == nil {
		t.Errorf("a cache directory owned by uid 65534 was accepted by uid %d", os.Getuid())
	}
}
