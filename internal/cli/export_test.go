package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// validateOSCAL checks a document against NIST's OSCAL assessment-results
// JSON schema kept in internal/oscal/testdata.
func validateOSCAL(t *testing.T, data []byte) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "oscal", "testdata", "oscal_assessment-results_schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("ar.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("ar.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("not valid OSCAL assessment-results: %v", err)
	}
}

// oscalDoc is the part of an OSCAL assessment-results document the tests read.
type oscalDoc struct {
	AR struct {
		UUID     string `json:"uuid"`
		Metadata struct {
			Version      string `json:"version"`
			OSCALVersion string `json:"oscal-version"`
		} `json:"metadata"`
		Results []struct {
			Observations []struct {
				RelevantEvidence []struct {
					Href string `json:"href"`
				} `json:"relevant-evidence"`
			} `json:"observations"`
			Findings []struct {
				Target struct {
					TargetID string `json:"target-id"`
					Status   struct {
						State string `json:"state"`
					} `json:"status"`
				} `json:"target"`
			} `json:"findings"`
		} `json:"results"`
	} `json:"assessment-results"`
}

func TestExportOSCALEndToEnd(t *testing.T) {
	e := newEnv(t)
	if r := e.collect(t); r.code != 0 {
		t.Fatalf("collect: %+v", r)
	}
	envs := envelopes(t, e.store)
	to := clock.Add(time.Hour).Truncate(time.Hour).Add(-time.Hour).Format(time.RFC3339)
	out := filepath.Join(e.dir, "q4.oscal.json")
	args := []string{"export", "oscal", "--store", e.store, "--from", "2026-11-01", "--to", to, "--pubkey", e.pub}
	r := run(t, append(args, "--out", out)...)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+out) {
		t.Fatalf("export: %+v", r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	validateOSCAL(t, data)
	var doc oscalDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AR.Metadata.Version != "test" || doc.AR.Metadata.OSCALVersion != "1.1.3" || len(doc.AR.Results) != 1 {
		t.Fatalf("document: %+v", doc.AR)
	}
	res := doc.AR.Results[0]
	if len(res.Observations) != len(envs) || len(envs) == 0 {
		t.Fatalf("%d observations for %d envelopes", len(res.Observations), len(envs))
	}
	if h := res.Observations[0].RelevantEvidence[0].Href; !strings.HasPrefix(h, "evidence/branch-protection/") {
		t.Errorf("relevant evidence href %q is not the store key", h)
	}
	states := map[string]string{}
	for _, f := range res.Findings {
		states[f.Target.TargetID] = f.Target.Status.State
	}
	// The sample org has unprotected repositories: nothing is satisfied.
	for _, id := range []string{"cc8.1", "a.8.32", "a.8.4", "a.8.9"} {
		if states[id] != "not-satisfied" {
			t.Errorf("%s is %q, want not-satisfied (states %v)", id, states[id], states)
		}
	}

	// The file is never overwritten.
	r = run(t, append(args, "--out", out)...)
	if r.code != 2 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second export to the same file: %+v", r)
	}
	if again, _ := os.ReadFile(out); string(again) != string(data) {
		t.Error("the existing file was changed")
	}

	// stdout, limited to one control; the config's key gives the public key.
	cfg := filepath.Join(e.dir, "changeproof.yaml")
	if err := os.WriteFile(cfg, []byte("store: file://"+e.store+"\nkey: signing.key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, "export", "oscal", "--config", cfg, "--from", "2026-11-01", "--to", to, "--control", "cc8.1")
	if r.code != 0 {
		t.Fatalf("export to stdout: %+v", r)
	}
	validateOSCAL(t, []byte(r.stdout))
	doc = oscalDoc{}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not the document: %v\n%s", err, r.stdout)
	}
	if fs := doc.AR.Results[0].Findings; len(fs) != 1 || fs[0].Target.TargetID != "cc8.1" {
		t.Errorf("--control cc8.1 gave findings %+v", fs)
	}
}

func TestExportOSCALBadInput(t *testing.T) {
	e := newEnv(t)
	if r := e.collect(t); r.code != 0 {
		t.Fatalf("collect: %+v", r)
	}
	existing := filepath.Join(e.dir, "exists.json")
	if err := os.WriteFile(existing, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"export", "oscal", "--store", e.store}
	period := []string{"--from", "2026-11-01", "--to", "2026-11-20"}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no from":        {append(base, "--to", "2026-11-20", "--pubkey", e.pub), "--from is required"},
		"no to":          {append(base, "--from", "2026-11-01", "--pubkey", e.pub), "--to is required"},
		"bad from":       {append(base, "--from", "yesterday", "--to", "2026-11-20", "--pubkey", e.pub), "--from"},
		"inverted":       {append(base, "--from", "2026-11-20", "--to", "2026-11-01", "--pubkey", e.pub), "--from/--to"},
		"future":         {append(base, "--from", "2026-11-01", "--to", "2099-01-01", "--pubkey", e.pub), "in the future"},
		"no key":         {append(base, period...), "--pubkey is required"},
		"missing key":    {append(append(base, period...), "--pubkey", filepath.Join(e.dir, "nope.pub")), "--pubkey"},
		"unknown ctl":    {append(append(base, period...), "--pubkey", e.pub, "--control", "CC9.9"), `--control "CC9.9"`},
		"existing out":   {append(append(base, period...), "--pubkey", e.pub, "--out", existing), "already exists"},
		"no such store":  {[]string{"export", "oscal", "--store", filepath.Join(e.dir, "nostore"), "--from", "2026-11-01", "--to", "2026-11-20", "--pubkey", e.pub}, "--store"},
		"nothing":        {append(base, "--from", "2026-01-01", "--to", "2026-02-01", "--pubkey", e.pub), "nothing to report"},
		"positional arg": {append(append(base, period...), "--pubkey", e.pub, "extra"), "unknown command"},
	} {
		r := run(t, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || r.stdout != "" {
			t.Errorf("%s: got %+v, want exit 2 and one line naming %q", name, r, c.want)
		}
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep" {
		t.Error("an existing --out file was changed")
	}
}
