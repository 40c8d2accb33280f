package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		value string
		wait  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		calls := 0
		clock := func() time.Time { calls++; return now }
		wait, ok := RetryAfter(http.Header{"Retry-After": []string{c.value}}, clock)
		if wait != c.wait || ok != c.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", c.value, wait, ok, c.wait, c.ok)
		}
		// The clock is read for a date only (collectors' clocks advance).
		if isDate := strings.Contains(c.value, "GMT"); (calls == 1) != isDate || calls > 1 {
			t.Errorf("RetryAfter(%q) read the clock %d times", c.value, calls)
		}
	}
}

// limitOn429 reads a 429 as a rate limit, naming its wait when it has a
// Retry-After.
func limitOn429(resp *http.Response) RateLimit {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return RateLimit{}
	}
	wait, said := RetryAfter(resp.Header, time.Now)
	return RateLimit{Limited: true, Wait: wait, Said: said}
}

func TestCheckRetryAndBackoff(t *testing.T) {
	p := &Retry{Service: "X", RateLimit: limitOn429, MaxRateLimitWait: time.Minute, Logger: slog.New(slog.DiscardHandler), Stats: &Stats{}}
	ctx := context.Background()
	resp := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	for _, c := range []struct {
		resp *http.Response
		want bool
	}{
		{resp(200, ""), false}, {resp(403, "5"), false}, {resp(404, ""), false}, {resp(501, ""), false},
		{resp(500, ""), true}, {resp(503, ""), true}, {resp(429, ""), true}, {resp(429, "60"), true},
		{resp(429, "61"), false},
	} {
		if got, err := p.CheckRetry(ctx, c.resp, nil); got != c.want || err != nil {
			t.Errorf("CheckRetry(%d, Retry-After %q) = %v, %v; want %v", c.resp.StatusCode, c.resp.Header.Get("Retry-After"), got, err, c.want)
		}
	}
	crossed := &url.Error{Op: "Get", URL: "https://elsewhere/", Err: ErrCrossOrigin}
	if got, err := p.CheckRetry(ctx, nil, crossed); got || !errors.Is(err, ErrCrossOrigin) {
		t.Errorf("CheckRetry(cross-origin redirect) = %v, %v; want no retry and the error", got, err)
	}

	lo, hi := 10*time.Millisecond, 50*time.Millisecond
	for _, c := range []struct {
		resp *http.Response
		want time.Duration
	}{
		{resp(503, ""), 40 * time.Millisecond},  // 10ms doubled twice
		{resp(429, ""), 40 * time.Millisecond},  // a limit without a wait backs off
		{resp(429, "0"), 0},                     // a named wait is taken as is,
		{resp(429, "2"), 2 * time.Second},       // even beyond the maximum
		{resp(503, "2"), 40 * time.Millisecond}, // not a limit: Retry-After ignored
	} {
		if got := p.Backoff(lo, hi, 2, c.resp); got != c.want {
			t.Errorf("Backoff(%d, Retry-After %q) = %v, want %v", c.resp.StatusCode, c.resp.Header.Get("Retry-After"), got, c.want)
		}
	}
	if got := p.Backoff(lo, hi, 200, nil); got != hi {
		t.Errorf("Backoff at attempt 200 = %v, want %v", got, hi)
	}
	if p.Stats.Retries() != 6 || p.Stats.Waited() != 3*40*time.Millisecond+2*time.Second+hi {
		t.Errorf("stats: %d retries, %v waited", p.Stats.Retries(), p.Stats.Waited())
	}
}

func TestClientCountsFromBaseAndRefusesOtherOrigins(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the redirect to another origin was followed")
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/away" {
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	base, err := ParseBaseURL(srv.URL + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	stats := &Stats{}
	c := NewClient(Options{Base: base, RetryMax: -1, Retry: &Retry{Logger: slog.New(slog.DiscardHandler), Stats: stats}, CountFrom: "/v1"})
	for _, p := range []string{"a", "a", "away"} {
		resp, err := c.Get(base.String() + p)
		if p == "away" {
			if !errors.Is(err, ErrCrossOrigin) {
				t.Errorf("GET away: %v, want ErrCrossOrigin", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := stats.ByEndpoint()
	if stats.Requests() != 3 || got["GET /a"] != 2 || got["GET /away"] != 1 || len(got) != 2 {
		t.Errorf("requests %d, by endpoint %v", stats.Requests(), got)
	}
}

func TestParseBaseURLKeepsCredentialsOut(t *testing.T) {
	if _, err := ParseBaseURL("https://user:hunter2@api.example/"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("URL with credentials: %v", err)
	}
	if _, err := ParseBaseURL("http://api.example/"); err == nil || !strings.Contains(err.Error(), "use https") {
		t.Errorf("plain http to a remote host: %v", err)
	}
	if u, err := ParseBaseURL("http://127.0.0.1:8080/api?x=1#f"); err != nil || u.String() != "http://127.0.0.1:8080/api/" {
		t.Errorf("loopback URL = %v, %v", u, err)
	}
}
