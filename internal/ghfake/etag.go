package ghfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"
)

// ETags wraps a handler (a Server, or any fake API) with GitHub's
// conditional requests: every 200 answer to a GET carries a strong ETag, the
// sha256 of its body, and a GET whose If-None-Match names the ETag of the
// answer it would get is answered 304 Not Modified with the same headers
// and no body. Like GitHub it still computes the answer (the wrapped
// handler sees and counts the request).
func ETags(h http.Handler) *ETagHandler { return &ETagHandler{next: h} }

// ETagHandler is the handler ETags returns.
type ETagHandler struct {
	next        http.Handler
	notModified atomic.Int64
}

// NotModified is how many 304s were answered.
func (e *ETagHandler) NotModified() int64 { return e.notModified.Load() }

func (e *ETagHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		e.next.ServeHTTP(w, r)
		return
	}
	rec := &recorder{header: http.Header{}}
	e.next.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	if rec.status != http.StatusOK {
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	sum := sha256.Sum256(rec.body.Bytes())
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h.Set("ETag", etag)
	if matches(r.Header.Get("If-None-Match"), etag) {
		e.notModified.Add(1)
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.body.Bytes())
}

// matches reports whether an If-None-Match list names etag (weak
// comparison, as GitHub does).
func matches(list, etag string) bool {
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
