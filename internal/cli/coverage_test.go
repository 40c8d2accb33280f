package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cli"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
	"github.com/changeproof/changeproof/schedules"
)

// coverageNow is the fixed clock of the coverage tests.
var coverageNow = time.Date(2026, 11, 5, 6, 0, 0, 0, time.UTC)

func covDay(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

// runAt runs the command line with a fixed clock.
func runAt(now time.Time, args ...string) result {
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, &cli.App{
		Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		Now: func() time.Time { return now }, Build: cli.Build{Version: "test", Commit: "abc123"},
	})
	return result{code, out.String(), errb.String()}
}

// coverageStore writes a store for job bp-daily (@daily): Nov 1 pass, Nov 2
// fail, Nov 3 nothing, Nov 4 pass; and a config naming it, beside the
// store and the key.
func coverageStore(t *testing.T) (b *coveragetest.Builder, cfgPath string) {
	t.Helper()
	b = coveragetest.New(t)
	for _, d := range []int{1, 2, 4} {
		var findings []evidence.Finding
		if d == 2 {
			findings = []evidence.Finding{{Target: "acme/web", Status: evidence.StatusFail, Verdict: "unprotected", Summary: "main can be force-pushed"}}
		}
		b.Write(coveragetest.Run{Job: "bp-daily", Collector: "branch-protection", Schedule: "@daily", TimeZone: "UTC",
			Window: schedules.Window{Start: covDay(d), End: covDay(d + 1)}, Status: evidence.RunSuccess, Findings: findings})
	}
	cfgPath = filepath.Join(b.Dir, "changeproof.yaml")
	cfg := `store: evidence
key: signing.key
jobs:
  - name: bp-daily
    collector: branch-protection
    schedule: "@daily"
    scope: {orgs: [acme]}
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return b, cfgPath
}

func TestCoverageCommand(t *testing.T) {
	b, cfgPath := coverageStore(t)

	r := runAt(coverageNow, "coverage", "--config", cfgPath, "--from", "2026-11-01", "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep coverage.Report
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("json output: %v\n%s", err, r.stdout)
	}
	if len(rep.Jobs) != 1 {
		t.Fatalf("jobs %+v", rep.Jobs)
	}
	j := rep.Jobs[0]
	if j.Expected != 4 || j.Covered != 3 || j.Counts[coverage.WindowMissing] != 1 || j.Counts[coverage.WindowFail] != 1 || j.Status != evidence.StatusFail {
		t.Errorf("job %+v, want 3 of 4 covered, one fail, one missing", j)
	}
	if len(j.Gaps) != 1 || !j.Gaps[0].Start.Equal(covDay(3)) || j.Gaps[0].Status != coverage.WindowMissing {
		t.Errorf("gaps %+v, want Nov 3 missing", j.Gaps)
	}
	// The controls are the collector's in the catalog, in catalog order.
	var ids []string
	for _, c := range rep.Controls {
		ids = append(ids, c.ID)
		if c.Expected != 4 || c.Covered != 3 || c.Ratio != 0.75 {
			t.Errorf("control %+v, want 3/4", c)
		}
	}
	if strings.Join(ids, ",") != "CC8.1,A.8.32,A.8.4,A.8.9" || strings.Join(j.Controls, ",") != strings.Join(ids, ",") {
		t.Errorf("controls %v (job %v), want branch-protection's from the catalog", ids, j.Controls)
	}
	if !rep.Period.To.Equal(coverageNow) || !rep.GeneratedAt.Equal(coverageNow) {
		t.Errorf("period %+v generated %s, want --to defaulting to now", rep.Period, rep.GeneratedAt)
	}

	// The table says the same in lines.
	r = runAt(coverageNow, "coverage", "--config", cfgPath, "--from", "2026-11-01", "--to", "2026-11-05")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"soc2 CC8.1", "3/4", "75.0%", "pass 2, fail 1, missing 1",
		"bp-daily", "covered to 2026-11-05T00:00:00Z (6h0m0s ago)",
		"GAP        bp-daily [2026-11-03T00:00:00Z, 2026-11-04T00:00:00Z) missing, 1 window(s): no run record",
		"EXCEPTION  bp-daily [2026-11-02T00:00:00Z, 2026-11-03T00:00:00Z) acme/web fail (unprotected): main can be force-pushed",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "STALE") || strings.Contains(r.stdout, "PROBLEM") {
		t.Errorf("table:\n%s", r.stdout)
	}

	// --fail-under: exit 1 and the controls under it named; 0 when met.
	r = runAt(coverageNow, "coverage", "--config", cfgPath, "--from", "2026-11-01", "--fail-under", "0.9")
	if r.code != 1 || !strings.Contains(r.stderr, "CC8.1 75.0%") || !strings.Contains(r.stdout, "CONTROL") {
		t.Errorf("--fail-under 0.9: exit %d, stderr %q", r.code, r.stderr)
	}
	if r = runAt(coverageNow, "coverage", "--config", cfgPath, "--from", "2026-11-01", "--fail-under", "0.75"); r.code != 0 {
		t.Errorf("--fail-under 0.75: exit %d, stderr %q", r.code, r.stderr)
	}

	// Without the config: the jobs come from the run records, the key is
	// given.
	r = runAt(coverageNow, "coverage", "--store", filepath.Join(b.Dir, "evidence"), "--pubkey", b.PubFile, "--from", "2026-11-01", "--output", "json")
	if r.code != 0 {
		t.Fatalf("without config: exit %d: %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Jobs) != 1 || rep.Jobs[0].Covered != 3 || rep.Jobs[0].Collector != "branch-protection" {
		t.Errorf("without config: %v %+v", err, rep.Jobs)
	}

	// A modified envelope: the window is a gap, the problem is named.
	runs := b.Runs(t, "bp-daily")
	b.Mutate(runs[2].Statement.Predicate.Evidence[0].Key, func(d []byte) []byte { return bytes.Replace(d, []byte(`"`), []byte(`'`), 1) })
	r = runAt(coverageNow, "coverage", "--config", cfgPath, "--from", "2026-11-01")
	if r.code != 0 || !strings.Contains(r.stdout, "unverifiable, 1 window(s)") || !strings.Contains(r.stdout, "PROBLEM    "+runs[2].Key) {
		t.Errorf("after tampering: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestCoverageBadInput(t *testing.T) {
	b, cfgPath := coverageStore(t)
	noPub := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(noPub, []byte("store: "+filepath.Join(b.Dir, "evidence")+"\nkey: nokey\njobs:\n  - {name: x, collector: ci-status, schedule: \"@daily\", scope: {orgs: [acme]}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"bad from":        {[]string{"--config", cfgPath, "--from", "yesterday"}, "--from"},
		"bad to":          {[]string{"--config", cfgPath, "--to", "2026-13-01"}, "--to"},
		"inverted":        {[]string{"--config", cfgPath, "--from", "2026-11-05", "--to", "2026-11-01"}, "not before --to"},
		"bad output":      {[]string{"--config", cfgPath, "--output", "xml"}, "--output"},
		"bad fail-under":  {[]string{"--config", cfgPath, "--fail-under", "90"}, "--fail-under"},
		"no config file":  {[]string{"--config", filepath.Join(b.Dir, "none.yaml")}, "none.yaml"},
		"no pubkey":       {[]string{"--store", filepath.Join(b.Dir, "evidence")}, "--pubkey is required"},
		"no .pub beside":  {[]string{"--config", noPub}, "no public key"},
		"bad pubkey":      {[]string{"--config", cfgPath, "--pubkey", cfgPath}, "--pubkey"},
		"missing store":   {[]string{"--config", cfgPath, "--store", filepath.Join(b.Dir, "nowhere")}, "--store"},
		"unknown flag":    {[]string{"--config", cfgPath, "--window", "x"}, "--window"},
		"stray argument":  {[]string{"--config", cfgPath, "extra"}, "extra"},
		"store is a file": {[]string{"--config", cfgPath, "--store", cfgPath}, "store"},
	} {
		r := runAt(coverageNow, append([]string{"coverage"}, c.args...)...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%s: exit %d, stderr %q (want one line naming %q), stdout %q", name, r.code, r.stderr, c.want, r.stdout)
		}
	}
}

func TestCoverageHelp(t *testing.T) {
	r := runAt(coverageNow, "coverage", "--help")
	for _, want := range []string{"--from", "--to", "30 days", "--pubkey", ".pub", "--fail-under", "Exit codes", "missing", "unverifiable", "Examples:", "docs/coverage.md"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("coverage --help lacks %q", want)
		}
	}
}
