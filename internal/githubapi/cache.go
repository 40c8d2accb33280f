package githubapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// The conditional-request cache: GitHub answers a GET carrying the ETag
// (If-None-Match) or Last-Modified (If-Modified-Since) of an unchanged
// resource with 304 Not Modified, which does not count against the primary
// rate limit. The cache keeps the last 200 answer of the settings a
// collection reads again every run — repositories, branches, classic
// protection, rulesets, workflows — on disk, and serves it on a 304.
//
// No library fitted: gregjones/httpcache is archived, keys entries by URL
// alone (so two credentials would share answers) and serves answers within
// max-age without asking GitHub, which evidence must not;
// bored-engineer/github-conditional-http-transport is not on the module
// proxy.
//
// Entries are keyed by the sha256 of the credential (the Authorization
// header; never stored), the method, the URL and the headers that select a
// representation, so an answer is never served to another credential.
// Requests without a credential are not cached.
//
// Each entry carries an HMAC-SHA256 over its whole content, keyed by a
// digest of the credential: whoever can write to the cache directory but
// does not hold the token cannot plant or alter an answer (say, strong
// branch protection under the ETag of weak protection, which GitHub would
// confirm with a 304). An entry that fails the check, is not a regular
// 0600 file of this user, or does not match its key is ignored, removed and
// fetched again; the directory must be this user's and closed to others.

// DefaultCacheMaxAge is how long an unused cache entry is kept.
const DefaultCacheMaxAge = 30 * 24 * time.Hour

// maxCachedBody bounds the answers kept (GitHub's pages are far smaller).
const maxCachedBody = 16 << 20

const cacheVersion = 2

// cacheablePaths are the API paths (below the root) whose answers a
// collection asks for again on every run and which rarely change.
var cacheablePaths = regexp.MustCompile(`^(?:` +
	`orgs/[^/]+/repos` +
	`|orgs/[^/]+/rulesets(?:/\d+)?` +
	`|repos/[^/]+/[^/]+` +
	`|repos/[^/]+/[^/]+/branches/[^/]+(?:/protection(?:/.*)?)?` +
	`|repos/[^/]+/[^/]+/rulesets(?:/\d+)?` +
	`|repos/[^/]+/[^/]+/rules/branches/.+` +
	`|repos/[^/]+/[^/]+/actions/workflows` +
	`|repos/[^/]+/[^/]+/environments` +
	`)$`)

// keptHeaders are the response headers an entry keeps and serves.
var keptHeaders = []string{"Content-Type", "Link", "ETag", "Last-Modified", "X-GitHub-Media-Type"}

// cacheEntry is one cached answer as stored (0600, JSON).
type cacheEntry struct {
	Version int `json:"v"`
	// Key is the entry's key (the file is named after it).
	Key          string              `json:"key"`
	ETag         string              `json:"etag,omitempty"`
	LastModified string              `json:"last_modified,omitempty"`
	Header       map[string][]string `json:"header"`
	Body         []byte              `json:"body"`
	// MAC is the HMAC-SHA256 (hex) of the entry with MAC empty, keyed by
	// macKey of the credential.
	MAC string `json:"mac"`
}

// macKey derives an entry's HMAC key from the request's credential.
func macKey(authorization string) []byte {
	k := sha256.Sum256([]byte("changeproof http cache mac v2\x00" + authorization))
	return k[:]
}

// mac is the HMAC of the entry's content, MAC itself left out.
func (e *cacheEntry) mac(key []byte) string {
	c := *e
	c.MAC = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// entityTag matches a strong or weak entity-tag (RFC 9110 8.8.3); "*" and
// anything else is not kept.
var entityTag = regexp.MustCompile(`^(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"$`)

// diskCache is a RoundTripper making cacheable GETs conditional.
type diskCache struct {
	dir   string
	base  string // the API root's path
	next  http.RoundTripper
	stats *Stats
	log   *slog.Logger
	now   func() time.Time
}

// openCache prepares dir (0700; refused when others may read it) and drops
// entries unused for maxAge.
func openCache(dir string, maxAge time.Duration, now func() time.Time, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("GitHub cache: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("GitHub cache: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("GitHub cache %s is not a directory (a symbolic link is not followed)", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("GitHub cache %s belongs to user %d, not to the user running changeproof (%d): use a directory of your own, or set github.cache_dir to off", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("GitHub cache %s is open to others (mode %04o): chmod 700 it, or set github.cache_dir to another directory or off", dir, fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("GitHub cache: %w", err)
	}
	cutoff := now().Add(-maxAge)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				log.Debug("GitHub cache: cannot remove an old entry", "err", err)
			}
		}
	}
	return nil
}

func (c *diskCache) cacheable(r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("Authorization") == "" ||
		r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" || r.Header.Get("Range") != "" {
		return false
	}
	p, ok := strings.CutPrefix(r.URL.Path, c.base)
	return ok && cacheablePaths.MatchString(p)
}

// key names a request's entry: the credential's digest, the request and
// the headers that choose the representation.
func (c *diskCache) key(r *http.Request) string {
	h := sha256.New()
	fmt.Fprintf(h, "changeproof http cache v%d\x00%s\x00", cacheVersion, r.Header.Get("Authorization"))
	fmt.Fprintf(h, "%s %s\x00%s\x00%s", r.Method, r.URL.String(), r.Header.Get("Accept"), r.Header.Get("X-GitHub-Api-Version"))
	return hex.EncodeToString(h.Sum(nil))
}

func (c *diskCache) path(key string) string { return filepath.Join(c.dir, key+".json") }

// load reads an entry; a missing, unreadable or inconsistent one is none
// (and a bad one is removed).
func (c *diskCache) load(key string, mk []byte) *cacheEntry {
	p := c.path(key)
	bad := func(why string) *cacheEntry {
		c.log.Warn("GitHub cache: ignoring a bad entry; fetching again", "file", p, "why", why)
		_ = os.Remove(p)
		return nil
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return bad("a symbolic link")
		}
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 || (ok && int(st.Uid) != os.Geteuid()) {
		return bad("not a 0600 file of this user")
	}
	data, err := io.ReadAll(io.LimitReader(f, 2*maxCachedBody+64<<10))
	if err != nil {
		return nil
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return bad("not JSON")
	}
	switch {
	case e.Version != cacheVersion:
		return bad("another version")
	case e.Key != key:
		return bad("its key does not match its name")
	case e.ETag == "" && e.LastModified == "":
		return bad("no validator")
	case e.ETag != "" && !entityTag.MatchString(e.ETag):
		return bad("not an entity-tag")
	case !hmac.Equal([]byte(e.MAC), []byte(e.mac(mk))):
		return bad("its MAC does not match: not written by this credential, or altered")
	}
	return &e
}

// store writes an entry atomically (0600).
func (c *diskCache) store(e *cacheEntry) {
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		c.log.Debug("GitHub cache: cannot write", "err", err)
		return
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(tmp)
		return
	}
	// CreateTemp makes 0600 files; rename keeps the mode.
	if err := os.Rename(tmp, c.path(e.Key)); err != nil {
		_ = os.Remove(tmp)
	}
}

func (c *diskCache) RoundTrip(r *http.Request) (*http.Response, error) {
	if !c.cacheable(r) {
		return c.next.RoundTrip(r)
	}
	key := c.key(r)
	mk := macKey(r.Header.Get("Authorization"))
	cached := c.load(key, mk)
	req := r
	if cached != nil {
		req = r.Clone(r.Context())
		if cached.ETag != "" {
			req.Header.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			req.Header.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		c.stats.CountNotModified()
		now := c.now()
		_ = os.Chtimes(c.path(key), now, now)
		return c.serve(resp, cached), nil
	case resp.StatusCode == http.StatusOK:
		return c.keep(key, mk, resp), nil
	}
	return resp, nil
}

// serve answers from an entry: its status 200, headers and body, with the
// 304's rate-limit and date headers.
func (c *diskCache) serve(notModified *http.Response, e *cacheEntry) *http.Response {
	h := http.Header{}
	for k, v := range e.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	for k, v := range notModified.Header {
		if strings.HasPrefix(k, "X-Ratelimit-") || k == "Date" || k == "X-Github-Request-Id" || k == "X-From-Cache" {
			h[k] = v
		}
	}
	// go-github must not take the rate-limit headers of a 304 (which does
	// not count) as a limit it then enforces without asking: the pacer
	// holds requests instead.
	h.Set("X-From-Cache", "1")
	resp := *notModified
	resp.Status = "200 OK"
	resp.StatusCode = http.StatusOK
	resp.Header = h
	resp.Body = io.NopCloser(bytes.NewReader(e.Body))
	resp.ContentLength = int64(len(e.Body))
	return &resp
}

// keep stores a 200 answer that carries a validator, and hands it on.
func (c *diskCache) keep(key string, mk []byte, resp *http.Response) *http.Response {
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if (etag == "" && lm == "") || (etag != "" && !entityTag.MatchString(etag)) {
		return resp
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil || len(body) > maxCachedBody || !json.Valid(body) {
		// Only complete JSON answers are kept; the caller sees the error.
		return resp
	}
	e := &cacheEntry{Version: cacheVersion, Key: key, ETag: etag, LastModified: lm, Header: map[string][]string{}, Body: body}
	for _, k := range keptHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			e.Header[k] = v
		}
	}
	e.MAC = e.mac(mk)
	c.store(e)
	return resp
}
