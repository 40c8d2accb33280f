package cistatus

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/golden"
)

func tp(s string) *time.Time {
	t := mustTime(s)
	return &t
}

func checkRun(name, status, conclusion, started string, id int64) CheckResult {
	return CheckResult{Name: name, Kind: KindCheckRun, ID: id, Status: status, Conclusion: conclusion, StartedAt: tp(started)}
}

// commitFacts is a readable commit with checks.
func commitFacts(checks ...CheckResult) CommitFacts {
	sortChecks(checks)
	return CommitFacts{SHA: sha("x"), Branches: []string{"main"}, CommittedAt: tp("2026-11-17T10:00"), Checks: checks, Unread: []Unread{}}
}

// readRepo is acme/api read completely with commits and runs on main.
func readRepo(commits []CommitFacts, runs []Run, lookups ...Lookup) RepoFacts {
	return RepoFacts{Repo: "acme/api", Status: StatusRead, Commits: commits, Lookups: lookups,
		Workflows: &WorkflowFacts{Source: &Source{Status: StatusRead}, TotalCount: intp(1), Workflows: []Workflow{{ID: 1, Name: "CI", State: "active"}}},
		Branches:  []BranchFacts{{Branch: "main", Runs: &RunListing{Status: StatusRead, Runs: runs}}}}
}

func intp(n int) *int { return &n }

func evaluate(r RepoFacts, p Policy) map[string]evidence.Finding {
	out := map[string]evidence.Finding{}
	for _, f := range EvaluateFacts(Facts{Window: week(), Repos: []RepoFacts{r}}, p) {
		out[f.Target] = f
	}
	return out
}

// TestLatestAttemptDecides: a check that failed and was re-run green
// passes; one that passed and then failed fails.
func TestLatestAttemptDecides(t *testing.T) {
	for _, tt := range []struct {
		name   string
		checks []CheckResult
		want   string
	}{
		{"re-run green", []CheckResult{checkRun("t", "completed", "failure", "2026-11-17T10:00", 1), checkRun("t", "completed", "success", "2026-11-17T11:00", 2)}, VerdictGreen},
		{"re-run red", []CheckResult{checkRun("t", "completed", "success", "2026-11-17T10:00", 1), checkRun("t", "completed", "failure", "2026-11-17T11:00", 2)}, VerdictFailed},
		{"same start, higher id last", []CheckResult{checkRun("t", "completed", "success", "2026-11-17T10:00", 2), checkRun("t", "completed", "failure", "2026-11-17T10:00", 1)}, VerdictGreen},
		{"re-run queued", []CheckResult{checkRun("t", "completed", "failure", "2026-11-17T10:00", 1), checkRun("t", "queued", "", "2026-11-17T11:00", 2)}, VerdictPending},
		{"waiting", []CheckResult{checkRun("t", "waiting", "", "2026-11-17T10:00", 1)}, VerdictPending},
		{"neutral and skipped pass", []CheckResult{checkRun("a", "completed", "neutral", "2026-11-17T10:00", 1), checkRun("b", "completed", "skipped", "2026-11-17T10:00", 2)}, VerdictGreen},
		{"action required fails", []CheckResult{checkRun("a", "completed", "action_required", "2026-11-17T10:00", 1)}, VerdictFailed},
		{"stale fails", []CheckResult{checkRun("a", "completed", "stale", "2026-11-17T10:00", 1)}, VerdictFailed},
		{"cancelled fails", []CheckResult{checkRun("a", "completed", "cancelled", "2026-11-17T10:00", 1)}, VerdictFailed},
		{"status error fails", []CheckResult{{Name: "s", Kind: KindStatus, Status: "completed", Conclusion: "error"}}, VerdictFailed},
		{"failure beats pending", []CheckResult{checkRun("a", "completed", "failure", "2026-11-17T10:00", 1), checkRun("b", "in_progress", "", "2026-11-17T10:00", 2)}, VerdictFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := commitFacts(tt.checks...)
			f := evaluate(readRepo([]CommitFacts{c}, nil), DefaultPolicy())[CommitTarget("acme/api", c.SHA)]
			if f.Verdict != tt.want {
				t.Errorf("verdict %q (%s), want %q", f.Verdict, f.Summary, tt.want)
			}
		})
	}
}

// TestRequiredWorkflowNotLookedUp: a required workflow missing from the
// listing of facts collected under a policy that did not require it (so
// the commit's runs were never looked up) is unknown, not missing.
func TestRequiredWorkflowNotLookedUp(t *testing.T) {
	c := commitFacts(checkRun("t", "completed", "success", "2026-11-17T10:00", 1))
	p := DefaultPolicy()
	p.RequiredWorkflows = []string{"CI"}
	f := evaluate(readRepo([]CommitFacts{c}, nil), p)[CommitTarget("acme/api", c.SHA)]
	if f.Status != evidence.StatusNotVerifiable || !strings.Contains(f.Summary, "not looked up") {
		t.Errorf("%s %s", f.Status, f.Summary)
	}
	lk := Lookup{SHA: c.SHA, Source: &Source{Status: StatusRead}, Runs: []Run{}}
	f = evaluate(readRepo([]CommitFacts{c}, nil, lk), p)[CommitTarget("acme/api", c.SHA)]
	if f.Verdict != VerdictMissingRequired {
		t.Errorf("with the lookup read: %s %s", f.Verdict, f.Summary)
	}
}

func mkRun(id int64, sha, created, status, conclusion string, attempt int) Run {
	return Run{ID: id, Name: "CI", WorkflowID: 7, HeadSHA: sha, Event: "push", Status: status, Conclusion: conclusion, RunAttempt: attempt, CreatedAt: mustTime(created)}
}

// TestFailedRunOutcomes covers the failed run rule's branches on facts
// built directly.
func TestFailedRunOutcomes(t *testing.T) {
	s := sha("x")
	read := Lookup{SHA: s, Source: &Source{Status: StatusRead}, Runs: []Run{}}
	refused := Lookup{SHA: s, Source: &Source{Status: StatusUnknown, Pages: []Call{{Request: "GET /repos/acme/api/actions/runs?head_sha=" + s, HTTPStatus: 403}}}, Runs: []Run{}}
	failed := mkRun(1, s, "2026-11-17T10:00", "completed", "failure", 1)
	for _, tt := range []struct {
		name    string
		runs    []Run
		lookups []Lookup
		policy  func(*Policy)
		status  evidence.Status
		verdict string
	}{
		{"not fixed", []Run{failed}, []Lookup{read}, nil, evidence.StatusFail, VerdictNotFixed},
		{"later run failed too", []Run{failed, mkRun(2, s, "2026-11-17T11:00", "completed", "failure", 1)}, []Lookup{read}, nil, evidence.StatusFail, VerdictNotFixed},
		{"later run green", []Run{failed, mkRun(2, s, "2026-11-17T11:00", "completed", "success", 1)}, nil, nil, evidence.StatusPass, VerdictRerunGreen},
		{"earlier run green does not fix", []Run{mkRun(0, s, "2026-11-17T09:00", "completed", "success", 1), failed}, []Lookup{read}, nil, evidence.StatusFail, VerdictNotFixed},
		{"other workflow green does not fix", []Run{failed, func() Run {
			r := mkRun(2, s, "2026-11-17T11:00", "completed", "success", 1)
			r.WorkflowID = 8
			return r
		}()}, []Lookup{read}, nil, evidence.StatusFail, VerdictNotFixed},
		{"later run running", []Run{failed, mkRun(2, s, "2026-11-17T11:00", "in_progress", "", 1)}, []Lookup{read}, nil, evidence.StatusNotVerifiable, VerdictPending},
		{"re-run attempt running", []Run{func() Run {
			r := mkRun(1, s, "2026-11-17T10:00", "in_progress", "", 2)
			r.Attempts = []Attempt{{Number: 1, Read: StatusRead, Status: "completed", Conclusion: "failure"}}
			return r
		}()}, nil, nil, evidence.StatusNotVerifiable, VerdictPending},
		{"earlier attempt unreadable", []Run{func() Run {
			r := mkRun(1, s, "2026-11-17T10:00", "completed", "success", 2)
			r.Attempts = []Attempt{{Number: 1, Read: StatusError, Error: "GET …/attempts/1: HTTP 502"}}
			return r
		}()}, nil, nil, evidence.StatusNotVerifiable, ""},
		{"earlier attempt withheld", []Run{func() Run {
			r := mkRun(1, s, "2026-11-17T10:00", "completed", "success", 2)
			r.Attempts = []Attempt{{Number: 1, Read: StatusUnknown, Call: Call{Request: "GET /x", HTTPStatus: 404}}}
			return r
		}()}, nil, nil, evidence.StatusNotVerifiable, ""},
		{"lookup refused", []Run{failed}, []Lookup{refused}, nil, evidence.StatusNotVerifiable, ""},
		{"lookup error", []Run{failed}, []Lookup{{SHA: s, Source: &Source{Status: StatusError}, Error: "boom"}}, nil, evidence.StatusNotVerifiable, ""},
		{"not looked up", []Run{failed}, nil, nil, evidence.StatusNotVerifiable, ""},
		{"cancelled not counted", []Run{mkRun(1, s, "2026-11-17T10:00", "completed", "cancelled", 1)}, nil, nil, "", ""},
		{"cancelled counted", []Run{mkRun(1, s, "2026-11-17T10:00", "completed", "cancelled", 1)}, []Lookup{read},
			func(p *Policy) { p.FailedConclusions = []string{"cancelled"} }, evidence.StatusFail, VerdictNotFixed},
		{"created at the window end", []Run{mkRun(1, s, "2026-11-23T00:00", "completed", "failure", 1)}, nil, nil, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			f, ok := evaluate(readRepo(nil, tt.runs, tt.lookups...), p)[RunTarget("acme/api", 1)]
			if tt.status == "" {
				if ok {
					t.Errorf("finding %s %s, want none", f.Status, f.Summary)
				}
				return
			}
			if !ok || f.Status != tt.status || f.Verdict != tt.verdict {
				t.Errorf("finding %v: %s %q %s; want %s %q", ok, f.Status, f.Verdict, f.Summary, tt.status, tt.verdict)
			}
		})
	}
}

// TestGreenShareWithoutCommits: a threshold over a branch without commits
// passes (nothing landed), and the share is null.
func TestGreenShareWithoutCommits(t *testing.T) {
	p := DefaultPolicy()
	p.MinGreenShare = share(0.9)
	f := evaluate(readRepo(nil, nil), p)["github.com/acme/api@main"]
	var d BranchDetails
	if err := json.Unmarshal(f.Details, &d); err != nil {
		t.Fatal(err)
	}
	if f.Status != evidence.StatusPass || d.GreenShare != nil || len(f.Checks) != 3 || f.Checks[2].Rule != RuleGreenShare {
		t.Errorf("%s %s, share %v, checks %+v", f.Status, f.Summary, d.GreenShare, f.Checks)
	}
}

// TestEvaluateFactsIsPure: evaluating leaves the facts as they were and
// gives the same findings twice.
func TestEvaluateFactsIsPure(t *testing.T) {
	_, _, gh := fakeGitHub(t, sampleOrg, 0)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())
	facts := res.Facts.(*Facts)
	before := golden.JSON(t, facts)
	a := golden.JSON(t, EvaluateFacts(*facts, DefaultPolicy()))
	b := golden.JSON(t, EvaluateFacts(*facts, DefaultPolicy()))
	if !bytes.Equal(a, b) || !bytes.Equal(before, golden.JSON(t, facts)) {
		t.Error("EvaluateFacts is not pure")
	}
	// Another policy re-judges the same facts: with ci/test required, the
	// direct push that ran only ci/build fails.
	p := DefaultPolicy()
	p.RequiredChecks = []string{"ci/test"}
	again := EvaluateFacts(*facts, p)
	if got := verdicts(again)["github.com/acme/payments@b2c15ce40c5f"]; got.verdict != VerdictMissingRequired {
		t.Errorf("re-judged direct push: %v", got)
	}
}

// TestCheckGrouping: the check runs of a commit are grouped by app, and for
// GitHub Actions by the workflow of their check suite, found through the
// runs and the attempts read; the latest attempt of each group decides.
func TestCheckGrouping(t *testing.T) {
	app := func(c CheckResult, slug string, suite int64) CheckResult {
		c.App, c.CheckSuiteID = slug, suite
		return c
	}
	failed := func(slug string, suite int64) CheckResult {
		return app(checkRun("test", "completed", "failure", "2026-11-17T10:00", 1), slug, suite)
	}
	passed := func(slug string, suite int64) CheckResult {
		return app(checkRun("test", "completed", "success", "2026-11-17T11:00", 2), slug, suite)
	}
	// Run 1 of workflow 7: its latest attempt in suite 20; attempt 1 (read)
	// in suite 10, as if GitHub gave each attempt its own suite.
	run := mkRun(1, sha("x"), "2026-11-17T09:55", "completed", "success", 2)
	run.CheckSuiteID = 20
	withAttempt := run
	withAttempt.Attempts = []Attempt{{Number: 1, Read: StatusRead, Status: "completed", Conclusion: "failure", CheckSuiteID: 10}}
	other := mkRun(2, sha("x"), "2026-11-17T10:50", "completed", "success", 1)
	other.WorkflowID, other.Name, other.CheckSuiteID = 8, "E2E", 30
	for _, tt := range []struct {
		name   string
		checks []CheckResult
		runs   []Run
		want   string
		label  string
	}{
		{"same suite: the re-run decides", []CheckResult{failed("github-actions", 20), passed("github-actions", 20)}, []Run{run}, VerdictGreen, ""},
		{"the attempt's suite names the workflow", []CheckResult{failed("github-actions", 10), passed("github-actions", 20)}, []Run{withAttempt}, VerdictGreen, ""},
		{"an unknown suite stays apart", []CheckResult{failed("github-actions", 10), passed("github-actions", 20)}, []Run{run}, VerdictFailed, "test (github-actions, check suite 10) failure"},
		{"another workflow does not hide it", []CheckResult{failed("github-actions", 20), passed("github-actions", 30)}, []Run{run, other}, VerdictFailed, "test (github-actions, workflow CI) failure"},
		{"another app does not hide it", []CheckResult{failed("github-actions", 20), passed("circleci-checks", 99)}, []Run{run}, VerdictFailed, "test (github-actions, workflow CI) failure"},
		{"nor does it hide another app's", []CheckResult{failed("circleci-checks", 99), passed("github-actions", 20)}, []Run{run}, VerdictFailed, "test (circleci-checks) failure"},
		{"another app re-run decides", []CheckResult{failed("circleci-checks", 98), passed("circleci-checks", 99)}, nil, VerdictGreen, ""},
		{"a status of the same name is another check", []CheckResult{failed("github-actions", 20), {Name: "test", Kind: KindStatus, Status: "completed", Conclusion: "success"}}, []Run{run}, VerdictFailed, "test failure"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := commitFacts(tt.checks...)
			p := DefaultPolicy()
			p.RequiredChecks = []string{"test"}
			f := evaluate(readRepo([]CommitFacts{c}, tt.runs), p)[CommitTarget("acme/api", c.SHA)]
			if f.Verdict != tt.want || !strings.Contains(f.Summary, tt.label) {
				t.Errorf("verdict %q (%s), want %q naming %q", f.Verdict, f.Summary, tt.want, tt.label)
			}
			// required_checks: a name is met only if every check of that
			// name passed.
			if req := f.Checks[1]; (req.Status == evidence.StatusPass) != (tt.want == VerdictGreen) {
				t.Errorf("required_checks %s: %s", req.Status, req.Detail)
			}
		})
	}
	// ignore_checks leaves out every check of the name.
	c := commitFacts(failed("github-actions", 20), failed("circleci-checks", 99), checkRun("build", "completed", "success", "2026-11-17T10:00", 3))
	p := DefaultPolicy()
	p.IgnoreChecks = []string{"test"}
	if f := evaluate(readRepo([]CommitFacts{c}, []Run{run}), p)[CommitTarget("acme/api", c.SHA)]; f.Verdict != VerdictGreen {
		t.Errorf("ignored test: %s %s", f.Verdict, f.Summary)
	}
}

// TestReadFailures: a read that failed after retries makes what needed it
// not_verifiable, its summary naming the failure; a failure established
// otherwise still fails; either way the finding needed a failed read, which
// makes the collection incomplete, and the branch counts the commit by what
// was established.
func TestReadFailures(t *testing.T) {
	const boom = "reading the workflow runs of commit x in acme/api: GET /repos/acme/api/actions/runs?head_sha=x: HTTP 502 Bad Gateway: Server Error"
	p := DefaultPolicy()
	p.RequiredWorkflows = []string{"Deploy"}
	judge := func(c CommitFacts, lookups ...Lookup) (map[string]evidence.Finding, []string, CommitCounts) {
		t.Helper()
		fs, unread := judgeFacts(Facts{Window: week(), Repos: []RepoFacts{readRepo([]CommitFacts{c}, nil, lookups...)}}, p)
		out := map[string]evidence.Finding{}
		for _, f := range fs {
			out[f.Target] = f
		}
		var d BranchDetails
		if err := json.Unmarshal(out["github.com/acme/api@main"].Details, &d); err != nil {
			t.Fatal(err)
		}
		return out, unread, d.Commits
	}
	target := CommitTarget("acme/api", sha("x"))
	failedLookup := Lookup{SHA: sha("x"), Source: &Source{Status: StatusError}, Error: boom, Runs: []Run{}}

	// Green checks; whether Deploy ran could not be read.
	fs, unread, cc := judge(commitFacts(checkRun("test", "completed", "success", "2026-11-17T10:00", 1)), failedLookup)
	f := fs[target]
	if f.Status != evidence.StatusNotVerifiable || f.Verdict != "" || !strings.HasPrefix(f.Summary, "could not be checked: whether Deploy ran: ") || !strings.Contains(f.Summary, "HTTP 502") {
		t.Errorf("commit = %s %q %q, want not_verifiable naming the 502", f.Status, f.Verdict, f.Summary)
	}
	if c := f.Checks[1]; c.Rule != RuleRequiredWorkflows || c.Status != evidence.StatusNotVerifiable || !strings.Contains(c.Detail, "HTTP 502") {
		t.Errorf("required_workflows = %+v, want not_verifiable naming the 502", c)
	}
	if !slices.Equal(unread, []string{target}) || cc.Error != 1 || cc.NotVerifiable != 0 {
		t.Errorf("unread %v, counts %+v: want the commit, counted as could not be read", unread, cc)
	}

	// A red check fails the commit whatever the failed read would have said.
	fs, unread, cc = judge(commitFacts(checkRun("test", "completed", "failure", "2026-11-17T10:00", 1)), failedLookup)
	if f := fs[target]; f.Status != evidence.StatusFail || f.Verdict != VerdictFailed || f.Checks[1].Status != evidence.StatusNotVerifiable {
		t.Errorf("red commit = %s %q %q, want fail with required_workflows not_verifiable", f.Status, f.Verdict, f.Summary)
	}
	if !slices.Equal(unread, []string{target}) || cc.Failed != 1 || cc.Error != 0 {
		t.Errorf("unread %v, counts %+v: want the commit, counted as failed", unread, cc)
	}

	// A commit whose checks could not be read at all.
	c := commitFacts()
	c.Error = "reading the check runs of commit x in acme/api: GET …/check-runs: HTTP 500 Internal Server Error"
	fs, unread, cc = judge(c)
	if f := fs[target]; f.Status != evidence.StatusNotVerifiable || f.Summary != "could not be checked: "+c.Error || len(f.Checks) == 0 ||
		slices.ContainsFunc(f.Checks, func(ch evidence.Check) bool { return ch.Status != evidence.StatusNotVerifiable }) {
		t.Errorf("unread commit = %+v, want it and every rule not_verifiable (no check is established as missing)", f)
	}
	if !slices.Equal(unread, []string{target}) || cc.Error != 1 {
		t.Errorf("unread %v, counts %+v", unread, cc)
	}

	// Nothing failed: nothing is unread.
	if _, unread, _ := judge(commitFacts(checkRun("test", "completed", "success", "2026-11-17T10:00", 1)),
		Lookup{SHA: sha("x"), Source: &Source{Status: StatusRead}, Runs: []Run{}}); len(unread) != 0 {
		t.Errorf("unread = %v, want none", unread)
	}
}

// TestHeadProbeFailed: whether a repository without active workflows or
// checks has CI could not be read (its head probe failed): the branch is
// not_verifiable naming the failure, never "no CI".
func TestHeadProbeFailed(t *testing.T) {
	r := readRepo(nil, nil)
	r.Workflows = &WorkflowFacts{Source: &Source{Status: StatusRead}, TotalCount: intp(0), Workflows: []Workflow{}}
	r.Branches[0].Head = &HeadProbe{Error: "reading the check runs of the head of acme/api@main: GET …: HTTP 502 Bad Gateway"}
	fs, unread := judgeFacts(Facts{Window: week(), Repos: []RepoFacts{r}}, DefaultPolicy())
	f := fs[0]
	if f.Target != "github.com/acme/api@main" || f.Status != evidence.StatusNotVerifiable || !strings.Contains(f.Summary, "could not be checked: ") || !strings.Contains(f.Summary, "HTTP 502") {
		t.Errorf("branch = %s %s %q", f.Target, f.Status, f.Summary)
	}
	if c := f.Checks[0]; c.Rule != RuleCIConfigured || c.Status != evidence.StatusNotVerifiable || !strings.Contains(c.Detail, "HTTP 502") {
		t.Errorf("ci_configured = %+v", c)
	}
	if !slices.Equal(unread, []string{f.Target}) {
		t.Errorf("unread = %v", unread)
	}
	// Read, it says: no CI.
	r.Branches[0].Head = &HeadProbe{CheckRuns: &Source{Status: StatusRead}, Status: &Source{Status: StatusRead}, CheckRunCount: intp(0), StatusCount: intp(0)}
	if fs, unread := judgeFacts(Facts{Window: week(), Repos: []RepoFacts{r}}, DefaultPolicy()); fs[0].Verdict != VerdictNoCIConfigured || len(unread) != 0 {
		t.Errorf("probe read: %s %q, unread %v", fs[0].Verdict, fs[0].Summary, unread)
	}
}

// TestEarlierAttemptFailed: a re-run green whose earlier attempt could not
// be read is not_verifiable (it may hide a failure), naming the failure.
func TestEarlierAttemptFailed(t *testing.T) {
	r := mkRun(1, sha("x"), "2026-11-17T10:00", "completed", "success", 2)
	r.Attempts = []Attempt{{Number: 1, Read: StatusError, Error: "GET …/attempts/1: HTTP 502 Bad Gateway"}}
	fs, unread := judgeFacts(Facts{Window: week(), Repos: []RepoFacts{readRepo(nil, []Run{r})}}, DefaultPolicy())
	target := RunTarget("acme/api", 1)
	for _, f := range fs {
		if f.Target != target {
			continue
		}
		if f.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(f.Summary, "could not be checked: ") || !strings.Contains(f.Summary, "HTTP 502") {
			t.Errorf("run = %s %q", f.Status, f.Summary)
		}
		if !slices.Equal(unread, []string{target}) {
			t.Errorf("unread = %v", unread)
		}
		return
	}
	t.Fatalf("no finding for the run: %v", fs)
}
