package s3store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/versitygw"
	"github.com/changeproof/changeproof/storage"
)

// secretParts are the pieces of the fake credentials the URLs below carry;
// no error may repeat any of them.
var secretParts = []string{"AKIAUSER", "hunter2", "s3cr3t"}

func noSecret(t *testing.T, what string, err error) {
	t.Helper()
	for _, p := range secretParts {
		if strings.Contains(err.Error(), p) {
			t.Errorf("%s: the error repeats %q: %v", what, p, err)
		}
	}
}

func TestParseURLNeverRepeatsCredentials(t *testing.T) {
	const acct = "0123456789abcdef0123456789abcdef"
	for _, in := range []string{
		"s3://AKIAUSER:hunter2s3cr3t@bucket/p",
		"s3://AKIAUSER:hunter2/s3cr3t@bucket/p", // a '/' in the secret: no longer parses as userinfo
		"s3://AKIAUSER:hunter2%zzs3cr3t@bucket", // a bad escape in the secret
		"s3://AKIAUSER:hunter2 s3cr3t@bucket",   // a space in the secret
		"s3://AKIAUSER:hunter2:s3cr3t@bucket/p", // a ':' in the secret
		"s3://AKIAUSER:hunter2?s3cr3t@bucket/p", // a '?' in the secret: the rest looks like a query
		"s3://AKIAUSER:hunter2#s3cr3t@bucket/p", // a '#' in the secret
		"s3://bucket/AKIAUSER:hunter2@s3cr3t/p", // in the path
		"s3:/AKIAUSER:hunter2s3cr3t@bucket",     // no scheme://
		"AKIAUSER:hunter2s3cr3t@s3://bucket",    // before the scheme
		"s3://bucket/p?endpoint=https://AKIAUSER:hunter2s3cr3t@minio.example",
		"s3://bucket/p?endpoint=https://AKIAUSER:hunter2/s3cr3t@minio.example",
		"s3://bucket/p?endpoint=https://AKIAUSER:hunter2%zzs3cr3t@minio.example",
		"s3://bucket/p?endpoint=http://AKIAUSER:hunter2s3cr3t@127.0.0.1:9000",
		"r2://" + acct + "/bucket?endpoint=https://AKIAUSER:hunter2s3cr3t@" + acct + ".r2.cloudflarestorage.com",
		"r2://AKIAUSER:hunter2s3cr3t@" + acct + "/bucket",
	} {
		_, err := ParseURL(in)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", in)
			continue
		}
		noSecret(t, "ParseURL("+in+")", err)
		// Refused for the credentials, or (a bad escape in the query) for
		// a query that does not parse.
		if strings.Contains(in, "://") && !strings.HasPrefix(in, "AKIA") &&
			!strings.Contains(err.Error(), "credentials") && !strings.Contains(err.Error(), "do not parse") {
			t.Errorf("ParseURL(%q) = %v: does not say the URL holds credentials", in, err)
		}
	}
}

func TestParseURLQueryAndEndpointRules(t *testing.T) {
	for _, tc := range []struct {
		in       string
		endpoint string // "" when the URL must be refused
		errHas   string
	}{
		{"s3://bucket?region=%zz", "", "do not parse"},
		{"s3://bucket?region=us-east-1;profile=x", "", "semicolon"},
		{"s3://bucket?endpoint=http://minio.internal:9000", "", "plain http"},
		{"s3://bucket?endpoint=http://10.0.0.1", "", "plain http"},
		{"s3://bucket?endpoint=http://127.0.0.1.example.com", "", "plain http"},
		{"s3://bucket?endpoint=https://minio.internal/?x=1", "", "bare scheme://host"},
		{"s3://bucket?endpoint=http://localhost:9000", "http://localhost:9000", ""},
		{"s3://bucket?endpoint=http://127.0.0.2:9000", "http://127.0.0.2:9000", ""},
		{"s3://bucket?endpoint=http://[::1]:9000", "http://[::1]:9000", ""},
		{"s3://bucket?endpoint=https://10.0.0.1:9000", "https://10.0.0.1:9000", ""},
	} {
		loc, err := ParseURL(tc.in)
		switch {
		case tc.endpoint == "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("ParseURL(%q) = %+v, %v; want an error containing %q", tc.in, loc, err, tc.errHas)
		case tc.endpoint != "" && (err != nil || loc.Endpoint != tc.endpoint):
			t.Errorf("ParseURL(%q) = %+v, %v; want endpoint %q", tc.in, loc, err, tc.endpoint)
		}
	}
}

func TestR2EndpointMustBeTheAccounts(t *testing.T) {
	const acct = "0123456789abcdef0123456789abcdef"
	const other = "fedcba9876543210fedcba9876543210"
	for _, tc := range []struct {
		endpoint     string
		want         string // the endpoint kept; "" when refused
		jurisdiction string
	}{
		{"https://" + acct + ".r2.cloudflarestorage.com", "https://" + acct + ".r2.cloudflarestorage.com", ""},
		{"https://" + strings.ToUpper(acct) + ".R2.cloudflarestorage.com/", "https://" + acct + ".r2.cloudflarestorage.com", ""},
		{"https://" + acct + ".eu.r2.cloudflarestorage.com", "https://" + acct + ".eu.r2.cloudflarestorage.com", "eu"},
		{"https://" + acct + ".fedramp.r2.cloudflarestorage.com", "https://" + acct + ".fedramp.r2.cloudflarestorage.com", "fedramp"},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000", ""},
		{"https://localhost:9443", "https://localhost:9443", ""},
		{"https://anything.example", "", ""},
		{"https://" + other + ".r2.cloudflarestorage.com", "", ""},
		{"https://" + acct + ".r2.cloudflarestorage.com.evil.example", "", ""},
		{"https://" + acct + ".r2.cloudflarestorage.com:8443", "", ""},
		{"https://" + acct + ".apac.r2.cloudflarestorage.com", "", ""},
		{"https://evil.example/" + acct + ".r2.cloudflarestorage.com", "", ""},
		{"http://" + acct + ".r2.cloudflarestorage.com", "", ""},
	} {
		in := "r2://" + acct + "/evidence/soc2?endpoint=" + tc.endpoint
		loc, err := ParseURL(in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseURL(%q) accepted the endpoint: %+v", in, loc)
			}
			continue
		}
		if err != nil || loc.Endpoint != tc.want || loc.Jurisdiction != tc.jurisdiction {
			t.Errorf("ParseURL(%q) = endpoint %q jurisdiction %q, %v; want %q, %q", in, loc.Endpoint, loc.Jurisdiction, err, tc.want, tc.jurisdiction)
			continue
		}
		if again, err := ParseURL(loc.String()); err != nil || again != loc {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", loc.String(), again, err, loc)
		}
	}
	_, err := ParseURL("r2://" + acct + "/evidence?endpoint=https://anything.example")
	if err == nil || !strings.Contains(err.Error(), "https://"+acct+".r2.cloudflarestorage.com") {
		t.Errorf("error for a foreign R2 endpoint = %v, want it to name the account's endpoint", err)
	}
}

// TestConfigEndpointIsChecked: an endpoint from AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL or the shared config gets the checks of ?endpoint=.
func TestConfigEndpointIsChecked(t *testing.T) {
	srv := versitygw.Start(t)
	const bad = "http://AKIAUSER:hunter2s3cr3t@127.0.0.1:9"
	const u = "s3://locked/p?region=us-east-1"
	for _, tc := range []struct {
		name, env, value, errHas string
	}{
		{"AWS_ENDPOINT_URL_S3 with credentials", "AWS_ENDPOINT_URL_S3", bad, "holds credentials"},
		{"AWS_ENDPOINT_URL with credentials", "AWS_ENDPOINT_URL", bad, "holds credentials"},
		{"shared config with credentials", "config", bad, "holds credentials"},
		{"plain http to a remote host", "AWS_ENDPOINT_URL_S3", "http://s3.internal.example", "plain http"},
		{"a path", "AWS_ENDPOINT_URL", "https://s3.internal.example/base", "bare scheme://host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			awsEnv(t, srv)
			t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
			if tc.env == "config" {
				cfg := filepath.Join(t.TempDir(), "config")
				if err := os.WriteFile(cfg, []byte("[default]\nendpoint_url = "+tc.value+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONFIG_FILE", cfg)
			} else {
				t.Setenv(tc.env, tc.value)
			}
			_, err := Open(t.Context(), u, storage.Options{MaxAttempts: 1})
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "AWS configuration") {
				t.Fatalf("Open with %s = %v, want an error containing %q about the AWS configuration", tc.name, err, tc.errHas)
			}
			noSecret(t, tc.name, err)
		})
	}

	// A good endpoint from the configuration is used and recorded.
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint+"/")
	st := mustOpen(t, u+"&path_style=true", storage.Options{})
	if err := st.Put(t.Context(), "e.json", []byte("x")); err != nil {
		t.Fatalf("Put through the configured endpoint: %v", err)
	}
	if want := "s3://locked/p/?region=us-east-1&endpoint=" + srv.Endpoint; st.Describe().URL != want {
		t.Errorf("Describe().URL = %q, want %q", st.Describe().URL, want)
	}
}

// noJurisdictions hides the R2JurisdictionLocks side of an R2Locks.
type noJurisdictions struct{ R2Locks }

func TestR2Jurisdiction(t *testing.T) {
	rules := json.RawMessage(fmt.Sprintf(`{"rules":[{"id":"keep","enabled":true,"prefix":"soc2/","condition":{"type":"Age","maxAgeSeconds":%d}}]}`,
		int64(DefaultRetention/time.Second)))
	cf := &fakeCloudflare{t: t, bucket: "evidence", jurisdiction: "eu", config: rules}
	api := cf.start(t, testToken)
	awsEnv(t, &versitygw.Server{AccessKey: "AKIAFAKE", SecretKey: "fake"}) // Open sends nothing to S3
	euEndpoint := "https://" + testAccount + ".eu.r2.cloudflarestorage.com"
	u := "r2://" + testAccount + "/evidence/soc2?endpoint=" + euEndpoint

	// Open reads the lock rules of the bucket in the EU jurisdiction, and
	// writes go to the EU endpoint (Open itself sends nothing to it).
	st := mustOpen(t, u, storage.Options{Cloudflare: api})
	if d := st.Describe(); !d.WORM || d.Lock.Rule == nil || d.Lock.Rule.ID != "keep" || !strings.Contains(d.URL, euEndpoint) {
		t.Errorf("Describe() = %+v, want WORM under rule keep, URL naming %s", d, euEndpoint)
	}
	if ep := st.client.Options().BaseEndpoint; ep == nil || *ep != euEndpoint {
		t.Errorf("the S3 client's endpoint is %v, want %s", ep, euEndpoint)
	}
	if !slices.Equal(cf.seen, []string{"eu"}) {
		t.Errorf("lock API requests carried cf-r2-jurisdiction %q, want [eu]", cf.seen)
	}

	// A client that cannot address a jurisdiction is refused, not used to
	// read the rules of a namesake bucket elsewhere.
	_, err := Open(t.Context(), u, storage.Options{Cloudflare: noJurisdictions{CloudflareLocks(api)}})
	if err == nil || !strings.Contains(err.Error(), `jurisdiction "eu"`) || !strings.Contains(err.Error(), "R2JurisdictionLocks") {
		t.Errorf("Open in a jurisdiction with a client without jurisdictions = %v, want a refusal naming both", err)
	}

	// ApplyR2LockAt writes the rule in the jurisdiction.
	cf.config = json.RawMessage(`{"rules":[]}`)
	cf.seen = nil
	loc, err := ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rule, err := ApplyR2LockAt(t.Context(), CloudflareLocks(api), loc, DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	if rule.Prefix != "soc2/" || len(cf.puts) != 1 {
		t.Errorf("ApplyR2LockAt = %+v with %d PUTs, want a soc2/ rule written once", rule, len(cf.puts))
	}
	if len(cf.seen) < 3 || slices.ContainsFunc(cf.seen, func(j string) bool { return j != "eu" }) {
		t.Errorf("ApplyR2LockAt's requests carried cf-r2-jurisdiction %q, want eu on every one", cf.seen)
	}
	if _, err := ApplyR2LockAt(t.Context(), noJurisdictions{CloudflareLocks(api)}, loc, DefaultRetention); err == nil || !strings.Contains(err.Error(), "jurisdiction") {
		t.Errorf("ApplyR2LockAt with a client without jurisdictions = %v, want a refusal", err)
	}
}
