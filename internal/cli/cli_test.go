package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/cli"
	"github.com/changeproof/changeproof/internal/ghfake"
)

const (
	testToken   = "ghp_TESTtokenNeverPrinted0123456789"
	testCFToken = "cf-TESTtokenNeverPrinted9876543210"
)

// clock is shared by every run in a test binary and only moves forward, as
// real time does.
var clock = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// clockMu guards clock while a command runs; test bodies read clock
// between runs.
var clockMu sync.Mutex

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	return runEnv(t, map[string]string{"GITHUB_TOKEN": testToken, "CLOUDFLARE_API_TOKEN": testCFToken}, args...)
}

// runEnv runs the command line with exactly the environment env.
func runEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, &cli.App{
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		// Each call of the clock moves it a second, as real time would.
		// Requests call it from several goroutines at once.
		Now: func() time.Time {
			clockMu.Lock()
			defer clockMu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		},
		Build:           cli.Build{Version: "test", Commit: "abc123"},
		GitHubRetryWait: time.Millisecond,
		// A stopped S3 server fails at once rather than after backoff.
		StoreMaxAttempts: 2,
	})
	return result{code, out.String(), errb.String()}
}

// fakeGitHub serves the bundled sample organisation, requiring the token.
func fakeGitHub(t *testing.T) (apiURL string, srv *ghfake.Server) {
	t.Helper()
	f, err := ghfake.Load(filepath.Join("..", "..", "testdata", "github", "sample-org"))
	if err != nil {
		t.Fatal(err)
	}
	srv = ghfake.New(f, ghfake.WithToken(testToken))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv.URL(hs.URL), srv
}

type env struct {
	dir, store, key, pub, api string
	gh                        *ghfake.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir, store: filepath.Join(dir, "store"), key: filepath.Join(dir, "signing.key"), pub: filepath.Join(dir, "signing.key.pub")}
	if r := run(t, "keygen", "--out", e.key); r.code != 0 {
		t.Fatalf("keygen: %+v", r)
	}
	e.api, e.gh = fakeGitHub(t)
	return e
}

func (e *env) collect(t *testing.T, extra ...string) result {
	t.Helper()
	args := append([]string{"collect", "branch-protection", "--org", "acme", "--store", "file://" + e.store, "--key", e.key, "--github-api-url", e.api}, extra...)
	return run(t, args...)
}

func envelopes(t *testing.T, store string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(filepath.Join(store, "evidence"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

type collectJSON struct {
	Evidence string         `json:"evidence"`
	Status   string         `json:"status"`
	Counts   map[string]int `json:"counts"`
	Findings []struct {
		Target string `json:"target"`
		Status string `json:"status"`
	} `json:"findings"`
	Requests int `json:"requests"`
}

func TestCollectSampleOrgEndToEnd(t *testing.T) {
	e := newEnv(t)
	r := e.collect(t, "--output", "json")
	if r.code != 0 {
		t.Fatalf("collect exit %d: %s", r.code, r.stderr)
	}
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("collect --output json printed %q: %v", r.stdout, err)
	}
	want := map[string]string{
		"github.com/acme/payments@main":       "pass",
		"github.com/acme/web@main":            "pass",
		"github.com/acme/docs@main":           "fail",
		"github.com/acme/secret-project@main": "not_verifiable",
		"github.com/acme/legacy@main":         "fail",
	}
	got := map[string]string{}
	for _, f := range out.Findings {
		got[f.Target] = f.Status
	}
	if len(got) != len(want) {
		t.Fatalf("findings for %v, want %v", got, want)
	}
	for target, status := range want {
		if got[target] != status {
			t.Errorf("%s: %s, want %s", target, got[target], status)
		}
	}
	if out.Status != "fail" || out.Counts["pass"] != 2 || out.Counts["fail"] != 2 || out.Counts["not_verifiable"] != 1 {
		t.Errorf("overall %s %v", out.Status, out.Counts)
	}
	if out.Requests != e.gh.Requests() {
		t.Errorf("reported %d requests, the fake saw %d", out.Requests, e.gh.Requests())
	}
	if !strings.HasPrefix(out.Evidence, "evidence/branch-protection/github.com_acme/") {
		t.Errorf("evidence key %s", out.Evidence)
	}

	// A second run chains to the first; the whole store verifies.
	if r := e.collect(t); r.code != 0 || !strings.Contains(r.stdout, "github.com/acme/docs@main") {
		t.Fatalf("second collect: %+v", r)
	}
	v := run(t, "verify", e.store, "--pubkey", e.pub)
	if v.code != 0 || !strings.Contains(v.stdout, "OK    2 envelope(s) in 1 chain(s)") {
		t.Fatalf("verify: %+v", v)
	}
	if !strings.Contains(v.stdout, "CHAIN branch-protection github.com/acme (2 envelope(s); github="+e.api+")") {
		t.Fatalf("verify does not list the chain with its source: %s", v.stdout)
	}
	// A single envelope verifies on its own too, without claiming its chain.
	one := envelopes(t, e.store)[0]
	var env struct{ Payload []byte }
	data, _ := os.ReadFile(one)
	json.Unmarshal(data, &env)
	if !bytes.Contains(env.Payload, []byte(`"pointInTime":true`)) || !bytes.Contains(env.Payload, []byte(`"sources":{"github":"`+e.api+`"}`)) {
		t.Fatalf("evidence does not record that it is a snapshot read from %s", e.api)
	}
	if v := run(t, "verify", one, "--pubkey", e.pub); v.code != 0 || !strings.Contains(v.stdout, "chain not checked") {
		t.Fatalf("verify one file: %+v", v)
	}
	assertNoToken(t, e.store, r.stdout, r.stderr, v.stdout, v.stderr)
}

func assertNoToken(t *testing.T, store string, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		if strings.Contains(o, testToken) {
			t.Fatalf("token printed: %q", o)
		}
	}
	_ = filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			if bytes.Contains(data, []byte(testToken)) {
				t.Fatalf("token stored in %s", p)
			}
		}
		return nil
	})
}

func TestVerifyNamesTamperedAndDeletedEnvelopes(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		if r := e.collect(t); r.code != 0 {
			t.Fatalf("collect: %+v", r)
		}
	}
	files := envelopes(t, e.store)
	if len(files) != 3 {
		t.Fatalf("%d envelopes", len(files))
	}
	// Deletion: remove the middle envelope; the last one's link breaks.
	if err := os.Remove(files[1]); err != nil {
		t.Fatal(err)
	}
	v := run(t, "verify", e.store, "--pubkey", e.pub)
	if v.code != 1 || !strings.Contains(v.stdout, "deleted") || !strings.Contains(v.stdout, filepath.Base(files[1])) {
		t.Fatalf("deletion not reported (exit %d): %s", v.code, v.stdout)
	}
	if !strings.Contains(v.stderr, "verification failed") || strings.Count(strings.TrimSpace(v.stderr), "\n") != 0 {
		t.Fatalf("stderr should be one line: %q", v.stderr)
	}
	// Tamper: one byte of the signature of the first envelope.
	first := files[0]
	data, _ := os.ReadFile(first)
	i := bytes.Index(data, []byte(`"sig": "`)) + 20
	data[i] ^= 0x01
	_ = os.Chmod(first, 0o644)
	if err := os.WriteFile(first, data, 0o644); err != nil {
		t.Fatal(err)
	}
	v = run(t, "verify", e.store, "--pubkey", e.pub)
	rel := strings.TrimPrefix(filepath.ToSlash(first), filepath.ToSlash(e.store)+"/")
	if v.code != 1 || !strings.Contains(v.stdout, "FAIL  "+rel+": content was modified") {
		t.Fatalf("tampered envelope not named (exit %d): %s", v.code, v.stdout)
	}
}

func TestFailOn(t *testing.T) {
	e := newEnv(t)
	if r := e.collect(t, "--fail-on", "fail"); r.code != 1 {
		t.Fatalf("--fail-on fail with failing findings: exit %d, want 1 (%s)", r.code, r.stderr)
	}
	// Only the passing repositories: no failure to report.
	r := run(t, "collect", "branch-protection", "--repo", "acme/payments", "--repo", "acme/web",
		"--store", e.store, "--key", e.key, "--github-api-url", e.api, "--fail-on", "fail")
	if r.code != 0 || !strings.Contains(r.stdout, "status:    pass") {
		t.Fatalf("passing scope: %+v", r)
	}
	if r := run(t, "collect", "branch-protection", "--repo", "acme/secret-project",
		"--store", e.store, "--key", e.key, "--github-api-url", e.api, "--fail-on", "not_verifiable"); r.code != 1 {
		t.Fatalf("--fail-on not_verifiable: exit %d", r.code)
	}
}

func TestPolicyFromConfig(t *testing.T) {
	e := newEnv(t)
	cfg := filepath.Join(e.dir, "changeproof.yaml")
	os.WriteFile(cfg, []byte("policies:\n  branch-protection:\n    min_approvals: 3\n"), 0o644)
	r := run(t, "collect", "branch-protection", "--repo", "acme/payments", "--store", e.store, "--key", e.key,
		"--github-api-url", e.api, "--config", cfg, "--output", "json")
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Findings) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	if out.Findings[0].Status != "fail" {
		t.Fatalf("payments with min_approvals 3: %s, want fail", out.Findings[0].Status)
	}
}

// Bad input: one line on stderr naming what is wrong, exit 2, nothing written.
func TestBadInputIsOneLineExit2AndWritesNothing(t *testing.T) {
	e := newEnv(t)
	loose := filepath.Join(e.dir, "loose.key")
	keyData, _ := os.ReadFile(e.key)
	os.WriteFile(loose, keyData, 0o644)
	aFile := filepath.Join(e.dir, "a-file")
	os.WriteFile(aFile, []byte("x"), 0o644)
	badCfg := filepath.Join(e.dir, "bad.yaml")
	os.WriteFile(badCfg, []byte("store: x\npolicies:\n  branch-protection:\n    min_aprovals: 2\n"), 0o644)
	base := func(extra ...string) []string {
		return append([]string{"collect", "branch-protection", "--store", e.store, "--key", e.key, "--github-api-url", e.api}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown collector", []string{"collect", "nope", "--org", "acme", "--key", e.key, "--store", e.store}, `unknown collector "nope"`},
		{"no collector", []string{"collect", "--org", "acme"}, "want exactly one collector name"},
		{"malformed repo", base("--repo", "acme"), `--repo: repository "acme": want OWNER/NAME`},
		{"malformed repo name", base("--repo", "acme/a b"), `not a valid repository name`},
		{"bad org", base("--org", "-acme"), `--org: "-acme" is not a valid GitHub owner name`},
		{"no scope", base(), "no scope"},
		{"missing key", []string{"collect", "branch-protection", "--org", "acme", "--store", e.store, "--key", filepath.Join(e.dir, "nokey")}, "does not exist"},
		{"no key", []string{"collect", "branch-protection", "--org", "acme", "--store", e.store}, "--key is required"},
		{"key readable by others", []string{"collect", "branch-protection", "--org", "acme", "--store", e.store, "--key", loose}, "chmod 600"},
		{"store is a file", []string{"collect", "branch-protection", "--org", "acme", "--store", aFile, "--key", e.key, "--github-api-url", e.api}, aFile},
		{"bad since", base("--org", "acme", "--since", "yesterday"), `--since "yesterday"`},
		{"from after to", base("--org", "acme", "--from", "2026-11-20", "--to", "2026-11-19"), "not after its start"},
		{"future window", base("--org", "acme", "--to", "2027-01-01"), "in the future"},
		{"bad output", base("--org", "acme", "--output", "xml"), `--output "xml"`},
		{"bad fail-on", base("--org", "acme", "--fail-on", "sometimes"), `--fail-on "sometimes"`},
		{"unknown flag", base("--org", "acme", "--colour"), "unknown flag: --colour"},
		{"http to a remote API", base("--org", "acme", "--github-api-url", "http://github.example.com/api/v3"), "use https"},
		{"config typo", base("--org", "acme", "--config", badCfg), badCfg + ":4:5: policies.branch-protection: unknown field \"min_aprovals\""},
		{"missing config", base("--org", "acme", "--config", filepath.Join(e.dir, "none.yaml")), "does not exist"},
		{"verify without pubkey", []string{"verify", e.dir}, "--pubkey is required"},
		{"verify missing path", []string{"verify", filepath.Join(e.dir, "nothing"), "--pubkey", e.pub}, "does not exist"},
		{"keygen over existing key", []string{"keygen", "--out", e.key}, "refusing to overwrite"},
		{"bad log level", []string{"--log-level", "loud", "controls"}, "--log-level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2 (stdout %q stderr %q)", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Fatalf("stderr %q does not contain %q", r.stderr, c.want)
			}
			if lines := strings.Count(strings.TrimRight(r.stderr, "\n"), "\n"); lines != 0 {
				t.Fatalf("stderr is %d lines: %q", lines+1, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("stack trace: %q", r.stderr)
			}
			if _, err := os.Stat(e.store); !os.IsNotExist(err) {
				t.Fatalf("the store was created or written by a failed command")
			}
		})
	}
	if e.gh.Requests() != 0 {
		t.Fatalf("bad input reached the API: %d requests", e.gh.Requests())
	}
}

func TestUnreachableAPIRecordsErrorEvidence(t *testing.T) {
	e := newEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/api/v3/"
	l.Close()
	r := run(t, "collect", "branch-protection", "--org", "acme", "--store", e.store, "--key", e.key, "--github-api-url", dead)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2: %+v", r.code, r)
	}
	last := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if !strings.Contains(last[len(last)-1], "recorded as error evidence") || !strings.Contains(last[len(last)-1], l.Addr().String()) {
		t.Fatalf("stderr %q", r.stderr)
	}
	files := envelopes(t, e.store)
	if len(files) != 1 {
		t.Fatalf("%d envelopes written, want 1 error envelope", len(files))
	}
	if v := run(t, "verify", e.store, "--pubkey", e.pub); v.code != 0 {
		t.Fatalf("error evidence does not verify: %+v", v)
	}
	data, _ := os.ReadFile(files[0])
	var env struct{ Payload []byte }
	json.Unmarshal(data, &env)
	if !bytes.Contains(env.Payload, []byte(`"status":"error"`)) || !bytes.Contains(env.Payload, []byte("connection refused")) {
		t.Fatalf("error evidence payload: %s", env.Payload)
	}
}

func TestControlsAndCatalogCoverEveryCollector(t *testing.T) {
	r := run(t, "controls")
	for _, want := range []string{"CC8.1", "A.8.32", "A.8.4", "A.8.9", "A.8.25", "A.8.29", "A.8.31", "branch-protection"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("controls output lacks %s:\n%s", want, r.stdout)
		}
	}
	cat := controls.Default()
	for _, name := range cli.DefaultCollectors().Names() {
		if _, err := cat.For(name); err != nil {
			t.Errorf("registered collector %s is not in the catalog: %v", name, err)
		}
	}
	for _, name := range cat.CollectorNames() {
		if _, err := cli.DefaultCollectors().Lookup(name); err != nil {
			t.Errorf("the catalog maps %s, which is not registered", name)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("controls:\n  controls:\n    - framework: soc2\n      id: CC6.8\n      title: Unauthorized software is prevented\n  collectors:\n    branch-protection: [CC8.1, CC6.8]\n"), 0o644)
	r = run(t, "controls", "--config", cfg, "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"CC6.8"`) {
		t.Fatalf("controls with override: %+v", r)
	}
}

func TestKeygenModes(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	r := run(t, "keygen", "--out", key)
	if r.code != 0 || !strings.Contains(r.stdout, "key id:") {
		t.Fatalf("%+v", r)
	}
	for p, mode := range map[string]os.FileMode{key: 0o600, key + ".pub": 0o644} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != mode {
			t.Fatalf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), mode, err)
		}
	}
}

func TestHelpExplains(t *testing.T) {
	r := run(t, "collect", "--help")
	for _, want := range []string{"branch-protection", "--org", "--repo", "--branch", "--from", "--to", "--since", "--store", "--key", "--github-api-url", "--cloudflare-api-url", "--config", "--output", "--fail-on", "GITHUB_TOKEN"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("collect --help lacks %s", want)
		}
	}
	if r := run(t, "version"); !strings.Contains(r.stdout, "changeproof test (commit abc123)") {
		t.Errorf("version: %q", r.stdout)
	}
}
