package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/versitygw"
)

// s3Env is a real S3 server (versitygw) with a locked and an unlocked
// bucket, the sample organisation on a fake GitHub, and a signing key.
type s3Env struct {
	*env
	srv   *versitygw.Server
	spool string
}

func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	srv := versitygw.Start(t)
	srv.CreateBucket(t, "evidence", true)
	srv.CreateBucket(t, "unlocked", false)
	e := &s3Env{srv: srv}
	e.setAWSEnv(t)
	e.env = newEnv(t)
	e.spool = filepath.Join(e.dir, "spool")
	return e
}

// setAWSEnv points the standard AWS chain at the server, from the
// environment only.
func (e *s3Env) setAWSEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", e.srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.srv.SecretKey)
	t.Setenv("AWS_REGION", e.srv.Region)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
}

func (e *s3Env) url(bucket string) string {
	return "s3://" + bucket + "/changeproof?endpoint=" + e.srv.Endpoint + "&region=" + e.srv.Region
}

func (e *s3Env) collectTo(t *testing.T, store string, extra ...string) result {
	t.Helper()
	args := append([]string{"collect", "branch-protection", "--org", "acme", "--store", store, "--key", e.key,
		"--github-api-url", e.api, "--spool", e.spool, "--output", "json"}, extra...)
	return run(t, args...)
}

// versions lists every version of every object under prefix in a bucket.
func (e *s3Env) versions(t *testing.T, bucket, prefix string) map[string]int {
	t.Helper()
	out, err := e.srv.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, v := range out.Versions {
		n[aws.ToString(v.Key)]++
	}
	return n
}

func storageOf(t *testing.T, e *s3Env, bucket, key string) map[string]any {
	t.Helper()
	obj, err := e.srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("changeproof/" + key)})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	var env struct{ Payload []byte }
	if err := json.NewDecoder(obj.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Predicate struct {
			Storage map[string]any `json:"storage"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		t.Fatal(err)
	}
	return st.Predicate.Storage
}

func TestCollectToObjectLockedS3(t *testing.T) {
	e := newS3Env(t)
	r := e.collectTo(t, e.url("evidence"))
	if r.code != 0 {
		t.Fatalf("collect to a locked bucket: exit %d: %s", r.code, r.stderr)
	}
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	st := storageOf(t, e, "evidence", out.Evidence)
	lock, _ := st["lock"].(map[string]any)
	if st["worm"] != true || lock["kind"] != "s3-object-lock" || lock["mode"] != "COMPLIANCE" || lock["retentionSeconds"] != float64(1095*24*3600) {
		t.Fatalf("the evidence records its storage as %v; want WORM, S3 Object Lock COMPLIANCE for 1095 days", st)
	}
	// The object is locked for real, in the mode and for the time recorded.
	ret, err := e.srv.Client().GetObjectRetention(context.Background(), &s3.GetObjectRetentionInput{Bucket: aws.String("evidence"), Key: aws.String("changeproof/" + out.Evidence)})
	if err != nil {
		t.Fatal(err)
	}
	if ret.Retention == nil || ret.Retention.Mode != "COMPLIANCE" || ret.Retention.RetainUntilDate.Before(clock.Add(1094*24*time.Hour)) {
		t.Fatalf("retention on the stored envelope: %+v", ret.Retention)
	}
	if got := e.versions(t, "evidence", "changeproof/keys/"); len(got) != 1 {
		t.Fatalf("the public key is not stored once under keys/: %v", got)
	}
	if r := run(t, "verify", e.url("evidence"), "--pubkey", e.pub); r.code != 0 {
		t.Fatalf("verify s3://: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	// A second run chains onto the first and stores the key no second time.
	if r := e.collectTo(t, e.url("evidence")); r.code != 0 {
		t.Fatalf("second collect: exit %d: %s", r.code, r.stderr)
	}
	if got := e.versions(t, "evidence", "changeproof/keys/"); len(got) != 1 {
		t.Fatalf("keys/ after two runs: %v", got)
	}
	if r := run(t, "verify", e.url("evidence"), "--pubkey", e.pub, "--output", "json"); r.code != 0 || !strings.Contains(r.stdout, `"envelopes": 2`) {
		t.Fatalf("verify after two runs: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestCollectRefusesAnUnlockedBucket(t *testing.T) {
	e := newS3Env(t)
	r := e.collectTo(t, e.url("unlocked"))
	if r.code != 2 || !strings.Contains(r.stderr, "Object Lock") || !strings.Contains(r.stderr, "--allow-unlocked") {
		t.Fatalf("collect to an unlocked bucket: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := e.versions(t, "unlocked", ""); len(got) != 0 {
		t.Fatalf("refusing the bucket wrote %v", got)
	}
	r = e.collectTo(t, e.url("unlocked"), "--allow-unlocked")
	if r.code != 0 {
		t.Fatalf("collect --allow-unlocked: exit %d: %s", r.code, r.stderr)
	}
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	st := storageOf(t, e, "unlocked", out.Evidence)
	if st["worm"] != false || !strings.Contains(strings.ToLower(st["protection"].(string)), "not") {
		t.Fatalf("evidence in an unlocked bucket records its storage as %v; it must say it was not WORM", st)
	}
}

// TestOutageSpoolsThenFlushes stops the S3 server in the middle of a
// collection: the run completes into the spool; once the server is back,
// flush uploads every object exactly once and the store verifies.
func TestOutageSpoolsThenFlushes(t *testing.T) {
	e := newS3Env(t)
	// The fake GitHub stops the S3 server when the collection reads its
	// first branch protection: after the chain head was read, before the
	// evidence is written.
	f, err := ghfake.Load(filepath.Join("..", "..", "testdata", "github", "sample-org"))
	if err != nil {
		t.Fatal(err)
	}
	gh := ghfake.New(f, ghfake.WithToken(testToken))
	var once sync.Once
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/protection") {
			once.Do(func() {
				if err := e.srv.Stop(); err != nil {
					t.Error(err)
				}
			})
		}
		gh.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	e.api = gh.URL(hs.URL)

	r := e.collectTo(t, e.url("evidence"))
	if r.code != 2 || !strings.Contains(r.stderr, "spool") || !strings.Contains(r.stderr, "changeproof flush") {
		t.Fatalf("collect during an outage: exit %d, stderr %q; want exit 2 naming the spool and flush", r.code, r.stderr)
	}
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("the outage run printed no outcome: %q", r.stdout)
	}
	spooled := 0
	_ = filepath.WalkDir(e.spool, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/objects/") {
			spooled++
		}
		return nil
	})
	if spooled != 3 {
		t.Fatalf("%d objects spooled, want 3 (envelope, raw facts, key)", spooled)
	}

	// Still down: flush keeps everything and says so.
	if r := run(t, "flush", "--store", e.url("evidence"), "--spool", e.spool); r.code != 2 {
		t.Fatalf("flush while the store is down: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}

	if err := e.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	r = run(t, "flush", "--store", e.url("evidence"), "--spool", e.spool, "--output", "json")
	if r.code != 0 {
		t.Fatalf("flush: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Uploaded  []string `json:"uploaded"`
		Remaining int      `json:"remaining"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Uploaded) != 3 || rep.Remaining != 0 {
		t.Fatalf("flush report %s", r.stdout)
	}
	for key, n := range e.versions(t, "evidence", "changeproof/") {
		if n != 1 {
			t.Errorf("%s is stored %d times", key, n)
		}
	}
	if got := e.versions(t, "evidence", "changeproof/evidence/"); len(got) != 1 || got["changeproof/"+out.Evidence] != 1 {
		t.Fatalf("envelopes in the bucket: %v, want exactly %s once", got, out.Evidence)
	}
	if r := run(t, "verify", e.url("evidence"), "--pubkey", e.pub); r.code != 0 {
		t.Fatalf("verify after the flush: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	// The next run chains onto the flushed envelope.
	r = e.collectTo(t, e.url("evidence"))
	if r.code != 0 {
		t.Fatalf("collect after the outage: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "verify", e.url("evidence"), "--pubkey", e.pub, "--output", "json"); r.code != 0 || !strings.Contains(r.stdout, `"envelopes": 2`) {
		t.Fatalf("verify after the next run: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

// A credential typed into a store URL is never repeated, whichever command
// and however the URL is wrong.
func TestStoreURLCredentialsAreNeverPrinted(t *testing.T) {
	const secret = "SUPERSECRETvalue42"
	for _, args := range [][]string{
		{"storage", "check", "--store", "s3://AKIAKEY:" + secret + "@bucket/prefix"},
		{"storage", "check", "--store", "r2://AKIAKEY:" + secret + "/x@0123456789abcdef0123456789abcdef/evidence"},
		{"storage", "lock", "--store", "s3://AKIAKEY:" + secret + "@bucket/prefix"},
		{"flush", "--store", "file://AKIAKEY:" + secret + "@dir", "--spool", t.TempDir()},
		{"flush", "--store", "gs://AKIAKEY:" + secret + "@bucket", "--spool", t.TempDir()},
		{"verify", "gs://AKIAKEY:" + secret + "@bucket", "--pubkey", "x.pub"},
		{"collect", "branch-protection", "--org", "acme", "--key", "x.key", "--store", "s3://AKIAKEY:" + secret + "@bucket"},
	} {
		r := run(t, args...)
		if r.code == 0 || strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%v: exit %d, output %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestRunOnceToObjectLockedS3 runs a scheduled job into a real S3 server
// with Object Lock: evidence and the run record are both stored locked, the
// bucket's lock file sits beside the spool, and a second pass finds nothing
// due because it reads the run record back from the bucket.
func TestRunOnceToObjectLockedS3(t *testing.T) {
	e := newS3Env(t)
	cfg := fmt.Sprintf("store: %q\nkey: %s\nstorage:\n  spool: %s\ngithub:\n  api_url: %s\nscheduler:\n  listen: \"off\"\njobs:\n  - name: bp-daily\n    collector: branch-protection\n    schedule: \"@daily\"\n    scope: {orgs: [acme]}\n",
		e.url("evidence"), e.key, e.spool, e.api)
	path := filepath.Join(e.dir, "changeproof.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "run", "--config", path, "--once", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"status":"success"`) {
		t.Fatalf("run --once to S3: %+v", r)
	}
	var line struct {
		Record string `json:"record"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &line); err != nil || !strings.HasPrefix(line.Record, "runs/bp-daily/") {
		t.Fatalf("run line %q: %v", r.stdout, err)
	}
	ret, err := e.srv.Client().GetObjectRetention(context.Background(), &s3.GetObjectRetentionInput{Bucket: aws.String("evidence"), Key: aws.String("changeproof/" + line.Record)})
	if err != nil || ret.Retention == nil || ret.Retention.Mode != "COMPLIANCE" {
		t.Fatalf("the run record is not locked: %+v %v", ret, err)
	}
	locks, _ := filepath.Glob(filepath.Join(filepath.Dir(e.spool), "locks", "*.lock"))
	if len(locks) != 1 {
		t.Fatalf("lock files beside the spool: %v", locks)
	}
	if r := run(t, "run", "--config", path, "--once"); r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "nothing due") {
		t.Fatalf("second pass: %+v", r)
	}
	if r := run(t, "verify", e.url("evidence"), "--pubkey", e.pub); r.code != 0 || !strings.Contains(r.stdout, "1 run record(s) of 1 job(s)") {
		t.Fatalf("verify: %+v", r)
	}
}
