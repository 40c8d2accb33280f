package cistatus

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

func TestDefaultPolicy(t *testing.T) {
	want := Policy{RequiredChecks: []string{}, RequiredWorkflows: []string{}, AllChecksGreen: true, IgnoreChecks: []string{},
		FailedConclusions: []string{"failure", "timed_out", "startup_failure"}}
	if p := DefaultPolicy(); !reflect.DeepEqual(p, want) {
		t.Errorf("DefaultPolicy() = %+v, want %+v", p, want)
	}
	a, b := NewPolicy(), NewPolicy()
	a.RequiredChecks = append(a.RequiredChecks, "x")
	a.FailedConclusions[0] = "cancelled"
	if len(b.RequiredChecks) != 0 || b.FailedConclusions[0] != "failure" {
		t.Error("NewPolicy values share state")
	}
	data, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"min_green_share":null`, `"required_checks":[]`, `"all_checks_green":true`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("policy JSON %s lacks %s", data, want)
		}
	}
	var back Policy
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, DefaultPolicy()) {
		t.Errorf("policy JSON does not round-trip: %+v, %v", back, err)
	}
}

func share(f float64) *float64 { return &f }

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
		want string
	}{
		{"default", func(*Policy) {}, ""},
		{"required", func(p *Policy) { p.RequiredChecks, p.RequiredWorkflows = []string{"ci/build"}, []string{"CI"} }, ""},
		{"empty check", func(p *Policy) { p.RequiredChecks = []string{"ci", " "} }, "required_checks[1] is empty"},
		{"spaced workflow", func(p *Policy) { p.RequiredWorkflows = []string{"CI "} }, `required_workflows[0] "CI " has leading or trailing spaces`},
		{"twice", func(p *Policy) { p.IgnoreChecks = []string{"a", "a"} }, `ignore_checks[1] "a" is listed twice`},
		{"required and ignored", func(p *Policy) { p.RequiredChecks, p.IgnoreChecks = []string{"a"}, []string{"a"} }, `"a" is in both required_checks and ignore_checks`},
		{"nothing checked", func(p *Policy) { p.AllChecksGreen = false }, "no commit would be checked"},
		{"only required", func(p *Policy) { p.AllChecksGreen, p.RequiredWorkflows = false, []string{"CI"} }, ""},
		{"share 0", func(p *Policy) { p.MinGreenShare = share(0) }, ""},
		{"share 1", func(p *Policy) { p.MinGreenShare = share(1) }, ""},
		{"share above 1", func(p *Policy) { p.MinGreenShare = share(95) }, "min_green_share is 95: want 0 to 1"},
		{"share negative", func(p *Policy) { p.MinGreenShare = share(-0.1) }, "min_green_share is -0.1"},
		{"share NaN", func(p *Policy) { p.MinGreenShare = share(math.NaN()) }, "min_green_share is NaN"},
		{"no conclusions", func(p *Policy) { p.FailedConclusions = nil }, "failed_conclusions is empty"},
		{"passing conclusion", func(p *Policy) { p.FailedConclusions = []string{"failure", "neutral"} }, `failed_conclusions[1] is "neutral"`},
		{"cancelled", func(p *Policy) { p.FailedConclusions = append(p.FailedConclusions, "cancelled") }, ""},
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

// TestPolicyYAML decodes policies as the config does (strictly, over the
// defaults): keys given replace the defaults, others keep them, unknown
// keys are refused.
func TestPolicyYAML(t *testing.T) {
	p := NewPolicy()
	src := "required_checks: [ci/build]\nmin_green_share: 0.9\nfailed_conclusions: [failure]\n"
	if err := yaml.UnmarshalWithOptions([]byte(src), p, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	if p.MinGreenShare == nil || *p.MinGreenShare != 0.9 || len(p.RequiredChecks) != 1 || !p.AllChecksGreen ||
		len(p.FailedConclusions) != 1 || p.FailedConclusions[0] != "failure" {
		t.Errorf("decoded %+v", p)
	}
	for _, bad := range []string{"required_check: [ci]\n", "min_green_share: most\n", "all_checks_green: sometimes\n"} {
		if err := yaml.UnmarshalWithOptions([]byte(bad), NewPolicy(), yaml.Strict()); err == nil {
			t.Errorf("%q decoded", bad)
		}
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
