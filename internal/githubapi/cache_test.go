package githubapi

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/secret"
)

// etagAPI answers GET /repos/acme/api with body and an ETag, 304 when
// If-None-Match names it.
func etagAPI(t *testing.T, body *string) *fakeAPI {
	t.Helper()
	return newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		ghfake.ETags(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-RateLimit-Remaining", "4000")
			respond(http.StatusOK, *body)(w, r)
		})).ServeHTTP(w, r)
	})
}

func cachedOptions(base, dir string) Options {
	opts := fastOptions(base)
	opts.CacheDir = dir
	return opts
}

func getRaw(t *testing.T, c *Client, path string) Call {
	t.Helper()
	call, _, err := c.GetRaw(context.Background(), path)
	if err != nil {
		t.Fatalf("GetRaw %s: %v", path, err)
	}
	return call
}

func TestCacheServesNotModifiedFromDisk(t *testing.T) {
	body := repoJSON
	f := etagAPI(t, &body)
	dir := filepath.Join(t.TempDir(), "http")
	first := getRaw(t, newClient(t, cachedOptions(f.url(), dir)), "repos/acme/api")
	// A new client, as in the next run.
	c := newClient(t, cachedOptions(f.url(), dir))
	second := getRaw(t, c, "repos/acme/api")
	if !bytes.Equal(first.Body, second.Body) || second.HTTPStatus != http.StatusOK {
		t.Errorf("second answer %d %s, want the first's body with 200", second.HTTPStatus, second.Body)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Header.Get("If-None-Match") != "" || reqs[1].Header.Get("If-None-Match") == "" {
		t.Errorf("want an unconditional request, then one with If-None-Match; got %d requests", len(reqs))
	}
	if c.Stats.NotModified() != 1 || c.Stats.Requests() != 1 {
		t.Errorf("NotModified = %d, Requests = %d, want 1 and 1", c.Stats.NotModified(), c.Stats.Requests())
	}
	// A changed resource is answered in full and replaces the entry.
	body = strings.Replace(repoJSON, `"main"`, `"trunk"`, 1)
	third := getRaw(t, c, "repos/acme/api")
	if !bytes.Contains(third.Body, []byte("trunk")) || c.Stats.NotModified() != 1 {
		t.Errorf("changed resource: body %s, NotModified %d", third.Body, c.Stats.NotModified())
	}
	if fourth := getRaw(t, c, "repos/acme/api"); !bytes.Contains(fourth.Body, []byte("trunk")) || c.Stats.NotModified() != 2 {
		t.Errorf("after the change: body %s, NotModified %d", fourth.Body, c.Stats.NotModified())
	}
}

func TestCacheFilesArePrivateAndHoldNoToken(t *testing.T) {
	body := repoJSON
	f := etagAPI(t, &body)
	dir := filepath.Join(t.TempDir(), "http")
	getRaw(t, newClient(t, cachedOptions(f.url(), dir)), "repos/acme/api")
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v, mode %v, want 0700", err, fi.Mode().Perm())
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("cache holds %d files, want 1", len(files))
	}
	for _, e := range files {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(data, []byte(testToken)) || bytes.Contains(data, []byte("Authorization")) || strings.Contains(e.Name(), testToken) {
			t.Errorf("%s holds the token", e.Name())
		}
	}
}

func TestCacheRefusesADirectoryOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(cachedOptions("https://api.github.com/", dir))
	if err == nil || !strings.Contains(err.Error(), "open to others (mode 0755)") {
		t.Fatalf("err = %v, want a refusal naming the mode", err)
	}
}

func TestCacheNeverSharesAnswersBetweenCredentials(t *testing.T) {
	body := repoJSON
	f := etagAPI(t, &body)
	dir := filepath.Join(t.TempDir(), "http")
	getRaw(t, newClient(t, cachedOptions(f.url(), dir)), "repos/acme/api")
	other := cachedOptions(f.url(), dir)
	other.Token = secret.New("ghp_ANOTHERtoken0123456789abcdefABCDEF")
	c := newClient(t, other)
	getRaw(t, c, "repos/acme/api")
	if got := f.requests()[1].Header.Get("If-None-Match"); got != "" || c.Stats.NotModified() != 0 {
		t.Errorf("another token's request carried If-None-Match %q (NotModified %d): it would be served the first token's answer", got, c.Stats.NotModified())
	}
	// Anonymous requests are never cached.
	anon := cachedOptions(f.url(), dir)
	anon.Token = secret.Secret{}
	a := newClient(t, anon)
	getRaw(t, a, "repos/acme/api")
	getRaw(t, a, "repos/acme/api")
	for _, r := range f.requests()[2:] {
		if r.Header.Get("If-None-Match") != "" {
			t.Error("an anonymous request was made conditional")
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 2 {
		t.Errorf("cache holds %d entries, want 2 (one per token, none anonymous)", len(files))
	}
}

func TestCacheOnlyKeepsSettings(t *testing.T) {
	body := `[]`
	f := etagAPI(t, &body)
	dir := filepath.Join(t.TempDir(), "http")
	c := newClient(t, cachedOptions(f.url(), dir))
	getRaw(t, c, "repos/acme/api/pulls?state=closed&per_page=100")
	getRaw(t, c, "repos/acme/api/pulls?state=closed&per_page=100")
	if files, _ := os.ReadDir(dir); len(files) != 0 || c.Stats.NotModified() != 0 {
		t.Errorf("a pull listing was cached (%d files)", len(files))
	}
}

func TestCorruptCacheEntryIsIgnored(t *testing.T) {
	body := repoJSON
	f := etagAPI(t, &body)
	dir := filepath.Join(t.TempDir(), "http")
	getRaw(t, newClient(t, cachedOptions(f.url(), dir)), "repos/acme/api")
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("cache holds %d files, want 1", len(files))
	}
	path := filepath.Join(dir, files[0].Name())
	good, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"not JSON":       []byte("{garbage"),
		"body tampered":  bytes.Replace(good, []byte(`"body":"`), []byte(`"body":"AAAA`), 1),
		"another key":    bytes.Replace(good, []byte(`"key":"`), []byte(`"key":"0`), 1),
		"truncated":      good[:len(good)/2],
		"empty":          {},
		"wrong version":  bytes.Replace(good, []byte(`"v":2`), []byte(`"v":9`), 1),
		"no validator":   bytes.Replace(good, []byte(`"etag":`), []byte(`"etag_":`), 1),
		"restored entry": good,
		"mac removed":    bytes.Replace(good, []byte(`"mac":"`), []byte(`"mac":"0`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, cachedOptions(f.url(), dir))
			n := len(f.requests())
			call := getRaw(t, c, "repos/acme/api")
			conditional := f.requests()[n].Header.Get("If-None-Match") != ""
			if wantConditional := name == "restored entry"; conditional != wantConditional {
				t.Errorf("conditional request = %v, want %v", conditional, wantConditional)
			}
			if string(call.Body) != repoJSON {
				t.Errorf("body %s, want the server's", call.Body)
			}
			// The entry was rewritten from the fresh answer.
			if again, _ := os.ReadFile(path); !bytes.Contains(again, []byte(`"etag":`)) {
				t.Errorf("entry not rewritten: %s", again)
			}
		})
	}
}
