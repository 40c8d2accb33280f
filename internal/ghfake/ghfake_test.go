package ghfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/fakeapi/fakeapitest"
)

// serve starts s and returns the API base URL.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s.URL(hs.URL)
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	return request(t, http.MethodGet, url, nil, header...)
}

// request sends a request (body may be nil) with the header name/value pairs given and
// returns the response and its body.
func request(t *testing.T, method, url string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(got)
}

func numbers(n int) json.RawMessage {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"n": %d}`, i+1)
	}
	return json.RawMessage("[" + strings.Join(items, ", ") + "]")
}

func TestPagination(t *testing.T) {
	s := New(&Fixture{Routes: []Route{{Path: "/orgs/acme/repos", Body: numbers(7)}}}, WithMaxPerPage(3))
	base := serve(t, s)
	root := strings.TrimSuffix(base, "/api/v3/")

	resp, body := get(t, base+"orgs/acme/repos?per_page=100&type=all")
	if body != `[{"n": 1},{"n": 2},{"n": 3}]` {
		t.Errorf("page 1 = %s", body)
	}
	wantLink := fmt.Sprintf(`<%[1]s/api/v3/orgs/acme/repos?page=2&per_page=100&type=all>; rel="next", <%[1]s/api/v3/orgs/acme/repos?page=3&per_page=100&type=all>; rel="last"`, root)
	if got := resp.Header.Get("Link"); got != wantLink {
		t.Errorf("Link =\n  %s\nwant\n  %s", got, wantLink)
	}

	resp, body = get(t, base+"orgs/acme/repos?per_page=100&type=all&page=3")
	if body != `[{"n": 7}]` {
		t.Errorf("page 3 = %s", body)
	}
	wantLink = fmt.Sprintf(`<%[1]s/api/v3/orgs/acme/repos?page=2&per_page=100&type=all>; rel="prev", <%[1]s/api/v3/orgs/acme/repos?page=1&per_page=100&type=all>; rel="first"`, root)
	if got := resp.Header.Get("Link"); got != wantLink {
		t.Errorf("last page Link =\n  %s\nwant\n  %s", got, wantLink)
	}

	_, body = get(t, base+"orgs/acme/repos?page=9")
	if body != `[]` {
		t.Errorf("page past the end = %s, want []", body)
	}
	resp, body = get(t, base+"orgs/acme/repos?per_page=2&page=2")
	if body != `[{"n": 3},{"n": 4}]` || !strings.Contains(resp.Header.Get("Link"), `page=4&per_page=2>; rel="last"`) {
		t.Errorf("per_page=2 page 2 = %s, Link %s", body, resp.Header.Get("Link"))
	}
}

func TestPaginationInsideObjects(t *testing.T) {
	body := json.RawMessage(`{"total_count": 5, "check_runs": ` + string(numbers(5)) + `}`)
	small := json.RawMessage(`{"total_count": 1,  "check_runs": [{"n": 1}]}`)
	other := json.RawMessage(`{"sha": "abc", "items": [1, 2, 3, 4]}`)
	s := New(&Fixture{Routes: []Route{{Path: "/runs", Body: body}, {Path: "/small", Body: small}, {Path: "/other", Body: other}}}, WithMaxPerPage(2))
	base := serve(t, s)

	resp, got := get(t, base+"runs?per_page=100&page=3")
	var page struct {
		TotalCount int               `json:"total_count"`
		CheckRuns  []json.RawMessage `json:"check_runs"`
	}
	if err := json.Unmarshal([]byte(got), &page); err != nil || page.TotalCount != 5 || len(page.CheckRuns) != 1 || string(page.CheckRuns[0]) != `{"n": 5}` {
		t.Errorf("page 3 of an object listing = %s (%v)", got, err)
	}
	if l := resp.Header.Get("Link"); !strings.Contains(l, `rel="prev"`) || strings.Contains(l, `rel="next"`) {
		t.Errorf("last page Link = %s", l)
	}
	if resp, got := get(t, base+"runs"); !strings.Contains(resp.Header.Get("Link"), `page=3>; rel="last"`) || strings.Count(got, `"n"`) != 2 {
		t.Errorf("page 1 = %s, Link %s", got, resp.Header.Get("Link"))
	}
	// One page is served byte for byte; objects GitHub does not page, whole.
	if _, got := get(t, base+"small"); got != string(small) {
		t.Errorf("a one-page object was re-encoded: %s", got)
	}
	if resp, got := get(t, base+"other"); got != string(other) || resp.Header.Get("Link") != "" {
		t.Errorf("an object without a paged listing = %s, Link %q", got, resp.Header.Get("Link"))
	}
}

func TestPaginationDefaults(t *testing.T) {
	base := serve(t, New(&Fixture{Routes: []Route{{Path: "/l", Body: numbers(101)}, {Path: "/one", Body: numbers(2)}}}))
	_, body := get(t, base+"l")
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != DefaultPerPage {
		t.Errorf("default page has %d items (%v), want %d", len(items), err, DefaultPerPage)
	}
	_, body = get(t, base+"l?per_page=500")
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != MaxPerPage {
		t.Errorf("per_page=500 gives %d items, want %d", len(items), MaxPerPage)
	}
	resp, _ := get(t, base+"one")
	if resp.Header.Get("Link") != "" {
		t.Errorf("a single page has Link %q", resp.Header.Get("Link"))
	}
}

func TestBasePath(t *testing.T) {
	s := New(&Fixture{Routes: []Route{{Path: "/orgs/acme/repos", Body: json.RawMessage(`[]`)}}}, WithBasePath("gh/api"))
	hs := httptest.NewServer(s)
	defer hs.Close()
	if s.BasePath() != "/gh/api/" || s.URL(hs.URL+"/") != hs.URL+"/gh/api/" {
		t.Fatalf("BasePath %q, URL %q", s.BasePath(), s.URL(hs.URL))
	}
	resp, body := get(t, hs.URL+"/orgs/acme/repos")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"message":"Not Found"`) {
		t.Errorf("outside the base path: %d %s, want 404", resp.StatusCode, body)
	}
	resp, _ = get(t, hs.URL+"/gh/api/orgs/acme/repos")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("inside the base path: %d", resp.StatusCode)
	}
	if New(&Fixture{}, WithBasePath("/")).BasePath() != DefaultBasePath {
		t.Error(`WithBasePath("/") must keep a non-empty base path`)
	}
}

func TestUnknownRoute(t *testing.T) {
	base := serve(t, New(&Fixture{Routes: []Route{{Path: "/a", Body: json.RawMessage(`{}`)}}}))
	for _, u := range []string{base + "b", base + "a/"} {
		resp, body := get(t, u)
		want := `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`
		if resp.StatusCode != http.StatusNotFound || body != want {
			t.Errorf("GET %s = %d %s", u, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, base+"a", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST to a GET route = %d, want 404", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	base := serve(t, New(&Fixture{Routes: []Route{{Path: "/user", Body: json.RawMessage(`{"login": "x"}`)}}}, WithToken("s3cret")))
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer s3cret", http.StatusOK},
		{"token s3cret", http.StatusOK},
		{"Basic s3cret", http.StatusUnauthorized},
		{"Bearer s3cret2", http.StatusUnauthorized},
	} {
		resp, body := get(t, base+"user", "Authorization", tc.auth)
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && body != `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}` {
			t.Errorf("401 body = %s", body)
		}
		if strings.Contains(body, "s3cret") {
			t.Error("the token appears in a response")
		}
	}
}

func TestRequestCounting(t *testing.T) {
	s := New(&Fixture{Routes: []Route{{Path: "/a", Body: json.RawMessage(`{}`)}}})
	base := serve(t, s)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			resp, err := http.Get(base + "a?x=1")
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	get(t, base+"missing")
	if s.Requests() != 11 {
		t.Errorf("Requests() = %d, want 11", s.Requests())
	}
	got := s.RequestsByPath()
	if len(got) != 2 || got["/a"] != 10 || got["/missing"] != 1 {
		t.Errorf("RequestsByPath() = %v", got)
	}
	got["/a"] = 99
	if s.RequestsByPath()["/a"] != 10 {
		t.Error("RequestsByPath returns the server's own map")
	}
}

func TestRateLimitHeaders(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := New(&Fixture{Routes: []Route{{Path: "/a", Body: json.RawMessage(`{}`)}}}, WithRateLimit(3), WithClock(func() time.Time { return now }))
	base := serve(t, s)
	var remaining []string
	for range 4 {
		resp, _ := get(t, base+"a")
		h := resp.Header
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Resource") != "core" ||
			h.Get("X-RateLimit-Reset") != strconv.FormatInt(now.Add(time.Hour).Unix(), 10) {
			t.Errorf("headers = %v", h)
		}
		remaining = append(remaining, h.Get("X-RateLimit-Remaining")+"/"+h.Get("X-RateLimit-Used"))
	}
	// Remaining decreases, never reaching 0: the window restarts instead.
	if got := strings.Join(remaining, " "); got != "2/1 1/2 2/1 1/2" {
		t.Errorf("remaining/used = %s", got)
	}
	resp, _ := get(t, base+"nope")
	if resp.Header.Get("X-RateLimit-Limit") == "" {
		t.Error("a 404 lacks the rate-limit headers")
	}
}

func TestRouteMatching(t *testing.T) {
	s := New(&Fixture{Routes: []Route{
		{Path: "/repos/acme/web/rulesets/73", Status: 404, Body: json.RawMessage(`{"message":"Not Found"}`)},
		{Path: "/repos/acme/web/rulesets/73", Query: map[string]string{"includes_parents": "true"}, Body: json.RawMessage(`{"id": 73}`)},
		{Path: "/teapot", Status: 418, Body: json.RawMessage(`[1, 2]`), Headers: map[string]string{"X-Custom": "yes"}},
		{Method: "post", Path: "/p", Status: 201, Body: json.RawMessage(`{}`)},
	}})
	base := serve(t, s)
	if resp, body := get(t, base+"repos/acme/web/rulesets/73?includes_parents=true"); resp.StatusCode != 200 || body != `{"id": 73}` {
		t.Errorf("with query: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, base+"repos/acme/web/rulesets/73"); resp.StatusCode != 404 {
		t.Errorf("without query: %d, want the less specific route's 404", resp.StatusCode)
	}
	resp, body := get(t, base+"teapot")
	if resp.StatusCode != 418 || body != `[1, 2]` || resp.Header.Get("X-Custom") != "yes" || resp.Header.Get("Link") != "" {
		t.Errorf("non-200 arrays are not paginated: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	r, err := http.Post(base+"p", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 201 {
		t.Errorf("POST = %d", r.StatusCode)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("broken.json", `{"truncated": `)
	write(RoutesFile, `[
		{"path": "/a", "file": "broken.json"},
		{"path": "/b", "status": 403, "body": {"message": "Forbidden"}, "headers": {"X-GitHub-SSO": "required"}}
	]`)
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Routes) != 2 || string(f.Routes[0].Body) != `{"truncated": ` || f.Routes[1].status() != 403 || f.Routes[0].method() != "GET" {
		t.Errorf("routes = %+v", f.Routes)
	}
	base := serve(t, New(f))
	if _, body := get(t, base+"a"); body != `{"truncated": ` {
		t.Errorf("a file body is served verbatim, got %s", body)
	}

	bad := []struct{ routes, want string }{
		{`[{"path": "/a", "stauts": 200}]`, "unknown field"},
		{`[{"path": "a"}]`, "must start with /"},
		{`[{"path": "/a?x=1"}]`, "must not carry a query"},
		{`[{"path": "/a"}, {"path": "/a", "method": "get"}]`, "duplicates route 0"},
		{`[{"path": "/a", "file": "../x.json"}]`, "inside the fixture directory"},
		{`[{"path": "/a", "file": "missing.json"}]`, "missing.json"},
		{`[{"path": "/a", "file": "broken.json", "body": {}}]`, "not both"},
		{`[{"path": "/a", "status": 1000}]`, "not an HTTP status"},
		{`[{"path": "/a", "query": {"page": "2"}}]`, "page is the fake's own"},
		{`{"path": "/a"}`, "cannot unmarshal"},
	}
	for _, b := range bad {
		write(RoutesFile, b.routes)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("routes %s: err = %v, want %q", b.routes, err, b.want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("a directory without routes.json loads")
	}
}

func TestLoadRoutesDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, RoutesDir), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(RoutesFile, `[{"path": "/a", "body": {"n": 1}}]`)
	write("b.json", `{"n": 2}`)
	write(filepath.Join(RoutesDir, "20-c.json"), `[{"path": "/c", "body": {"n": 3}}]`)
	write(filepath.Join(RoutesDir, "10-b.json"), `[{"path": "/b", "file": "b.json"}]`)
	write(filepath.Join(RoutesDir, "notes.txt"), `not a route list`)
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, r := range f.Routes {
		paths = append(paths, r.Path)
	}
	if got := strings.Join(paths, " "); got != "/a /b /c" {
		t.Errorf("routes = %s, want /a /b /c (routes.json, then routes.d in name order)", got)
	}
	if string(f.Routes[1].Body) != `{"n": 2}` {
		t.Errorf("a routes.d file path is not read relative to the fixture directory: %s", f.Routes[1].Body)
	}
	write(filepath.Join(RoutesDir, "30-dup.json"), `[{"path": "/a"}]`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "duplicates route 0") {
		t.Errorf("a route repeated across lists: err = %v", err)
	}
	write(filepath.Join(RoutesDir, "30-dup.json"), `[{"path": "/d", "sttaus": 1}]`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "30-dup.json") || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("a bad routes.d file is not named: err = %v", err)
	}
}

func TestSampleOrgLoads(t *testing.T) {
	f, err := Load("../../testdata/github/sample-org")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Routes {
		if !json.Valid(r.Body) {
			t.Errorf("%s: body is not JSON", r.Path)
		}
	}
}

func TestListenAndServe(t *testing.T) {
	s := New(&Fixture{Routes: []Route{{Path: "/a", Body: json.RawMessage(`{"ok": true}`)}}})
	base, stop := fakeapitest.Listen(t, func(ctx context.Context, addr string, ready func(string) error) error {
		return ListenAndServe(ctx, addr, s, ready)
	})
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/api/v3/") {
		t.Errorf("URL = %q", base)
	}
	if _, body := get(t, base+"a"); body != `{"ok": true}` {
		t.Errorf("body = %s", body)
	}
	if err := stop(); err != nil {
		t.Errorf("ListenAndServe after cancel = %v, want nil", err)
	}

	boom := errors.New("boom")
	err := ListenAndServe(context.Background(), "127.0.0.1:0", s, func(string) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("a failing ready: err = %v", err)
	}
	if err := ListenAndServe(context.Background(), "256.0.0.1:0", s, nil); err == nil {
		t.Error("listening on a bad address succeeded")
	}
}
