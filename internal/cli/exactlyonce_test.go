package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/cli"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/ledger/ledgertest"
	"github.com/changeproof/changeproof/internal/storelock"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// The test binary is also the changeproof command, for the tests that
// start several processes: with asMain set it runs the command line
// instead of the tests.
const (
	asMain = "CHANGEPROOF_TEST_AS_MAIN"
	// nowEnv is the process's clock at start (RFC 3339); it moves a
	// millisecond per reading.
	nowEnv = "CHANGEPROOF_TEST_NOW"
	// hostLockEnv, when set, is the lock file the process takes instead
	// of the store's own lock: each process its own, as on two hosts.
	hostLockEnv = "CHANGEPROOF_TEST_HOST_LOCK"
	// claimHostEnv, when set, is the host name in the process's claims:
	// processes simulating two hosts must not share one, or each would
	// take the other's claim for its own dead process's.
	claimHostEnv = "CHANGEPROOF_TEST_CLAIM_HOST"
)

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Exit(subprocessMain())
	}
	os.Exit(m.Run())
}

func subprocessMain() int {
	now, err := time.Parse(time.RFC3339Nano, os.Getenv(nowEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", nowEnv, err)
		return 3
	}
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	if p := os.Getenv(hostLockEnv); p != "" {
		cli.SetHostLockForTest(func(ctx context.Context) (func(), error) { return storelock.Lock(ctx, p) })
	}
	if h := os.Getenv(claimHostEnv); h != "" {
		cli.SetClaimHostForTest(h)
	}
	return cli.Main(context.Background(), os.Args[1:], &cli.App{
		Stdout: os.Stdout, Stderr: os.Stderr, Now: clock,
		Build:           cli.Build{Version: "test", Commit: "abc123"},
		GitHubRetryWait: time.Millisecond,
	})
}

// slowGitHub serves the sample organisation, each answer after a delay, so
// that a collection lasts long enough for the other process to arrive
// while it runs.
func slowGitHub(t *testing.T, delay time.Duration) string {
	t.Helper()
	f, err := ghfake.Load(filepath.Join("..", "..", "testdata", "github", "sample-org"))
	if err != nil {
		t.Fatal(err)
	}
	srv := ghfake.New(f, ghfake.WithToken(testToken))
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return srv.URL(hs.URL)
}

// racer is one simulated host: its own lock (file store) or spool and
// lock directory (bucket).
type racer struct {
	name    string
	args    []string
	env     []string
	cmd     *exec.Cmd
	out     bytes.Buffer
	errb    bytes.Buffer
	exitErr error
}

// runLineJSON is a line of `run --output json`.
type runLineJSON struct {
	Job    string    `json:"job"`
	Status string    `json:"status"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Record string    `json:"record"`
	Error  string    `json:"error"`
	Held   string    `json:"held"`
}

func (r *racer) lines(t *testing.T) []runLineJSON {
	t.Helper()
	var out []runLineJSON
	sc := bufio.NewScanner(bytes.NewReader(r.out.Bytes()))
	for sc.Scan() {
		var l runLineJSON
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: line %q: %v", r.name, sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// raceRounds starts the racers' `run --once` at the same moment, once a
// round, each round an hour later on their clocks (one new window of an
// @hourly job), and checks each round: exactly one success, for the
// window due; the other process either found the window held, naming the
// winner, or found nothing due; both exit 0. It returns the windows
// collected and how many rounds ended with the loser told it was held.
func raceRounds(t *testing.T, rounds int, racers []*racer) (windows []schedules.Window, held int) {
	t.Helper()
	// Clocks in the past: the store's modification times are real, and
	// only ever shorten a claim.
	base := time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(rounds+24) * time.Hour)
	for i := range rounds {
		now := base.Add(time.Duration(i)*time.Hour + 5*time.Second)
		want := schedules.Window{Start: now.Truncate(time.Hour).Add(-time.Hour), End: now.Truncate(time.Hour)}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, r := range racers {
			r.out.Reset()
			r.errb.Reset()
			r.cmd = exec.Command(os.Args[0], r.args...)
			r.cmd.Env = append(os.Environ(), append([]string{asMain + "=1", nowEnv + "=" + now.Format(time.RFC3339Nano), "GITHUB_TOKEN=" + testToken,
				claimHostEnv + "=" + r.name}, r.env...)...)
			r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.errb
			wg.Go(func() {
				<-start
				r.exitErr = r.cmd.Run()
			})
		}
		close(start)
		wg.Wait()
		var winner *racer
		for _, r := range racers {
			if r.exitErr != nil {
				t.Fatalf("round %d: %s: %v\nstdout %s\nstderr %s", i, r.name, r.exitErr, r.out.String(), r.errb.String())
			}
			ls := r.lines(t)
			if len(ls) == 1 && ls[0].Status == "success" {
				if winner != nil {
					t.Fatalf("round %d: %s and %s both collected: %s / %s", i, winner.name, r.name, winner.out.String(), r.out.String())
				}
				if w := (schedules.Window{Start: ls[0].Start, End: ls[0].End}); !w.Start.Equal(want.Start) || !w.End.Equal(want.End) {
					t.Fatalf("round %d: %s collected %s, want %s", i, r.name, w, want)
				}
				winner = r
				windows = append(windows, want)
			}
		}
		if winner == nil {
			t.Fatalf("round %d: nobody collected: %s: %s %s / %s: %s %s", i, racers[0].name, racers[0].out.String(), racers[0].errb.String(),
				racers[1].name, racers[1].out.String(), racers[1].errb.String())
		}
		for _, r := range racers {
			if r == winner {
				continue
			}
			ls := r.lines(t)
			switch {
			case len(ls) == 1 && ls[0].Status == "held":
				holder := fmt.Sprintf("is held by %s/%d/", winner.name, winner.cmd.Process.Pid)
				if !strings.Contains(ls[0].Held, holder) || !strings.Contains(ls[0].Held, "window "+want.String()) || ls[0].Record != "" {
					t.Fatalf("round %d: %s was told %+v, want it held by the winner (%s)", i, r.name, ls[0], holder)
				}
				held++
			case len(ls) == 0 && strings.Contains(r.errb.String(), "nothing due"):
				// It came after the winner recorded the window.
			default:
				t.Fatalf("round %d: loser %s: stdout %s stderr %s", i, r.name, r.out.String(), r.errb.String())
			}
		}
	}
	return windows, held
}

const hourlyJob = `jobs:
  - name: bp-hourly
    collector: branch-protection
    schedule: "@hourly"
    scope: {orgs: [acme]}
`

// TestTwoHostsRunOnceAtTheSameMomentFileStore: two `run --once` processes
// sharing a directory store but not its lock (two hosts on a shared
// file system), started together round after round, leave exactly one
// evidence envelope, one run record and one claim per window.
func TestTwoHostsRunOnceAtTheSameMomentFileStore(t *testing.T) {
	const rounds = 10
	dir := t.TempDir()
	key, store := filepath.Join(dir, "signing.key"), filepath.Join(dir, "store")
	if r := run(t, "keygen", "--out", key); r.code != 0 {
		t.Fatal(r)
	}
	cfg := fmt.Sprintf("store: file://%s\nkey: %s\ngithub:\n  api_url: %s\n  cache_dir: \"off\"\nscheduler:\n  listen: \"off\"\n%s", store, key, slowGitHub(t, 20*time.Millisecond), hourlyJob)
	path := filepath.Join(dir, "changeproof.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var racers []*racer
	for _, name := range []string{"host-a", "host-b"} {
		racers = append(racers, &racer{name: name, args: []string{"run", "--config", path, "--once", "--output", "json", "--job", "bp-hourly"},
			env: []string{hostLockEnv + "=" + filepath.Join(dir, name, "store.lock")}})
	}
	windows, held := raceRounds(t, rounds, racers)
	t.Logf("file store: %d rounds, %d with the loser told the window was held, %d with nothing due", rounds, held, rounds-held)

	if got := envelopes(t, store); len(got) != rounds {
		t.Fatalf("%d evidence envelopes for %d windows: %v", len(got), rounds, got)
	}
	recs := ledgertest.Runs(t, store, key, "bp-hourly")
	checkOneRecordPerWindow(t, recs, windows)
	claims := filesUnder(t, filepath.Join(store, "claims"))
	if len(claims) != rounds {
		t.Fatalf("%d claims for %d windows: %v", len(claims), rounds, claims)
	}
	if r := run(t, "verify", "file://"+store, "--pubkey", key+".pub"); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d run record(s) of 1 job(s)", rounds)) {
		t.Fatalf("verify: %+v", r)
	}
	if held == 0 {
		t.Errorf("in no round did the loser meet the winner's claim: the race was not exercised")
	}
}

// TestTwoHostsRunOnceAtTheSameMomentS3 is the same race on an
// object-locked bucket (versitygw), each process with its own spool and
// lock directory, as on two hosts.
func TestTwoHostsRunOnceAtTheSameMomentS3(t *testing.T) {
	const rounds = 10
	e := newS3Env(t)
	cfg := fmt.Sprintf("store: %q\nkey: %s\ngithub:\n  api_url: %s\n  cache_dir: \"off\"\nscheduler:\n  listen: \"off\"\n%s", e.url("evidence"), e.key, slowGitHub(t, 20*time.Millisecond), hourlyJob)
	path := filepath.Join(e.dir, "changeproof.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var racers []*racer
	for _, name := range []string{"host-a", "host-b"} {
		racers = append(racers, &racer{name: name, args: []string{"run", "--config", path, "--once", "--output", "json",
			"--spool", filepath.Join(e.dir, name, "spool")}})
	}
	windows, held := raceRounds(t, rounds, racers)
	t.Logf("s3: %d rounds, %d with the loser told the window was held, %d with nothing due", rounds, held, rounds-held)
	for _, name := range []string{"host-a", "host-b"} {
		if locks, _ := filepath.Glob(filepath.Join(e.dir, name, "locks", "*.lock")); len(locks) != 1 {
			t.Errorf("%s: lock files %v: each host must have had its own lock", name, locks)
		}
	}

	for prefix, want := range map[string]int{"changeproof/evidence/": rounds, "changeproof/runs/": rounds, "changeproof/claims/": rounds} {
		vs := e.versions(t, "evidence", prefix)
		if len(vs) != want {
			t.Fatalf("%d objects under %s for %d windows: %v", len(vs), prefix, rounds, vs)
		}
		for k, n := range vs {
			if n != 1 {
				t.Fatalf("%s has %d versions", k, n)
			}
		}
	}
	if r := run(t, "verify", e.url("evidence"), "--pubkey", e.pub); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d run record(s) of 1 job(s)", rounds)) {
		t.Fatalf("verify: %+v", r)
	}
	if len(windows) != rounds {
		t.Fatalf("%d windows collected in %d rounds", len(windows), rounds)
	}
	if held == 0 {
		t.Errorf("in no round did the loser meet the winner's claim: the race was not exercised")
	}
}

// checkOneRecordPerWindow: one run record per window collected, each a
// success under a first-generation claim, the windows contiguous.
func checkOneRecordPerWindow(t *testing.T, recs []ledger.RunEntry, windows []schedules.Window) {
	t.Helper()
	if len(recs) != len(windows) {
		t.Fatalf("%d run records for %d windows", len(recs), len(windows))
	}
	for i, r := range recs {
		p := r.Statement.Predicate
		if !p.Window.Start.Equal(windows[i].Start) || !p.Window.End.Equal(windows[i].End) || p.Status != "success" {
			t.Fatalf("record %d: %s %s, want a success for %s", i, p.Window, p.Status, windows[i])
		}
		if p.Claim == nil || !strings.HasSuffix(p.Claim.Key, "/000000.json") || p.Claim.TakenOverFrom != nil {
			t.Fatalf("record %d claims %+v", i, p.Claim)
		}
		if i > 0 && !p.Window.Start.Equal(recs[i-1].Statement.Predicate.Window.End) {
			t.Fatalf("records %d and %d are not contiguous", i-1, i)
		}
	}
}

func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// plantClaim writes a claim on window w of job into a directory store, as
// a run on another host would have.
func plantClaim(t *testing.T, store, job string, w schedules.Window, holder string, claimedAt, expiresAt time.Time) string {
	t.Helper()
	st, err := file.Open(context.Background(), "file://"+store, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ledger.ClaimKey(job, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	host, pid, id := strings.Split(holder, "/")[0], 99, strings.Split(holder, "/")[2]
	data := fmt.Sprintf(`{"job":%q,"window":{"start":%q,"end":%q},"generation":0,"holder":{"host":%q,"pid":%d,"runId":%q},"claimedAt":%q,"expiresAt":%q}`,
		job, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), host, pid, id, claimedAt.Format(time.RFC3339), expiresAt.Format(time.RFC3339))
	if err := st.Put(context.Background(), key, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return key
}

func TestACrashedRunsClaimIsTakenOverAndALiveOneIsLeftAlone(t *testing.T) {
	e := newEnv(t)
	path := e.writeConfig(t, `jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
`)
	// The window the next run collects: the day before the test clock's.
	day := clock.Truncate(24 * time.Hour)
	w := schedules.Window{Start: day.Add(-24 * time.Hour), End: day}
	const crashed = "crashed-host/99/deadbeef"

	// A live claim (expiring tomorrow): the run leaves the window alone.
	live := plantClaim(t, e.store, "bp-daily", w, crashed, clock, day.Add(24*time.Hour))
	r := run(t, "run", "--config", path, "--once")
	if r.code != 0 || !strings.Contains(r.stdout, "held") || !strings.Contains(r.stdout, "is held by "+crashed+" until ") ||
		!strings.Contains(r.stdout, live) || strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Fatalf("run beside a live claim: %+v", r)
	}
	if len(envelopes(t, e.store)) != 0 || len(runRecords(t, e, "bp-daily")) != 0 {
		t.Fatal("a run wrote evidence or a run record for a window another run holds")
	}
	// collect --job is refused the same way, in one line.
	if r := run(t, "collect", "--config", path, "--job", "bp-daily"); r.code != 2 || !strings.Contains(r.stderr, "is held by "+crashed) {
		t.Fatalf("collect --job beside a live claim: %+v", r)
	}

	// An expired claim (its run crashed an hour ago): taken over.
	e2 := newEnv(t)
	path2 := e2.writeConfig(t, `jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
`)
	expired := clock.Add(-time.Hour)
	old := plantClaim(t, e2.store, "bp-daily", w, crashed, expired.Add(-time.Hour), expired)
	r = run(t, "run", "--config", path2, "--once", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"status":"success"`) {
		t.Fatalf("run after a crashed claim: %+v", r)
	}
	recs := runRecords(t, e2, "bp-daily")
	if len(recs) != 1 || len(envelopes(t, e2.store)) != 1 {
		t.Fatalf("%d run records, %d envelopes", len(recs), len(envelopes(t, e2.store)))
	}
	c := recs[0].Statement.Predicate.Claim
	if c == nil || !strings.HasSuffix(c.Key, "/000001.json") || c.TakenOverFrom == nil || c.TakenOverFrom.Key != old ||
		c.TakenOverFrom.Holder != crashed || !c.TakenOverFrom.ExpiredAt.Equal(expired.Truncate(time.Second)) {
		t.Fatalf("the run record's claim: %+v (taken over from %+v)", c, c.TakenOverFrom)
	}
	if got := filesUnder(t, filepath.Join(e2.store, "claims")); len(got) != 2 {
		t.Fatalf("claims: %v", got)
	}
}

func TestRunOnceOnlyTheNamedJobs(t *testing.T) {
	e := newEnv(t)
	path := e.writeConfig(t, `jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
  - name: web-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {repos: [acme/web]}
`)
	r := run(t, "run", "--config", path, "--once", "--job", "web-daily")
	if r.code != 0 || !strings.Contains(r.stdout, "web-daily") || strings.Contains(r.stdout, "bp-daily") {
		t.Fatalf("--job web-daily: %+v", r)
	}
	if len(runRecords(t, e, "bp-daily")) != 0 || len(runRecords(t, e, "web-daily")) != 1 {
		t.Fatal("--job ran other jobs than the one named")
	}
	r = run(t, "run", "--config", path, "--once", "--job", "bp-daily", "--job", "web-daily")
	if r.code != 0 || !strings.Contains(r.stdout, "bp-daily") || strings.Contains(r.stdout, "web-daily") {
		t.Fatalf("--job twice: %+v", r)
	}
	r = run(t, "run", "--config", path, "--once", "--job", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, `--job: `+path+` has no job "nope" (jobs: [bp-daily web-daily])`) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("unknown job: %+v", r)
	}
}
