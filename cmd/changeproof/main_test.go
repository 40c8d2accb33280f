package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/ledger/ledgertest"
)

// asMain makes the test binary behave as the changeproof command, so these
// tests exercise main itself: its signal handling and exit codes.
const asMain = "CHANGEPROOF_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

const token = "ghp_subprocessTestTokenNotASecret0001"

// gate holds GitHub requests for one repository until released, so a test
// can signal the process while a collection is in progress.
type gate struct {
	next    http.Handler
	mu      sync.Mutex
	repo    string        // "acme/web": hold /repos/acme/web/...
	arrived chan struct{} // closed at the first held request
	release chan struct{} // closed to let held requests through
}

func (g *gate) hold(repo string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.repo, g.arrived, g.release = repo, make(chan struct{}), make(chan struct{})
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	repo, arrived, release := g.repo, g.arrived, g.release
	g.mu.Unlock()
	if repo != "" && strings.Contains(r.URL.Path, "/repos/"+repo+"/") {
		select {
		case <-arrived:
		default:
			close(arrived)
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return // the client gave up
		}
	}
	g.next.ServeHTTP(w, r)
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), asMain+"=1", "GITHUB_TOKEN="+token)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// wait returns the exit code, failing the test if the process takes longer
// than limit.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("%v still running after %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Args, limit, &p.stdout, &p.stderr)
		return -1
	}
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, args...)
	code = p.wait(t, time.Minute)
	return code, p.stdout.String(), p.stderr.String()
}

func waitFor(t *testing.T, ch <-chan struct{}, p *proc, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-p.done:
		t.Fatalf("exited before %s\nstdout:\n%s\nstderr:\n%s", what, &p.stdout, &p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30s\nstderr:\n%s", what, &p.stderr)
	}
}

type fixture struct {
	dir, store, key, config string
	gate                    *gate
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f, err := ghfake.Load(filepath.Join("..", "..", "testdata", "github", "sample-org"))
	if err != nil {
		t.Fatal(err)
	}
	srv := ghfake.New(f, ghfake.WithToken(token))
	g := &gate{next: srv}
	hs := httptest.NewServer(g)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	fx := &fixture{dir: dir, store: filepath.Join(dir, "store"), key: filepath.Join(dir, "signing.key"), config: filepath.Join(dir, "changeproof.yaml"), gate: g}
	if code, _, stderr := runMain(t, "keygen", "--out", fx.key); code != 0 {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	cfg := fmt.Sprintf(`store: file://%s
key: %s
github:
  api_url: %s
scheduler:
  listen: "off"
  shutdown_grace: 30s
jobs:
`, fx.store, fx.key, srv.URL(hs.URL))
	if err := os.WriteFile(fx.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return fx
}

// addJob appends a daily merge-activity job over one repository.
func (fx *fixture) addJob(t *testing.T, name, repo string) {
	t.Helper()
	f, err := os.OpenFile(fx.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "  - name: %s\n    collector: merge-activity\n    schedule: \"@daily\"\n    scope: {repos: [%s]}\n", name, repo); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) runs(t *testing.T, job string) []ledger.RunEntry {
	t.Helper()
	return ledgertest.Runs(t, fx.store, fx.key, job)
}

// TestSIGTERM runs the real command as a daemon and signals it while a
// collection is in progress: with one SIGTERM the run finishes within the
// grace period and is recorded as a success; with a second one the run is
// abandoned, recorded as interrupted with its evidence as error, and the
// next --once collects that same window again. The store verifies after
// each step: nothing is half-written.
func TestSIGTERM(t *testing.T) {
	fx := newFixture(t)
	verify := func() {
		t.Helper()
		code, stdout, stderr := runMain(t, "verify", fx.store, "--pubkey", fx.key+".pub")
		if code != 0 {
			t.Fatalf("verify: %d\n%s\n%s", code, stdout, stderr)
		}
	}

	// 1. SIGTERM while payments-daily's first run waits for GitHub: the
	// daemon takes no new run and lets this one finish.
	fx.addJob(t, "payments-daily", "acme/payments")
	fx.gate.hold("acme/payments")
	p := start(t, "run", "--config", fx.config)
	waitFor(t, fx.gate.arrived, p, "a GitHub request for acme/payments")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		t.Fatalf("exited before the run in progress finished: %s", &p.stderr)
	case <-time.After(500 * time.Millisecond):
	}
	close(fx.gate.release)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("daemon exit %d after SIGTERM\n%s", code, &p.stderr)
	}
	pay := fx.runs(t, "payments-daily")
	if len(pay) != 1 || pay[0].Statement.Predicate.Status != evidence.RunSuccess || pay[0].Statement.Predicate.Trigger != evidence.TriggerCatchUp {
		t.Fatalf("payments-daily after a graceful stop: %+v", pay)
	}
	verify()

	// 2. Two signals while a new job, web-daily, runs (payments-daily has
	// nothing due, unless a day began meanwhile): the second abandons the
	// run at once, well inside the 30s grace.
	const job = "web-daily"
	fx.addJob(t, job, "acme/web")
	fx.gate.hold("acme/web")
	p = start(t, "run", "--config", fx.config)
	waitFor(t, fx.gate.arrived, p, "a GitHub request for acme/web")
	began := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("daemon exit %d after two signals\n%s", code, &p.stderr)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Fatalf("the second signal did not abandon the run: %v", took)
	}
	web := fx.runs(t, job)
	if len(web) != 1 {
		t.Fatalf("%s: %d run records\n%s", job, len(web), &p.stderr)
	}
	rec := web[0].Statement.Predicate
	if rec.Status != evidence.RunInterrupted || len(rec.Evidence) != 1 || rec.Evidence[0].Status != evidence.StatusError {
		t.Fatalf("abandoned run recorded as %+v", rec)
	}
	verify()

	// 3. The next --once collects the interrupted window again.
	close(fx.gate.release)
	code, stdout, stderr := runMain(t, "run", "--config", fx.config, "--once")
	if code != 0 {
		t.Fatalf("--once: %d\n%s\n%s", code, stdout, stderr)
	}
	web = fx.runs(t, job)
	if len(web) != 2 || web[1].Statement.Predicate.Status != evidence.RunSuccess || !web[1].Statement.Predicate.Window.Start.Equal(rec.Window.Start) || !web[1].Statement.Predicate.Window.End.Equal(rec.Window.End) {
		t.Fatalf("after --once: %+v", web)
	}
	if !strings.Contains(stdout, job) {
		t.Errorf("--once output does not name %s:\n%s", job, stdout)
	}
	verify()
	for _, out := range []string{p.stdout.String(), p.stderr.String(), stdout, stderr} {
		if strings.Contains(out, token) {
			t.Fatal("the token appeared in output")
		}
	}
}
