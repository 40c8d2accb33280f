package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cli"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/ledger/ledgertest"
	"github.com/changeproof/changeproof/internal/storelock"
	"github.com/changeproof/changeproof/internal/syncbuf"
	"github.com/changeproof/changeproof/schedules"
)

// writeConfig writes a config with the given jobs section next to the
// env's key, storing into the env's store.
func (e *env) writeConfig(t *testing.T, jobs string) string {
	t.Helper()
	cfg := fmt.Sprintf("store: file://%s\nkey: %s\ngithub:\n  api_url: %s\nscheduler:\n  listen: off\n%s", e.store, e.key, e.api, jobs)
	path := filepath.Join(e.dir, "changeproof.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runRecords reads the verified run records of a job from a file store.
func runRecords(t *testing.T, e *env, job string) []ledger.RunEntry {
	t.Helper()
	return ledgertest.Runs(t, e.store, e.key, job)
}

// validateIn writes a config file into dir beside the signing key it
// names (signing.key, relative to the file) and validates it.
func validateIn(t *testing.T, dir string, config []byte) (path string, r result) {
	t.Helper()
	path = filepath.Join(dir, "changeproof.yaml")
	if err := os.WriteFile(path, config, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "keygen", "--out", filepath.Join(dir, "signing.key")); r.code != 0 {
		t.Fatal(r)
	}
	return path, run(t, "config", "validate", path)
}

func TestExampleConfigValidates(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "changeproof.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path, r := validateIn(t, dir, data)
	if r.code != 0 {
		t.Fatalf("validate: %+v", r)
	}
	for _, want := range []string{"ok: 4 job(s)", "merge-activity-daily", "@daily (Europe/Berlin)", "deployments-weekly", "0 7 * * 1 (Europe/Berlin)", "ci-status-daily", "@daily (UTC)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	// Without the GitHub token the jobs cannot run: a missing secret.
	r = runEnv(t, map[string]string{"CLOUDFLARE_API_TOKEN": testCFToken}, "config", "validate", path)
	if r.code != 2 || !strings.Contains(r.stderr, path+":22:14: github.token_env: the environment variable GITHUB_TOKEN is not set") {
		t.Fatalf("missing token: %+v", r)
	}
	// Without the Cloudflare token the deployments job cannot read Workers.
	r = runEnv(t, map[string]string{"GITHUB_TOKEN": testToken}, "config", "validate", path)
	if r.code != 2 || !strings.Contains(r.stderr, "cloudflare.token_env: the environment variable CLOUDFLARE_API_TOKEN is not set: job deployments-weekly") {
		t.Fatalf("missing Cloudflare token: %+v", r)
	}
}

func TestREADMEConfigValidates(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const start = "<!-- config-example -->\n```yaml\n"
	i := bytes.Index(readme, []byte(start))
	if i < 0 {
		t.Fatal("README has no config example block")
	}
	block := readme[i+len(start):]
	block = block[:bytes.Index(block, []byte("```"))]
	_, r := validateIn(t, t.TempDir(), block)
	if r.code != 0 {
		t.Fatalf("README config: %+v", r)
	}
	for _, want := range []string{"merge-activity", "branch-protection", "deployments"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("README config lacks a %s job:\n%s", want, r.stdout)
		}
	}
}

func TestBadConfigsNameTheKeyAndLine(t *testing.T) {
	e := newEnv(t)
	job := func(body string) string { return "jobs:\n  - name: bp\n" + body }
	cases := []struct{ name, jobs, want string }{
		{"bad cron", job("    collector: branch-protection\n    schedule: \"61 * * * *\"\n"), ":10:15: jobs[0].schedule \"61 * * * *\":"},
		{"unknown collector", job("    collector: branch-protecton\n    schedule: \"@daily\"\n"), ":9:16: jobs[0].collector: unknown collector \"branch-protecton\""},
		{"unknown key", job("    collector: branch-protection\n    schedul: \"@daily\"\n"), ":10:5: unknown field \"schedul\""},
		{"bad time zone", job("    collector: branch-protection\n    schedule: \"@daily\"\n    timezone: Mars/Olympus\n"), ":11:15: jobs[0].timezone \"Mars/Olympus\": not an IANA time zone"},
		{"tz in spec", job("    collector: branch-protection\n    schedule: \"CRON_TZ=UTC @daily\"\n"), "jobs[0].schedule"},
		{"duplicate name", job("    collector: branch-protection\n    schedule: \"@daily\"\n    scope: {orgs: [acme]}\n  - name: bp\n    collector: ci-status\n    schedule: \"@daily\"\n"), "jobs[1].name \"bp\": the name of jobs[0] too"},
		{"bad name", "jobs:\n  - name: Daily BP\n    collector: branch-protection\n    schedule: \"@daily\"\n", ":8:11: jobs[0].name: job name \"Daily BP\""},
		{"unknown control", job("    collector: branch-protection\n    schedule: \"@daily\"\n    scope: {orgs: [acme]}\n    controls: [CC9.9]\n"), ":12:16: jobs[0].controls[0]: unknown control \"CC9.9\""},
		{"bad repo", job("    collector: branch-protection\n    schedule: \"@daily\"\n    scope: {repos: [acme]}\n"), "jobs[0].scope.repos[0]:"},
		{"no scope", job("    collector: branch-protection\n    schedule: \"@daily\"\n"), "jobs[0].scope:"},
		{"bad policy key", job("    collector: branch-protection\n    schedule: \"@daily\"\n    scope: {orgs: [acme]}\n    policy:\n      min_aprovals: 2\n"), "unknown field \"min_aprovals\""},
		{"bad listen", "scheduler:\n  listen: 9464\n", "scheduler.listen"},
		{"empty controls", job("    collector: branch-protection\n    schedule: \"@daily\"\n    scope: {orgs: [acme]}\n    controls: []\n"), ":12:15: jobs[0].controls: empty"},
		{"no grace", "scheduler:\n  shutdown_grace: 0s\n", "scheduler.shutdown_grace \"0s\": want a duration from 1s to 1h"},
		{"short claim ttl", "scheduler:\n  claim_ttl: 5s\n", ":6:14: scheduler.claim_ttl \"5s\": want a duration from 1m to 168h"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := e.writeConfig(t, c.jobs)
			if c.name == "bad listen" || c.name == "no grace" || c.name == "short claim ttl" {
				data, _ := os.ReadFile(path)
				_ = os.WriteFile(path, bytes.Replace(data, []byte("scheduler:\n  listen: off\n"), nil, 1), 0o600)
			}
			r := run(t, "config", "validate", path)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Fatalf("got %d %q, want one line containing %q", r.code, r.stderr, c.want)
			}
			// run refuses it the same way, and writes nothing.
			if r := run(t, "run", "--config", path, "--once"); r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("run --once: %+v", r)
			}
			if _, err := os.Stat(e.store); err == nil {
				t.Fatal("a bad config wrote to the store")
			}
		})
	}
}

func TestRunOnceAgainstTheDemoOrganisation(t *testing.T) {
	e := newEnv(t)
	path := e.writeConfig(t, `jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
  - name: merges-daily
    collector: merge-activity
    schedule: "0 6 * * *"
    timezone: Europe/Berlin
    scope: {repos: [acme/payments, acme/web]}
    controls: [CC8.1]
`)
	r := run(t, "run", "--config", path, "--once", "--output", "json")
	if r.code != 0 {
		t.Fatalf("run --once: %+v", r)
	}
	var lines []map[string]any
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var l map[string]any
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 || lines[0]["job"] != "bp-daily" || lines[1]["job"] != "merges-daily" || lines[0]["status"] != "success" || lines[1]["status"] != "success" {
		t.Fatalf("lines = %v", lines)
	}
	bp := runRecords(t, e, "bp-daily")
	ma := runRecords(t, e, "merges-daily")
	if len(bp) != 1 || len(ma) != 1 {
		t.Fatalf("run records: %d, %d", len(bp), len(ma))
	}
	p := ma[0].Statement.Predicate
	if p.Trigger != "once" || p.TimeZone != "Europe/Berlin" || p.Window.End.UTC().Hour() != 5 || p.Window.Duration() != 24*time.Hour || p.Config == nil || p.Config.Path != path {
		t.Fatalf("merges record = %+v", p)
	}
	// Each record says what its own run asked of GitHub.
	if a := bp[0].Statement.Predicate.API; a == nil || a.Requests < 5 || a.Retries != 0 || a.RateLimitWaitSeconds != 0 {
		t.Errorf("bp-daily record's api = %+v, want its requests counted", a)
	}
	if a := p.API; a == nil || a.Requests < 5 || bp[0].Statement.Predicate.API != nil && *a == *bp[0].Statement.Predicate.API {
		t.Errorf("merges-daily record's api = %+v, want its own requests", a)
	}
	// The evidence names its job and the job's control override.
	envs := envelopes(t, e.store)
	var found bool
	for _, path := range envs {
		data, _ := os.ReadFile(path)
		st, err := evidence.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if st.Predicate.Job == "merges-daily" {
			found = true
			if len(st.Predicate.Controls) != 1 || st.Predicate.Controls[0].ID != "CC8.1" {
				t.Errorf("controls = %+v", st.Predicate.Controls)
			}
		}
	}
	if !found {
		t.Fatal("no evidence names job merges-daily")
	}
	// Nothing is due again until the next tick; verify sees run records.
	if r := run(t, "run", "--config", path, "--once"); r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "nothing due: every job's latest window is collected; next: ") {
		t.Fatalf("second --once: %+v", r)
	}
	if r := run(t, "verify", e.store, "--pubkey", e.pub); r.code != 0 || !strings.Contains(r.stdout, "2 run record(s)") {
		t.Fatalf("verify: %+v", r)
	}
	// An ad hoc run of a job: a manual run record, other window.
	r = run(t, "collect", "--config", path, "--job", "bp-daily", "--since", "2h", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"runRecord": "runs/bp-daily/`) {
		t.Fatalf("collect --job: %+v", r)
	}
	if bp = runRecords(t, e, "bp-daily"); len(bp) != 2 || bp[1].Statement.Predicate.Trigger != "manual" || bp[1].Statement.Predicate.Previous.SHA256 != bp[0].SHA256 {
		t.Fatalf("manual record: %+v", bp)
	}
	if r := run(t, "collect", "--config", path, "--job", "nope"); r.code != 2 || !strings.Contains(r.stderr, `has no job "nope" (jobs: [bp-daily merges-daily])`) {
		t.Fatalf("unknown job: %+v", r)
	}
	if r := run(t, "collect", "--config", path, "--job", "bp-daily", "--org", "acme"); r.code != 2 || !strings.Contains(r.stderr, "cannot be combined with --job") {
		t.Fatalf("scope with --job: %+v", r)
	}
}

// TestDaemonEverySecondAgainstFakeGitHub runs `changeproof run` with a
// one-second schedule against the fake GitHub for a few seconds, scrapes
// /metrics while it runs, and checks the run records' windows are
// contiguous.
func TestDaemonEverySecondAgainstFakeGitHub(t *testing.T) {
	e := newEnv(t)
	path := e.writeConfig(t, `jobs:
  - name: bp-every-second
    collector: branch-protection
    schedule: "* * * * * *"
    scope: {orgs: [acme]}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"run", "--config", path, "--listen", "127.0.0.1:0"}, &cli.App{
			Stdout: &stdout, Stderr: &stderr,
			Getenv:    func(k string) string { return map[string]string{"GITHUB_TOKEN": testToken}[k] },
			Build:     cli.Build{Version: "test"},
			Listening: func(a string) { addr <- a },
		})
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("run exited %d: %s", code, stderr.String())
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	time.Sleep(4 * time.Second)
	metrics := scrape(t, base+"/metrics")
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr.String())
	}
	runs := runRecords(t, e, "bp-every-second")
	if len(runs) < 3 {
		t.Fatalf("%d runs in 4s:\n%s\n%s", len(runs), stdout.String(), stderr.String())
	}
	var ws []schedules.Window
	for _, r := range runs {
		p := r.Statement.Predicate
		if p.Status != evidence.RunSuccess || len(p.Evidence) != 1 {
			t.Fatalf("run %+v", p)
		}
		ws = append(ws, p.Window)
	}
	for i := 1; i < len(ws); i++ {
		if !ws[i].Start.Equal(ws[i-1].End) || ws[i].Duration() != time.Second {
			t.Fatalf("windows not contiguous seconds: %v", ws)
		}
	}
	t.Logf("daemon windows (%d): %v", len(ws), ws)
	if got := metrics[`changeproof_job_runs_total{job="bp-every-second",status="success"}`]; got < 2 {
		t.Errorf("runs_total success = %v\n", got)
	}
	if got := metrics[`changeproof_job_last_run_findings{job="bp-every-second",status="fail"}`]; got < 1 {
		t.Errorf("findings fail = %v (the sample org has unprotected repos)", got)
	}
	if got := metrics[`changeproof_job_last_success_timestamp_seconds{job="bp-every-second"}`]; time.Since(time.Unix(int64(got), 0)) > 10*time.Second {
		t.Errorf("last success = %v", got)
	}
	if r := run(t, "verify", e.store, "--pubkey", e.pub); r.code != 0 {
		t.Fatalf("verify: %+v", r)
	}
	assertNoToken(t, e.store, stdout.String(), stderr.String())
}

func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestGitHubAppRunOnce runs a job as a GitHub App installation: the fake
// GitHub accepts only the installation token it issues for a JWT signed
// with the App's key, so a success proves the App path end to end.
func TestGitHubAppRunOnce(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const installToken = "ghs_installationTokenForTheTest0000000001"
	f, err := ghfake.Load(filepath.Join("..", "..", "testdata", "github", "sample-org"))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(ghfake.New(f, ghfake.WithApp(42, 4242, &key.PublicKey, installToken)))
	t.Cleanup(hs.Close)
	e := newEnv(t)
	e.api = ghfake.New(f).URL(hs.URL)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	keyFile := filepath.Join(e.dir, "app.pem")
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(installation int) string {
		path := e.writeConfig(t, `jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
`)
		data, _ := os.ReadFile(path)
		data = bytes.Replace(data, []byte("github:\n"), fmt.Appendf(nil, "github:\n  app: {id: 42, installation_id: %d, private_key_file: app.pem}\n", installation), 1)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	noEnv := map[string]string{}
	path := write(4242)
	r := runEnv(t, noEnv, "run", "--config", path, "--once")
	if r.code != 0 || !strings.Contains(r.stdout, "bp-daily") || !strings.Contains(r.stdout, "success") {
		t.Fatalf("run --once as the App: %+v", r)
	}
	if runs := runRecords(t, e, "bp-daily"); len(runs) != 1 || runs[0].Statement.Predicate.Status != evidence.RunSuccess {
		t.Fatalf("runs = %+v", runs)
	}
	secrets := []string{installToken, "PRIVATE KEY", string(pemKey[40:80])}
	noSecret := func(r result) {
		t.Helper()
		for _, s := range secrets {
			for _, o := range []string{r.stdout, r.stderr} {
				if strings.Contains(o, s) {
					t.Fatalf("output contains %q", s)
				}
			}
			_ = filepath.WalkDir(e.store, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(s)) {
						t.Fatalf("%s contains %q", p, s)
					}
				}
				return nil
			})
		}
	}
	noSecret(r)

	// An installation the App does not have: the run is recorded as an
	// error, exit 2, one clear reason.
	path = write(9999)
	r = runEnv(t, noEnv, "collect", "--config", path, "--job", "bp-daily", "--since", "1h")
	if r.code != 2 || !strings.Contains(r.stderr, "installation") {
		t.Fatalf("wrong installation: %+v", r)
	}
	t.Logf("wrong installation: %s", r.stderr)
	noSecret(r)

	// A key others can read is refused before anything runs, at its key.
	path = write(4242)
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	before := len(envelopes(t, e.store))
	r = runEnv(t, noEnv, "config", "validate", path)
	if r.code != 2 || !strings.Contains(r.stderr, path+":4:") || !strings.Contains(r.stderr, "github.app") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Fatalf("key readable by others: %+v", r)
	}
	t.Logf("key readable by others: %s", r.stderr)
	if r = runEnv(t, noEnv, "run", "--config", path, "--once"); r.code != 2 || len(envelopes(t, e.store)) != before {
		t.Fatalf("run with a key readable by others: %+v", r)
	}
	noSecret(r)
}

// TestJobsSharingAChainTakeTurns runs two jobs that write to one evidence
// chain (same collector and scope) every second in one daemon, while ad hoc
// collections of the same scope run beside it, as another process would:
// the store lock makes them take turns, so no chain forks and verify
// passes.
func TestJobsSharingAChainTakeTurns(t *testing.T) {
	e := newEnv(t)
	path := e.writeConfig(t, `jobs:
  - name: bp-a
    collector: branch-protection
    schedule: "* * * * * *"
    scope: {orgs: [acme]}
  - name: bp-b
    collector: branch-protection
    schedule: "* * * * * *"
    scope: {orgs: [acme]}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"run", "--config", path}, &cli.App{
			Stdout: &stdout, Stderr: &stderr,
			Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": testToken}[k] },
			Build:  cli.Build{Version: "test"},
		})
	}()
	// Ad hoc collections on the real clock, as the daemon's.
	for range 4 {
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), []string{"collect", "branch-protection", "--org", "acme", "--store", "file://" + e.store, "--key", e.key, "--github-api-url", e.api}, &cli.App{
			Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": testToken}[k] },
			Build:  cli.Build{Version: "test"},
		})
		if code != 0 {
			t.Fatalf("ad hoc collect beside the daemon: %d %s", code, errb.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr.String())
	}
	a, b := runRecords(t, e, "bp-a"), runRecords(t, e, "bp-b")
	if len(a) < 2 || len(b) < 2 {
		t.Fatalf("runs: %d and %d\n%s", len(a), len(b), stderr.String())
	}
	r := run(t, "verify", e.store, "--pubkey", e.pub)
	if r.code != 0 || !strings.Contains(r.stdout, "in 1 chain(s)") {
		t.Fatalf("verify: %+v", r)
	}
}

// A directory store is locked on its directory: whoever writes to it — any
// user, any HOME, the store reached through a symlink — waits while a run
// holds it.
func TestCollectWaitsForTheStoreLockWhateverItsEnvironment(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(e.store, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := storelock.LockDir(context.Background(), e.store)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	link := filepath.Join(t.TempDir(), "evidence-link")
	if err := os.Symlink(e.store, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, store string
		env         map[string]string
	}{
		{"another HOME", "file://" + e.store, map[string]string{"HOME": t.TempDir()}},
		{"no HOME at all", e.store, map[string]string{}},
		{"through a symlink", "file://" + link, map[string]string{"XDG_STATE_HOME": t.TempDir()}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		var out, errb bytes.Buffer
		c.env["GITHUB_TOKEN"] = testToken
		code := cli.Main(ctx, []string{"collect", "branch-protection", "--org", "acme", "--store", c.store, "--key", e.key, "--github-api-url", e.api}, &cli.App{
			Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return c.env[k] },
			Build:  cli.Build{Version: "test"},
		})
		cancel()
		if code != 2 || !strings.Contains(errb.String(), "waiting for the store lock") {
			t.Errorf("%s: collect did not wait for the lock: %d %s", c.name, code, errb.String())
		}
	}
	if n := len(envelopes(t, e.store)); n != 0 {
		t.Fatalf("%d envelope(s) written while the lock was held", n)
	}
	unlock()
	if r := e.collect(t); r.code != 0 {
		t.Fatalf("collect once the lock is free: %+v", r)
	}
}
