package githubapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzGetRaw serves the fuzzer's body with a status among those GitHub
// answers and hostile rate-limit, Retry-After and Link headers: GetRaw
// never panics nor waits out a huge reset, keeps a 2xx body only when it
// is JSON, and gives an error for any other answer.
func FuzzGetRaw(f *testing.F) {
	// testdata/fuzz/FuzzGetRaw holds the documented payloads of
	// ../shared/github-api-examples as seeds.
	for _, h := range []string{"", "9999999999999999999999", "-1", "1e400", "NaN", " 0"} {
		for st := range uint8(5) {
			f.Add(st, h, []byte(`{"message":"API rate limit exceeded","documentation_url":null}`))
		}
	}
	f.Add(uint8(0), "", []byte(`[{"number":1e400,"user":null}]`))
	f.Add(uint8(0), "", []byte(`{`))
	f.Add(uint8(0), "<https://evil.example/x?page=0>; rel=\"next\"", []byte(`[]`))
	f.Add(uint8(0), "<?page=99999999999999999999>; rel=\"next\"", []byte(`[]`))
	statuses := []int{http.StatusOK, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	f.Fuzz(func(t *testing.T, st uint8, header string, body []byte) {
		status := statuses[int(st)%len(statuses)]
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for _, k := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After", "Link"} {
				w.Header()[k] = []string{header}
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}))
		defer hs.Close()
		o := fastOptions(hs.URL + basePath)
		o.RetryMax = 1
		c := newClient(t, o)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		call, _, err := c.GetRaw(ctx, "repos/acme/api/pulls?state=closed")
		if ctx.Err() != nil {
			t.Fatalf("GetRaw waited out the test's 5 s (headers %q)", header)
		}
		if err == nil && (status != http.StatusOK || !json.Valid(call.Body)) {
			t.Fatalf("GetRaw accepted a %d answer (body valid: %v)", status, json.Valid(call.Body))
		}
	})
}
