package branchprotection

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
)

// view normalises a protection body and rule items, with rulesets read from
// the given bodies (id → body; a missing id is unreadable).
func view(t *testing.T, protection string, rules string, rulesets map[int64]string) (View, error) {
	t.Helper()
	in := viewInput{classic: ClassicFacts{Status: ClassicNotProtected}, rules: RulesFacts{Status: ReadOK}, docs: map[rulesetKey]*rulesetDoc{}}
	if protection != "" {
		in.classic.Status = ClassicProtected
		in.protection = &protectionDoc{}
		if err := json.Unmarshal([]byte(protection), in.protection); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.Unmarshal([]byte(rules), &in.items); err != nil {
		t.Fatal(err)
	}
	for _, k := range distinctRulesets(in.items) {
		rf := RulesetFacts{ID: k.id, SourceType: k.sourceType, Source: k.source, Status: ReadUnknown, HTTPStatus: 404, Message: "Not Found"}
		if body, ok := rulesets[k.id]; ok {
			rf.Status, rf.HTTPStatus, rf.Message = ReadOK, 200, ""
			var doc rulesetDoc
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatal(err)
			}
			in.docs[k] = &doc
		}
		in.rulesets = append(in.rulesets, rf)
	}
	return buildView(in)
}

func TestBuildViewClassicFieldsMissing(t *testing.T) {
	// No enforce_admins, no allow_force_pushes, a review object without a
	// count: unknown, not false.
	v, err := view(t, `{"required_pull_request_reviews": {"dismiss_stale_reviews": true}, "allow_deletions": {"enabled": false}}`, `[]`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Sources) != 1 || v.Sources[0].Bypassable != nil || !strings.Contains(v.Sources[0].Note, "enforce_admins") {
		t.Errorf("classic source = %+v, want bypass unknown with a note", v.Sources)
	}
	s := v.Settings
	if s.RequiredApprovals[0].Value != nil {
		t.Errorf("approvals = %v, want unknown", *s.RequiredApprovals[0].Value)
	}
	if s.ForcePushesBlocked[0].Value != nil || s.SignedCommits[0].Value != nil {
		t.Error("absent allow_force_pushes / required_signatures should be unknown")
	}
	if v := s.DeletionsBlocked[0].Value; v == nil || !*v {
		t.Error("allow_deletions disabled should mean deletions blocked")
	}
	if v := s.RequiredStatusChecks[0].Value; v == nil || len(v.Contexts) != 0 {
		t.Error("no required_status_checks object means no checks required")
	}
}

func TestBuildViewClassicNoReviews(t *testing.T) {
	v, err := view(t, `{"enforce_admins": {"enabled": true}, "required_status_checks": null}`, `[]`, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := v.Settings
	if a := s.RequiredApprovals[0]; a.Value == nil || *a.Value != 0 || a.Bypassable == nil || *a.Bypassable {
		t.Errorf("approvals = %+v, want known 0 from an enforcing source", a)
	}
	if d := s.DismissStaleReviews[0].Value; d == nil || *d {
		t.Error("no review object means stale reviews are not dismissed")
	}
}

func TestBuildViewChecksMerged(t *testing.T) {
	v, err := view(t, `{"enforce_admins": {"enabled": true}, "required_status_checks": {"strict": false,
		"contexts": ["b", "a"], "checks": [{"context": "a", "app_id": null}, {"context": "c", "app_id": 1}]}}`, `[]`, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := v.Settings.RequiredStatusChecks[0].Value
	if strings.Join(got.Contexts, ",") != "a,b,c" || got.Strict == nil || *got.Strict {
		t.Errorf("checks = %+v", got)
	}
}

const rs73 = `{"id": 73, "name": "main protection", "source_type": "Organization", "source": "acme", "enforcement": "%s", "bypass_actors": []}`

func TestBuildViewRulesetNotActive(t *testing.T) {
	rules := `[{"type": "deletion", "ruleset_source_type": "Organization", "ruleset_source": "acme", "ruleset_id": 73}]`
	v, err := view(t, "", rules, map[int64]string{73: strings.Replace(rs73, "%s", "evaluate", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Settings.DeletionsBlocked) != 0 {
		t.Error("a ruleset in evaluate mode enforces nothing")
	}
	if len(v.Sources) != 1 || !strings.Contains(v.Sources[0].Note, "evaluate") {
		t.Errorf("sources = %+v, want the ruleset noted as not enforced", v.Sources)
	}
	v, _ = view(t, "", rules, map[int64]string{73: strings.Replace(rs73, "%s", "active", 1)})
	if len(v.Settings.DeletionsBlocked) != 1 || v.Sources[0].Bypassable == nil || *v.Sources[0].Bypassable {
		t.Errorf("active ruleset: %+v", v)
	}
}

func TestBuildViewRulesetUnreadable(t *testing.T) {
	rules := `[{"type": "non_fast_forward", "ruleset_source_type": "Organization", "ruleset_source": "acme", "ruleset_id": 73}]`
	v, err := view(t, "", rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := v.Sources[0]
	if !src.Unreadable || src.Bypassable != nil || src.Label() != "ruleset 73 (org acme)" {
		t.Errorf("source = %+v (%s)", src, src.Label())
	}
	if o := v.Settings.ForcePushesBlocked; len(o) != 1 || o[0].Bypassable != nil {
		t.Errorf("observation = %+v, want bypass unknown", o)
	}
}

func TestBuildViewRuleWithoutRulesetID(t *testing.T) {
	v, err := view(t, "", `[{"type": "deletion"}]`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Sources) != 1 || v.Sources[0].Bypassable != nil || v.Settings.DeletionsBlocked[0].Bypassable != nil {
		t.Errorf("view = %+v, want a source whose bypass is unknown", v)
	}
}

func TestBuildViewMalformedParameters(t *testing.T) {
	rules := `[{"type": "pull_request", "ruleset_id": 9, "ruleset_source_type": "Repository", "ruleset_source": "acme/api",
		"parameters": {"required_approving_review_count": "one"}}]`
	v, err := view(t, "", rules, nil)
	if err == nil || !strings.Contains(err.Error(), "pull_request") {
		t.Errorf("err = %v, want a parse error naming the rule", err)
	}
	// The rule's values are unknown, not absent: no rule fails for want of
	// a value the ruleset may set.
	if a := v.Settings.RequiredApprovals; len(a) != 1 || a[0].Value != nil || a[0].Source != "ruleset:9" {
		t.Errorf("approvals = %+v, want one unknown observation of ruleset 9", a)
	}
	bf := branchFacts(v)
	bf.Error = err.Error()
	if st := checkStatuses(Evaluate(bf, DefaultPolicy())); st[RuleMinApprovals] != evidence.StatusNotVerifiable {
		t.Errorf("min_approvals = %s, want not_verifiable", st[RuleMinApprovals])
	}
	rules = `[{"type": "required_status_checks", "ruleset_id": 9, "ruleset_source_type": "Repository", "ruleset_source": "acme/api",
		"parameters": {"required_status_checks": "ci"}}]`
	v, err = view(t, "", rules, nil)
	if err == nil {
		t.Fatal("a malformed required_status_checks rule parsed")
	}
	if c := v.Settings.RequiredStatusChecks; len(c) != 1 || c[0].Value != nil {
		t.Errorf("required status checks = %+v, want one unknown observation", c)
	}
}

func TestSourceLabel(t *testing.T) {
	cases := map[string]Source{
		"classic protection":                          {Kind: kindClassic},
		"ruleset 'r' (org acme, id 1)":                {Kind: kindRuleset, RulesetID: 1, Name: "r", SourceType: "Organization", Source: "acme"},
		"ruleset 'r' (repository acme/api, id 2)":     {Kind: kindRuleset, RulesetID: 2, Name: "r", SourceType: "Repository", Source: "acme/api"},
		"ruleset 'r' (enterprise big, id 3)":          {Kind: kindRuleset, RulesetID: 3, Name: "r", SourceType: "Enterprise", Source: "big"},
		"ruleset 4 (something)":                       {Kind: kindRuleset, RulesetID: 4, SourceType: "Other", Source: "something"},
		"ruleset 'r' (repository acme/api, id 5)":     {Kind: kindRuleset, RulesetID: 5, Name: "r", SourceType: "Repository", Source: "acme/api", Enforcement: "active"},
		"ruleset 'main protection' (org acme, id 73)": ruleset73,
	}
	for want, src := range cases {
		if got := src.Label(); got != want {
			t.Errorf("Label() = %q, want %q", got, want)
		}
	}
}
