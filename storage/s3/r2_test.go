package s3store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/changeproof/changeproof/internal/versitygw"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/storagetest"
)

const (
	testAccount = "0123456789abcdef0123456789abcdef"
	testToken   = "cf-test-token-never-shown"
)

// fakeCloudflare serves an R2 bucket's lock configuration the way the
// Cloudflare API does (GET and PUT /accounts/{account}/r2/buckets/{bucket}/lock,
// results in the {"success","errors","messages","result"} envelope), under
// the /client/v4 base path.
type fakeCloudflare struct {
	t      *testing.T
	bucket string

	// jurisdiction is the bucket's R2 jurisdiction: requests must carry it
	// in the cf-r2-jurisdiction header, or the bucket is not found, as
	// with the Cloudflare API.
	jurisdiction string

	mu     sync.Mutex
	config json.RawMessage // the lock configuration, {"rules": [...]}
	puts   []json.RawMessage
	status int      // when non-zero, every request fails with this status
	seen   []string // the cf-r2-jurisdiction header of each request, "-" when absent
}

func (f *fakeCloudflare) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fail := func(status, code int, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"success":false,"errors":[{"code":%d,"message":%q}],"messages":[],"result":null}`, code, msg)
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		fail(http.StatusForbidden, 10000, "Authentication error")
		return
	}
	if f.status != 0 {
		fail(f.status, 10001, "service unavailable")
		return
	}
	j, ok := r.Header["Cf-R2-Jurisdiction"]
	if !ok {
		j = []string{"-"}
	}
	f.seen = append(f.seen, strings.Join(j, ","))
	want := "/client/v4/accounts/" + testAccount + "/r2/buckets/" + f.bucket + "/lock"
	if r.URL.Path != want || r.Header.Get("cf-r2-jurisdiction") != f.jurisdiction {
		fail(http.StatusNotFound, 10006, "The specified bucket does not exist.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		cfg := f.config
		if cfg == nil {
			cfg = json.RawMessage(`{"rules":[]}`)
		}
		fmt.Fprintf(w, `{"success":true,"errors":[],"messages":[],"result":%s}`, cfg)
	case http.MethodPut:
		var body bytes.Buffer
		if _, err := body.ReadFrom(r.Body); err != nil || !json.Valid(body.Bytes()) {
			fail(http.StatusBadRequest, 10040, "invalid JSON")
			return
		}
		f.config = json.RawMessage(body.Bytes())
		f.puts = append(f.puts, f.config)
		fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":{}}`)
	default:
		fail(http.StatusMethodNotAllowed, 10000, "method not allowed")
	}
}

// start serves f and returns a cloudflare-go client for it.
func (f *fakeCloudflare) start(t *testing.T, token string) *cloudflare.API {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	api, err := cloudflare.NewWithAPIToken(token, cloudflare.BaseURL(srv.URL+"/client/v4"), cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.UsingRateLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// r2URL is the r2:// URL of bucket/prefix on the versitygw server.
func r2URL(srv *versitygw.Server, bucket, prefix string) string {
	return "r2://" + testAccount + "/" + bucket + "/" + prefix + "?endpoint=" + srv.Endpoint
}

// r2Server starts versitygw signing for region "auto", as R2 does, with a
// bucket without S3 Object Lock (R2 has none).
func r2Server(t *testing.T, bucket string) *versitygw.Server {
	srv := versitygw.Start(t, versitygw.WithRegion("auto"))
	awsEnv(t, srv)
	srv.CreateBucket(t, bucket, false)
	return srv
}

func TestR2LockRulesAtOpen(t *testing.T) {
	srv := r2Server(t, "evidence")
	now, clock := fixedClock()
	const day = 24 * 3600
	retention := 1095 * day
	date := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for _, tc := range []struct {
		name   string
		rules  string
		ok     bool
		ruleID string // the rule Describe must record
		errHas string
	}{
		{"age rule on the prefix", fmt.Sprintf(`[{"id":"keep","enabled":true,"prefix":"soc2/","condition":{"type":"Age","maxAgeSeconds":%d}}]`, retention), true, "keep", ""},
		{"age rule on the whole bucket", fmt.Sprintf(`[{"id":"all","enabled":true,"condition":{"type":"Age","maxAgeSeconds":%d}}]`, retention+1), true, "all", ""},
		{"rule on a shorter prefix", fmt.Sprintf(`[{"id":"so","enabled":true,"prefix":"so","condition":{"type":"Age","maxAgeSeconds":%d}}]`, retention), true, "so", ""},
		{"indefinite", `[{"id":"forever","enabled":true,"prefix":"","condition":{"type":"Indefinite"}}]`, true, "forever", ""},
		{"date far enough", fmt.Sprintf(`[{"id":"until","enabled":true,"prefix":"soc2/","condition":{"type":"Date","date":%q}}]`, date(1096*24*time.Hour)), true, "until", ""},
		{"longest of several", fmt.Sprintf(`[{"id":"a","enabled":true,"condition":{"type":"Age","maxAgeSeconds":%d}},{"id":"b","enabled":true,"condition":{"type":"Age","maxAgeSeconds":%d}},{"id":"c","enabled":false,"condition":{"type":"Indefinite"}}]`, retention, 2*retention), true, "b", ""},
		{"absent", `[]`, false, "", "has no lock rules"},
		{"no configuration", `null`, false, "", "has no lock rules"},
		{"too short", fmt.Sprintf(`[{"id":"short","enabled":true,"prefix":"soc2/","condition":{"type":"Age","maxAgeSeconds":%d}}]`, 30*day), false, "", `rule "short" locks for only 30 days`},
		{"disabled", fmt.Sprintf(`[{"id":"off","enabled":false,"prefix":"soc2/","condition":{"type":"Age","maxAgeSeconds":%d}}]`, retention), false, "", `rule "off" is disabled`},
		{"other prefix", `[{"id":"logs","enabled":true,"prefix":"logs/","condition":{"type":"Indefinite"}}]`, false, "", `rule "logs" covers prefix "logs/" only`},
		{"longer prefix", `[{"id":"deep","enabled":true,"prefix":"soc2/evidence/","condition":{"type":"Indefinite"}}]`, false, "", `covers prefix "soc2/evidence/" only`},
		{"date too soon", fmt.Sprintf(`[{"id":"soon","enabled":true,"condition":{"type":"Date","date":%q}}]`, date(24*time.Hour)), false, "", `rule "soon" locks only until`},
		{"unknown condition", `[{"id":"odd","enabled":true,"condition":{"type":"Forever"}}]`, false, "", `unknown condition type "Forever"`},
		{"undecodable rule", `[{"id":"bad","enabled":"yes","condition":{"type":"Indefinite"}}]`, false, "", "rule #1 does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cf := &fakeCloudflare{t: t, bucket: "evidence", config: json.RawMessage(`{"rules":` + tc.rules + `}`)}
			api := cf.start(t, testToken)
			rec := &recorder{}
			st, err := Open(t.Context(), r2URL(srv, "evidence", "soc2"), storage.Options{Cloudflare: api, Now: clock, HTTPClient: rec.client()})
			if !tc.ok {
				if err == nil {
					t.Fatal("Open succeeded without an adequate lock rule")
				}
				msg := err.Error()
				t.Logf("Open: %s", msg)
				for _, want := range []string{tc.errHas, `"evidence"`, `"soc2/"`, "1095 days", "changeproof storage lock", "--allow-unlocked"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error does not mention %q: %s", want, msg)
					}
				}
				if len(rec.reqs) != 0 {
					t.Errorf("Open sent %d S3 requests; the R2 check reads only the Cloudflare API", len(rec.reqs))
				}
				// AllowUnlocked opens it, recorded as not write-once.
				st, err := Open(t.Context(), r2URL(srv, "evidence", "soc2"), storage.Options{Cloudflare: api, Now: clock, AllowUnlocked: true})
				if err != nil {
					t.Fatalf("Open with AllowUnlocked: %v", err)
				}
				d := st.Describe()
				if d.WORM || d.Lock == nil || d.Lock.Kind != storage.LockNone || !strings.Contains(d.Protection, "NOT write-once") {
					t.Errorf("Describe() = %+v lock %+v, want not WORM", d, d.Lock)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			d := st.Describe()
			if !d.WORM || d.Lock == nil || d.Lock.Kind != storage.LockR2BucketLock || d.Lock.Rule == nil || d.Lock.Rule.ID != tc.ruleID {
				t.Fatalf("Describe() = %+v lock %+v, want WORM with rule %q", d, d.Lock, tc.ruleID)
			}
			if d.Lock.RetentionSeconds != int64(retention) || d.Lock.Mode != "" || d.Lock.LegalHold {
				t.Errorf("Describe().Lock = %+v, want retention %d s and no S3 mode or legal hold", d.Lock, retention)
			}
			for _, want := range []string{tc.ruleID, "account administrator", "GOVERNANCE"} {
				if !strings.Contains(d.Protection, want) {
					t.Errorf("Describe().Protection does not mention %q: %s", want, d.Protection)
				}
			}
			if d.URL != "r2://"+testAccount+"/evidence/soc2/?endpoint="+srv.Endpoint {
				t.Errorf("Describe().URL = %q", d.URL)
			}
		})
	}
}

func TestR2ContractAndHeaders(t *testing.T) {
	srv := r2Server(t, "evidence")
	cf := &fakeCloudflare{t: t, bucket: "evidence", config: json.RawMessage(`{"rules":[{"id":"all","enabled":true,"prefix":"","condition":{"type":"Indefinite"}}]}`)}
	api := cf.start(t, testToken)
	u := r2URL(srv, "evidence", "soc2")
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return mustOpen(t, u, storage.Options{Cloudflare: api})
	})

	rec := &recorder{}
	st := mustOpen(t, u, storage.Options{Cloudflare: api, HTTPClient: rec.client()})
	data := []byte("an R2 envelope")
	if err := st.Put(t.Context(), "evidence/e.json", data); err != nil {
		t.Fatal(err)
	}
	puts := rec.requests(http.MethodPut, "/evidence/soc2/evidence/e.json")
	if len(puts) != 1 {
		t.Fatalf("saw %d PUTs, want 1", len(puts))
	}
	h := puts[0].Header
	for _, name := range lockHeaders {
		if v := h.Get(name); v != "" {
			t.Errorf("PUT to R2 sent %s: %s (R2 has no per-object lock)", name, v)
		}
	}
	if h.Get("If-None-Match") != "*" || h.Get("X-Amz-Checksum-Sha256") != b64sha256(data) || h.Get("X-Amz-Sdk-Checksum-Algorithm") != "SHA256" {
		t.Errorf("PUT to R2 lacks If-None-Match or the SHA-256 checksum: %v", h)
	}
	if !strings.Contains(h.Get("Authorization"), "/auto/s3/aws4_request") {
		t.Errorf("PUT to R2 not signed for region auto: %s", h.Get("Authorization"))
	}
}

func TestR2CloudflareErrors(t *testing.T) {
	srv := r2Server(t, "evidence")
	u := r2URL(srv, "evidence", "soc2")

	// A wrong token: a permanent error that does not show the token.
	cf := &fakeCloudflare{t: t, bucket: "evidence"}
	api := cf.start(t, "wrong-token-never-shown")
	_, err := Open(t.Context(), u, storage.Options{Cloudflare: api})
	if err == nil || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Open with a rejected token = %v, want a permanent error", err)
	} else if strings.Contains(err.Error(), "wrong-token-never-shown") {
		t.Errorf("error shows the token: %v", err)
	}

	// A Cloudflare outage: transient.
	cf = &fakeCloudflare{t: t, bucket: "evidence", status: http.StatusServiceUnavailable}
	api = cf.start(t, testToken)
	if _, err := Open(t.Context(), u, storage.Options{Cloudflare: api}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Open while the Cloudflare API fails with 503 = %v, want ErrUnavailable", err)
	}

	// A bucket the API does not know.
	cf = &fakeCloudflare{t: t, bucket: "other"}
	api = cf.start(t, testToken)
	if _, err := Open(t.Context(), u, storage.Options{Cloudflare: api}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open of a bucket unknown to the API = %v, want the API's explanation", err)
	}

	// No Cloudflare client: refused unless AllowUnlocked.
	if _, err := Open(t.Context(), u, storage.Options{}); err == nil || !strings.Contains(err.Error(), "CLOUDFLARE_API_TOKEN") {
		t.Errorf("Open without a Cloudflare client = %v, want a hint at CLOUDFLARE_API_TOKEN", err)
	}
	for _, opts := range []storage.Options{{AllowUnlocked: true}, {ReadOnly: true}} {
		st := mustOpen(t, u, opts)
		if d := st.Describe(); d.WORM || !strings.Contains(d.Protection, "not checked") {
			t.Errorf("Describe() without a Cloudflare client, %+v = %+v, want not WORM, rules not checked", opts, d)
		}
	}
}

func TestApplyR2Lock(t *testing.T) {
	const retention = 1095 * 24 * time.Hour
	// The existing rule has a field this package does not know: it must be
	// written back exactly as read.
	other := `{"id":"logs","enabled":true,"prefix":"logs/","condition":{"type":"Age","maxAgeSeconds":604800},"futureField":{"x":1}}`
	cf := &fakeCloudflare{t: t, bucket: "evidence", config: json.RawMessage(`{"rules":[` + other + `]}`)}
	api := cf.start(t, testToken)
	locks := CloudflareLocks(api)

	rule, err := ApplyR2Lock(t.Context(), locks, testAccount, "evidence", "soc2/", retention)
	if err != nil {
		t.Fatal(err)
	}
	if !rule.Enabled || rule.Prefix != "soc2/" || rule.Condition.Type != R2Age || rule.Condition.MaxAgeSeconds != int64(retention/time.Second) {
		t.Errorf("ApplyR2Lock returned %+v, want an enabled Age rule for soc2/ of %d s", rule, int64(retention/time.Second))
	}
	if len(cf.puts) != 1 {
		t.Fatalf("ApplyR2Lock made %d PUTs, want 1", len(cf.puts))
	}
	var put struct{ Rules []json.RawMessage }
	if err := json.Unmarshal(cf.puts[0], &put); err != nil {
		t.Fatal(err)
	}
	if len(put.Rules) != 2 || string(put.Rules[0]) != other {
		t.Fatalf("PUT rules = %s, want the existing rule unchanged and one more", cf.puts[0])
	}
	var added R2LockRule
	if err := json.Unmarshal(put.Rules[1], &added); err != nil || added.ID != rule.ID || added.ID == "logs" {
		t.Errorf("added rule %s (%v), want id %q", put.Rules[1], err, rule.ID)
	}

	// Idempotent: a second call finds the rule and writes nothing.
	again, err := ApplyR2Lock(t.Context(), locks, testAccount, "evidence", "soc2/", retention)
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.puts) != 1 || again.ID != rule.ID {
		t.Errorf("second ApplyR2Lock made %d PUTs in all and returned %q; want no new PUT and rule %q", len(cf.puts), again.ID, rule.ID)
	}
	// A shorter retention is covered by the same rule.
	if _, err := ApplyR2Lock(t.Context(), locks, testAccount, "evidence", "soc2/sub/", 24*time.Hour); err != nil || len(cf.puts) != 1 {
		t.Errorf("ApplyR2Lock for a covered prefix: %v, %d PUTs in all; want none new", err, len(cf.puts))
	}
	// A longer retention adds a second rule with a new ID, keeping both.
	longer, err := ApplyR2Lock(t.Context(), locks, testAccount, "evidence", "soc2/", 2*retention)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseR2Config(cf.config)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.rules) != 3 || cfg.rules[1].ID != rule.ID || cfg.rules[2].ID != longer.ID || longer.ID == rule.ID {
		t.Errorf("after a longer retention the rules are %+v, want logs, %q and a new one", cfg.rules, rule.ID)
	}
	if string(cfg.raw[0]) != other {
		t.Errorf("the unrelated rule became %s", cfg.raw[0])
	}

	// A store opens on the bucket once the rule is there.
	srv := r2Server(t, "evidence")
	st := mustOpen(t, r2URL(srv, "evidence", "soc2"), storage.Options{Cloudflare: api})
	if d := st.Describe(); !d.WORM || d.Lock.Rule == nil || d.Lock.Rule.ID != longer.ID {
		t.Errorf("Describe() after ApplyR2Lock = %+v, want WORM under rule %q", d, longer.ID)
	}

	if _, err := ApplyR2Lock(t.Context(), locks, testAccount, "evidence", "x/", 0); err == nil {
		t.Error("ApplyR2Lock with zero retention succeeded")
	}
}

func TestApplyR2LockOnEmptyBucket(t *testing.T) {
	cf := &fakeCloudflare{t: t, bucket: "evidence", config: json.RawMessage(`{}`)}
	api := cf.start(t, testToken)
	rule, err := ApplyR2Lock(t.Context(), CloudflareLocks(api), testAccount, "evidence", "", 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rule.Prefix != "" || rule.ID != "changeproof whole bucket 90 days" {
		t.Errorf("rule = %+v, want the whole bucket", rule)
	}
	if want := `{"rules":[{"id":"changeproof whole bucket 90 days","enabled":true,"prefix":"","condition":{"type":"Age","maxAgeSeconds":7776000}}]}`; string(cf.puts[0]) != want {
		t.Errorf("PUT body =\n  %s\nwant\n  %s", cf.puts[0], want)
	}
}
