package githubapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/internal/syncbuf"
)

const (
	basePath  = "/api/v3/"
	testToken = "ghp_TESTtoken0123456789abcdefABCDEF"
	repoJSON  = `{"id":1296269,"name":"api","full_name":"acme/api","private":false,"default_branch":"main"}`
)

// fakeAPI is an httptest server under a non-empty base path. It records
// every request and answers with the next response of a script (the last one
// repeats).
type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	script []func(w http.ResponseWriter, r *http.Request)
	reqs   []*http.Request
}

func newFakeAPI(t *testing.T, script ...func(w http.ResponseWriter, r *http.Request)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, script: script}
	mux := http.NewServeMux()
	mux.HandleFunc(basePath, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		h := f.script[min(n, len(f.script)-1)]
		f.mu.Unlock()
		h(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// A request outside the base path means an absolute-URL mistake.
		t.Errorf("request outside the API base path: %s %s", r.Method, r.URL)
		http.Error(w, "outside base path", http.StatusTeapot)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) url() string { return f.srv.URL + basePath }

func (f *fakeAPI) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func (f *fakeAPI) count() int { return len(f.requests()) }

// fastOptions keeps backoff waits at a few milliseconds.
func fastOptions(base string) Options {
	return Options{
		BaseURL:      base,
		Token:        secret.New(testToken),
		RetryMax:     3,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
	}
}

func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func respond(status int, body string, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprint(w, body)
	}
}

func ok() func(w http.ResponseWriter, r *http.Request) { return respond(http.StatusOK, repoJSON) }

func getRepo(t *testing.T, c *Client) (*github.Repository, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	repo, _, err := c.Repositories.Get(ctx, "acme", "api")
	return repo, err
}

func assertStats(t *testing.T, c *Client, requests, retries int64) {
	t.Helper()
	if got := c.Stats.Requests(); got != requests {
		t.Errorf("Stats.Requests() = %d, want %d", got, requests)
	}
	if got := c.Stats.Retries(); got != retries {
		t.Errorf("Stats.Retries() = %d, want %d", got, retries)
	}
}

func TestRetriesBadGatewayThenSucceeds(t *testing.T) {
	f := newFakeAPI(t,
		respond(http.StatusBadGateway, `{"message":"Server Error"}`),
		respond(http.StatusBadGateway, `{"message":"Server Error"}`),
		ok())
	c := newClient(t, fastOptions(f.url()))
	repo, err := getRepo(t, c)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if repo.GetFullName() != "acme/api" {
		t.Errorf("repo = %q, want acme/api", repo.GetFullName())
	}
	if n := f.count(); n != 3 {
		t.Errorf("server saw %d requests, want 3", n)
	}
	assertStats(t, c, 3, 2)
	for i, r := range f.requests() {
		if r.URL.Path != "/api/v3/repos/acme/api" || r.Method != http.MethodGet {
			t.Errorf("request %d: %s %s", i, r.Method, r.URL.Path)
		}
	}
}

func TestServerErrorExhaustsRetries(t *testing.T) {
	f := newFakeAPI(t, respond(http.StatusInternalServerError, `{"message":"Internal Server Error"}`))
	opts := fastOptions(f.url())
	opts.RetryMax = 2
	c := newClient(t, opts)
	_, err := getRepo(t, c)
	if err == nil {
		t.Fatal("Get succeeded against a server that always fails")
	}
	if got := HTTPStatus(err); got != http.StatusInternalServerError {
		t.Errorf("HTTPStatus(%v) = %d, want 500", err, got)
	}
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Errorf("error %T is not a *github.ErrorResponse", err)
	}
	if Message(err) != "Internal Server Error" {
		t.Errorf("Message(err) = %q, want GitHub's message", Message(err))
	}
	if n := f.count(); n != opts.RetryMax+1 {
		t.Errorf("server saw %d requests, want RetryMax+1 = %d", n, opts.RetryMax+1)
	}
	assertStats(t, c, int64(opts.RetryMax+1), int64(opts.RetryMax))
}

func TestNotImplementedNotRetried(t *testing.T) {
	f := newFakeAPI(t, respond(http.StatusNotImplemented, `{"message":"Not Implemented"}`))
	c := newClient(t, fastOptions(f.url()))
	if _, err := getRepo(t, c); HTTPStatus(err) != http.StatusNotImplemented {
		t.Fatalf("err = %v, want a 501", err)
	}
	if n := f.count(); n != 1 {
		t.Errorf("501 sent %d requests, want 1 (not retried)", n)
	}
}

func TestClientErrorsNotRetried(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
	}{
		{http.StatusNotFound, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/repos#get-a-repository"}`},
		{http.StatusUnauthorized, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`},
		{http.StatusForbidden, `{"message":"Resource not accessible by integration"}`},
		{http.StatusUnprocessableEntity, `{"message":"Validation Failed"}`},
	} {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			f := newFakeAPI(t, respond(c.status, c.body, "X-RateLimit-Remaining", "4999"))
			cl := newClient(t, fastOptions(f.url()))
			start := time.Now()
			_, err := getRepo(t, cl)
			if got := HTTPStatus(err); got != c.status {
				t.Fatalf("HTTPStatus(%v) = %d, want %d", err, got, c.status)
			}
			if n := f.count(); n != 1 {
				t.Errorf("server saw %d requests, want exactly 1", n)
			}
			assertStats(t, cl, 1, 0)
			if el := time.Since(start); el > time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

// TestSecondaryRateLimitRetryAfter is the one test that really waits (1s).
func TestSecondaryRateLimitRetryAfter(t *testing.T) {
	f := newFakeAPI(t,
		respond(http.StatusForbidden,
			`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			"Retry-After", "1", "X-RateLimit-Remaining", "4990"),
		ok())
	c := newClient(t, fastOptions(f.url()))
	start := time.Now()
	if _, err := getRepo(t, c); err != nil {
		t.Fatalf("Get: %v", err)
	}
	elapsed := time.Since(start)
	if w := c.Stats.Waited(); w < time.Second || w > 1100*time.Millisecond {
		t.Errorf("Stats.Waited() = %v, want ≈1s (Retry-After: 1)", w)
	}
	if elapsed < time.Second {
		t.Errorf("retried after %v, before Retry-After elapsed", elapsed)
	}
	if n := f.count(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
	assertStats(t, c, 2, 1)
}

func TestPrimaryRateLimitWaitsForReset(t *testing.T) {
	reset := time.Now().Add(2 * time.Second).Unix()
	f := newFakeAPI(t,
		respond(http.StatusForbidden, `{"message":"API rate limit exceeded for user ID 1."}`,
			"X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", strconv.FormatInt(reset, 10), "X-RateLimit-Resource", "core"),
		ok())
	opts := fastOptions(f.url())
	// The clock says we are 800ms past the reset second: with the +1s
	// rounding margin the client must wait exactly 200ms.
	opts.Now = func() time.Time { return time.Unix(reset, 0).Add(800 * time.Millisecond) }
	c := newClient(t, opts)
	start := time.Now()
	if _, err := getRepo(t, c); err != nil {
		t.Fatalf("Get: %v", err)
	}
	elapsed := time.Since(start)
	if w := c.Stats.Waited(); w != 200*time.Millisecond {
		t.Errorf("Stats.Waited() = %v, want 200ms (reset - now + 1s)", w)
	}
	if elapsed < 200*time.Millisecond {
		t.Errorf("retried after %v, before the computed wait", elapsed)
	}
	if n := f.count(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
	assertStats(t, c, 2, 1)
}

func TestRateLimitTooLongIsNotWaited(t *testing.T) {
	reset := time.Now().Add(time.Hour).Unix()
	for name, resp := range map[string]func(http.ResponseWriter, *http.Request){
		"primary 403 reset in an hour": respond(http.StatusForbidden, `{"message":"API rate limit exceeded for user ID 1."}`,
			"X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(reset, 10)),
		"secondary 403 Retry-After an hour": respond(http.StatusForbidden,
			`{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			"Retry-After", "3600"),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, resp, ok())
			c := newClient(t, fastOptions(f.url())) // MaxRateLimitWait defaults to 15m
			start := time.Now()
			_, err := getRepo(t, c)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Get succeeded: the client waited out (or ignored) an hour-long rate limit")
			}
			if got := HTTPStatus(err); got != http.StatusForbidden {
				t.Errorf("HTTPStatus(%v) = %d, want 403", err, got)
			}
			if elapsed > 500*time.Millisecond {
				t.Errorf("gave up after %v, want promptly", elapsed)
			}
			if n := f.count(); n != 1 {
				t.Errorf("server saw %d requests, want exactly 1", n)
			}
			assertStats(t, c, 1, 0)
			if c.Stats.Waited() != 0 {
				t.Errorf("Stats.Waited() = %v, want 0", c.Stats.Waited())
			}
			// The next call fails at once too (go-github remembers the
			// limit) and does not hammer the API.
			_, err = getRepo(t, c)
			if HTTPStatus(err) != http.StatusForbidden {
				t.Errorf("second call: %v, want the 403 again", err)
			}
			if n := f.count(); n > 2 {
				t.Errorf("second call sent %d requests", n-1)
			}
		})
	}
}

func TestMaxRateLimitWaitOption(t *testing.T) {
	f := newFakeAPI(t, respond(http.StatusTooManyRequests, `{"message":"slow down"}`, "Retry-After", "1"), ok())
	opts := fastOptions(f.url())
	opts.MaxRateLimitWait = 500 * time.Millisecond
	c := newClient(t, opts)
	_, err := getRepo(t, c)
	if HTTPStatus(err) != http.StatusTooManyRequests {
		t.Fatalf("err = %v, want the 429 (1s wait > 500ms maximum)", err)
	}
	if n := f.count(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestTooManyRequestsWithoutHeadersBacksOff(t *testing.T) {
	f := newFakeAPI(t, respond(http.StatusTooManyRequests, `{"message":"slow down"}`), ok())
	c := newClient(t, fastOptions(f.url()))
	if _, err := getRepo(t, c); err != nil {
		t.Fatalf("Get: %v", err)
	}
	assertStats(t, c, 2, 1)
	if w := c.Stats.Waited(); w <= 0 || w > 5*time.Millisecond {
		t.Errorf("Stats.Waited() = %v, want the exponential backoff (1ms..5ms)", w)
	}
}

func TestTokenSentAndNeverLeaked(t *testing.T) {
	f := newFakeAPI(t,
		respond(http.StatusBadGateway, `{"message":"Server Error"}`),
		respond(http.StatusTooManyRequests, `{"message":"slow"}`, "Retry-After", "0"),
		respond(http.StatusUnauthorized, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
	var logs syncbuf.Buffer
	opts := fastOptions(f.url())
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, opts)
	_, err := getRepo(t, c)
	if HTTPStatus(err) != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401", err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests, want 3 (502, 429 retried; 401 not)", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("request %d: Authorization = %q, want Bearer <token>", i, got)
		}
		if strings.Contains(r.URL.RawQuery, testToken) {
			t.Errorf("request %d: token in the query string", i)
		}
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, testToken) || strings.Contains(s, testToken[4:20]) {
			t.Errorf("error string contains the token: %s", s)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "retrying request") {
		t.Fatalf("debug log has no retry lines, so it proves nothing:\n%s", out)
	}
	if strings.Contains(out, testToken) || strings.Contains(out, testToken[4:20]) {
		t.Errorf("debug log contains the token:\n%s", out)
	}
	// The Options value itself prints redacted.
	if s := fmt.Sprintf("%v %+v", opts, opts); strings.Contains(s, testToken) {
		t.Errorf("Options prints the token: %s", s)
	}
}

func TestAnonymousClientSendsNoAuthorization(t *testing.T) {
	f := newFakeAPI(t, ok())
	opts := fastOptions(f.url())
	opts.Token = secret.Secret{}
	c := newClient(t, opts)
	if _, err := getRepo(t, c); err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[0].Header.Get("Authorization"); got != "" {
		t.Errorf("anonymous client sent Authorization %q", got)
	}
	if got := f.requests()[0].Header.Get("User-Agent"); got != "changeproof" {
		t.Errorf("User-Agent = %q, want changeproof", got)
	}
}

func TestParseBaseURL(t *testing.T) {
	good := map[string]string{
		"https://api.github.com/":           "https://api.github.com/",
		"https://api.github.com":            "https://api.github.com/",
		"https://ghe.example.com/api/v3":    "https://ghe.example.com/api/v3/",
		"https://ghe.example.com/api/v3/":   "https://ghe.example.com/api/v3/",
		"https://ghe.example.com:8443/api/": "https://ghe.example.com:8443/api/",
		"https://api.github.com/?x=1#frag":  "https://api.github.com/",
		"http://127.0.0.1:8080/api/v3":      "http://127.0.0.1:8080/api/v3/",
		"http://[::1]:9000/":                "http://[::1]:9000/",
		"http://localhost:3000":             "http://localhost:3000/",
		"http://localhost/":                 "http://localhost/",
	}
	for in, want := range good {
		u, err := ParseBaseURL(in)
		if err != nil {
			t.Errorf("ParseBaseURL(%q): %v", in, err)
			continue
		}
		if u.String() != want {
			t.Errorf("ParseBaseURL(%q) = %q, want %q", in, u.String(), want)
		}
	}

	for _, in := range []string{
		"http://api.github.com/", "http://ghe.example.com/api/v3/", "http://10.0.0.1/",
		"http://localhost.example.com/", "http://192.168.1.1:8080/",
	} {
		_, err := ParseBaseURL(in)
		if err == nil {
			t.Errorf("ParseBaseURL(%q) accepted plain http to a non-loopback host", in)
		} else if !strings.Contains(err.Error(), "https") {
			t.Errorf("ParseBaseURL(%q): error does not say to use https: %v", in, err)
		}
	}

	const password = "hunter2secret"
	for _, in := range []string{
		"https://user:" + password + "@api.github.com/",
		"https://" + password + "@api.github.com/",
		"http://user:" + password + "@127.0.0.1/",
		"ftp://user:" + password + "@api.github.com/",
		"https://user:" + password + "@/",
		"ftp://" + password + "@api.github.com/",
		"https://user:" + password + "@api.github.com:99x/",
		"https://user:" + password + "@api.github.com/%zz",
	} {
		_, err := ParseBaseURL(in)
		if err == nil {
			t.Errorf("ParseBaseURL(%q) accepted a URL with user info", in)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("ParseBaseURL error repeats the credentials: %v", err)
		}
	}

	for _, in := range []string{
		"", "api.github.com", "api.github.com/api/v3", "/api/v3/", "://x", "https://", "https:///path",
		"ftp://api.github.com/", "file:///etc/passwd", "ghe.example.com:443", "%zz", "https://exa mple.com/",
		"javascript:alert(1)",
	} {
		if u, err := ParseBaseURL(in); err == nil {
			t.Errorf("ParseBaseURL(%q) = %v, want an error", in, u)
		}
	}

	// Without credentials, the error shows what was given.
	if _, err := ParseBaseURL("ftp://api.github.com/x"); err == nil || !strings.Contains(err.Error(), "ftp://api.github.com/x") {
		t.Errorf("error for a non-http URL does not show it: %v", err)
	}

	// New applies the same rules and defaults to api.github.com.
	if _, err := New(Options{BaseURL: "http://ghe.example.com/"}); err == nil {
		t.Error("New accepted a plain-http non-loopback base URL")
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL.String() != DefaultBaseURL {
		t.Errorf("default BaseURL = %s, want %s", c.BaseURL, DefaultBaseURL)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	opts := fastOptions("http://" + addr + basePath)
	opts.RetryMax = 2
	c := newClient(t, opts)
	start := time.Now()
	_, err = getRepo(t, c)
	if err == nil {
		t.Fatal("Get succeeded against a closed port")
	}
	msg := err.Error()
	if !strings.Contains(msg, addr) {
		t.Errorf("error does not name %s: %s", addr, msg)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if strings.Contains(msg, testToken) {
		t.Errorf("error contains the token: %s", msg)
	}
	if HTTPStatus(err) != 0 {
		t.Errorf("HTTPStatus of a transport error = %d, want 0", HTTPStatus(err))
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error does not unwrap to ECONNREFUSED: %v", err)
	}
	t.Logf("error: %s", msg)
	assertStats(t, c, int64(opts.RetryMax+1), int64(opts.RetryMax))
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestStatsByEndpoint(t *testing.T) {
	var n atomic.Int32
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		// The first request to /repos/acme/web fails once and is retried.
		if r.URL.Path == "/api/v3/repos/acme/web" && n.Add(1) == 1 {
			respond(http.StatusServiceUnavailable, `{"message":"unavailable"}`)(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/branches") {
			respond(http.StatusOK, `[{"name":"main","protected":true}]`)(w, r)
			return
		}
		ok()(w, r)
	})
	c := newClient(t, fastOptions(f.url()))
	ctx := context.Background()
	for _, repo := range []string{"api", "api", "web"} {
		if _, _, err := c.Repositories.Get(ctx, "acme", repo); err != nil {
			t.Fatal(err)
		}
	}
	for page := 1; page <= 2; page++ {
		opt := &github.BranchListOptions{ListOptions: github.ListOptions{Page: page, PerPage: 100}}
		if _, _, err := c.Repositories.ListBranches(ctx, "acme", "api", opt); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int64{
		"GET /api/v3/repos/acme/api":          2,
		"GET /api/v3/repos/acme/web":          2, // one retry
		"GET /api/v3/repos/acme/api/branches": 2, // query removed
	}
	got := c.Stats.ByEndpoint()
	if len(got) != len(want) {
		t.Errorf("ByEndpoint = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ByEndpoint[%q] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	// The map is a copy.
	got["GET /x"] = 99
	if _, ok := c.Stats.ByEndpoint()["GET /x"]; ok {
		t.Error("ByEndpoint returned the internal map")
	}
	assertStats(t, c, 6, 1)
}

func TestStatsConcurrent(t *testing.T) {
	f := newFakeAPI(t, ok())
	c := newClient(t, fastOptions(f.url()))
	const workers, each = 8, 5
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, _, err := c.Repositories.Get(context.Background(), "acme", "api"); err != nil {
					t.Error(err)
				}
				_ = c.Stats.ByEndpoint()
			}
		}()
	}
	wg.Wait()
	if got := c.Stats.ByEndpoint()["GET /api/v3/repos/acme/api"]; got != workers*each {
		t.Errorf("ByEndpoint count = %d, want %d", got, workers*each)
	}
	assertStats(t, c, workers*each, 0)
}

func TestContextCancelStopsBackoff(t *testing.T) {
	f := newFakeAPI(t, respond(http.StatusServiceUnavailable, `{"message":"unavailable"}`))
	opts := fastOptions(f.url())
	opts.RetryWaitMin, opts.RetryWaitMax = time.Minute, time.Minute
	c := newClient(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.Repositories.Get(ctx, "acme", "api")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a cancelled context waited %v", el)
	}
	if n := f.count(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

// TestRateLimitWait checks the wait computed from each header combination,
// with a fixed clock and no network.
func TestRateLimitWait(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := &policy{opts: Options{Now: func() time.Time { return now }}}
	resp := func(status int, kv ...string) *http.Response {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	reset := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	cases := []struct {
		name    string
		resp    *http.Response
		wait    time.Duration
		limited bool
	}{
		{"nil response", nil, 0, false},
		{"200", resp(200, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(time.Minute)), 0, false},
		{"404", resp(404, "Retry-After", "5"), 0, false},
		{"500 with Retry-After", resp(500, "Retry-After", "5"), 0, false},
		{"403 plain", resp(403, "X-RateLimit-Remaining", "10"), 0, false},
		{"403 Retry-After seconds", resp(403, "Retry-After", "7"), 7 * time.Second, true},
		{"429 Retry-After seconds", resp(429, "Retry-After", " 3 "), 3 * time.Second, true},
		{"429 Retry-After 0", resp(429, "Retry-After", "0"), 0, true},
		{"403 Retry-After date", resp(403, "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second, true},
		{"403 Retry-After date in the past", resp(403, "Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), 0, true},
		{"403 reset", resp(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(30*time.Second)), 31 * time.Second, true},
		{"429 reset", resp(429, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(30*time.Second)), 31 * time.Second, true},
		{"403 reset passed", resp(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(-time.Minute)), 0, true},
		{"403 remaining 0 without reset", resp(403, "X-RateLimit-Remaining", "0"), time.Minute, true},
		{"403 Retry-After wins over reset", resp(403, "Retry-After", "2", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(time.Hour)), 2 * time.Second, true},
		{"429 plain", resp(429), 0, true},
	}
	for _, c := range cases {
		wait, limited := p.rateLimitWait(c.resp)
		if wait != c.wait || limited != c.limited {
			t.Errorf("%s: rateLimitWait = %v, %v; want %v, %v", c.name, wait, limited, c.wait, c.limited)
		}
	}
}

// TestCheckRetryDecisions covers the retry policy without sleeping.
func TestCheckRetryDecisions(t *testing.T) {
	p := &policy{opts: Options{Now: time.Now, MaxRateLimitWait: time.Minute, Logger: slog.New(slog.DiscardHandler)}}
	ctx := context.Background()
	for status, want := range map[int]bool{
		200: false, 201: false, 304: false, 400: false, 401: false, 403: false, 404: false, 409: false, 422: false,
		500: true, 501: false, 502: true, 503: true, 504: true, 429: true,
	} {
		got, err := p.checkRetry(ctx, &http.Response{StatusCode: status, Header: http.Header{}}, nil)
		if err != nil || got != want {
			t.Errorf("checkRetry(%d) = %v, %v; want %v", status, got, err, want)
		}
	}
	long := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": []string{"61"}}}
	if got, _ := p.checkRetry(ctx, long, nil); got {
		t.Error("retried a 61s Retry-After with MaxRateLimitWait 1m")
	}
	fine := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": []string{"60"}}}
	if got, _ := p.checkRetry(ctx, fine, nil); !got {
		t.Error("did not retry a 60s Retry-After with MaxRateLimitWait 1m")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := p.checkRetry(cctx, &http.Response{StatusCode: 503}, nil); got || err == nil {
		t.Errorf("checkRetry with a cancelled context = %v, %v; want false and the context error", got, err)
	}
}

func TestBackoffIsExponentialAndBounded(t *testing.T) {
	p := &policy{opts: Options{Now: time.Now, Logger: slog.New(slog.DiscardHandler)}, stats: &Stats{}}
	lo, hi := 10*time.Millisecond, 50*time.Millisecond
	want := []time.Duration{10, 20, 40, 50, 50, 50}
	var total time.Duration
	for attempt, w := range want {
		got := p.backoff(lo, hi, attempt, &http.Response{StatusCode: 503, Header: http.Header{}})
		if got != w*time.Millisecond {
			t.Errorf("attempt %d: backoff %v, want %v", attempt, got, w*time.Millisecond)
		}
		total += got
	}
	if p.stats.Retries() != int64(len(want)) || p.stats.Waited() != total {
		t.Errorf("stats: %d retries, %v waited; want %d, %v", p.stats.Retries(), p.stats.Waited(), len(want), total)
	}
	// A rate limit's wait is used as is, beyond RetryWaitMax.
	rl := &http.Response{StatusCode: 403, Header: http.Header{"Retry-After": []string{"2"}}}
	if got := p.backoff(lo, hi, 0, rl); got != 2*time.Second {
		t.Errorf("rate-limit backoff %v, want 2s", got)
	}
	// A huge attempt number does not overflow into a negative wait.
	if got := p.backoff(lo, hi, 200, nil); got != hi {
		t.Errorf("backoff at attempt 200 = %v, want %v", got, hi)
	}
}

func TestSecondaryRateLimitWithoutRetryAfterWaitsAMinute(t *testing.T) {
	p := &policy{opts: Options{Now: time.Now, MaxRateLimitWait: time.Hour}}
	body := `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	resp := &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
	wait, limited := p.rateLimitWait(resp)
	if !limited || wait != time.Minute {
		t.Fatalf("wait = %v limited = %v, want 1m true", wait, limited)
	}
	// The body is still there for go-github's error.
	got, _ := io.ReadAll(resp.Body)
	if string(got) != body {
		t.Fatalf("body after peeking = %q", got)
	}
	plain := &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"message":"Resource not accessible by integration"}`))}
	if _, limited := p.rateLimitWait(plain); limited {
		t.Fatal("a permission 403 was taken for a rate limit")
	}
}

func TestStalledServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := New(Options{BaseURL: srv.URL + "/api/v3/", RequestTimeout: 50 * time.Millisecond, RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = c.Repositories.Get(context.Background(), "acme", "api")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("stalled server: err = %v after %v", err, time.Since(start))
	}
	if c.Stats.Requests() != 2 {
		t.Fatalf("requests = %d, want 2 (one retry after the timeout)", c.Stats.Requests())
	}
}

func TestRedirectToAnotherOriginIsRefused(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		w.Write([]byte(`{}`))
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c, err := New(Options{BaseURL: api.URL + "/api/v3/", Token: secret.New("ghp_redirected"), RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Repositories.Get(context.Background(), "acme", "api")
	if err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if leaked.Load() {
		t.Fatal("the token was sent to another origin")
	}
	if n := c.Stats.Requests(); n != 1 {
		t.Fatalf("%d requests: a refused redirect must not be retried", n)
	}
}
