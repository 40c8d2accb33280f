package cistatus

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// collectCase collects a golden case of testdata/ and returns its result's
// findings by target.
func collectCase(t *testing.T, name string) (map[string]evidence.Finding, string, *Facts) {
	t.Helper()
	dir := filepath.Join("testdata", name)
	gc, p := loadCase(t, dir)
	_, _, gh := fakeGitHub(t, dir, gc.MaxPerPage)
	res := collect(t, newCollector(t, gh, gc.Now, 0), gc.Scope, gc.Window, p)
	out := map[string]evidence.Finding{}
	for _, f := range res.Findings {
		out[f.Target] = f
	}
	return out, res.Incomplete, res.Facts.(*Facts)
}

func wantFinding(t *testing.T, fs map[string]evidence.Finding, target string, status evidence.Status, verdict, summary string) {
	t.Helper()
	f, ok := fs[target]
	switch {
	case !ok:
		t.Errorf("%s: no finding", target)
	case f.Status != status || f.Verdict != verdict || !strings.Contains(f.Summary, summary):
		t.Errorf("%s: %s %q %q; want %s %q with %q", target, f.Status, f.Verdict, f.Summary, status, verdict, summary)
	}
}

// TestCheckGroups: a check run never hides another app's or another
// workflow's check run of the same name; within a workflow (a new run, or a
// re-run in the same check suite) the latest attempt decides; check suites
// that no run names stay apart.
func TestCheckGroups(t *testing.T) {
	fs, incomplete, _ := collectCase(t, "check-groups")
	c := func(name string) string { return CommitTarget("acme/api", sha(name)) }
	wantFinding(t, fs, c("g1"), evidence.StatusFail, VerdictFailed, "test (github-actions, workflow CI) failure")
	wantFinding(t, fs, c("g2"), evidence.StatusFail, VerdictFailed, "test (github-actions, workflow CI) failure")
	wantFinding(t, fs, c("g3"), evidence.StatusPass, VerdictGreen, "test passed")
	wantFinding(t, fs, c("g4"), evidence.StatusPass, VerdictGreen, "test passed")
	wantFinding(t, fs, c("g5"), evidence.StatusFail, VerdictFailed, "failure")
	// The required check test is met only if every group of that name is.
	for _, g := range []string{"g1", "g2", "g5"} {
		if f := fs[c(g)]; len(f.Checks) != 2 || f.Checks[1].Rule != RuleRequiredChecks || f.Checks[1].Status != evidence.StatusFail {
			t.Errorf("%s: required_checks %+v, want fail", g, f.Checks)
		}
	}
	var d CommitDetails
	if err := json.Unmarshal(fs[c("g1")].Details, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Checks) != 3 || d.Checks[1].Workflow != "CI" || d.Checks[1].Conclusion != "failure" || d.Checks[2].App != "circleci-checks" || d.Checks[2].Conclusion != "success" {
		t.Errorf("g1 checks %+v: want build, circleci's test, CI's failed test", d.Checks)
	}
	if incomplete != "" {
		t.Errorf("Incomplete = %q", incomplete)
	}
}

// TestEmptyRepository: GitHub answers the commit listing of a repository
// without commits 409 "Git Repository is empty.": the repository has no
// commits (pass), the collection goes on, and nothing else is read of it.
func TestEmptyRepository(t *testing.T) {
	fs, incomplete, facts := collectCase(t, "empty-repo-org")
	wantFinding(t, fs, "github.com/acme/empty@main", evidence.StatusPass, VerdictEmptyRepository, "empty repository: no commits")
	wantFinding(t, fs, "github.com/acme/api@main", evidence.StatusPass, VerdictCIConfigured, "")
	if incomplete != "" {
		t.Errorf("Incomplete = %q", incomplete)
	}
	for _, r := range facts.Repos {
		if r.Repo == "acme/empty" && (!r.Empty || r.Workflows != nil || r.Branches[0].Runs != nil || !strings.Contains(r.Reason, "409 Git Repository is empty.")) {
			t.Errorf("acme/empty facts: %+v", r)
		}
	}
}

// TestForeignRunsDropped: a pull request run from a fork's own main is
// listed under branch=main; it is no run on this main, so it is dropped and
// recorded, not judged as a failed run.
func TestForeignRunsDropped(t *testing.T) {
	fs, _, facts := collectCase(t, "fork-run-dropped")
	if f, ok := fs[RunTarget("acme/api", 1602)]; ok {
		t.Errorf("the fork's run is judged: %s %s", f.Status, f.Summary)
	}
	wantFinding(t, fs, "github.com/acme/api@main", evidence.StatusPass, VerdictCIConfigured, "0 failed runs")
	runs := facts.Repos[0].Branches[0].Runs
	if runs.ForeignCount != 1 || len(runs.Foreign) != 1 || runs.Foreign[0].ID != 1602 || runs.Foreign[0].HeadRepository != "mallory/api" ||
		len(runs.Runs) != 1 || runs.Status != StatusRead {
		t.Errorf("run listing %+v, foreign %+v", runs.Listing, runs.Foreign)
	}
	if len(facts.Repos[0].Lookups) != 0 {
		t.Errorf("lookups %+v: the fork's commit is no commit of main", facts.Repos[0].Lookups)
	}
}

// TestBranchMissing: --branch over an organisation some of whose
// repositories lack the branch: GET …/branches/{branch} answering "Branch
// not found" makes the branch missing (not_verifiable, no permission
// problem), and the repository's other branches are still collected; a
// listing refused on a branch that exists stays a permission problem.
func TestBranchMissing(t *testing.T) {
	fs, incomplete, _ := collectCase(t, "branch-missing-not-verifiable")
	wantFinding(t, fs, "github.com/acme/api@release/2.x", evidence.StatusNotVerifiable, VerdictBranchMissing, "branch release/2.x does not exist")
	wantFinding(t, fs, "github.com/acme/api@main", evidence.StatusPass, VerdictCIConfigured, "1 of 1 commit green")
	wantFinding(t, fs, CommitTarget("acme/api", sha("c1")), evidence.StatusPass, VerdictGreen, "")
	wantFinding(t, fs, "github.com/acme/legacy@main", evidence.StatusNotVerifiable, VerdictBranchMissing, "branch main does not exist")
	wantFinding(t, fs, "github.com/acme/legacy@release/2.x", evidence.StatusNotVerifiable, VerdictBranchMissing, "branch release/2.x does not exist")
	wantFinding(t, fs, "github.com/acme/locked@main+release/2.x", evidence.StatusNotVerifiable, "", `the branch exists`)
	for target, f := range fs {
		if f.Verdict == VerdictBranchMissing && strings.Contains(f.Checks[0].Detail+f.Checks[0].Fix, "token") {
			t.Errorf("%s: a missing branch is blamed on the token: %+v", target, f.Checks[0])
		}
	}
	if incomplete != "commits unknown for acme/locked" {
		t.Errorf("Incomplete = %q: want only locked's refused listing", incomplete)
	}
}

// TestNullSourcesAreUnknown: a commit's check runs or statuses, or a
// lookup's runs, answered with null where GitHub sends a list are unknown,
// never an empty population: the finding is not_verifiable naming the
// failure and the result incomplete.
func TestNullSourcesAreUnknown(t *testing.T) {
	c1 := cm("c1", "2026-11-17T10:00", green("2026-11-17T10:00")...)
	repo := apiRepo([]fxRun{ciRun(1, c1, "failure")}, c1)
	repo.Lookups = []string{c1.SHA}
	for _, tt := range []struct {
		name, path string
		query      map[string]string
		body       string
		target     string
	}{
		{"check_runs null", "/repos/acme/api/commits/" + c1.SHA + "/check-runs", map[string]string{"filter": "all"}, `{"total_count": 0, "check_runs": null}`, CommitTarget("acme/api", c1.SHA)},
		{"statuses null", "/repos/acme/api/commits/" + c1.SHA + "/status", nil, `{"state": "pending", "sha": "` + c1.SHA + `", "total_count": 0, "statuses": null}`, CommitTarget("acme/api", c1.SHA)},
		{"lookup workflow_runs null", "/repos/acme/api/actions/runs", map[string]string{"head_sha": c1.SHA}, `{"total_count": 0, "workflow_runs": null}`, RunTarget("acme/api", 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := memFixture(repo.build(t, "", [2]string{weekStart, weekEnd}))
			found := false
			for i, r := range fx.Routes {
				if r.Path == tt.path && routeQuery(r) == routeQuery(ghfake.Route{Query: tt.query}) {
					fx.Routes[i].Body, found = json.RawMessage(tt.body), true
				}
			}
			if !found {
				t.Fatalf("no route %s %v", tt.path, tt.query)
			}
			_, _, gh := serveFixture(t, fx, 0)
			res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), apiScope, week(), NewPolicy())
			f := findingOf(res.Findings, tt.target)
			if f.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(f.Summary, "could not be checked: ") || !strings.Contains(f.Summary, "null") {
				t.Errorf("%s: %s %q, want not_verifiable naming the null", tt.target, f.Status, f.Summary)
			}
			if !strings.Contains(res.Incomplete, "could not be collected: "+strings.TrimPrefix(tt.target, "github.com/")) {
				t.Errorf("Incomplete = %q", res.Incomplete)
			}
		})
	}
}
