package cistatus

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/ghfake"
)

const (
	// sampleDir holds the sample organisation's CI bodies.
	sampleDir = "ci-status"
	// sampleRoutes is their route list under routes.d/.
	sampleRoutes = "ci-status.json"
)

// sampleCommits reads the commits the sample organisation's merge activity
// serves for a repository's main branch in the demo week (its listing is
// reused, not repeated), by the first line of their message.
func sampleCommits(t testing.TB, repo string) map[string]fxCommit {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sampleOrg, "merge-activity", repo+"-commits-main.json"))
	if err != nil {
		t.Fatal(err)
	}
	var items []struct {
		SHA    string `json:"sha"`
		Commit struct {
			Message   string `json:"message"`
			Committer struct {
				Date time.Time `json:"date"`
			} `json:"committer"`
		} `json:"commit"`
	}
	if err := json.Unmarshal(data, &items); err != nil {
		t.Fatal(err)
	}
	out := map[string]fxCommit{}
	for _, it := range items {
		msg, _, _ := strings.Cut(it.Commit.Message, "\n")
		out[msg] = fxCommit{SHA: it.SHA, Date: at(it.Commit.Committer.Date), Message: msg}
	}
	return out
}

// pick is the sample commit whose message contains s.
func pick(t testing.TB, commits map[string]fxCommit, s string) fxCommit {
	t.Helper()
	var found []fxCommit
	for msg, c := range commits {
		if strings.Contains(msg, s) {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d sample commits match %q: the merge activity fixture changed", len(found), s)
	}
	return found[0]
}

// sampleOrgCI is the CI of the bundled organisation acme in the demo week
// [2026-11-16, 2026-11-23), exercising every rule: see the sample
// organisation's README.
func sampleOrgCI(t testing.TB) []fxRepo {
	pay := sampleCommits(t, "payments")
	p := func(s string) fxCommit { return pick(t, pay, s) }
	with := func(c fxCommit, checks ...fxCheck) fxCommit { c.Checks = checks; return c }
	run := func(id int64, c fxCommit, conclusion string) fxRun { return ciRun(id, c, conclusion) }
	// inRun puts check runs in the check suite of workflow run id: they are
	// its jobs.
	inRun := func(id int64, cs ...fxCheck) []fxCheck {
		for i := range cs {
			cs[i].Suite = runSuite(id)
		}
		return cs
	}

	// The head of #101 landed with its merge commit; its checks (from the
	// pull request) are served by the merge activity's routes.
	head101 := p("Implement change 101")
	head101.NoRoutes = true
	m101 := p("Merge pull request #101")
	m101.Checks = inRun(4101, green(m101.Date)...)
	m102 := withStatuses(with(p("(#102)"), inRun(4102, green(p("(#102)").Date)...)...), st("security/snyk", "success", p("(#102)").Date))
	m103 := p("(#103)")
	// ci/test failed; run 4103's re-run (attempt 2, the same check suite)
	// passed.
	m103.Checks = inRun(4103, ok("ci/build", m103.Date), bad("ci/test", m103.Date, "failure"), ok("ci/test", shift(m103.Date, time.Hour)))
	m104 := p("(#104)")
	m105 := with(p("(#105)"), inRun(4105, ok("ci/build", p("(#105)").Date), bad("ci/test", p("(#105)").Date, "failure"))...)
	m106 := p("(#106)")
	// Run 4106 failed; a new run of the same workflow, 4107, passed.
	m106.Checks = append(inRun(4106, bad("ci/build", m106.Date, "timed_out"), bad("ci/test", m106.Date, "cancelled")),
		inRun(4107, ok("ci/build", shift(m106.Date, 50*time.Minute)), ok("ci/test", shift(m106.Date, 50*time.Minute)))...)
	direct := with(p("Quick fix for payout rounding"), inRun(4108, ok("ci/build", p("Quick fix for payout rounding").Date))...)
	m107 := withStatuses(with(p("(#107)"), inRun(4109, green(p("(#107)").Date)...)...), st("security/snyk", "success", p("(#107)").Date))
	m108 := with(p("(#108)"), inRun(4110, ok("ci/build", p("(#108)").Date), running("ci/test", p("(#108)").Date))...)

	r103 := run(4103, m103, "success")
	r103.Attempt, r103.Earlier = 2, []fxAttempt{{Conclusion: "failure", Started: shift(m103.Date, 2*time.Minute)}}
	r107 := run(4107, m106, "success")
	r107.Created, r107.Event = shift(m106.Date, 50*time.Minute), "workflow_dispatch"
	payments := fxRepo{Owner: "acme", Name: "payments", SkipListings: true,
		Branches:  map[string][]fxCommit{"main": {m108, m107, direct, m106, m105, m104, m103, m102, m101, head101}},
		Workflows: []fxWorkflow{{Name: "CI"}, {Name: "Release"}},
		Runs: map[string][]fxRun{"main": {run(4101, m101, "success"), run(4102, m102, "success"), r103, run(4105, m105, "failure"),
			run(4106, m106, "failure"), r107, run(4108, direct, "success"), run(4109, m107, "success"), run(4110, m108, "")}},
		// The pull request run of #101's head, which only a lookup returns.
		ExtraRuns: []fxRun{{ID: 4090, Workflow: "CI", Number: 90, SHA: head101.SHA, Branch: "topic-101", Event: "pull_request", Conclusion: "success", Created: shift(head101.Date, 2*time.Hour)}},
		Lookups:   []string{head101.SHA, m104.SHA, m105.SHA},
	}

	web := sampleCommits(t, "web")
	w := func(s string) fxCommit {
		c := pick(t, web, s)
		c.ChecksStatus = 403
		return c
	}
	lint := func(c fxCommit, state string) fxCommit { return withStatuses(c, st("lint", state, c.Date)) }
	theme, persist := lint(w("Add the theme switch"), "success"), lint(w("Persist the choice"), "success")
	m202, m203, m204 := lint(w("(#202)"), "failure"), lint(w("(#203)"), "success"), lint(w("(#204)"), "success")
	release := w("chore(release)")
	webRun := func(id int64, c fxCommit) fxRun {
		r := ciRun(id, c, "success")
		r.Workflow = "Web CI"
		return r
	}
	relRun := webRun(4206, release)
	relRun.Workflow = "Release"
	webRepo := fxRepo{Owner: "acme", Name: "web", SkipListings: true,
		Branches:  map[string][]fxCommit{"main": {release, m204, m203, m202, persist, theme}},
		Workflows: []fxWorkflow{{Name: "Web CI"}, {Name: "Release"}},
		Runs:      map[string][]fxRun{"main": {webRun(4201, persist), webRun(4202, m202), webRun(4203, m203), webRun(4204, m204), relRun}},
	}

	docs := fxRepo{Owner: "acme", Name: "docs", SkipListings: true, Branches: map[string][]fxCommit{"main": {}},
		Runs: map[string][]fxRun{"main": nil}, Heads: map[string][2]int{"main": {0, 0}}}
	legacyHead := fakeSHA("acme/legacy:main-head")
	legacy := fxRepo{Owner: "acme", Name: "legacy", SkipListings: true, Branches: map[string][]fxCommit{"main": {}},
		Workflows: []fxWorkflow{{Name: "Build"}},
		Runs:      map[string][]fxRun{"main": {{ID: 4301, Workflow: "Build", Number: 301, SHA: legacyHead, Event: "schedule", Conclusion: "failure", Created: "2026-11-18T03:00"}}},
		Lookups:   []string{legacyHead},
	}
	return []fxRepo{payments, webRepo, docs, legacy}
}

// sampleOrgFiles are the sample organisation's CI routes (for routes.d/)
// and body files (named below sampleDir).
func sampleOrgFiles(t testing.TB) ([]ghfake.Route, map[string][]byte) {
	files := map[string][]byte{}
	var routes []ghfake.Route
	for _, r := range sampleOrgCI(t) {
		ff := r.build(t, sampleDir+"/"+r.Name+"-", [2]string{weekStart, weekEnd})
		routes = append(routes, ff.routes...)
		for n, b := range ff.files {
			files[strings.TrimPrefix(n, sampleDir+"/")] = b
		}
	}
	return routes, files
}
