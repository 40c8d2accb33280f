package cfapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// FuzzList serves the fuzzer's bytes as every page of a listing, with a
// status among those Cloudflare answers, and lists it as an array result,
// an object result holding "items", and unpaged: List never panics, gives
// an error or a listing whose items are each valid JSON, and never turns a
// failed answer into items.
func FuzzList(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/cloudflare/sample-account/*.json")
	for _, file := range files {
		if body, err := os.ReadFile(file); err == nil && json.Valid(body) {
			f.Add(uint8(0), body)
		}
	}
	for _, s := range []string{
		`{"success":true,"errors":[],"messages":[],"result":[{"id":"a"}],"result_info":{"page":1,"per_page":100,"count":1,"total_count":1,"total_pages":1}}`,
		`{"success":true,"result":{"items":[{"id":"a"},null]},"result_info":{"total_pages":1e400}}`,
		`{"success":true,"result":null}`,
		`{"success":true,"result":{"items":null}}`,
		`{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":["plain"],"result":null}`,
		`{"success":true,"result":[],"result_info":{"page":-1,"total_pages":-5,"count":null}}`,
		`{"success":"yes","errors":null}`,
		`[]`, `null`, `{`, ``,
	} {
		for st := range uint8(4) {
			f.Add(st, []byte(s))
		}
	}
	statuses := []int{http.StatusOK, http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest}
	f.Fuzz(func(t *testing.T, st uint8, body []byte) {
		status := statuses[int(st)%len(statuses)]
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}))
		defer hs.Close()
		c, _ := newClient(t, hs.URL, func(o *Options) { o.MaxPages = 3 })
		for _, o := range []ListOptions{{PerPage: 2}, {PerPage: 2, Key: "items"}, {Unpaged: true}, {Unpaged: true, Key: "deployments"}} {
			l, items, err := c.List(context.Background(), "/x", nil, o)
			if l == nil {
				t.Fatalf("List(%+v) returned no listing", o)
			}
			if err != nil {
				continue
			}
			if status != http.StatusOK {
				t.Fatalf("List(%+v) read items from a %d answer", o, status)
			}
			for _, it := range items {
				if !json.Valid(it) {
					t.Fatalf("List(%+v) returned an item that is not JSON: %q", o, it)
				}
			}
		}
		_, _ = c.Get(context.Background(), "/y", nil)
	})
}

// FuzzParseEnvelope: reading a failed answer's envelope (messages that are
// objects or bare strings) never panics.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"success":false,"errors":[{"code":7003,"message":"Could not route"}],"messages":["a",{"code":1}]}`))
	f.Add([]byte(`{"errors":[null,1,true,{"code":1e400}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, _ := parseEnvelope(body)
		for _, m := range env.Errors {
			_ = m.String()
		}
	})
}

// TestFailedAnswerOfNullIsAnError: cloudflare-go panics on a 4xx answer
// whose body is null (found by FuzzList); the client gives an error that
// keeps the body as received.
func TestFailedAnswerOfNullIsAnError(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(" null\n"))
		}))
		c, _ := newClient(t, hs.URL)
		call, err := c.Get(context.Background(), "/x", nil)
		hs.Close()
		if err == nil || call.HTTPStatus != status || call.Message != "null" {
			t.Errorf("%d null: call %+v, error %v", status, call, err)
		}
	}
}
