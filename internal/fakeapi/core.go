package fakeapi

import (
	"crypto/subtle"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Core is the state every fake server keeps: where the API is mounted, the
// token it requires, the largest page it serves, its logger and the count
// of requests. Set the fields before serving; the counts are safe for
// concurrent use.
type Core struct {
	// BasePath is where the API is mounted, with slashes at both ends.
	BasePath string
	// Token, when not empty, is the bearer token every request must carry.
	Token string
	// MaxPerPage is the largest page served.
	MaxPerPage int
	// Log receives a debug line for every request.
	Log *slog.Logger

	mu     sync.Mutex
	total  int
	byPath map[string]int
}

// SetBasePath mounts the API under p, with slashes added at both ends. "/"
// is refused (the base path is kept): the point of a base path is that
// absolute-URL mistakes in clients fail.
func (c *Core) SetBasePath(p string) {
	p = "/" + strings.Trim(p, "/") + "/"
	if p != "/" && p != "//" {
		c.BasePath = p
	}
}

// SetMaxPerPage lowers the largest page served; n < 1 is ignored.
func (c *Core) SetMaxPerPage(n int) {
	if n > 0 {
		c.MaxPerPage = n
	}
}

// SetLogger sets the logger; nil is ignored.
func (c *Core) SetLogger(l *slog.Logger) {
	if l != nil {
		c.Log = l
	}
}

// APIPath strips the base path from a request path; ok is false for a path
// outside it, which is returned whole.
func (c *Core) APIPath(p string) (apiPath string, ok bool) {
	rest, ok := strings.CutPrefix(p, c.BasePath)
	if !ok {
		return p, false
	}
	return "/" + rest, true
}

// Count counts a request to apiPath and returns its sequence number (1 for
// the first).
func (c *Core) Count(apiPath string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPath == nil {
		c.byPath = map[string]int{}
	}
	c.total++
	c.byPath[apiPath]++
	return c.total
}

// Requests is the number of requests received.
func (c *Core) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// RequestsByPath counts requests by API path (below the base path, without
// the query); requests outside the base path are counted by their full path.
func (c *Core) RequestsByPath() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPath == nil {
		return map[string]int{}
	}
	return maps.Clone(c.byPath)
}

// Credentials returns the token of the request's "Authorization: SCHEME
// TOKEN" header, if its scheme is one of schemes (in any case).
func Credentials(r *http.Request, schemes ...string) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return "", false
	}
	for _, s := range schemes {
		if strings.EqualFold(scheme, s) {
			return tok, true
		}
	}
	return "", false
}

// TokenIs compares a presented token with the required one in constant
// time.
func (c *Core) TokenIs(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(c.Token)) == 1
}
