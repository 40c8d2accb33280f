package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
)

// TestARetryAfterACrashTakesOverItsOwnHostsDeadClaim: a CronJob pod's
// container is OOM-killed while collecting (restartPolicy OnFailure): its
// claim stays, unexpired. The restarted container -- same pod, same host
// name, same host lock -- holds that lock, so the claim's holder cannot be
// alive: the retry takes the claim over at once, collects the window and
// records the takeover, instead of leaving it "held" and exiting 0 with
// nothing collected. A live claim of the same host under another lock
// (another spool directory) is still left alone.
func TestARetryAfterACrashTakesOverItsOwnHostsDeadClaim(t *testing.T) {
	e := newEnv(t)
	path := e.writeConfig(t, `jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
`)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	now := clock
	w := schedules.Window{Start: now.Truncate(24 * time.Hour).Add(-24 * time.Hour), End: now.Truncate(24 * time.Hour)}
	key, err := ledger.ClaimKey("bp-daily", w, 0)
	if err != nil {
		t.Fatal(err)
	}
	plant := func(lock string) {
		t.Helper()
		cl := ledger.Claim{Job: "bp-daily", Window: w, Holder: ledger.ClaimHolder{Host: host, PID: 1, RunID: "oom-killed", Lock: lock},
			ClaimedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour - time.Minute)}
		data, _ := json.Marshal(&cl)
		p := filepath.Join(e.store, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o444); err != nil {
			t.Fatal(err)
		}
	}

	// Same host, another lock: a process that may be alive.
	plant(ledger.LockID("file:///elsewhere"))
	r := run(t, "run", "--config", path, "--once", "--job", "bp-daily", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"status":"held"`) || len(envelopes(t, e.store)) != 0 {
		t.Fatalf("a live claim of this host under another lock: %+v", r)
	}
	if err := os.Remove(filepath.Join(e.store, filepath.FromSlash(key))); err != nil {
		t.Fatal(err)
	}

	// The crashed container's claim, a minute old, under this host's lock
	// on the store (the store directory).
	plant(ledger.LockID("file://" + e.store))
	r = run(t, "run", "--config", path, "--once", "--job", "bp-daily", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"status":"success"`) {
		t.Fatalf("the retry did not collect the window:\nstdout %s\nstderr %s", strings.TrimSpace(r.stdout), strings.TrimSpace(r.stderr))
	}
	recs := runRecords(t, e, "bp-daily")
	if len(recs) != 1 || len(envelopes(t, e.store)) != 1 {
		t.Fatalf("%d run records, %d envelopes; want 1 and 1", len(recs), len(envelopes(t, e.store)))
	}
	c := recs[0].Statement.Predicate.Claim
	if c == nil || !strings.HasSuffix(c.Key, "/000001.json") || c.TakenOverFrom == nil || c.TakenOverFrom.Key != key ||
		c.TakenOverFrom.Holder != host+"/1/oom-killed" || c.TakenOverFrom.ExpiredAt.After(now.Add(time.Hour-time.Minute)) {
		t.Fatalf("the run record's claim: %+v", c)
	}
}
