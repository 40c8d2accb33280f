package mergeactivity

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestDefaultPolicy(t *testing.T) {
	want := Policy{MinApprovals: 1, RequireCI: true, RequiredChecks: []string{}, AllowedPushers: []string{},
		BotPRs: BotSameReview, EmergencyLabel: "emergency", EmergencyGrace: Duration(24 * time.Hour)}
	if p := DefaultPolicy(); !reflect.DeepEqual(p, want) {
		t.Errorf("DefaultPolicy() = %+v, want %+v", p, want)
	}
	a, b := NewPolicy(), NewPolicy()
	a.RequiredChecks = append(a.RequiredChecks, "x")
	a.AllowedPushers = append(a.AllowedPushers, "y")
	if len(b.RequiredChecks) != 0 || len(b.AllowedPushers) != 0 {
		t.Error("NewPolicy values share state")
	}
	data, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"emergency_grace":"24h"`, `"required_checks":[]`, `"allowed_pushers":[]`, `"bot_prs":"same_review"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("policy JSON %s lacks %s", data, want)
		}
	}
	var back Policy
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, DefaultPolicy()) {
		t.Errorf("policy JSON does not round-trip: %+v, %v", back, err)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
		want string
	}{
		{"default", func(*Policy) {}, ""},
		{"ten approvals", func(p *Policy) { p.MinApprovals = 10 }, ""},
		{"zero approvals", func(p *Policy) { p.MinApprovals = 0 }, "min_approvals is 0: want 1 to 10"},
		{"eleven approvals", func(p *Policy) { p.MinApprovals = 11 }, "min_approvals is 11"},
		{"empty check", func(p *Policy) { p.RequiredChecks = []string{"ci", " "} }, "required_checks[1] is empty"},
		{"pusher with space", func(p *Policy) { p.AllowedPushers = []string{"release bot"} }, "allowed_pushers[0]"},
		{"unknown bot policy", func(p *Policy) { p.BotPRs = "trust" }, `bot_prs is "trust"`},
		{"checks only", func(p *Policy) { p.BotPRs = BotChecksOnly }, ""},
		{"checks only without checks", func(p *Policy) { p.BotPRs = BotChecksOnly; p.RequireCI = false }, "bot changes would pass unchecked"},
		{"checks only with named checks", func(p *Policy) { p.BotPRs = BotChecksOnly; p.RequireCI = false; p.RequiredChecks = []string{"ci"} }, ""},
		{"no grace", func(p *Policy) { p.EmergencyGrace = 0 }, "emergency_grace is 0s"},
		{"long grace", func(p *Policy) { p.EmergencyGrace = Duration(31 * 24 * time.Hour) }, "at most 30d"},
		{"emergency off", func(p *Policy) { p.EmergencyLabel = ""; p.EmergencyGrace = 0 }, ""},
		{"label spaces", func(p *Policy) { p.EmergencyLabel = " emergency" }, "leading or trailing spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPolicy()
			tt.edit(p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"24h", 24 * time.Hour, "24h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"1d", 24 * time.Hour, "24h"},
		{"36h", 36 * time.Hour, "36h"},
		{"90s", 90 * time.Second, "1m30s"},
	} {
		d, err := ParseDuration(c.in)
		if err != nil || time.Duration(d) != c.want || d.String() != c.out {
			t.Errorf("ParseDuration(%q) = %v (%s), %v; want %v (%s)", c.in, time.Duration(d), d, err, c.want, c.out)
		}
	}
	for _, bad := range []string{"", "tomorrow", "7 d", "d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
	var p Policy
	if err := yaml.UnmarshalWithOptions([]byte("emergency_grace: 3d\n"), &p, yaml.Strict()); err != nil || time.Duration(p.EmergencyGrace) != 72*time.Hour {
		t.Errorf("YAML emergency_grace: 3d = %v, %v", p.EmergencyGrace, err)
	}
	if err := yaml.UnmarshalWithOptions([]byte("emergency_grace: soon\n"), &p, yaml.Strict()); err == nil {
		t.Error("YAML emergency_grace: soon decoded")
	}
}

// TestSampleConfig: sample.yaml decodes strictly into exactly the default
// policy and names every key.
func TestSampleConfig(t *testing.T) {
	var doc map[string]yaml.MapSlice
	if err := yaml.Unmarshal([]byte(SampleConfig), &doc); err != nil {
		t.Fatal(err)
	}
	section, ok := doc[Name]
	if !ok || len(doc) != 1 {
		t.Fatalf("sample.yaml: want one section %q, got %v", Name, doc)
	}
	data, err := yaml.Marshal(section)
	if err != nil {
		t.Fatal(err)
	}
	var p Policy
	if err := yaml.UnmarshalWithOptions(data, &p, yaml.Strict()); err != nil {
		t.Fatalf("sample.yaml does not decode strictly: %v", err)
	}
	if !reflect.DeepEqual(p, DefaultPolicy()) {
		t.Errorf("sample.yaml = %+v, want the defaults %+v", p, DefaultPolicy())
	}
	if keys := reflect.TypeFor[Policy]().NumField(); len(section) != keys {
		t.Errorf("sample.yaml has %d keys, Policy has %d fields", len(section), keys)
	}
}
