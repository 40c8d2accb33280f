package cistatus

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// fxCase is a golden case: the GitHub it runs against and what to collect.
type fxCase struct {
	Name        string
	Description string
	// Scope defaults to acme/api's main branch.
	Scope collectors.Scope
	// Window is [start, end) as ts() strings; default the demo week.
	Window [2]string
	// Now is the collection time; default 2026-11-23T12:00.
	Now        string
	Policy     string
	MaxPerPage int
	Repos      []fxRepo
	// Extra routes are added; Overrides replace the generated route with
	// the same path and query.
	Extra     []ghfake.Route
	Overrides []ghfake.Route
	// Files are extra body files the routes name.
	Files map[string][]byte
}

// sha is acme/api's commit of a name.
func sha(name string) string { return fakeSHA("acme/api:" + name) }

// cm is a commit of acme/api at date with checks.
func cm(name, date string, checks ...fxCheck) fxCommit {
	return fxCommit{SHA: sha(name), Date: date, Message: "Change " + name, Checks: checks}
}

// ok is a check run that succeeded 5 to 15 minutes after date.
func ok(name, date string) fxCheck {
	return fxCheck{Name: name, Conclusion: "success", Started: shift(date, 5*time.Minute), Completed: shift(date, 15*time.Minute)}
}

// bad is a check run that ended in conclusion.
func bad(name, date, conclusion string) fxCheck {
	c := ok(name, date)
	c.Conclusion = conclusion
	return c
}

// running is a check run still in progress.
func running(name, date string) fxCheck {
	return fxCheck{Name: name, Status: "in_progress", Started: shift(date, 5*time.Minute)}
}

// green are the two checks of a green CI run.
func green(date string) []fxCheck { return []fxCheck{ok("ci/build", date), ok("ci/test", date)} }

func withStatuses(c fxCommit, s ...fxStatus) fxCommit {
	c.Statuses = append(c.Statuses, s...)
	return c
}

func st(context, state, date string) fxStatus {
	return fxStatus{Context: context, State: state, At: shift(date, 10*time.Minute)}
}

// ciRun is a push run of the CI workflow on a commit, created a minute
// after date.
func ciRun(id int64, c fxCommit, conclusion string) fxRun {
	r := fxRun{ID: id, Workflow: "CI", Number: int(id % 1000), SHA: c.SHA, Conclusion: conclusion, Created: shift(c.Date, time.Minute)}
	if conclusion == "" {
		r.Status = "in_progress"
	}
	return r
}

// apiRepo is acme/api with a CI workflow and commits on main, newest first.
func apiRepo(runs []fxRun, commits ...fxCommit) fxRepo {
	return fxRepo{Owner: "acme", Name: "api", Branches: map[string][]fxCommit{"main": commits},
		Workflows: []fxWorkflow{{Name: "CI"}}, Runs: map[string][]fxRun{"main": runs}}
}

// orgListing is GET /orgs/acme/repos for repositories named, the archived
// ones marked.
func orgListing(t testing.TB, repos map[string]bool) (ghfake.Route, []byte) {
	var items []any
	for _, name := range slices.Sorted(maps.Keys(repos)) {
		archived := repos[name]
		o := fx{t: t, repo: fxRepo{Owner: "acme", Name: name}}.repository().(map[string]any)
		o["archived"] = archived
		items = append(items, o)
	}
	return ghfake.Route{Path: "/orgs/acme/repos", File: "repos.json"}, encode(items)
}

// goldenCases are the cases under testdata/.
func goldenCases(t testing.TB) []fxCase {
	c1, c2 := cm("c1", "2026-11-17T10:00", green("2026-11-17T10:00")...), withStatuses(cm("c2", "2026-11-18T10:00", green("2026-11-18T10:00")...), st("lint", "success", "2026-11-18T10:00"))

	// failed-check-fail
	fc := cm("c1", "2026-11-17T10:00", ok("ci/build", "2026-11-17T10:00"), bad("ci/test", "2026-11-17T10:00", "failure"))
	failedRepo := apiRepo([]fxRun{ciRun(101, fc, "failure")}, fc)
	failedRepo.Lookups = []string{fc.SHA}

	// pending
	p1 := cm("c1", "2026-11-20T10:00", ok("ci/build", "2026-11-20T10:00"), running("ci/test", "2026-11-20T10:00"))
	p2 := withStatuses(cm("c2", "2026-11-21T10:00", green("2026-11-21T10:00")...), st("deploy/approval", "pending", "2026-11-21T10:00"))

	// required checks
	r1 := cm("c1", "2026-11-17T10:00", ok("ci/build", "2026-11-17T10:00"))
	r2 := cm("c2", "2026-11-18T10:00", ok("ci/build", "2026-11-18T10:00"), bad("ci/test", "2026-11-18T10:00", "timed_out"))
	r3 := cm("c3", "2026-11-19T10:00", green("2026-11-19T10:00")...)
	r4 := cm("c4", "2026-11-20T10:00", running("ci/build", "2026-11-20T10:00"))
	r5 := withStatuses(cm("c5", "2026-11-21T10:00", ok("ci/build", "2026-11-21T10:00")), st("ci/test", "success", "2026-11-21T10:00"))

	// required workflows
	w1, w2, w3 := cm("c1", "2026-11-17T10:00", green("2026-11-17T10:00")...), cm("c2", "2026-11-18T10:00", green("2026-11-18T10:00")...), cm("c3", "2026-11-19T10:00", green("2026-11-19T10:00")...)
	w4, w5 := cm("c4", "2026-11-20T10:00", green("2026-11-20T10:00")...), cm("c5", "2026-11-21T10:00", green("2026-11-21T10:00")...)
	wfRepo := apiRepo([]fxRun{ciRun(301, w1, "success"), ciRun(304, w4, ""), ciRun(305, w5, "failure")}, w5, w4, w3, w2, w1)
	wfRepo.ExtraRuns = []fxRun{{ID: 290, Workflow: "CI", Number: 290, SHA: w2.SHA, Branch: "topic-2", Event: "pull_request", Conclusion: "success", Created: "2026-11-18T08:00"}}
	wfRepo.Lookups = []string{w2.SHA, w3.SHA, w5.SHA}

	// re-runs
	a1 := cm("c1", "2026-11-17T10:00", ok("ci/build", "2026-11-17T10:00"), bad("ci/test", "2026-11-17T10:00", "failure"), ok("ci/test", "2026-11-17T11:00"))
	attemptRun := ciRun(501, a1, "success")
	attemptRun.Attempt, attemptRun.Earlier = 2, []fxAttempt{{Conclusion: "failure", Started: "2026-11-17T10:02"}}
	n1 := cm("c1", "2026-11-17T10:00", green("2026-11-17T11:00")...)
	newRun := ciRun(602, n1, "success")
	newRun.Created, newRun.Event = "2026-11-17T11:00", "workflow_dispatch"
	late := cm("c1", "2026-11-22T23:00", green("2026-11-23T01:00")...)
	lateRepo := apiRepo([]fxRun{ciRun(701, late, "failure")}, late)
	lateRepo.ExtraRuns = []fxRun{{ID: 702, Workflow: "CI", Number: 702, SHA: late.SHA, Event: "workflow_dispatch", Conclusion: "success", Created: "2026-11-23T01:00"}}
	lateRepo.Lookups = []string{late.SHA}

	// failed runs not fixed
	nf := cm("c1", "2026-11-18T10:00", ok("ci/build", "2026-11-18T10:00"), bad("ci/test", "2026-11-18T10:00", "timed_out"))
	old := fxCommit{SHA: sha("before-window"), Date: "2026-11-10T10:00"}
	nightly := fxRun{ID: 802, Workflow: "Nightly", Number: 12, SHA: old.SHA, Event: "schedule", Conclusion: "startup_failure", Created: "2026-11-19T03:00"}
	cancelled := ciRun(803, nf, "cancelled")
	cancelled.Created = "2026-11-18T10:30"
	nfRepo := apiRepo([]fxRun{ciRun(801, nf, "timed_out"), nightly, cancelled}, nf)
	nfRepo.Workflows = append(nfRepo.Workflows, fxWorkflow{Name: "Nightly"})
	nfRepo.Lookups = []string{nf.SHA, old.SHA}
	cancelRepo := apiRepo([]fxRun{cancelled}, nf)
	cancelRepo.Lookups = []string{nf.SHA}

	// no CI configured
	noCI := fxRepo{Owner: "acme", Name: "api", Branches: map[string][]fxCommit{"main": {}}, Runs: map[string][]fxRun{"main": nil}, Heads: map[string][2]int{"main": {0, 0}}}
	extCI := fxRepo{Owner: "acme", Name: "api", Runs: map[string][]fxRun{"main": nil}, Branches: map[string][]fxCommit{"main": {
		withStatuses(cm("c1", "2026-11-17T10:00"), st("ci/jenkins", "success", "2026-11-17T10:00"))}}}
	headCI := noCI
	headCI.Heads = map[string][2]int{"main": {0, 2}}
	disabled := noCI
	disabled.Workflows = []fxWorkflow{{Name: "CI", State: "disabled_manually"}}

	// withheld
	withheldCommits := apiRepo(nil, c1)
	withheldCommits.ListingStatus = 403
	h1 := withStatuses(cm("c1", "2026-11-17T10:00"), st("ci/build", "success", "2026-11-17T10:00"))
	h1.ChecksStatus = 403
	h2 := withStatuses(cm("c2", "2026-11-18T10:00"), st("ci/build", "failure", "2026-11-18T10:00"))
	h2.ChecksStatus = 403
	h3 := cm("c3", "2026-11-19T10:00")
	h3.ChecksStatus, h3.StatusStatus = 403, 404
	withheldRuns := apiRepo(nil, c2, c1)
	withheldRuns.RunsStatus, withheldRuns.WorkflowsStatus = 403, 403
	truncated := apiRepo([]fxRun{ciRun(901, c1, "success"), ciRun(902, c2, "success")}, c2, c1)
	truncated.RunsTotal = 1500

	// errors
	malformed := apiRepo(nil, c1)
	broken := apiRepo(nil, c1)

	// window boundaries
	b0 := cm("start", "2026-11-16T00:00", green("2026-11-16T00:00")...)
	b1 := cm("last", "2026-11-22T23:59:59", green("2026-11-22T23:59:59")...)
	b2 := cm("end", "2026-11-23T00:00", green("2026-11-23T00:00")...)
	inRun, endRun := ciRun(1001, b0, "failure"), ciRun(1002, b2, "failure")
	inRun.Created, endRun.Created = "2026-11-16T00:00", "2026-11-23T00:00"
	boundary := apiRepo([]fxRun{inRun, endRun}, b2, b1, b0)
	boundary.Lookups = []string{b0.SHA}

	// green share
	share := func(pending bool) fxRepo {
		cs := []fxCommit{
			cm("s1", "2026-11-17T10:00", green("2026-11-17T10:00")...),
			cm("s2", "2026-11-18T10:00", green("2026-11-18T10:00")...),
			cm("s3", "2026-11-19T10:00", bad("ci/test", "2026-11-19T10:00", "failure")),
			cm("s4", "2026-11-20T10:00", green("2026-11-20T10:00")...),
			cm("s5", "2026-11-21T10:00", bad("ci/build", "2026-11-21T10:00", "failure")),
		}
		if pending {
			cs[3] = cm("s4", "2026-11-20T10:00", running("ci/test", "2026-11-20T10:00"))
		}
		return apiRepo(nil, cs[4], cs[3], cs[2], cs[1], cs[0])
	}

	// ignored checks
	i1 := withStatuses(cm("c1", "2026-11-17T10:00", ok("ci/build", "2026-11-17T10:00")), st("codecov/patch", "failure", "2026-11-17T10:00"))
	i2 := withStatuses(cm("c2", "2026-11-18T10:00"), st("codecov/patch", "success", "2026-11-18T10:00"))

	// two branches
	shared := cm("shared", "2026-11-18T10:00", green("2026-11-18T10:00")...)
	rel := cm("rel", "2026-11-19T10:00", bad("ci/build", "2026-11-19T10:00", "failure"))
	twoBranches := fxRepo{Owner: "acme", Name: "api", Workflows: []fxWorkflow{{Name: "CI"}},
		Branches: map[string][]fxCommit{"main": {shared, c1}, "release/1.x": {rel, shared}},
		Runs:     map[string][]fxRun{"main": {ciRun(1101, c1, "success")}, "release/1.x": {func() fxRun { r := ciRun(1102, rel, "failure"); r.Branch = "release/1.x"; return r }()}},
		Lookups:  []string{rel.SHA}}

	// pagination: pages of 2
	var pg []fxCommit
	for i := 5; i >= 1; i-- {
		d := fmt.Sprintf("2026-11-%02dT10:00", 16+i)
		pg = append(pg, cm(fmt.Sprintf("p%d", i), d, green(d)...))
	}
	pg[0].Checks = []fxCheck{ok("a", "2026-11-21T10:00"), ok("b", "2026-11-21T10:00"), ok("c", "2026-11-21T10:00"), ok("d", "2026-11-21T10:00"), bad("e", "2026-11-21T10:00", "failure")}
	pg[1].Statuses = []fxStatus{st("s1", "success", "2026-11-20T10:00"), st("s2", "success", "2026-11-20T10:00"), st("s3", "error", "2026-11-20T10:00")}
	var pgRuns []fxRun
	for i, c := range pg {
		pgRuns = append(pgRuns, ciRun(int64(1205-i), c, "success"))
	}
	pgRuns[4].Conclusion = "failure"
	paged := apiRepo(pgRuns, pg...)
	paged.Workflows = []fxWorkflow{{Name: "Old CI", State: "disabled_manually"}, {Name: "Older CI", State: "disabled_inactivity"}, {Name: "CI"}, {Name: "Deploy"}, {Name: "Docs"}}
	paged.Lookups = []string{pg[4].SHA}

	// attempts and lookups withheld
	aw := cm("c1", "2026-11-17T10:00", green("2026-11-17T11:00")...)
	awRun := ciRun(1301, aw, "success")
	awRun.Attempt, awRun.Earlier, awRun.AttemptsStatus = 2, []fxAttempt{{Conclusion: "failure"}}, 403
	lw := cm("c1", "2026-11-17T10:00", green("2026-11-17T11:00")...)
	lwRepo := apiRepo([]fxRun{ciRun(1401, lw, "failure")}, lw)
	lwRepo.Lookups, lwRepo.LookupStatus = []string{lw.SHA}, 403

	// default branch, org
	trunk := fxRepo{Owner: "acme", Name: "api", DefaultBranch: "trunk", WithRepo: true, Workflows: []fxWorkflow{{Name: "CI"}},
		Branches: map[string][]fxCommit{"trunk": {c1}}, Runs: map[string][]fxRun{"trunk": {func() fxRun { r := ciRun(1501, c1, "success"); r.Branch = "trunk"; return r }()}}}
	orgRoute, orgBody := orgListing(t, map[string]bool{"api": false, "old": true})

	// check runs of the same name from other apps and workflows
	in := func(suite int64, c fxCheck) fxCheck { c.Suite = suite; return c }
	later := func(c fxCheck, d time.Duration) fxCheck {
		c.Started, c.Completed = shift(c.Started, d), shift(c.Completed, d)
		return c
	}
	const d1, d2, d3, d4, d5 = "2026-11-17T10:00", "2026-11-18T10:00", "2026-11-19T10:00", "2026-11-20T10:00", "2026-11-21T10:00"
	// g1: test failed in CI; circleci's test passed later.
	g1 := cm("g1", d1, in(runSuite(1101), ok("build", d1)), in(runSuite(1101), bad("test", d1, "failure")),
		func() fxCheck { c := later(ok("test", d1), 30*time.Minute); c.App = "circleci-checks"; return c }())
	// g2: test failed in CI; E2E's job test passed later.
	g2 := cm("g2", d2, in(runSuite(1201), bad("test", d2, "failure")), in(runSuite(1202), later(ok("test", d2), 30*time.Minute)))
	// g3: test failed in CI run 1301; a new run of CI, 1302, passed.
	g3 := cm("g3", d3, in(runSuite(1301), bad("test", d3, "failure")), in(runSuite(1302), later(ok("test", d3), time.Hour)))
	// g4: test failed in attempt 1 of run 1401; attempt 2 (same suite) passed.
	g4 := cm("g4", d4, in(runSuite(1401), bad("test", d4, "failure")), in(runSuite(1401), later(ok("test", d4), time.Hour)))
	// g5: test failed in a check suite no run read names; another suite's
	// test passed later.
	g5 := cm("g5", d5, in(fakeID("suite:unknown-1"), bad("test", d5, "failure")), in(fakeID("suite:unknown-2"), later(ok("test", d5), time.Hour)))
	e2e := ciRun(1202, g2, "success")
	e2e.Workflow = "E2E"
	newRun3 := ciRun(1302, g3, "success")
	newRun3.Created, newRun3.Event = shift(d3, time.Hour), "workflow_dispatch"
	rerun4 := ciRun(1401, g4, "success")
	rerun4.Attempt, rerun4.Earlier = 2, []fxAttempt{{Conclusion: "failure", Started: shift(d4, 2*time.Minute)}}
	groups := apiRepo([]fxRun{ciRun(1101, g1, "failure"), ciRun(1201, g2, "failure"), e2e, ciRun(1301, g3, "failure"), newRun3, rerun4}, g5, g4, g3, g2, g1)
	groups.Workflows = append(groups.Workflows, fxWorkflow{Name: "E2E"})
	groups.Lookups = []string{g1.SHA, g2.SHA}

	// an empty repository in the organisation
	emptyRepo := fxRepo{Owner: "acme", Name: "empty", Empty: true, Branches: map[string][]fxCommit{"main": nil}}
	emptyOrgRoute, emptyOrgBody := orgListing(t, map[string]bool{"api": false, "empty": false})

	// a fork's pull request run from its own main
	forkRun := fxRun{ID: 1602, Workflow: "CI", Number: 1602, SHA: fakeSHA("mallory/api:main"), Event: "pull_request", Conclusion: "failure",
		Created: "2026-11-18T12:00", HeadRepo: "mallory/api"}
	forked := apiRepo([]fxRun{ciRun(1601, c1, "success"), forkRun}, c1)
	forked.Lookups = []string{forkRun.SHA}

	// --branch over an organisation whose repositories lack a branch
	hasMain := apiRepo([]fxRun{ciRun(1701, c1, "success")}, c1)
	hasMain.MissingBranches = []string{"release/2.x"}
	locked := fxRepo{Owner: "acme", Name: "locked", ListingStatus: 404, Branches: map[string][]fxCommit{"main": nil}, ExistingBranches: []string{"main"}, SkipRest: true}
	legacyRepo := fxRepo{Owner: "acme", Name: "legacy", MissingBranches: []string{"main", "release/2.x"}, SkipRest: true}
	branchOrgRoute, branchOrgBody := orgListing(t, map[string]bool{"api": false, "legacy": false, "locked": false})

	return []fxCase{
		{Name: "green-pass", Description: "two commits with green check runs and a status, each with a green CI run", Repos: []fxRepo{apiRepo([]fxRun{ciRun(1, c1, "success"), ciRun(2, c2, "success")}, c2, c1)}},
		{Name: "failed-check-fail", Description: "ci/test failed on the only commit and its run was never re-run: the commit and the run fail", Repos: []fxRepo{failedRepo}},
		{Name: "no-ci-on-commit-fail", Description: "one commit has no check run and no status at all", Repos: []fxRepo{apiRepo([]fxRun{ciRun(2, c2, "success")}, c2, cm("c1", "2026-11-17T10:00"))}},
		{Name: "pending-not-verifiable", Description: "ci/test still running on one commit, a pending status on another, at collection time", Repos: []fxRepo{apiRepo([]fxRun{ciRun(401, p1, "")}, p2, p1)}},
		{Name: "required-checks", Description: "required ci/build and ci/test: one missing, one timed out, one green, one still running with the other not started, one met by a status", Policy: `{"required_checks": ["ci/build", "ci/test"]}`,
			Repos: []fxRepo{apiRepo(nil, r5, r4, r3, r2, r1)}},
		{Name: "required-workflows", Description: "required workflow CI: run in the listing; found by a lookup (a pull request run); never ran; still running; failed", Policy: `{"required_workflows": ["CI"]}`, Repos: []fxRepo{wfRepo}},
		{Name: "rerun-attempt-green-pass", Description: "a run failed and its re-run (attempt 2) succeeded: the failed attempt is read and recorded as re-run green", Repos: []fxRepo{apiRepo([]fxRun{attemptRun}, a1)}},
		{Name: "rerun-new-run-green-pass", Description: "a run failed; a new run of the same workflow on the same commit succeeded an hour later", Repos: []fxRepo{apiRepo([]fxRun{ciRun(601, n1, "failure"), newRun}, n1)}},
		{Name: "rerun-after-window-pass", Description: "a run failed just before the window end and was re-run green after it: the commit's runs are looked up", Repos: []fxRepo{lateRepo}},
		{Name: "failed-runs-not-fixed-fail", Description: "a timed-out CI run and a nightly that could not start, neither re-run; a cancelled run is no failed run by default", Repos: []fxRepo{nfRepo}},
		{Name: "cancelled-counted-fail", Description: "failed_conclusions counts cancelled runs", Policy: `{"failed_conclusions": ["failure", "cancelled"]}`, Repos: []fxRepo{cancelRepo}},
		{Name: "no-ci-configured-fail", Description: "no workflow, no commit in the window, nothing on the head of main", Repos: []fxRepo{noCI}},
		{Name: "external-ci-pass", Description: "no workflow, but the commits carry a Jenkins status", Repos: []fxRepo{extCI}},
		{Name: "head-external-ci-pass", Description: "no workflow and no commit in the window, but the head of main carries statuses", Repos: []fxRepo{headCI}},
		{Name: "disabled-workflows-fail", Description: "the only workflow is disabled and nothing else ran", Repos: []fxRepo{disabled}},
		{Name: "commits-withheld-not-verifiable", Description: "the commit listing answers 403: the population is unknown", Repos: []fxRepo{withheldCommits}},
		{Name: "checks-withheld-not-verifiable", Description: "check runs answer 403: a green status is not enough, a failed status still fails, nothing readable is not verifiable", Repos: []fxRepo{apiRepo(nil, h3, h2, h1)}},
		{Name: "runs-withheld-not-verifiable", Description: "the workflows and runs answer 403: the failed runs are unknown (incomplete); the commits are still judged", Repos: []fxRepo{withheldRuns}},
		{Name: "runs-truncated-not-verifiable", Description: "GitHub counts 1500 runs but lists 2: the listing is truncated (incomplete)", Repos: []fxRepo{truncated}},
		{Name: "malformed-json-error", Description: "the combined status of c1 is not JSON: c1 is not_verifiable naming it and the result incomplete, never a judgement", Repos: []fxRepo{malformed},
			Overrides: []ghfake.Route{{Path: "/repos/acme/api/commits/" + c1.SHA + "/status", File: "broken-status.json"}},
			Files:     map[string][]byte{"broken-status.json": []byte(`{"state": "success", "statuses": [`)}},
		{Name: "server-error-error", Description: "the check runs of c1 answer 500 after every retry: c1 is not_verifiable naming the 500 and the result incomplete", Repos: []fxRepo{broken},
			Overrides: []ghfake.Route{{Path: "/repos/acme/api/commits/" + c1.SHA + "/check-runs", Query: map[string]string{"filter": "all"}, Status: 500, Body: errorBody(500)}}},
		{Name: "window-boundaries", Description: "[start, end): a commit and a run at the start are in, at the end out", Repos: []fxRepo{boundary}},
		{Name: "green-share-below-fail", Description: "3 of 5 commits green, min_green_share 0.8", Policy: `{"min_green_share": 0.8}`, Repos: []fxRepo{share(false)}},
		{Name: "green-share-pass", Description: "3 of 5 commits green, min_green_share 0.6", Policy: `{"min_green_share": 0.6}`, Repos: []fxRepo{share(false)}},
		{Name: "green-share-undecided-not-verifiable", Description: "2 of 5 green, 1 pending, min_green_share 0.6: the pending commit decides", Policy: `{"min_green_share": 0.6}`, Repos: []fxRepo{share(true)}},
		{Name: "ignore-checks", Description: "codecov/patch is ignored: its failure does not fail c1; c2, with only it, had no CI", Policy: `{"ignore_checks": ["codecov/patch"]}`, Repos: []fxRepo{apiRepo(nil, i2, i1)}},
		{Name: "two-branches", Description: "a commit on main and release/1.x is judged once and counted on both", Repos: []fxRepo{twoBranches},
			Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "api"}}, Branches: []string{"main", "release/1.x"}}},
		{Name: "pagination", Description: "pages of 2: commits, check runs, statuses, workflows (the first active on page 2) and runs are read to the last page", MaxPerPage: 2, Repos: []fxRepo{paged}},
		{Name: "attempts-withheld-not-verifiable", Description: "a re-run succeeded but its first attempt answers 403: whether it failed is unknown", Repos: []fxRepo{apiRepo([]fxRun{awRun}, aw)}},
		{Name: "lookup-withheld-not-verifiable", Description: "a run failed; the commit's runs answer 403, so whether it was re-run is unknown", Repos: []fxRepo{lwRepo}},
		{Name: "explicit-repo-default-branch", Description: "--repo without --branch reads the repository for its default branch, trunk", Repos: []fxRepo{trunk},
			Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "api"}}}},
		{Name: "org-archived-skipped", Description: "--org acme: the archived repository is skipped", Repos: []fxRepo{apiRepo([]fxRun{ciRun(1, c1, "success")}, c1)},
			Scope: collectors.Scope{Orgs: []string{"acme"}}, Extra: []ghfake.Route{orgRoute}, Files: map[string][]byte{"repos.json": orgBody}},
		{Name: "check-groups", Description: "check runs named test from another app (g1) or another workflow (g2) do not hide a failed test; a new run of the same workflow (g3) or a re-run in the same check suite (g4) does; check suites no run names (g5) stay apart; required test must pass in every group",
			Policy: `{"required_checks": ["test"]}`, Repos: []fxRepo{groups}},
		{Name: "empty-repo-org", Description: "--org acme: acme/empty answers its commit listing 409 Git Repository is empty.: no commits, not a failed collection", Repos: []fxRepo{apiRepo([]fxRun{ciRun(1, c1, "success")}, c1), emptyRepo},
			Scope: collectors.Scope{Orgs: []string{"acme"}}, Extra: []ghfake.Route{emptyOrgRoute}, Files: map[string][]byte{"repos.json": emptyOrgBody}},
		{Name: "fork-run-dropped", Description: "the listing of main's runs returns a failed pull request run from mallory/api's own main: dropped and recorded, not a failed run on main (its commit's runs are served but no longer looked up)",
			Repos: []fxRepo{forked}},
		{Name: "branch-missing-not-verifiable", Description: "--org acme --branch main --branch release/2.x: api lacks release/2.x (Branch not found), legacy lacks both, locked's listing answers 404 though main exists (a permission problem)",
			Repos: []fxRepo{hasMain, locked, legacyRepo}, Scope: collectors.Scope{Orgs: []string{"acme"}, Branches: []string{"main", "release/2.x"}},
			Extra: []ghfake.Route{branchOrgRoute}, Files: map[string][]byte{"repos.json": branchOrgBody}},
	}
}
