package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/secret"
)

// testToken looks like a real token so a leak would be recognisable.
const testToken = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"

const acct = "0123456789abcdef0123456789abcdef"

// logBuffer collects the client's log lines, debug included.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newClient builds a client for base with millisecond retry waits and no
// rate limit to speak of.
func newClient(t *testing.T, base string, mod ...func(*Options)) (*Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	o := Options{
		BaseURL: base, Token: secret.New(testToken),
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, RateLimit: 10000,
	}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

// fake serves routes with the token required.
func fake(t *testing.T, routes []cffake.Route, opts ...cffake.Option) (*cffake.Server, string) {
	t.Helper()
	f := &cffake.Fixture{Routes: routes}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	s := cffake.New(f, append([]cffake.Option{cffake.WithToken(testToken)}, opts...)...)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, s.URL(hs.URL)
}

// noToken fails the test if the token appears in s.
func noToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testToken) {
		t.Errorf("%s discloses the token: %s", what, s)
	}
}

func TestParseBaseURL(t *testing.T) {
	good := map[string]string{
		"https://api.cloudflare.com/client/v4":  "https://api.cloudflare.com/client/v4",
		"https://api.cloudflare.com/client/v4/": "https://api.cloudflare.com/client/v4",
		"http://127.0.0.1:8080/client/v4":       "http://127.0.0.1:8080/client/v4",
		"http://localhost:1/client/v4?x=1":      "http://localhost:1/client/v4",
	}
	for in, want := range good {
		u, err := ParseBaseURL(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseBaseURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, in := range []string{"http://api.cloudflare.com/client/v4", "ftp://x", "https://user:pw@api.cloudflare.com/", "::"} {
		if _, err := ParseBaseURL(in); err == nil {
			t.Errorf("ParseBaseURL(%q) accepted", in)
		}
	}
	_, err := New(Options{BaseURL: "http://example.com/client/v4", Token: secret.New(testToken)})
	if err == nil || !strings.Contains(err.Error(), "--cloudflare-api-url") || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("New with plain http to a remote host: %v", err)
	}
	c, err := New(Options{Token: secret.New(testToken)})
	if err != nil || c.BaseURL() != DefaultBaseURL {
		t.Errorf("default base URL %v, %v", c, err)
	}
}

func TestGetRecordsTheResultByteForByte(t *testing.T) {
	result := json.RawMessage(`{"name":   "web",  "source": {"type": "github", "config": {"owner": "acme"}}}`)
	path := Path("accounts", acct, "pages", "projects", "web")
	s, base := fake(t, []cffake.Route{{Path: path, Result: result}})
	c, logs := newClient(t, base)
	call, err := c.Get(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(call.Result, result) {
		t.Errorf("result %s, want %s byte for byte", call.Result, result)
	}
	if call.Request != "GET /accounts/"+acct+"/pages/projects/web" || call.HTTPStatus != 200 || call.ResultInfo != nil {
		t.Errorf("call %+v", call)
	}
	if s.Requests() != 1 || c.Stats.Requests() != 1 || c.Stats.ByEndpoint()["GET "+path] != 1 {
		t.Errorf("requests: fake %d, client %d %v", s.Requests(), c.Stats.Requests(), c.Stats.ByEndpoint())
	}
	b, _ := json.Marshal(call)
	noToken(t, "the recorded call", string(b))
	noToken(t, "the logs", logs.String())
}

func TestPathEscapesSegments(t *testing.T) {
	if got := Path("accounts", "a/b", "x y"); got != "/accounts/a%2Fb/x%20y" {
		t.Errorf("Path = %q", got)
	}
}

func TestListFollowsResultInfo(t *testing.T) {
	var parts []string
	for i := range 250 {
		parts = append(parts, fmt.Sprintf(`{"id": "v-%03d", "number": %d}`, i, 250-i))
	}
	result := json.RawMessage(`{"items": [` + strings.Join(parts, ",  ") + `]}`)
	path := Path("accounts", acct, "workers", "scripts", "api", "versions")
	_, base := fake(t, []cffake.Route{{Path: path, Result: result, Items: "items"}})
	c, _ := newClient(t, base)
	l, items, err := c.List(context.Background(), path, url.Values{"deployable": {"false"}}, ListOptions{Key: "items"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 250 || l.Items != 250 || len(l.Pages) != 3 {
		t.Fatalf("%d items, listing %d items over %d pages", len(items), l.Items, len(l.Pages))
	}
	for i, it := range items {
		if want := fmt.Sprintf(`{"id": "v-%03d", "number": %d}`, i, 250-i); string(it) != want {
			t.Fatalf("item %d = %s, want %s", i, it, want)
		}
	}
	if l.Stop != "last page (3 of 3, result_info.total_pages)" {
		t.Errorf("stop %q", l.Stop)
	}
	if l.Endpoint != "GET "+path || l.Params["per_page"] != "100" || l.Params["deployable"] != "false" {
		t.Errorf("listing %s %v", l.Endpoint, l.Params)
	}
	if want := "GET " + path + "?deployable=false&page=2&per_page=100"; l.Pages[1].Request != want {
		t.Errorf("page 2 request %q, want %q", l.Pages[1].Request, want)
	}
	if ri := l.Pages[2].ResultInfo; ri == nil || *ri != (ResultInfo{Page: 3, PerPage: 100, Count: 50, TotalCount: 250, TotalPages: 3}) {
		t.Errorf("page 3 result_info %+v", ri)
	}
}

func TestListStopsEarlyWhenAsked(t *testing.T) {
	path := Path("accounts", acct, "pages", "projects", "web", "deployments")
	var parts []string
	for i := range 30 {
		parts = append(parts, fmt.Sprintf(`{"id": "d%d"}`, i))
	}
	_, base := fake(t, []cffake.Route{{Path: path, Result: json.RawMessage("[" + strings.Join(parts, ",") + "]")}})
	c, _ := newClient(t, base)
	l, items, err := c.List(context.Background(), path, nil, ListOptions{PerPage: 10, Continue: func(page int, _ []json.RawMessage) (bool, string) {
		return page < 2, "enough"
	}})
	if err != nil || len(items) != 20 || len(l.Pages) != 2 || l.Stop != "enough" {
		t.Errorf("%d items, %d pages, stop %q, %v", len(items), len(l.Pages), l.Stop, err)
	}
}

// handler serves a fixed envelope per page for the pagination edge cases the
// fake does not produce.
func pagedHandler(total int, totalPages bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, per := 1, 100
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		fmt.Sscan(r.URL.Query().Get("per_page"), &per)
		n := max(0, min(per, total-(page-1)*per))
		if total < 0 {
			n = per // never ends
		}
		items := make([]string, n)
		for i := range items {
			items[i] = "{}"
		}
		info := fmt.Sprintf(`{"page":%d,"per_page":%d,"count":%d}`, page, per, n)
		if totalPages {
			info = fmt.Sprintf(`{"page":%d,"per_page":%d,"count":%d,"total_pages":%d}`, page, per, n, 1_000_000)
		}
		fmt.Fprintf(w, `{"result":[%s],"success":true,"errors":[],"messages":[],"result_info":%s}`, strings.Join(items, ","), info)
	}
}

func TestListWithoutTotalPagesStopsAtAShortPage(t *testing.T) {
	hs := httptest.NewServer(pagedHandler(25, false))
	defer hs.Close()
	c, _ := newClient(t, hs.URL)
	l, items, err := c.List(context.Background(), "/x", nil, ListOptions{PerPage: 10})
	if err != nil || len(items) != 25 || len(l.Pages) != 3 || !strings.Contains(l.Stop, "fewer than per_page 10") {
		t.Errorf("%d items, %d pages, stop %q, %v", len(items), len(l.Pages), l.Stop, err)
	}
}

func TestListThatDoesNotEndIsAnError(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{"full pages": pagedHandler(-1, false), "huge total_pages": pagedHandler(-1, true)} {
		t.Run(name, func(t *testing.T) {
			hs := httptest.NewServer(h)
			defer hs.Close()
			c, _ := newClient(t, hs.URL, func(o *Options) { o.MaxPages = 5 })
			l, _, err := c.List(context.Background(), "/x", nil, ListOptions{PerPage: 2})
			if err == nil || len(l.Pages) > 5 {
				t.Fatalf("no error after %d pages", len(l.Pages))
			}
			if !strings.Contains(err.Error(), "GET /x?page=") || !(strings.Contains(err.Error(), "does not end") || strings.Contains(err.Error(), "more than the 5 pages")) {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestListRejectsAResultOfTheWrongShape(t *testing.T) {
	path := "/accounts/" + acct + "/workers/scripts/api/deployments"
	_, base := fake(t, []cffake.Route{{Path: path, Result: json.RawMessage(`{"items": []}`)}})
	c, _ := newClient(t, base)
	_, _, err := c.List(context.Background(), path, nil, ListOptions{Key: "deployments"})
	if err == nil || !strings.Contains(err.Error(), `result has no "deployments"`) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v", err)
	}
	_, _, err = c.List(context.Background(), path, nil, ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "result is not an array") {
		t.Errorf("error %v", err)
	}
}

// TestListRejectsNull: a null where the listing's array belongs is no
// empty population, whether the result itself or the array under Key.
func TestListRejectsNull(t *testing.T) {
	path := "/accounts/" + acct + "/workers/scripts/api/deployments"
	for name, c := range map[string]struct {
		result json.RawMessage
		key    string
		want   string
	}{
		"array under key": {json.RawMessage(`{"deployments": null}`), "deployments", "result.deployments is null, not an array"},
		"result":          {json.RawMessage(`null`), "", "result is null, not an array"},
	} {
		t.Run(name, func(t *testing.T) {
			_, base := fake(t, []cffake.Route{{Path: path, Result: c.result, Unpaged: true}})
			cl, _ := newClient(t, base)
			for _, o := range []ListOptions{{Key: c.key}, {Key: c.key, Unpaged: true}} {
				l, items, err := cl.List(context.Background(), path, nil, o)
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) || items != nil {
					t.Errorf("unpaged %v: %d items, error %v; want an error containing %q", o.Unpaged, len(items), err, c.want)
				}
				if len(l.Pages) != 1 {
					t.Errorf("unpaged %v: %d pages recorded", o.Unpaged, len(l.Pages))
				}
			}
		})
	}
}

// TestListUnpaged: an endpoint Cloudflare does not paginate (Workers
// deployments) is read with one request carrying neither page nor
// per_page, however many items it holds.
func TestListUnpaged(t *testing.T) {
	path := Path("accounts", acct, "workers", "scripts", "api", "deployments")
	var parts []string
	for i := range 150 {
		parts = append(parts, fmt.Sprintf(`{"id": "d-%03d"}`, i))
	}
	s, base := fake(t, []cffake.Route{{Path: path, Result: json.RawMessage(`{"deployments": [` + strings.Join(parts, ", ") + `]}`), Unpaged: true}},
		cffake.WithMaxPerPage(10))
	c, _ := newClient(t, base)
	l, items, err := c.List(context.Background(), path, nil, ListOptions{Key: "deployments", PerPage: 10, Unpaged: true,
		Continue: func(int, []json.RawMessage) (bool, string) {
			t.Error("Continue is called for an unpaged listing")
			return true, ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 150 || l.Items != 150 || len(l.Pages) != 1 || s.Requests() != 1 {
		t.Fatalf("%d items, listing %d items over %d pages, %d requests", len(items), l.Items, len(l.Pages), s.Requests())
	}
	if l.Pages[0].Request != "GET "+path || len(l.Params) != 0 {
		t.Errorf("request %q, params %v: an unpaged listing sends no page or per_page", l.Pages[0].Request, l.Params)
	}
	if !strings.Contains(l.Stop, "not paginated") || !strings.Contains(l.Stop, "150 items") {
		t.Errorf("stop %q", l.Stop)
	}
	if string(items[149]) != `{"id": "d-149"}` {
		t.Errorf("last item %s", items[149])
	}
}

func TestErrorEnvelopes(t *testing.T) {
	base := "/accounts/" + acct + "/workers/scripts/"
	_, root := fake(t, []cffake.Route{
		{Path: base + "secret/deployments", Status: 403, Errors: []cffake.Message{{Code: 10000, Message: "Authentication error"}}},
		{Path: base + "gone/deployments", Status: 404, Errors: []cffake.Message{{Code: 10007, Message: "This Worker does not exist on your account."}}},
		{Path: base + "bad/deployments", Status: 400, Errors: []cffake.Message{{Code: 10021, Message: "bad request"}, {Code: 10022, Message: "worse"}}},
		{Path: base + "nosuccess/deployments", Raw: true, Result: json.RawMessage(`{"result": null, "success": false, "errors": [{"code": 1234, "message": "not today"}], "messages": []}`)},
		{Path: base + "broken/deployments", Raw: true, Result: json.RawMessage(`{"result": {"deployments": [`)},
		{Path: base + "html/deployments", Status: 502, Raw: true, Result: json.RawMessage(`<html>bad gateway</html>`)},
	})
	c, logs := newClient(t, root, func(o *Options) { o.RetryMax = -1 })
	cases := []struct {
		script   string
		status   int
		withheld bool
		want     []string
		is       error
	}{
		{"secret", 403, true, []string{"GET " + base + "secret/deployments: HTTP 403 Forbidden: Cloudflare error 10000: Authentication error"}, nil},
		{"gone", 404, true, []string{"HTTP 404 Not Found: Cloudflare error 10007: This Worker does not exist on your account."}, nil},
		{"bad", 400, false, []string{"HTTP 400 Bad Request: Cloudflare error 10021: bad request; Cloudflare error 10022: worse"}, nil},
		{"nosuccess", 200, false, []string{"HTTP 200 OK: Cloudflare error 1234: not today", `"success": false`}, ErrNotSuccess},
		{"broken", 200, false, []string{"HTTP 200 OK: response is not valid JSON"}, ErrInvalidJSON},
		{"html", 502, false, []string{"HTTP 502 Bad Gateway: <html>bad gateway</html>"}, nil},
	}
	for _, tc := range cases {
		call, err := c.Get(context.Background(), base+tc.script+"/deployments", nil)
		if err == nil {
			t.Errorf("%s: no error", tc.script)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.script, err, w)
			}
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v is not %v", tc.script, err, tc.is)
		}
		if call.HTTPStatus != tc.status || HTTPStatus(err) != tc.status {
			t.Errorf("%s: status %d / %d, want %d", tc.script, call.HTTPStatus, HTTPStatus(err), tc.status)
		}
		if Withheld(err) != tc.withheld {
			t.Errorf("%s: Withheld = %v", tc.script, Withheld(err))
		}
		if call.Result != nil {
			t.Errorf("%s: a failed call keeps no result", tc.script)
		}
		noToken(t, tc.script+" error", err.Error())
	}
	call, _ := c.Get(context.Background(), base+"broken/deployments", nil)
	if call.InvalidBody != `{"result": {"deployments": [` {
		t.Errorf("invalid body %q", call.InvalidBody)
	}
	call, err := c.Get(context.Background(), base+"secret/deployments", nil)
	if want := "GET " + base + "secret/deployments: Cloudflare answered 403 (10000 Authentication error)"; Reason(call) != want {
		t.Errorf("Reason = %q, want %q (%v)", Reason(call), want, err)
	}
	noToken(t, "the logs", logs.String())
}

func TestWrongTokenIsAnErrorNotWithheld(t *testing.T) {
	path := "/accounts/" + acct + "/pages/projects/web"
	_, base := fake(t, []cffake.Route{{Path: path, Result: json.RawMessage(`{}`)}}, cffake.WithToken("another-token"))
	c, logs := newClient(t, base)
	_, err := c.Get(context.Background(), path, nil)
	if err == nil || Withheld(err) || !strings.Contains(err.Error(), "9109 Invalid access token") && !strings.Contains(err.Error(), "Cloudflare error 9109: Invalid access token") {
		t.Errorf("error %v (withheld %v)", err, Withheld(err))
	}
	noToken(t, "the error", fmt.Sprintf("%v %+v %#v", err, err, err))
	noToken(t, "the logs", logs.String())
}

func TestNoTokenSendsNothing(t *testing.T) {
	var hits atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer hs.Close()
	c, err := New(Options{BaseURL: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	if c.HasToken() {
		t.Error("HasToken without a token")
	}
	_, err = c.Get(context.Background(), "/x", nil)
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), TokenEnv) || hits.Load() != 0 {
		t.Errorf("error %v, %d requests", err, hits.Load())
	}
}

func TestServerErrorsAreRetriedThenNamed(t *testing.T) {
	var hits atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("Authorization header %q", r.Header.Get("Authorization"))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"result":null,"success":false,"errors":[{"code":1000,"message":"Service unavailable"}],"messages":[]}`)
	}))
	defer hs.Close()
	c, _ := newClient(t, hs.URL)
	_, err := c.Get(context.Background(), "/accounts/"+acct+"/pages/projects", nil)
	if hits.Load() != 3 || c.Stats.Requests() != 3 || c.Stats.Retries() != 2 {
		t.Errorf("%d attempts (client counted %d, %d retries), want 3", hits.Load(), c.Stats.Requests(), c.Stats.Retries())
	}
	if err == nil || !strings.Contains(err.Error(), "HTTP 503 Service Unavailable: Cloudflare error 1000: Service unavailable") {
		t.Errorf("error %v", err)
	}
}

func TestRateLimitHonoursRetryAfterWithinBounds(t *testing.T) {
	var hits atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if r.URL.Path == "/long" {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"result":null,"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[]}`)
			return
		}
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"result":null,"success":false,"errors":[{"code":971,"message":"slow down"}],"messages":[]}`)
			return
		}
		fmt.Fprint(w, `{"result":{"ok":true},"success":true,"errors":[],"messages":[]}`)
	}))
	defer hs.Close()
	c, _ := newClient(t, hs.URL)
	call, err := c.Get(context.Background(), "/short", nil)
	if err != nil || string(call.Result) != `{"ok":true}` || hits.Load() != 2 {
		t.Errorf("after a 429 with Retry-After 0: %v %s, %d attempts", err, call.Result, hits.Load())
	}
	hits.Store(0)
	start := time.Now()
	_, err = c.Get(context.Background(), "/long", nil)
	if err == nil || hits.Load() != 1 || time.Since(start) > 30*time.Second || !strings.Contains(err.Error(), "HTTP 429") || !strings.Contains(err.Error(), "971") {
		t.Errorf("a Retry-After beyond MaxRateLimitWait must fail at once: %v after %d attempts", err, hits.Load())
	}
	if Withheld(err) {
		t.Error("a rate limit is not withheld")
	}
}

func TestCancelledContext(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"result":{},"success":true,"errors":[],"messages":[]}`)
	}))
	defer hs.Close()
	c, _ := newClient(t, hs.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	call, err := c.Get(ctx, "/x", nil)
	if !errors.Is(err, context.Canceled) || call.HTTPStatus != 0 {
		t.Errorf("error %v (status %d)", err, call.HTTPStatus)
	}
	_, _, err = c.List(ctx, "/x", nil, ListOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v", err)
	}
}

func TestRequestTimeoutBoundsAnAttempt(t *testing.T) {
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hs.Close()
	defer close(release)
	c, _ := newClient(t, hs.URL, func(o *Options) { o.RequestTimeout = 50 * time.Millisecond; o.RetryMax = -1 })
	start := time.Now()
	_, err := c.Get(context.Background(), "/slow", nil)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("error %v after %s", err, time.Since(start))
	}
	noToken(t, "the timeout error", err.Error())
}

func TestRedirectToAnotherOriginIsRefused(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
	}))
	defer other.Close()
	hs := httptest.NewServer(http.RedirectHandler(other.URL+"/steal", http.StatusFound))
	defer hs.Close()
	c, _ := newClient(t, hs.URL)
	_, err := c.Get(context.Background(), "/x", nil)
	if err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Errorf("error %v", err)
	}
	if v, _ := leaked.Load().(string); v != "" {
		t.Errorf("the token reached another origin: %q", v)
	}
}

func TestHTTPClientTransportIsUsed(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"result":{"ok":true},"success":true,"errors":[],"messages":[]}`)
	}))
	defer hs.Close()
	var through atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		through.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	c, _ := newClient(t, hs.URL, func(o *Options) { o.HTTPClient = &http.Client{Transport: rt} })
	if _, err := c.Get(context.Background(), "/x", nil); err != nil || through.Load() != 1 {
		t.Errorf("%v, %d requests through the given transport", err, through.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
