package githubapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
)

// MaxRateLimitWait bounds each hold; a server that answers every request
// with X-RateLimit-Remaining: 0 and a reset 14 minutes ahead would make
// each following request wait 14 minutes, for ever. After a few holds in a
// row with hardly a request between them, requests are refused instead.
func TestRateLimitHoldsInARowEnd(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(clock().Add(14*time.Minute).Unix(), 10))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":1}`))
	}))
	t.Cleanup(hs.Close)
	gh, err := githubapi.New(githubapi.Options{
		BaseURL: hs.URL + "/", Token: secret.New("ghp_review0123456789abcdefABCDEF0123"),
		RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
		Now: clock,
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			now = now.Add(d)
			mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = nil
	sent := 0
	for i := range 20 {
		if _, _, err = gh.GetRaw(context.Background(), "repos/acme/api/pulls?page="+strconv.Itoa(i+1)); err != nil {
			break
		}
		sent++
	}
	var rl *githubapi.RateLimitExhaustedError
	if !errors.As(err, &rl) || rl.Holds != 4 || !strings.Contains(err.Error(), "keeps the limit exhausted") {
		t.Fatalf("after %d requests: %v, want a refusal after 4 holds in a row", sent, err)
	}
	if w := gh.Stats.RateLimitWait(); sent != 5 || w > 4*15*time.Minute {
		t.Errorf("%d requests sent and %v held before the refusal", sent, w)
	}
}
