package branchprotection

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/golden"
)

// Hand-built facts: a branch whose sources and settings the test states.

func obs[T any](src string, v T, bypassable bool) Observation[T] {
	return Observation[T]{Source: src, Value: &v, Bypassable: &bypassable}
}

var (
	classicEnforced = Source{ID: "classic", Kind: kindClassic, Bypassable: ptr(false)}
	classicAdmins   = Source{ID: "classic", Kind: kindClassic, Bypassable: ptr(true), BypassActors: []string{"repository administrators (enforce_admins is disabled)"}}
	ruleset73       = Source{ID: "ruleset:73", Kind: kindRuleset, RulesetID: 73, Name: "main protection", SourceType: "Organization", Source: "acme", Enforcement: "active", Bypassable: ptr(false)}
)

// fullClassic is classic protection meeting every rule, optional ones
// included.
func fullClassic(bypassable bool) Settings {
	return Settings{
		RequiredApprovals:       []Observation[int]{obs("classic", 2, bypassable)},
		DismissStaleReviews:     []Observation[bool]{obs("classic", true, bypassable)},
		RequireCodeOwnerReview:  []Observation[bool]{obs("classic", true, bypassable)},
		RequireLastPushApproval: []Observation[bool]{obs("classic", true, bypassable)},
		RequiredStatusChecks:    []Observation[StatusChecks]{obs("classic", StatusChecks{Contexts: []string{"ci/build"}}, bypassable)},
		ForcePushesBlocked:      []Observation[bool]{obs("classic", true, bypassable)},
		DeletionsBlocked:        []Observation[bool]{obs("classic", true, bypassable)},
		SignedCommits:           []Observation[bool]{obs("classic", true, bypassable)},
		LinearHistory:           []Observation[bool]{obs("classic", true, bypassable)},
	}
}

func branchFacts(v View) BranchFacts {
	return BranchFacts{Repo: "Acme/API", Branch: "Main", View: v}
}

func allOptional() Policy {
	p := DefaultPolicy()
	p.RequireCodeOwnerReview, p.RequireSignedCommits, p.RequireLinearHistory, p.RequireLastPushApproval = true, true, true, true
	return p
}

func checkStatuses(f evidence.Finding) map[string]evidence.Status {
	m := map[string]evidence.Status{}
	for _, c := range f.Checks {
		m[c.Rule] = c.Status
	}
	return m
}

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	want := Policy{MinApprovals: 1, DismissStaleApprovals: true, RequireStatusChecks: true, RequiredChecks: []string{},
		NoAdminBypass: true, BlockForcePushes: true, BlockDeletions: true}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("DefaultPolicy() = %+v, want %+v", p, want)
	}
	a, b := NewPolicy(), NewPolicy()
	a.RequiredChecks = append(a.RequiredChecks, "x")
	a.MinApprovals = 3
	if b.MinApprovals != 1 || len(b.RequiredChecks) != 0 {
		t.Error("NewPolicy values share state")
	}
	data, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"required_checks":[]`) || !strings.Contains(string(data), `"no_admin_bypass":true`) {
		t.Errorf("policy JSON = %s", data)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
		want string
	}{
		{"default", func(*Policy) {}, ""},
		{"zero approvals", func(p *Policy) { p.MinApprovals = 0 }, ""},
		{"ten approvals", func(p *Policy) { p.MinApprovals = 10 }, ""},
		{"negative", func(p *Policy) { p.MinApprovals = -1 }, "min_approvals is -1: want 0 to 10"},
		{"eleven", func(p *Policy) { p.MinApprovals = 11 }, "min_approvals is 11: want 0 to 10"},
		{"empty check name", func(p *Policy) { p.RequiredChecks = []string{"ci", " "} }, "required_checks[1] is empty"},
		{"checks without status checks", func(p *Policy) { p.RequiredChecks = []string{"ci"}; p.RequireStatusChecks = false },
			"required_checks lists checks but require_status_checks is false"},
		{"nothing enabled", func(p *Policy) { *p = Policy{} }, "enables no rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPolicy()
			tt.edit(p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestSampleConfig: sample.yaml decodes strictly into exactly the default
// policy, so the documented defaults cannot drift from the code.
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
	keys := reflect.TypeFor[Policy]().NumField()
	if len(section) != keys {
		t.Errorf("sample.yaml has %d keys, Policy has %d fields", len(section), keys)
	}
}

func TestEvaluateAllRulesPass(t *testing.T) {
	v := View{Classic: ClassicProtected, Rules: ReadOK, Sources: []Source{classicEnforced}, Settings: fullClassic(false)}
	p := allOptional()
	p.RequiredChecks = []string{"ci/build"}
	f := Evaluate(branchFacts(v), p)
	if f.Status != evidence.StatusPass || f.Summary != "meets all 11 rules" {
		t.Fatalf("finding = %s %q: %+v", f.Status, f.Summary, f.Checks)
	}
	if f.Target != "github.com/acme/api@Main" {
		t.Errorf("target = %q, want owner and repository lower-cased, branch kept", f.Target)
	}
	for _, c := range f.Checks {
		if c.Fix != "" {
			t.Errorf("%s passes but has a fix %q", c.Rule, c.Fix)
		}
		if !strings.HasPrefix(c.Detail, "classic protection ") && c.Rule != RuleNoAdminBypass {
			t.Errorf("%s detail %q does not name its source", c.Rule, c.Detail)
		}
	}
}

func TestEvaluateOptionalRulesUnmet(t *testing.T) {
	s := fullClassic(false)
	s.RequireCodeOwnerReview = []Observation[bool]{obs("classic", false, false)}
	s.SignedCommits = []Observation[bool]{obs("classic", false, false)}
	s.LinearHistory = []Observation[bool]{obs("classic", false, false)}
	s.RequireLastPushApproval = []Observation[bool]{obs("classic", false, false)}
	v := View{Classic: ClassicProtected, Rules: ReadOK, Sources: []Source{classicEnforced}, Settings: s}

	f := Evaluate(branchFacts(v), allOptional())
	want := "fails require_code_owner_review, require_last_push_approval, require_signed_commits, require_linear_history"
	if f.Status != evidence.StatusFail || f.Summary != want {
		t.Errorf("finding = %s %q, want fail %q", f.Status, f.Summary, want)
	}
	for _, c := range f.Checks {
		if c.Status == evidence.StatusFail && (c.Fix == "" || !strings.Contains(c.Fix, "Main")) {
			t.Errorf("%s: fix %q should say how, for the branch", c.Rule, c.Fix)
		}
	}
	// The default policy does not look at the optional settings.
	if f := Evaluate(branchFacts(v), DefaultPolicy()); f.Status != evidence.StatusPass {
		t.Errorf("default policy: %s %q", f.Status, f.Summary)
	}
}

func TestEvaluateRequiredChecks(t *testing.T) {
	s := fullClassic(false)
	s.RequiredStatusChecks = []Observation[StatusChecks]{
		obs("classic", StatusChecks{Contexts: []string{"ci/build"}}, false),
		obs("ruleset:73", StatusChecks{Contexts: []string{"security/scan"}}, true),
	}
	bypassed73 := ruleset73
	bypassed73.Bypassable, bypassed73.BypassActors = ptr(true), []string{"Team 7 (always)"}
	v := View{Classic: ClassicProtected, Rules: ReadOK, Sources: []Source{classicEnforced, bypassed73}, Settings: s}

	p := DefaultPolicy()
	p.RequiredChecks = []string{"ci/build", "lint", "security/scan"}
	f := Evaluate(branchFacts(v), p)
	st := checkStatuses(f)
	if st[RuleRequiredChecks] != evidence.StatusFail {
		t.Fatalf("required_checks = %s, want fail", st[RuleRequiredChecks])
	}
	for _, c := range f.Checks {
		if c.Rule == RuleRequiredChecks && (!strings.HasPrefix(c.Detail, "not required: lint;") || !strings.Contains(c.Fix, "add lint")) {
			t.Errorf("required_checks: detail %q / fix %q should name only the missing check", c.Detail, c.Fix)
		}
	}

	// The checks are all required, one only by a ruleset with bypass actors.
	p.RequiredChecks = []string{"ci/build", "security/scan"}
	f = Evaluate(branchFacts(v), p)
	st = checkStatuses(f)
	if st[RuleRequiredChecks] != evidence.StatusPass || st[RuleNoAdminBypass] != evidence.StatusFail {
		t.Fatalf("statuses = %v, want required_checks pass and no_admin_bypass fail", st)
	}
	for _, c := range f.Checks {
		if c.Rule == RuleNoAdminBypass && (!strings.HasPrefix(c.Detail, "required check security/scan are enforced only") || !strings.Contains(c.Detail, "Team 7 (always)")) {
			t.Errorf("no_admin_bypass detail = %q", c.Detail)
		}
	}
}

// TestEvaluateUnknownIsNotFalse: a setting GitHub did not report is
// not_verifiable, never pass or fail.
func TestEvaluateUnknownIsNotFalse(t *testing.T) {
	s := fullClassic(false)
	s.RequiredApprovals = []Observation[int]{{Source: "classic", Value: nil, Bypassable: ptr(false)}}
	v := View{Classic: ClassicProtected, Rules: ReadOK, Sources: []Source{classicEnforced}, Settings: s}
	f := Evaluate(branchFacts(v), DefaultPolicy())
	st := checkStatuses(f)
	if st[RuleMinApprovals] != evidence.StatusNotVerifiable {
		t.Errorf("min_approvals = %s, want not_verifiable", st[RuleMinApprovals])
	}
	if f.Status != evidence.StatusNotVerifiable || f.Summary != "not verifiable: min_approvals" {
		t.Errorf("finding = %s %q", f.Status, f.Summary)
	}
}

func TestEvaluateBypassUnknown(t *testing.T) {
	hidden := ruleset73
	hidden.Bypassable = nil
	hidden.Note = "GitHub returned the ruleset without bypass_actors"
	s := emptySettings()
	s.RequiredApprovals = []Observation[int]{{Source: "ruleset:73", Value: ptr(1)}}
	s.DismissStaleReviews = []Observation[bool]{{Source: "ruleset:73", Value: ptr(true)}}
	s.RequiredStatusChecks = []Observation[StatusChecks]{{Source: "ruleset:73", Value: &StatusChecks{Contexts: []string{"build"}}}}
	s.ForcePushesBlocked = []Observation[bool]{{Source: "ruleset:73", Value: ptr(true)}}
	s.DeletionsBlocked = []Observation[bool]{{Source: "ruleset:73", Value: ptr(true)}}
	v := View{Classic: ClassicNotProtected, Rules: ReadOK, Sources: []Source{hidden}, Settings: s}
	f := Evaluate(branchFacts(v), DefaultPolicy())
	st := checkStatuses(f)
	if st[RuleMinApprovals] != evidence.StatusPass || st[RuleNoAdminBypass] != evidence.StatusNotVerifiable {
		t.Fatalf("statuses = %v", st)
	}
	for _, c := range f.Checks {
		if c.Rule == RuleNoAdminBypass && !strings.Contains(c.Fix, `"Administration: read and write"`) {
			t.Errorf("fix %q should name the permission that shows bypass_actors", c.Fix)
		}
	}
	// Switching no_admin_bypass off makes the same facts pass.
	p := DefaultPolicy()
	p.NoAdminBypass = false
	if f := Evaluate(branchFacts(v), p); f.Status != evidence.StatusPass {
		t.Errorf("without no_admin_bypass: %s %q", f.Status, f.Summary)
	}
}

// TestEvaluateClassicUnknown: with classic protection unreadable a rule met
// only by a bypassable ruleset cannot be called bypassable: classic
// protection might enforce it.
func TestEvaluateClassicUnknown(t *testing.T) {
	bypassed := ruleset73
	bypassed.Bypassable = ptr(true)
	s := emptySettings()
	s.RequiredApprovals = []Observation[int]{obs("ruleset:73", 1, true)}
	v := View{Classic: ClassicUnknown, ClassicNote: "branch protection: GitHub answered 403 (Forbidden)", Rules: ReadOK,
		Sources: []Source{bypassed}, Settings: s}
	f := Evaluate(branchFacts(v), DefaultPolicy())
	want := map[string]evidence.Status{
		RuleMinApprovals: evidence.StatusPass, RuleDismissStaleApprovals: evidence.StatusNotVerifiable,
		RuleRequireStatusChecks: evidence.StatusNotVerifiable, RuleBlockForcePushes: evidence.StatusNotVerifiable,
		RuleBlockDeletions: evidence.StatusNotVerifiable, RuleNoAdminBypass: evidence.StatusNotVerifiable,
	}
	if st := checkStatuses(f); !reflect.DeepEqual(st, want) {
		t.Errorf("statuses = %v, want %v", st, want)
	}
	for _, c := range f.Checks {
		if c.Status == evidence.StatusNotVerifiable && (!strings.Contains(c.Detail, "403") || !strings.Contains(c.Fix, `"Administration: read"`)) {
			t.Errorf("%s: detail %q / fix %q should give the reason and the permission", c.Rule, c.Detail, c.Fix)
		}
	}
	// Once classic protection is known to be absent, the bypass is a failure.
	v.Classic, v.ClassicNote = ClassicNotProtected, ""
	if st := checkStatuses(Evaluate(branchFacts(v), DefaultPolicy())); st[RuleNoAdminBypass] != evidence.StatusFail {
		t.Errorf("no_admin_bypass = %s, want fail", st[RuleNoAdminBypass])
	}
}

func TestEvaluateBranchNotFound(t *testing.T) {
	bf := branchFacts(View{Classic: ClassicUnknown, Rules: ReadOK, Sources: []Source{}, Settings: emptySettings()})
	bf.Classic = ClassicFacts{Status: ClassicUnknown, Call: Call{HTTPStatus: 404, Message: "Branch not found"}}
	f := Evaluate(bf, DefaultPolicy())
	if f.Status != evidence.StatusNotVerifiable || !strings.Contains(f.Checks[0].Fix, "check that branch Main exists") {
		t.Errorf("finding = %s, fix %q", f.Status, f.Checks[0].Fix)
	}
}

func TestEvaluateMinApprovals(t *testing.T) {
	s := fullClassic(false)
	s.RequiredApprovals = []Observation[int]{obs("classic", 1, false), obs("ruleset:73", 2, false)}
	v := View{Classic: ClassicProtected, Rules: ReadOK, Sources: []Source{classicEnforced, ruleset73}, Settings: s}
	p := DefaultPolicy()
	p.MinApprovals = 2
	f := Evaluate(branchFacts(v), p)
	c := f.Checks[0]
	wantDetail := "classic protection requires 1 approval; ruleset 'main protection' (org acme, id 73) requires 2 approvals"
	if c.Rule != RuleMinApprovals || c.Status != evidence.StatusPass || c.Detail != wantDetail {
		t.Errorf("check = %+v, want pass with detail %q", c, wantDetail)
	}
	p.MinApprovals = 3
	if c := Evaluate(branchFacts(v), p).Checks[0]; c.Status != evidence.StatusFail || !strings.HasSuffix(c.Detail, "(policy: at least 3 approvals)") {
		t.Errorf("min 3: %+v", c)
	}
	p.MinApprovals = 0
	for _, c := range Evaluate(branchFacts(v), p).Checks {
		if c.Rule == RuleMinApprovals {
			t.Error("min_approvals 0 should turn the rule off")
		}
	}
}

func TestEvaluateAdminBypassClassic(t *testing.T) {
	v := View{Classic: ClassicProtected, Rules: ReadOK, Sources: []Source{classicAdmins}, Settings: fullClassic(true)}
	f := Evaluate(branchFacts(v), DefaultPolicy())
	if f.Status != evidence.StatusFail || f.Summary != "fails no_admin_bypass" {
		t.Fatalf("finding = %s %q", f.Status, f.Summary)
	}
	// A non-bypassable ruleset meeting the same rules makes it pass.
	v.Sources = append(v.Sources, ruleset73)
	v.Settings.RequiredApprovals = append(v.Settings.RequiredApprovals, obs("ruleset:73", 1, false))
	v.Settings.DismissStaleReviews = append(v.Settings.DismissStaleReviews, obs("ruleset:73", true, false))
	v.Settings.RequiredStatusChecks = append(v.Settings.RequiredStatusChecks, obs("ruleset:73", StatusChecks{Contexts: []string{"b"}}, false))
	v.Settings.ForcePushesBlocked = append(v.Settings.ForcePushesBlocked, obs("ruleset:73", true, false))
	v.Settings.DeletionsBlocked = append(v.Settings.DeletionsBlocked, obs("ruleset:73", true, false))
	if f := Evaluate(branchFacts(v), DefaultPolicy()); f.Status != evidence.StatusPass {
		t.Errorf("with an enforcing ruleset: %s %q", f.Status, f.Summary)
	}
}

// A branch none of whose protection could be read is not_verifiable, naming
// the failure, without checks.
func TestEvaluateErrorFacts(t *testing.T) {
	bf := branchFacts(View{Classic: NotRead, Rules: NotRead, Sources: []Source{}, Settings: emptySettings()})
	bf.Error = "GET /repos/Acme/API/branches/Main/protection: HTTP 502 Bad Gateway"
	f := Evaluate(bf, DefaultPolicy())
	if f.Status != evidence.StatusNotVerifiable || len(f.Checks) != 0 || f.Summary != "could not be checked: "+bf.Error {
		t.Errorf("finding = %+v", f)
	}
}

// A branch some of whose reads failed after retries is judged on what was
// read: a rule it shows unmet fails; what the failed read could decide is
// not_verifiable, its fix to collect again; the finding is never pass.
func TestEvaluatePartlyRead(t *testing.T) {
	const reason = "reading ruleset 73 (acme) of Acme/API: GET /repos/Acme/API/rulesets/73?includes_parents=true: HTTP 502 Bad Gateway: Server Error"
	// No classic protection, the rules read; the ruleset they come from
	// failed, so who may bypass it is unknown. It blocks deletion only.
	failed := Source{ID: "ruleset:73", Kind: kindRuleset, RulesetID: 73, SourceType: "Organization", Source: "acme", Unreadable: true,
		Note: "GitHub answered 502 (Server Error) to the ruleset request: its name and who may bypass it are unknown"}
	s := emptySettings()
	s.DeletionsBlocked = []Observation[bool]{{Source: "ruleset:73", Value: ptr(true)}}
	bf := branchFacts(View{Classic: ClassicNotProtected, Rules: ReadOK, Sources: []Source{failed}, Settings: s})
	bf.Classic = ClassicFacts{Status: ClassicNotProtected}
	bf.Rules = RulesFacts{Status: ReadOK}
	bf.Rulesets = []RulesetFacts{{ID: 73, SourceType: "Organization", Source: "acme", Status: ReadError, HTTPStatus: 502, Message: "Server Error"}}
	bf.Error = reason
	f := Evaluate(bf, DefaultPolicy())
	want := map[string]evidence.Status{
		RuleMinApprovals: evidence.StatusFail, RuleDismissStaleApprovals: evidence.StatusFail, RuleRequireStatusChecks: evidence.StatusFail,
		RuleBlockForcePushes: evidence.StatusFail, RuleBlockDeletions: evidence.StatusPass, RuleNoAdminBypass: evidence.StatusNotVerifiable,
	}
	if st := checkStatuses(f); !reflect.DeepEqual(st, want) {
		t.Errorf("statuses = %v, want %v", st, want)
	}
	if want := "fails min_approvals, dismiss_stale_approvals, require_status_checks, block_force_pushes; could not be checked: " + reason; f.Status != evidence.StatusFail || f.Summary != want {
		t.Errorf("finding = %s %q, want fail %q", f.Status, f.Summary, want)
	}
	if c := f.Checks[len(f.Checks)-1]; !strings.HasPrefix(c.Fix, "Collect again") || strings.Contains(c.Fix, "Metadata") {
		t.Errorf("no_admin_bypass fix = %q: a failed read is collected again, no permission fixes it", c.Fix)
	}

	// Classic protection failed; a non-bypassable ruleset meets every
	// rule. Withheld, classic protection could only add restrictions (pass);
	// failed, the finding is still not_verifiable, never pass.
	s = emptySettings()
	s.RequiredApprovals = []Observation[int]{obs("ruleset:73", 1, false)}
	s.DismissStaleReviews = []Observation[bool]{obs("ruleset:73", true, false)}
	s.RequiredStatusChecks = []Observation[StatusChecks]{obs("ruleset:73", StatusChecks{Contexts: []string{"ci"}}, false)}
	s.ForcePushesBlocked = []Observation[bool]{obs("ruleset:73", true, false)}
	s.DeletionsBlocked = []Observation[bool]{obs("ruleset:73", true, false)}
	v := View{Classic: ClassicUnknown, ClassicNote: "branch protection: reading it failed (GitHub answered 502 (Server Error))", Rules: ReadOK,
		Sources: []Source{ruleset73}, Settings: s}
	bf = branchFacts(v)
	bf.Classic = ClassicFacts{Status: ClassicUnknown, Call: Call{HTTPStatus: 403, Message: "Forbidden"}}
	if f := Evaluate(bf, DefaultPolicy()); f.Status != evidence.StatusPass {
		t.Fatalf("classic protection withheld: %s %q, want pass", f.Status, f.Summary)
	}
	bf.Classic = ClassicFacts{Status: ClassicError, Call: Call{HTTPStatus: 502, Message: "Server Error"}}
	bf.Error = "reading branch protection of Acme/API@Main: GET /repos/Acme/API/branches/Main/protection: HTTP 502 Bad Gateway: Server Error"
	f = Evaluate(bf, DefaultPolicy())
	if f.Status != evidence.StatusNotVerifiable || f.Summary != "could not be checked: "+bf.Error {
		t.Errorf("classic protection failed: %s %q, want not_verifiable naming the 502", f.Status, f.Summary)
	}
	for _, c := range f.Checks {
		if c.Status != evidence.StatusPass {
			t.Errorf("%s: %s %q, want pass: the ruleset meets it", c.Rule, c.Status, c.Detail)
		}
	}

	// A rule unmet with classic protection failed is not_verifiable, not
	// fail, and the detail names the failure.
	v.Settings.ForcePushesBlocked = []Observation[bool]{}
	bf.View = v
	f = Evaluate(bf, DefaultPolicy())
	st := checkStatuses(f)
	if f.Status != evidence.StatusNotVerifiable || st[RuleBlockForcePushes] != evidence.StatusNotVerifiable {
		t.Errorf("finding %s, block_force_pushes %s: want both not_verifiable", f.Status, st[RuleBlockForcePushes])
	}
	for _, c := range f.Checks {
		if c.Rule == RuleBlockForcePushes && (!strings.Contains(c.Detail, "502") || !strings.HasPrefix(c.Fix, "Collect again") || strings.Contains(c.Fix, "Administration")) {
			t.Errorf("block_force_pushes: detail %q / fix %q should name the 502 and say to collect again", c.Detail, c.Fix)
		}
	}
}

func TestEvaluateDoesNotMutate(t *testing.T) {
	v := View{Classic: ClassicProtected, Rules: ReadOK, Sources: []Source{classicAdmins}, Settings: fullClassic(true)}
	bf := branchFacts(v)
	before := golden.JSON(t, bf)
	a := Evaluate(bf, allOptional())
	b := Evaluate(bf, allOptional())
	if string(golden.JSON(t, bf)) != string(before) {
		t.Error("Evaluate changed its facts")
	}
	if !findingEqual(a, b) {
		t.Error("Evaluate is not deterministic")
	}
}

func TestTriState(t *testing.T) {
	tr, fa := ptr(true), ptr(false)
	cases := []struct {
		a, b, want *bool
	}{
		{tr, nil, tr}, {nil, tr, tr}, {fa, fa, fa}, {fa, nil, nil}, {nil, nil, nil}, {fa, tr, tr},
	}
	for _, c := range cases {
		got := or(c.a, c.b)
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("or(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if not(nil) != nil || *not(tr) || !*not(fa) {
		t.Error("not is wrong")
	}
}
