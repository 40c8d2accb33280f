package deployments

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/ghfake"
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
