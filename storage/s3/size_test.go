package s3store

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/internal/versitygw"
	"github.com/changeproof/changeproof/storage"
)

// isObjectGet reports whether req reads an object (not a listing).
func isObjectGet(req *http.Request) bool {
	q := req.URL.Query()
	return req.Method == http.MethodGet && !q.Has("versions") && !q.Has("list-type") && !q.Has("object-lock")
}

// TestGetNeverTrustsReportedSize: a server reporting a huge size, an
// object over the maximum, and a body longer than announced are refused
// with an error naming the key, never read whole or preallocated.
func TestGetNeverTrustsReportedSize(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	srv.CreateBucket(t, "plain", false)
	for _, tc := range []struct {
		bucket string
		opts   storage.Options
	}{{"locked", storage.Options{MaxAttempts: 1}}, {"plain", storage.Options{AllowUnlocked: true, MaxAttempts: 1}}} {
		t.Run(tc.bucket, func(t *testing.T) {
			var mu sync.Mutex
			var change func(resp *http.Response)
			rec := &recorder{after: func(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
				mu.Lock()
				defer mu.Unlock()
				if err == nil && change != nil && isObjectGet(req) {
					change(resp)
				}
				return resp, err
			}}
			opts := tc.opts
			opts.HTTPClient = rec.client()
			st := mustOpen(t, s3URL(srv, tc.bucket, "p"), opts)
			ctx := t.Context()
			if err := st.Put(ctx, "small.json", []byte("small")); err != nil {
				t.Fatal(err)
			}

			// 1 PiB announced: the old code panicked in makeslice.
			mu.Lock()
			change = func(resp *http.Response) { resp.Header.Set("Content-Length", strconv.FormatInt(1<<50, 10)) }
			mu.Unlock()
			_, err := st.Get(ctx, "small.json")
			if err == nil || !strings.Contains(err.Error(), "small.json") || !strings.Contains(err.Error(), "maximum") {
				t.Errorf("Get with a reported size of 1 PiB = %v, want an error naming the key and the maximum", err)
			}
			t.Logf("Get, 1 PiB reported: %v", err)

			// A body longer than the maximum, with no length announced.
			st.maxSize = 1000
			big := bytes.Repeat([]byte("x"), 1001)
			mu.Lock()
			change = func(resp *http.Response) {
				resp.Header.Del("Content-Length")
				resp.ContentLength = -1
				resp.Body.Close()
				resp.Body = io.NopCloser(bytes.NewReader(big))
			}
			mu.Unlock()
			_, err = st.Get(ctx, "small.json")
			if err == nil || !strings.Contains(err.Error(), "small.json") || !strings.Contains(err.Error(), "1000-byte maximum") {
				t.Errorf("Get of an unannounced 1001-byte body over a 1000-byte maximum = %v, want an error naming the key", err)
			}
			mu.Lock()
			change = nil
			mu.Unlock()

			// At the maximum is fine; one byte more is refused, both ways.
			exact := bytes.Repeat([]byte("e"), 1000)
			if err := st.Put(ctx, "exact.json", exact); err != nil {
				t.Fatal(err)
			}
			if got, err := st.Get(ctx, "exact.json"); err != nil || !bytes.Equal(got, exact) {
				t.Errorf("Get of an object of exactly the maximum size: %d bytes, %v", len(got), err)
			}
			if err := st.Put(ctx, "big.json", big); err == nil || !strings.Contains(err.Error(), "maximum") {
				t.Errorf("Put of 1001 bytes over a 1000-byte maximum = %v, want a refusal", err)
			}
			forge(t, srv, tc.bucket, "p/planted.json", string(big))
			before := len(rec.requests(http.MethodGet, "/planted.json"))
			_, err = st.Get(ctx, "planted.json")
			if err == nil || !strings.Contains(err.Error(), "planted.json") || !strings.Contains(err.Error(), "1001 bytes") {
				t.Errorf("Get of a planted 1001-byte object = %v, want an error naming the key and its size", err)
			}
			if errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrNotExist) {
				t.Errorf("Get of a too large object = %v: not a transient or missing-object error", err)
			}
			if tc.bucket == "locked" {
				// The version listing gave the size: the object was not
				// even requested.
				if n := len(rec.requests(http.MethodGet, "/planted.json")) - before; n != 0 {
					t.Errorf("Get of an object listed as too large still sent %d object GETs", n)
				}
			}
		})
	}
}

// TestRetriedPutCheckFailure: when a retried Put finds the key taken and
// the check of whose object it is fails transiently, Put reports the store
// unavailable, not "already exists"; a permanent failure of the check is
// "already exists", as the key is taken either way.
func TestRetriedPutCheckFailure(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	for _, tc := range []struct {
		name          string
		status        int
		code          string
		unavailable   bool
		exists        bool
		errorMentions string
	}{
		{"check answered 503", http.StatusServiceUnavailable, "SlowDown", true, false, "SlowDown"},
		{"check answered 403", http.StatusForbidden, "AccessDenied", false, true, "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			puts := 0
			rec := &recorder{
				after: func(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
					mu.Lock()
					defer mu.Unlock()
					if err == nil && req.Method == http.MethodPut {
						puts++
						if puts == 1 {
							resp.Body.Close()
							return nil, errors.New("connection reset by peer (answer lost by the test)")
						}
					}
					return resp, err
				},
				alter: func(req *http.Request, _ []byte) (*http.Response, error) {
					mu.Lock()
					defer mu.Unlock()
					if puts < 2 || req.Method == http.MethodPut {
						return nil, nil
					}
					body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + tc.code + `</Code><Message>from the test</Message></Error>`
					return &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {"application/xml"}},
						Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
				},
			}
			st := mustOpen(t, s3URL(srv, "locked", strings.ReplaceAll(tc.name, " ", "")), storage.Options{HTTPClient: rec.client(), MaxAttempts: 2})
			err := st.Put(t.Context(), "e.json", []byte("stored by the first attempt"))
			if err == nil {
				t.Fatal("Put succeeded although its check failed")
			}
			t.Logf("Put: %v", err)
			if got := errors.Is(err, storage.ErrUnavailable); got != tc.unavailable {
				t.Errorf("Put = %v: wraps ErrUnavailable %t, want %t", err, got, tc.unavailable)
			}
			if got := errors.Is(err, storage.ErrExists); got != tc.exists {
				t.Errorf("Put = %v: wraps ErrExists %t, want %t", err, got, tc.exists)
			}
			if !strings.Contains(err.Error(), "e.json") || !strings.Contains(err.Error(), tc.errorMentions) {
				t.Errorf("Put = %v: does not name the key and the check's failure", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if puts != 2 {
				t.Errorf("saw %d PUTs, want 2", puts)
			}
		})
	}
}
