package cfapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/internal/secret"
)

func TestR2LocksSendTheJurisdiction(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var put string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Method+" "+r.URL.Path+" j="+r.Header.Get("cf-r2-jurisdiction"))
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			put = string(b)
		}
		_, _ = io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":{"rules":[]}}`)
	}))
	t.Cleanup(hs.Close)
	c, err := New(Options{BaseURL: hs.URL + "/client/v4", Token: secret.New("tok"), RateLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := c.R2Locks().GetBucketLock(ctx, "acc", "ev")
	if err != nil || string(got) != `{"rules":[]}` {
		t.Fatalf("GetBucketLock = %s, %v", got, err)
	}
	eu := c.R2Locks().InJurisdiction("eu")
	if _, err := eu.GetBucketLock(ctx, "acc", "ev"); err != nil {
		t.Fatal(err)
	}
	if err := eu.PutBucketLock(ctx, "acc", "ev", json.RawMessage(`{"rules":[{"id":"x"}]}`)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /client/v4/accounts/acc/r2/buckets/ev/lock j=",
		"GET /client/v4/accounts/acc/r2/buckets/ev/lock j=eu",
		"PUT /client/v4/accounts/acc/r2/buckets/ev/lock j=eu",
	}
	if len(seen) != len(want) {
		t.Fatalf("requests %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("request %d = %s, want %s", i, seen[i], want[i])
		}
	}
	if put != `{"rules":[{"id":"x"}]}` {
		t.Errorf("PUT body %s", put)
	}
	if _, err := (&Client{}).R2Locks().GetBucketLock(ctx, "acc", "ev"); err == nil {
		t.Error("a client without a token read the rules")
	}
}
