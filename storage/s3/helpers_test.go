package s3store

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/versitygw"
	"github.com/changeproof/changeproof/storage"
)

// awsEnv points the AWS credential chain at the server's credentials and
// nothing else: no shared files, profile, region or endpoint from the
// machine running the tests. Tests using it must not be parallel.
func awsEnv(t testing.TB, srv *versitygw.Server) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "no-such-aws-file")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       srv.SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_RETRY_MODE":              "",
		"AWS_MAX_ATTEMPTS":            "",
		"AWS_CA_BUNDLE":               "", // it cannot apply to a test's own http.Client
	} {
		t.Setenv(k, v)
	}
}

// s3URL is the s3:// URL of bucket/prefix on the server.
func s3URL(srv *versitygw.Server, bucket, prefix string) string {
	return "s3://" + bucket + "/" + prefix + "?endpoint=" + srv.Endpoint + "&region=" + srv.Region
}

// fixedClock returns a clock stopped at the current second.
func fixedClock() (time.Time, func() time.Time) {
	now := time.Now().UTC().Truncate(time.Second)
	return now, func() time.Time { return now }
}

// mustOpen opens a store and fails the test on error.
func mustOpen(t testing.TB, url string, opts storage.Options) *Store {
	t.Helper()
	st, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	return st.(*Store)
}

// recorded is one request a recorder saw.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// recorder is an http.RoundTripper that records every request, and can
// change requests and responses on their way.
type recorder struct {
	base http.RoundTripper

	mu   sync.Mutex
	reqs []recorded
	// alter, when set, may change a request before it is sent, or answer it
	// by returning a response or an error.
	alter func(req *http.Request, body []byte) (*http.Response, error)
	// after, when set, may replace the response or error of a request.
	after func(req *http.Request, resp *http.Response, err error) (*http.Response, error)
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: body})
	alter, after := r.alter, r.after
	r.mu.Unlock()
	if alter != nil {
		if resp, err := alter(req, body); resp != nil || err != nil {
			return resp, err
		}
	}
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if after != nil {
		return after(req, resp, err)
	}
	return resp, err
}

// client returns an http.Client sending through r.
func (r *recorder) client() *http.Client { return &http.Client{Transport: r} }

// requests returns the recorded requests with the given method whose path
// ends with suffix.
func (r *recorder) requests(method, suffix string) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, q := range r.reqs {
		if q.Method == method && strings.HasSuffix(q.Path, suffix) {
			out = append(out, q)
		}
	}
	return out
}
