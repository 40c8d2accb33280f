package cistatus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/golden"
	"github.com/changeproof/changeproof/schedules"
)

type verdict struct {
	status  evidence.Status
	verdict string
}

func verdicts(fs []evidence.Finding) map[string]verdict {
	out := map[string]verdict{}
	for _, f := range fs {
		out[f.Target] = verdict{f.Status, f.Verdict}
	}
	return out
}

// findingOf is the finding for target, or the zero finding.
func findingOf(fs []evidence.Finding, target string) evidence.Finding {
	for _, f := range fs {
		if f.Target == target {
			return f
		}
	}
	return evidence.Finding{}
}

// TestSampleOrg is the demo organisation over the demo week: the finding of
// every commit, run and branch, and the requests.
func TestSampleOrg(t *testing.T) {
	srv, pg, gh := fakeGitHub(t, sampleOrg, 0)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())

	want := map[string]verdict{
		"github.com/acme/payments@main":              {evidence.StatusPass, VerdictCIConfigured},
		"github.com/acme/payments@3314931f6920":      {evidence.StatusPass, VerdictGreen}, // #101's head, checked on its pull request
		"github.com/acme/payments@4a79ed7b8483":      {evidence.StatusPass, VerdictGreen},
		"github.com/acme/payments@4fad6f642e31":      {evidence.StatusPass, VerdictGreen},
		"github.com/acme/payments@c7ad189bdf66":      {evidence.StatusPass, VerdictGreen}, // ci/test failed, re-run green
		"github.com/acme/payments@2e0c0cf154cf":      {evidence.StatusFail, VerdictNoCI},
		"github.com/acme/payments@f155460690a7":      {evidence.StatusFail, VerdictFailed},
		"github.com/acme/payments@3348c411a7f9":      {evidence.StatusPass, VerdictGreen}, // timed out, then a new run green
		"github.com/acme/payments@b2c15ce40c5f":      {evidence.StatusPass, VerdictGreen}, // only ci/build ran
		"github.com/acme/payments@7cb753f84b14":      {evidence.StatusPass, VerdictGreen},
		"github.com/acme/payments@873eaf7c8ce7":      {evidence.StatusNotVerifiable, VerdictPending},
		"github.com/acme/payments/actions/runs/4103": {evidence.StatusPass, VerdictRerunGreen}, // attempt 2
		"github.com/acme/payments/actions/runs/4105": {evidence.StatusFail, VerdictNotFixed},
		"github.com/acme/payments/actions/runs/4106": {evidence.StatusPass, VerdictRerunGreen}, // run 4107
		"github.com/acme/web@main":                   {evidence.StatusPass, VerdictCIConfigured},
		"github.com/acme/web@926dfccd7d7f":           {evidence.StatusNotVerifiable, ""}, // check runs withheld
		"github.com/acme/web@44bf56d578d5":           {evidence.StatusNotVerifiable, ""},
		"github.com/acme/web@4c239ddf5b5b":           {evidence.StatusFail, VerdictFailed}, // a red status shows through
		"github.com/acme/web@6a7265665a14":           {evidence.StatusNotVerifiable, ""},
		"github.com/acme/web@70319ad46313":           {evidence.StatusNotVerifiable, ""},
		"github.com/acme/web@50859eef7449":           {evidence.StatusNotVerifiable, ""},
		"github.com/acme/docs@main":                  {evidence.StatusFail, VerdictNoCIConfigured},
		"github.com/acme/legacy@main":                {evidence.StatusPass, VerdictCIConfigured},
		"github.com/acme/legacy/actions/runs/4301":   {evidence.StatusFail, VerdictNotFixed}, // a nightly on the head
		"github.com/acme/secret-project@main":        {evidence.StatusNotVerifiable, ""},
	}
	if got := verdicts(res.Findings); !maps.Equal(got, want) {
		t.Errorf("findings:\n got %v\nwant %v", got, want)
	}
	if res.Incomplete != "commits unknown for acme/secret-project" {
		t.Errorf("Incomplete = %q, want secret-project's commits unknown", res.Incomplete)
	}
	facts := res.Facts.(*Facts)
	if len(facts.SkippedArchived) != 1 || facts.SkippedArchived[0] != "acme/old-site" {
		t.Errorf("skipped %v, want acme/old-site", facts.SkippedArchived)
	}
	for _, f := range res.Findings {
		if f.Target == "github.com/acme/payments@main" {
			var d BranchDetails
			if err := json.Unmarshal(f.Details, &d); err != nil {
				t.Fatal(err)
			}
			if d.Commits.Total != 10 || d.Commits.Green != 7 || d.GreenShare == nil || *d.GreenShare != 0.7 || d.Runs.Failed != 3 || d.Runs.RerunGreen != 2 {
				t.Errorf("payments details %+v", d)
			}
			if !strings.Contains(f.Summary, "7 of 10 commits green (70.0%, 1 undecided)") {
				t.Errorf("payments summary %q lacks the green share", f.Summary)
			}
		}
		if f.Target == "github.com/acme/payments@3348c411a7f9" {
			// #106: run 4106's failed jobs and run 4107's green ones are
			// check runs of two check suites of the workflow CI: one check
			// each, the latest attempt (run 4107's) deciding.
			var d CommitDetails
			if err := json.Unmarshal(f.Details, &d); err != nil {
				t.Fatal(err)
			}
			if len(d.Checks) != 2 || d.Checks[0].Workflow != "CI" || d.Checks[0].Attempts != 2 || d.Checks[0].CheckSuiteID != runSuite(4107) {
				t.Errorf("#106 checks %+v: want ci/build and ci/test of workflow CI, 2 attempts each", d.Checks)
			}
		}
	}

	// Requests: 1 organisation listing; payments 3 listings (commits,
	// workflows, runs) + 2 × 10 commits + 1 earlier attempt + 1 lookup;
	// web 3 + 2 × 6; docs 3 + 2 (its head); legacy 3 + 1 lookup;
	// secret-project's refused commit listing.
	if want := 1 + (3 + 20 + 1 + 1) + (3 + 12) + (3 + 2) + (3 + 1) + 1; res.Requests != int64(want) || srv.Requests() != want {
		t.Errorf("requests = %d (fake saw %d), want %d", res.Requests, srv.Requests(), want)
	}
	for path, n := range srv.RequestsByPath() {
		want := 1
		if path == "/repos/acme/payments/actions/runs" || path == "/repos/acme/legacy/actions/runs" {
			want = 2 // the listing and one lookup
		}
		if n != want {
			t.Errorf("%s requested %d times, want %d", path, n, want)
		}
	}
	checkRawBodies(t, pg, facts)
	checkReEvaluation(t, facts, res.Findings, NewPolicy())
	checkTargets(t, res)
	if data := golden.JSON(t, res); bytes.Contains(data, []byte(testToken)) {
		t.Error("the token appears in the result")
	}
}

// TestSampleOrgDemoScope is what make demo collects: acme/payments and
// acme/web, each read for its default branch; the result is complete.
func TestSampleOrgDemoScope(t *testing.T) {
	_, _, gh := fakeGitHub(t, sampleOrg, 0)
	scope := collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "payments"}, {Owner: "acme", Name: "web"}}}
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), scope, week(), NewPolicy())
	// 2 repository reads, then as in TestSampleOrg.
	if res.Requests != 2+25+15 || res.Incomplete != "" || len(res.Findings) != 1+10+3+1+6 {
		t.Errorf("requests %d, incomplete %q, %d findings", res.Requests, res.Incomplete, len(res.Findings))
	}
}

// TestSampleOrgRequired judges acme/payments with required checks and a
// required workflow: the direct push that ran only ci/build misses ci/test,
// #101's head has CI only from its pull request (found by a lookup), #104
// never ran CI.
func TestSampleOrgRequired(t *testing.T) {
	srv, _, gh := fakeGitHub(t, sampleOrg, 0)
	p := NewPolicy()
	p.RequiredChecks, p.RequiredWorkflows = []string{"ci/build", "ci/test"}, []string{"CI"}
	scope := collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "payments"}}, Branches: []string{"main"}}
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), scope, week(), p)
	got := verdicts(res.Findings)
	for target, want := range map[string]verdict{
		"github.com/acme/payments@3314931f6920": {evidence.StatusPass, VerdictGreen},
		"github.com/acme/payments@b2c15ce40c5f": {evidence.StatusFail, VerdictMissingRequired},
		"github.com/acme/payments@2e0c0cf154cf": {evidence.StatusFail, VerdictNoCI},
		"github.com/acme/payments@3348c411a7f9": {evidence.StatusPass, VerdictGreen},
		"github.com/acme/payments@f155460690a7": {evidence.StatusFail, VerdictFailed},
		"github.com/acme/payments@873eaf7c8ce7": {evidence.StatusNotVerifiable, VerdictPending},
	} {
		if got[target] != want {
			t.Errorf("%s: %v, want %v", target, got[target], want)
		}
	}
	for _, f := range res.Findings {
		if f.Target == "github.com/acme/payments@b2c15ce40c5f" && !strings.Contains(f.Summary, "required check missing: ci/test") {
			t.Errorf("the missing check is not named: %s", f.Summary)
		}
		if f.Target == "github.com/acme/payments@2e0c0cf154cf" && len(f.Checks) != 3 {
			t.Errorf("#104: %d checks, want ci_green, required_checks, required_workflows", len(f.Checks))
		}
	}
	// Lookups: #101's head and #104 (no CI run in the listing), #105 (its
	// failed run).
	if n := srv.RequestsByPath()["/repos/acme/payments/actions/runs"]; n != 1+3 {
		t.Errorf("runs requested %d times, want the listing and 3 lookups", n)
	}
}

// TestDeterministicAcrossConcurrency: the facts and findings do not depend
// on how many requests run at once.
func TestDeterministicAcrossConcurrency(t *testing.T) {
	var outputs [][]byte
	for _, n := range []int{1, 3, 16} {
		_, _, gh := fakeGitHub(t, sampleOrg, 0)
		res := collect(t, newCollector(t, gh, mustTime(caseNow), n), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())
		outputs = append(outputs, golden.JSON(t, res))
	}
	for i := 1; i < len(outputs); i++ {
		if !bytes.Equal(outputs[0], outputs[i]) {
			t.Fatalf("results differ between concurrency settings: %s", golden.FirstDiff(outputs[0], outputs[i]))
		}
	}
}

// bigRepo is acme/big: commits on main in the demo week, each with a green
// CI run, and n workflows of which the first active one is the last.
func bigRepo(commits, workflows int) fxRepo {
	r := fxRepo{Owner: "acme", Name: "big", Branches: map[string][]fxCommit{}, Runs: map[string][]fxRun{}}
	start := mustTime(weekStart)
	step := mustTime(weekEnd).Sub(start) / time.Duration(commits+1)
	for i := commits; i >= 1; i-- {
		d := at(start.Add(time.Duration(i) * step))
		c := fxCommit{SHA: fakeSHA(fmt.Sprintf("acme/big:%d", i)), Date: d, Message: fmt.Sprintf("Change %d", i), Checks: green(d)}
		r.Branches["main"] = append(r.Branches["main"], c)
		r.Runs["main"] = append(r.Runs["main"], fxRun{ID: int64(100000 + i), Workflow: "CI", Number: i, SHA: c.SHA, Conclusion: "success", Created: shift(d, time.Minute)})
	}
	for i := range workflows {
		state := "disabled_manually"
		if i == workflows-1 {
			state = "active"
		}
		r.Workflows = append(r.Workflows, fxWorkflow{Name: fmt.Sprintf("Workflow %03d", i), State: state})
	}
	return r
}

var bigScope = collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "big"}}, Branches: []string{"main"}}

// TestPaginationOver100 pages every listing past GitHub's 100 per page:
// 150 commits and their 150 runs (the failure is on the last page of the
// runs), 130 workflows (the only active one on page 2), and one commit with
// 130 check runs (a failure on page 2) and 120 statuses (an error on page
// 2).
func TestPaginationOver100(t *testing.T) {
	r := bigRepo(150, 130)
	first := &r.Branches["main"][len(r.Branches["main"])-1]
	first.Checks = nil
	for i := range 130 {
		c := ok(fmt.Sprintf("job-%03d", i), first.Date)
		if i == 124 {
			c.Conclusion = "failure"
		}
		first.Checks = append(first.Checks, c)
	}
	for i := range 120 {
		state := "success"
		if i == 110 {
			state = "error"
		}
		first.Statuses = append(first.Statuses, st(fmt.Sprintf("ctx-%03d", i), state, first.Date))
	}
	oldest := &r.Runs["main"][len(r.Runs["main"])-1]
	oldest.Conclusion = "failure"
	r.Lookups = []string{oldest.SHA}
	srv, pg, gh := serveFixture(t, memFixture(r.build(t, "", [2]string{weekStart, weekEnd})), 0)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), bigScope, week(), NewPolicy())

	byPath := srv.RequestsByPath()
	for path, want := range map[string]int{
		"/repos/acme/big/commits":                              2,
		"/repos/acme/big/actions/workflows":                    2,
		"/repos/acme/big/actions/runs":                         2 + 1,
		"/repos/acme/big/commits/" + first.SHA + "/check-runs": 2,
		"/repos/acme/big/commits/" + first.SHA + "/status":     2,
	} {
		if byPath[path] != want {
			t.Errorf("%s: %d requests, want %d", path, byPath[path], want)
		}
	}
	facts := res.Facts.(*Facts)
	rf := facts.Repos[0]
	if len(rf.Commits) != 150 || rf.Branches[0].Runs.Items != 150 || len(rf.Branches[0].Runs.Runs) != 150 || rf.Workflows.TotalCount == nil || *rf.Workflows.TotalCount != 130 {
		t.Fatalf("commits %d, runs %d, workflows %v", len(rf.Commits), len(rf.Branches[0].Runs.Runs), rf.Workflows.TotalCount)
	}
	got := verdicts(res.Findings)
	if v := got[CommitTarget("acme/big", first.SHA)]; v.verdict != VerdictFailed {
		t.Errorf("the commit whose failures are on page 2: %v", v)
	}
	for _, f := range res.Findings {
		if f.Target == CommitTarget("acme/big", first.SHA) && (!strings.Contains(f.Summary, "job-124 failure") || !strings.Contains(f.Summary, "ctx-110 (status) error")) {
			t.Errorf("summary %q does not name both failures", f.Summary)
		}
	}
	if v := got[RunTarget("acme/big", oldest.ID)]; v.verdict != VerdictNotFixed {
		t.Errorf("the failed run on the last page: %v", v)
	}
	if v := got["github.com/acme/big@main"]; v.verdict != VerdictCIConfigured {
		t.Errorf("the active workflow on page 2 was not found: %v", v)
	}
	checkRawBodies(t, pg, facts)
}

// TestDuplicateRunsAcrossPages: a run created while the listing is paged
// shifts the pages, so a run shows up twice; it is kept once and counted.
func TestDuplicateRunsAcrossPages(t *testing.T) {
	r := bigRepo(3, 1)
	ff := r.build(t, "", [2]string{weekStart, weekEnd})
	fx := memFixture(ff)
	srv := ghfake.New(fx, ghfake.WithToken(testToken))
	var listing struct {
		Runs []json.RawMessage `json:"workflow_runs"`
	}
	if err := json.Unmarshal(ff.files["runs-main.json"], &listing); err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasSuffix(req.URL.Path, "/actions/runs") {
			srv.ServeHTTP(w, req)
			return
		}
		page, _ := strconv.Atoi(req.URL.Query().Get("page"))
		items := listing.Runs[:2]
		if page == 2 {
			items = listing.Runs[1:] // the second run again, then the third
		} else {
			q := req.URL.Query()
			q.Set("page", "2")
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, req.Host, req.URL.Path, q.Encode()))
		}
		body, _ := json.Marshal(map[string]any{"total_count": 3, "workflow_runs": items})
		w.Write(body)
	})
	gh := serveHandler(t, srv, h)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), bigScope, week(), NewPolicy())
	runs := res.Facts.(*Facts).Repos[0].Branches[0].Runs
	if runs.Pages != 2 || runs.Items != 4 || runs.Duplicates != 1 || len(runs.Runs) != 3 || runs.Status != StatusRead {
		t.Errorf("listing %+v: want 2 pages, 4 items, 1 duplicate, 3 runs, read", runs.Listing)
	}
}

// TestListingFailureFailsCollection: a listing that fails other than by a
// refusal (500 after the retries, a body that is not JSON, a page that is
// not a listing) leaves the population unknown: the collection fails
// rather than judging part of it.
func TestListingFailureFailsCollection(t *testing.T) {
	c1 := cm("c1", "2026-11-17T10:00", green("2026-11-17T10:00")...)
	repo := apiRepo([]fxRun{ciRun(1, c1, "success")}, c1)
	for _, tt := range []struct {
		name, path string
		status     int
		body       string
		want       string
	}{
		{"commits 500", "/repos/acme/api/commits", 500, `{"message": "Server Error"}`, "500"},
		{"workflows 500", "/repos/acme/api/actions/workflows", 500, `{"message": "Server Error"}`, "500"},
		{"runs 502", "/repos/acme/api/actions/runs", 502, `{"message": "Bad Gateway"}`, "502"},
		{"runs not JSON", "/repos/acme/api/actions/runs", 200, `<html>`, "not valid JSON"},
		{"runs not a listing", "/repos/acme/api/actions/runs", 200, `[]`, "parsing the workflow runs"},
		{"run without id", "/repos/acme/api/actions/runs", 200, `{"total_count": 1, "workflow_runs": [{"head_sha": "abc"}]}`, "no run id"},
		{"commits not a list", "/repos/acme/api/commits", 200, `{"sha": "x"}`, "parsing commits"},
		{"workflows not a listing", "/repos/acme/api/actions/workflows", 200, `{"workflows": []}`, "no total_count"},
		// null is no empty list: the population is unknown.
		{"commits null", "/repos/acme/api/commits", 200, `null`, "null, not a list of commits"},
		{"runs null", "/repos/acme/api/actions/runs", 200, `null`, "no total_count"},
		{"workflow_runs null", "/repos/acme/api/actions/runs", 200, `{"total_count": 0, "workflow_runs": null}`, "workflow_runs is null or missing"},
		{"workflow_runs missing", "/repos/acme/api/actions/runs", 200, `{"total_count": 0}`, "workflow_runs is null or missing"},
		{"workflows null", "/repos/acme/api/actions/workflows", 200, `{"total_count": 0, "workflows": null}`, "workflows is null or missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := memFixture(repo.build(t, "", [2]string{weekStart, weekEnd}))
			for i, r := range fx.Routes {
				if r.Path == tt.path {
					fx.Routes[i].Status, fx.Routes[i].Body = tt.status, json.RawMessage(tt.body)
				}
			}
			srv, _, gh := serveFixture(t, fx, 0)
			_, err := newCollector(t, gh, mustTime(caseNow), 0).Collect(context.Background(), collectors.Request{Scope: apiScope, Window: week(), Policy: NewPolicy()})
			if err == nil || !strings.Contains(err.Error(), "population is not known") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a failed collection mentioning %q", err, tt.want)
			}
			if tt.status >= 500 {
				var ge *github.ErrorResponse
				if !errors.As(err, &ge) || ge.Response.StatusCode != tt.status {
					t.Errorf("err = %v: want the go-github error reachable", err)
				}
				if n := srv.RequestsByPath()[tt.path]; n != 1+testRetries {
					t.Errorf("%s requested %d times, want %d (retries)", tt.path, n, 1+testRetries)
				}
			}
		})
	}
}

// TestServerErrorAfterRetries: a commit whose check runs GitHub answers 500,
// also on every retry, is not_verifiable naming the 500 — never an error
// finding — and the collection incomplete: the signed evidence is an error
// saying which commit is missing.
func TestServerErrorAfterRetries(t *testing.T) {
	dir := filepath.Join("testdata", "server-error-error")
	gc, p := loadCase(t, dir)
	_, _, gh := fakeGitHub(t, dir, 0)
	pred, res := collectortest.Record(t, newCollector(t, gh, gc.Now, 0), collectors.Request{Scope: gc.Scope, Window: gc.Window, Policy: p})
	c1 := CommitTarget("acme/api", sha("c1"))
	f := findingOf(pred.Findings, c1)
	if f.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(f.Summary, "could not be checked: ") || !strings.Contains(f.Summary, "HTTP 500 Internal Server Error") {
		t.Errorf("c1 = %s %q, want not_verifiable naming the 500", f.Status, f.Summary)
	}
	if want := "1 of 2 findings could not be collected: " + strings.TrimPrefix(c1, "github.com/"); res.Incomplete != want {
		t.Errorf("Incomplete = %q, want %q", res.Incomplete, want)
	}
	if pred.Status != evidence.StatusError || pred.Reason != "incomplete: "+res.Incomplete {
		t.Errorf("evidence = %s %q, want error with the incompleteness as reason", pred.Status, pred.Reason)
	}
	if pred.Counts[evidence.StatusError] != 0 || pred.Counts[evidence.StatusNotVerifiable] == 0 {
		t.Errorf("counts = %v, want no error finding", pred.Counts)
	}
}

// TestSourcePaginationDoesNotEnd: a check run listing whose Link header
// points back makes the commit not_verifiable and the result incomplete,
// not an endless loop.
func TestSourcePaginationDoesNotEnd(t *testing.T) {
	c1 := cm("c1", "2026-11-17T10:00", green("2026-11-17T10:00")...)
	fx := memFixture(apiRepo(nil, c1).build(t, "", [2]string{weekStart, weekEnd}))
	srv := ghfake.New(fx, ghfake.WithToken(testToken))
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/check-runs") {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?page=1>; rel="next"`, req.Host, req.URL.Path))
		}
		srv.ServeHTTP(w, req)
	})
	gh := serveHandler(t, srv, h)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), apiScope, week(), NewPolicy())
	f := findingOf(res.Findings, CommitTarget("acme/api", c1.SHA))
	if f.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(f.Summary, "could not be checked: ") || !strings.Contains(f.Summary, "pagination does not end") {
		t.Errorf("commit: %s %q, want not_verifiable naming the pagination", f.Status, f.Summary)
	}
	if !strings.Contains(res.Incomplete, "could not be collected: acme/api@"+shortSHA(c1.SHA)) {
		t.Errorf("Incomplete = %q", res.Incomplete)
	}
}

func TestCollectOrgListingFails(t *testing.T) {
	_, _, gh := serveFixture(t, &ghfake.Fixture{}, 0)
	_, err := newCollector(t, gh, mustTime(caseNow), 0).Collect(context.Background(),
		collectors.Request{Scope: collectors.Scope{Orgs: []string{"nope"}}, Window: week(), Policy: NewPolicy()})
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusNotFound || !strings.Contains(err.Error(), "org nope") {
		t.Errorf("error %v: want a go-github 404 naming the organisation", err)
	}
}

func TestRepoLookupRefused(t *testing.T) {
	_, _, gh := serveFixture(t, &ghfake.Fixture{}, 0)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "gone"}}}, week(), NewPolicy())
	if len(res.Findings) != 1 || res.Findings[0].Target != "github.com/acme/gone" || res.Findings[0].Status != evidence.StatusNotVerifiable ||
		!strings.Contains(res.Findings[0].Summary, `"Metadata: read"`) || res.Incomplete == "" {
		t.Errorf("findings %+v, incomplete %q", res.Findings, res.Incomplete)
	}
}

func TestCollectCancelled(t *testing.T) {
	_, _, gh := fakeGitHub(t, sampleOrg, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := newCollector(t, gh, mustTime(caseNow), 0).Collect(ctx, collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Window: week(), Policy: NewPolicy()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Collect = %v, %v; want context.Canceled", res, err)
	}
}

// TestCollectCancelledMidway cancels while the commits' checks are read:
// the collection fails rather than judging part of them.
func TestCollectCancelledMidway(t *testing.T) {
	fx, err := ghfake.Load(sampleOrg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := ghfake.New(fx, ghfake.WithToken(testToken))
	cancelling := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/check-runs") {
			cancel()
		}
		srv.ServeHTTP(w, r)
	})
	gh := serveHandler(t, srv, cancelling)
	_, err = newCollector(t, gh, mustTime(caseNow), 1).Collect(ctx, collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Window: week(), Policy: NewPolicy()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestValidate(t *testing.T) {
	c := New(collectors.Deps{})
	org := collectors.Scope{Orgs: []string{"acme"}}
	bad := NewPolicy()
	bad.FailedConclusions = []string{"success"}
	tests := []struct {
		name string
		req  collectors.Request
		want string
	}{
		{"ok", collectors.Request{Scope: org, Window: week(), Policy: NewPolicy()}, ""},
		{"no scope", collectors.Request{Window: week(), Policy: NewPolicy()}, "no scope"},
		{"bad repo", collectors.Request{Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "a/b"}}}, Window: week(), Policy: NewPolicy()}, "--repo"},
		{"bad branch", collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}, Branches: []string{"a..b"}}, Window: week(), Policy: NewPolicy()}, "--branch"},
		{"no window", collectors.Request{Scope: org, Policy: NewPolicy()}, "window"},
		{"inverted window", collectors.Request{Scope: org, Window: schedules.Window{Start: week().End, End: week().Start}, Policy: NewPolicy()}, "window"},
		{"policy value", collectors.Request{Scope: org, Window: week(), Policy: DefaultPolicy()}, "want *cistatus.Policy"},
		{"nil policy", collectors.Request{Scope: org, Window: week(), Policy: (*Policy)(nil)}, "want *cistatus.Policy"},
		{"invalid policy", collectors.Request{Scope: org, Window: week(), Policy: bad}, `failed_conclusions[0] is "success"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Validate(tt.req)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := c.Collect(context.Background(), collectors.Request{Scope: org, Window: week(), Policy: NewPolicy()}); err == nil {
		t.Error("Collect without a GitHub client succeeded")
	}
}

func TestInfo(t *testing.T) {
	info := Info()
	if info.Name != "ci-status" || info.Description == "" || info.New == nil {
		t.Fatalf("Info() = %+v", info)
	}
	c := info.New(collectors.Deps{})
	if c.Name() != "ci-status" || c.Version() != "1.2.0" {
		t.Errorf("Name, Version = %q, %q", c.Name(), c.Version())
	}
	if _, ok := c.NewPolicy().(*Policy); !ok {
		t.Errorf("NewPolicy() is %T, want *Policy", c.NewPolicy())
	}
	if pit, ok := c.(collectors.PointInTime); !ok || pit.PointInTime() {
		t.Error("ci-status judges the window's history: PointInTime must be false")
	}
	r := collectors.NewRegistry()
	r.Register(info)
	if _, err := r.Lookup("ci-status"); err != nil {
		t.Error(err)
	}
}

// requestsFormula is the documented cost of a collection of one branch of
// one repository named with --repo and --branch, whose workflows' first
// page shows an active one and whose failed runs were all re-run green in
// the listing: the commit listing pages, 1 workflow page, the run listing
// pages, and 2 per commit.
func requestsFormula(commits, runs int) int {
	return max((commits+99)/100, 1) + 1 + max((runs+99)/100, 1) + 2*commits
}

// Test500Commits measures the requests per commit on a generated
// repository with 500 commits in the window, and holds it to the formula.
func Test500Commits(t *testing.T) {
	srv, _, gh := serveFixture(t, memFixture(bigRepo(500, 1).build(t, "", [2]string{weekStart, weekEnd})), 0)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), bigScope, week(), NewPolicy())
	if len(res.Findings) != 501 {
		t.Fatalf("%d findings, want 500 commits and the branch", len(res.Findings))
	}
	for _, f := range res.Findings {
		if f.Status != evidence.StatusPass {
			t.Fatalf("%s: %s %s", f.Target, f.Status, f.Summary)
		}
	}
	if want := requestsFormula(500, 500); res.Requests != int64(want) || srv.Requests() != want {
		t.Errorf("requests = %d, want %d", res.Requests, want)
	}
	t.Logf("500 commits: %d requests, %.3f per commit", res.Requests, float64(res.Requests)/500)
}
