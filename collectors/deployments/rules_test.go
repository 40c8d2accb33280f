package deployments

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// runCase collects a golden case and returns its facts and policy.
func runCase(t *testing.T, name string) (*Facts, *Policy) {
	t.Helper()
	cf, p := loadCase(t, filepath.Join("testdata", name))
	e := newEnv(t, &ghfake.Fixture{Routes: cf.GitHub}, &cffake.Fixture{Routes: cf.Cloudflare},
		envOptions{ghMaxPerPage: cf.GHMaxPerPage, cfMaxPerPage: cf.CFMaxPerPage})
	res, err := e.collector(t, mustTime(caseNow)).Collect(context.Background(), collectors.Request{Scope: cf.Scope, Window: week(), Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return res.Facts.(*Facts), p
}

func findingOf(t *testing.T, fs []evidence.Finding, suffix string) evidence.Finding {
	t.Helper()
	for _, f := range fs {
		if strings.HasSuffix(f.Target, suffix) {
			return f
		}
	}
	t.Fatalf("no finding for …%s", suffix)
	return evidence.Finding{}
}

// TestMergeTimeUnknownIsNotVerifiable: when the trace does not say when the
// change landed, whether the deployment came after it is unknown, never a
// pass. (A pull request without merged_at is judged by merge-activity
// itself; landedAt says unknown for it too.)
func TestMergeTimeUnknownIsNotVerifiable(t *testing.T) {
	facts, p := runCase(t, "deployed-before-merge")
	if f := findingOf(t, EvaluateFacts(*facts, *p), "/4103"); f.Status != evidence.StatusPass {
		t.Fatalf("4103 (deployed at the merge time) is %s: %s", f.Status, f.Summary)
	}
	// 4101 deployed the direct push before its commit date; without the
	// date the order is unknown.
	if f := findingOf(t, EvaluateFacts(*facts, *p), "/4101"); f.Verdict != VerdictDeployedBeforeMerge {
		t.Fatalf("4101 is %s %s", f.Status, f.Verdict)
	}
	n := 0
	for i := range facts.Traces {
		if ch := facts.Traces[i].Change; ch != nil && ch.Push != nil {
			ch.Push.CommittedAt = nil
			n++
		}
		if ch := facts.Traces[i].Change; ch != nil && ch.PR != nil {
			if when, _, _ := landedAt(facts.Traces[i]); when.IsZero() {
				t.Error("landedAt does not read merged_at")
			}
			pr := *ch.PR
			pr.MergedAt = time.Time{}
			if when, how, _ := landedAt(mergeactivity.Trace{Change: &mergeactivity.ChangeFacts{Kind: mergeactivity.KindPull, PR: &pr}}); !when.IsZero() || how != "" {
				t.Errorf("a pull request without merged_at landed at %v (%s)", when, how)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d direct pushes changed, want 1", n)
	}
	f := findingOf(t, EvaluateFacts(*facts, *p), "/4101")
	last := f.Checks[len(f.Checks)-1]
	if f.Status != evidence.StatusNotVerifiable || last.Rule != RuleMergedBeforeDeployment || last.Status != evidence.StatusNotVerifiable ||
		!strings.Contains(f.Summary, "landed on main is unknown") {
		t.Errorf("4101 without a commit date: %s %q, last check %s %s", f.Status, f.Summary, last.Rule, last.Status)
	}
}

// TestWorkersListingCompleteness: the unpaginated Workers listing is
// complete only when it holds a deployment from before the start it needs
// (or none at all).
func TestWorkersListingCompleteness(t *testing.T) {
	since := mustTime(weekStart)
	at := func(s string) *time.Time { v := mustTime(s); return &v }
	deps := []workerDeployment{{ID: "new", CreatedOn: at("2026-11-20T10:00:00Z")}, {ID: "edge", CreatedOn: at(weekStart)}}
	if r := workersReach(deps, since); r != "" {
		t.Errorf("a listing whose oldest deployment is at the window start reaches: %q", r)
	}
	if r := workersPartial(deps, since); !strings.Contains(r, "the oldest, edge, was created at "+weekStart) {
		t.Errorf("partial reason %q does not name the oldest deployment", r)
	}
	if r := workersReach(append(deps, workerDeployment{ID: "old", CreatedOn: at("2026-11-15T23:59:59Z")}), since); !strings.Contains(r, "deployment old") {
		t.Errorf("reach %q", r)
	}
	if r := workersReach(nil, since); r == "" {
		t.Error("an empty listing (no deployment ever) is complete")
	}
}

// TestProvenTreatsUnreadableStagingAsUnknown: a non-production deployment
// whose statuses could not be read may have succeeded: not proof, and not
// proof of absence either.
func TestProvenTreatsUnreadableStagingAsUnknown(t *testing.T) {
	sha := fakeSHA("staging/unreadable")
	ev := &evaluator{p: DefaultPolicy(), nonProd: []Deployment{{Target: "github.com/acme/api/deployments/1", Environment: "staging",
		CreatedAt: mustTime("2026-11-17T10:00:00Z"), Outcome: OutcomeUnreadable, OutcomeDetail: "statuses unreadable",
		Code: []Code{{Repo: api, SHA: sha}}}}}
	proof, seen := ev.proven(api, sha, mustTime("2026-11-18T10:00:00Z"))
	if proof != nil || !strings.Contains(seen, "statuses unreadable") {
		t.Errorf("proven = %v, %q; want no proof and the staging deployment named as unknown", proof, seen)
	}
}

// TestReadFailures: a repository, comparison or trace that could not be
// read after retries makes the rule that needed it not_verifiable, the
// summary naming the failure; a deployment is never pass then, fails only on
// what was established, and the collection is incomplete for it.
func TestReadFailures(t *testing.T) {
	facts, p := runCase(t, "workers-interactive-edits-and-rollbacks")
	const split, whole = "/e0816e0b-8857-4d73-ad64-e954e810d276", "/7607aa10-5172-406a-afd4-7e00e50a6a29"
	if fs, unread := judgeFacts(*facts, *p); len(unread) != 0 || findingOf(t, fs, whole).Status != evidence.StatusPass {
		t.Fatalf("before: unread %v, %s", unread, findingOf(t, fs, whole).Summary)
	}
	if len(facts.Compares) != 1 {
		t.Fatalf("compares = %+v, want one", facts.Compares)
	}
	orig := facts.Compares[0]

	// The comparison answered 502 after every retry.
	facts.Compares[0].Status = ""
	facts.Compares[0].Call = githubapi.Call{Request: orig.Call.Request, HTTPStatus: 502, Message: "Bad Gateway"}
	fs, unread := judgeFacts(*facts, *p)
	f := findingOf(t, fs, whole)
	if f.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(f.Summary, "could not be checked: version 1 (100%): comparing commit efb2691b3207 with main failed (") ||
		!strings.Contains(f.Summary, "502 Bad Gateway") {
		t.Errorf("whole deployment: %s %q, want not_verifiable naming the 502", f.Status, f.Summary)
	}
	if c := f.Checks[1]; c.Rule != RuleDefaultBranch || c.Status != evidence.StatusNotVerifiable || !strings.Contains(c.Detail, "502") {
		t.Errorf("on_default_branch = %+v", c)
	}
	// Half of the split is a quick-editor version: that failure stands.
	if f := findingOf(t, fs, split); f.Status != evidence.StatusFail || f.Verdict != VerdictInteractiveEdit {
		t.Errorf("split deployment: %s %s %q, want fail interactive_edit", f.Status, f.Verdict, f.Summary)
	}
	if !slices.ContainsFunc(unread, func(s string) bool { return strings.HasSuffix(s, whole) }) ||
		!slices.ContainsFunc(unread, func(s string) bool { return strings.HasSuffix(s, split) }) {
		t.Errorf("unread = %v, want both deployments of the commit", unread)
	}
	if got := incomplete(*facts, fs, unread); !strings.Contains(got, "deployments could not be judged: ") || !strings.Contains(got, split) {
		t.Errorf("incomplete = %q", got)
	}

	// A comparison status GitHub never documented cannot be judged either.
	facts.Compares[0] = orig
	facts.Compares[0].Status = "sideways"
	fs, unread = judgeFacts(*facts, *p)
	if f := findingOf(t, fs, whole); f.Status != evidence.StatusNotVerifiable || !strings.Contains(f.Summary, `"sideways"`) || len(unread) == 0 {
		t.Errorf("unknown comparison: %s %q, unread %v", f.Status, f.Summary, unread)
	}

	// A trace that failed: the change behind the commit is unknown.
	facts.Compares[0] = orig
	for i := range facts.Traces {
		facts.Traces[i].Change = nil
		facts.Traces[i].Error = "asking GitHub which pull request brought commit efb2691b3207 of acme/api: GET …/pulls: HTTP 500 Internal Server Error"
	}
	fs, unread = judgeFacts(*facts, *p)
	f = findingOf(t, fs, whole)
	if f.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(f.Summary, "could not be checked: version 1 (100%): the change behind commit efb2691b3207 ") ||
		!strings.Contains(f.Summary, "HTTP 500") || len(unread) == 0 {
		t.Errorf("failed trace: %s %q, unread %v", f.Status, f.Summary, unread)
	}
}

// TestRepositoryLookupFailed: the repository a Worker maps to answered 502
// after every retry: not_verifiable naming the 502, not a permission
// problem, and incomplete.
func TestRepositoryLookupFailed(t *testing.T) {
	facts, p := runCase(t, "mapped-repo-unreadable")
	if len(facts.Repos) != 1 || facts.Repos[0].Call.HTTPStatus != 404 {
		t.Fatalf("lookups = %+v, want one 404", facts.Repos)
	}
	facts.Repos[0].Call.HTTPStatus, facts.Repos[0].Call.Message = 502, "Bad Gateway"
	fs, unread := judgeFacts(*facts, *p)
	f := findingOf(t, fs, "/98e6b15f-e99e-491c-ac0f-a1b8e7d37d8f")
	if f.Status != evidence.StatusNotVerifiable || !strings.Contains(f.Summary, "could not be checked: version 1 (100%): reading repository acme/ghost failed (") ||
		!strings.Contains(f.Summary, "502 Bad Gateway") {
		t.Errorf("deployment: %s %q", f.Status, f.Summary)
	}
	if c := f.Checks[len(f.Checks)-1]; c.Status != evidence.StatusNotVerifiable || c.Fix != "" {
		t.Errorf("on_default_branch = %+v, want not_verifiable without a permission fix", c)
	}
	if !slices.Equal(unread, []string{f.Target}) {
		t.Errorf("unread = %v", unread)
	}
}

// TestServerErrorsAfterRetries: a comparison and a trace GitHub answers 500,
// also on every retry, make their deployments not_verifiable naming the
// 500 — never error findings — and the collection incomplete: the signed
// evidence is an error saying which deployments are missing.
func TestServerErrorsAfterRetries(t *testing.T) {
	cf, p := loadCase(t, filepath.Join("testdata", "compare-and-trace-server-errors"))
	e := newEnv(t, &ghfake.Fixture{Routes: cf.GitHub}, &cffake.Fixture{Routes: cf.Cloudflare}, envOptions{})
	pred, res := collectortest.Record(t, e.collector(t, mustTime(caseNow)), collectors.Request{Scope: cf.Scope, Window: week(), Policy: p})
	for _, id := range []string{"/5101", "/5102"} {
		f := findingOf(t, pred.Findings, id)
		if f.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(f.Summary, "could not be checked: ") || !strings.Contains(f.Summary, "500") {
			t.Errorf("%s: %s %q, want not_verifiable naming the 500", id, f.Status, f.Summary)
		}
	}
	if want := "2 deployments could not be judged: github.com/acme/api/deployments/5101, github.com/acme/api/deployments/5102"; res.Incomplete != want {
		t.Errorf("Incomplete = %q, want %q", res.Incomplete, want)
	}
	if pred.Status != evidence.StatusError || pred.Reason != "incomplete: "+res.Incomplete {
		t.Errorf("evidence = %s %q, want error with the incompleteness as reason", pred.Status, pred.Reason)
	}
	if pred.Counts[evidence.StatusError] != 0 {
		t.Errorf("counts = %v, want no error finding", pred.Counts)
	}
}

// TestDeploymentWithoutCode: a Workers deployment Cloudflare lists without
// any version deployed nothing that can be traced: not_verifiable, and the
// collection incomplete for it.
func TestDeploymentWithoutCode(t *testing.T) {
	facts, p := runCase(t, "workers-interactive-edits-and-rollbacks")
	const whole = "/7607aa10-5172-406a-afd4-7e00e50a6a29"
	n := 0
	for i := range facts.Workers {
		for j := range facts.Workers[i].Views {
			if strings.HasSuffix(facts.Workers[i].Views[j].Target, whole) {
				facts.Workers[i].Views[j].Code = []Code{}
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d views changed, want 1", n)
	}
	fs, unread := judgeFacts(*facts, *p)
	f := findingOf(t, fs, whole)
	if f.Status != evidence.StatusNotVerifiable || f.Summary != "could not be checked: the deployment names no code (no version)" ||
		len(f.Checks) != 1 || f.Checks[0].Status != evidence.StatusNotVerifiable {
		t.Errorf("deployment = %+v", f)
	}
	if !slices.Equal(unread, []string{f.Target}) {
		t.Errorf("unread = %v", unread)
	}
}
