package mergeactivity

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/golden"
)

// sampleActivityDir holds the sample organisation's merge activity bodies.
const sampleActivityDir = "merge-activity"

// sampleOrgActivity is the merge activity of the bundled organisation acme
// in the demo week [2026-11-16, 2026-11-23), exercising every rule.
func sampleOrgActivity() []fxRepo {
	const pay = "acme/payments"
	paymentsChecks := func(p fxPull) fxPull {
		p.Runs = []fxRun{
			{Name: "ci/build", Conclusion: "success", Started: shift(p.Merged, -55*time.Minute), Completed: shift(p.Merged, -45*time.Minute)},
			{Name: "ci/test", Conclusion: "success", Started: shift(p.Merged, -55*time.Minute), Completed: shift(p.Merged, -35*time.Minute)},
		}
		p.Statuses = nil
		return p
	}
	pr := func(n int, author, merged, title string) fxPull {
		return titled(paymentsChecks(basicPR(pay, n, author, merged)), title)
	}
	p97 := approved(pr(97, "bob", "2026-11-12T10:00", "Add payout reports"), "alice")
	p98 := approved(pr(98, "alice", "2026-11-14T12:00", "Tune database pool"), "bob")
	p98.Updated = "2026-11-14T12:05"
	p99 := pr(99, "alice", "2026-11-15T18:30", "Hotfix: reconcile stuck transfers")
	p99.Labels = []string{"emergency"}
	p99.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-16T08:00"}}
	p99.Updated = "2026-11-16T08:00"

	p101 := approved(pr(101, "alice", "2026-11-16T11:30", "Add idempotency keys to refunds"), "bob")
	merge101 := fxCommit{SHA: p101.MergeSHA, Author: "alice", Committer: "web-flow", Date: p101.Merged,
		Message: "Merge pull request #101 from acme/topic-101", Parents: []string{fakeSHA("payments-main-before-101"), p101.head()}}
	p102 := approved(pr(102, "carol", "2026-11-17T09:30", "Round ledger amounts half-even"), "carol")
	p103 := pr(103, "dave", "2026-11-17T16:00", "Retry webhook deliveries with backoff")
	p103.Commits = append(p103.Commits, fxCommit{SHA: fakeSHA(pay + "#103/c2"), Author: "erin", Committer: "erin", Date: "2026-11-17T14:00", Message: "Cap the backoff"})
	p103 = approved(p103, "erin")
	p104 := pr(104, "alice", "2026-11-18T13:00", "Cache FX rates for an hour")
	p104.Commits = append(p104.Commits, fxCommit{SHA: fakeSHA(pay + "#104/c2"), Author: "alice", Committer: "alice", Date: "2026-11-18T12:00", Message: "Shorter TTL"})
	p104.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-18T10:30", Commit: p104.Commits[0].SHA}}
	p105 := approved(pr(105, "bob", "2026-11-19T10:30", "Raise the settlement batch size"), "alice")
	p105.Runs[1].Conclusion = "failure"
	p106 := pr(106, "dave", "2026-11-20T03:10", "Hotfix: stop duplicate payouts")
	p106.Labels = []string{"emergency"}
	p106.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-20T09:00"}}
	p106.Updated = "2026-11-20T09:00"
	p107 := pr(107, "erin", "2026-11-20T22:00", "Hotfix: disable the 3-D Secure fallback")
	p107.Labels = []string{"emergency"}
	p107.Reviews = []fxReview{{User: "alice", State: "COMMENTED", At: "2026-11-21T10:00"}}
	p107.Updated = "2026-11-21T10:00"
	p108 := pr(108, "carol", "2026-11-21T12:00", "Refactor the payout scheduler")
	p108.MergedBy = "octo-admin"
	p108.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-21T09:00"}, {User: "bob", State: "CHANGES_REQUESTED", At: "2026-11-21T11:00"}}
	p109 := pr(109, "dave", "2026-11-21T13:00", "Experiment: a second payment provider")
	p109.Merged, p109.MergeSHA, p109.Created, p109.Closed = "", "", "2026-11-19T10:00", "2026-11-21T13:00"
	p110 := approved(pr(110, "dave", "2026-11-21T15:00", "Backport: stop duplicate payouts"), "bob")
	p110.Base = "release/2026.11"
	p111 := approved(pr(111, "bob", "2026-11-23T06:00", "Document payout webhooks"), "alice")
	direct := fxCommit{SHA: fakeSHA("payments/direct/mallory"), Author: "mallory", Committer: "mallory", Date: "2026-11-20T14:00", Message: "Quick fix for payout rounding"}
	paymentsMain := []fxCommit{mergeCommit(p108), mergeCommit(p107), direct, mergeCommit(p106), mergeCommit(p105), mergeCommit(p104),
		mergeCommit(p103), mergeCommit(p102), merge101, p101.Commits[0]}
	payments := fxRepo{Owner: "acme", Name: "payments",
		Pulls:         []fxPull{p97, p98, p99, p101, p102, p103, p104, p105, p106, p107, p108, p109, p110, p111},
		BranchCommits: map[string][]fxCommit{"main": paymentsMain},
		CommitPulls:   map[string][]int{direct.SHA: {}},
	}

	const web = "acme/web"
	webChecks := func(p fxPull) fxPull {
		p.Runs = []fxRun{{Name: "build", Conclusion: "success", Started: shift(p.Merged, -50*time.Minute), Completed: shift(p.Merged, -40*time.Minute)}}
		p.Statuses = []fxStatus{{Context: "lint", State: "success", At: shift(p.Merged, -45*time.Minute)}}
		return p
	}
	wpr := func(n int, author, merged, title string) fxPull {
		return titled(webChecks(basicPR(web, n, author, merged)), title)
	}
	p200 := approved(wpr(200, "frank", "2026-11-11T10:00", "Upgrade the bundler"), "grace")
	p201 := wpr(201, "frank", "2026-11-17T10:00", "Dark mode toggle")
	p201.Commits = []fxCommit{
		{SHA: fakeSHA(web + "#201/c1"), Author: "frank", Committer: "frank", Date: "2026-11-16T13:00", Message: "Add the theme switch"},
		{SHA: fakeSHA(web + "#201/c2"), Author: "frank", Committer: "frank", Date: "2026-11-16T14:00", Message: "Persist the choice"},
	}
	p201.Reviews = []fxReview{{User: "grace", State: "APPROVED", At: "2026-11-17T09:00"}}
	p201.MergedBy = "grace"
	p201.MergeSHA = fakeSHA(web + "#201/rebased2")
	rebased1 := fxCommit{SHA: fakeSHA(web + "#201/rebased1"), Author: "frank", Committer: "web-flow", Date: "2026-11-17T10:00:00", Message: "Add the theme switch"}
	rebased2 := fxCommit{SHA: p201.MergeSHA, Author: "frank", Committer: "web-flow", Date: "2026-11-17T10:00:00", Message: "Persist the choice"}
	p202 := wpr(202, "heidi", "2026-11-18T11:30", "Rewrite the checkout page")
	p202.MergedBy = "octo-admin"
	p202.Runs = []fxRun{{Name: "build", Conclusion: "failure", Started: "2026-11-18T10:40", Completed: "2026-11-18T11:00"}}
	p202.Statuses = nil
	p203 := wpr(203, "dependabot[bot]", "2026-11-19T08:00", "Bump lodash from 4.17.20 to 4.17.21")
	p203.MergedBy = "grace"
	p203.Labels = []string{"dependencies"}
	p204 := wpr(204, "heidi", "2026-11-20T10:30", "Lazy-load product images")
	p204.Reviews = []fxReview{{User: "frank", State: "APPROVED", At: "2026-11-20T10:15"}}
	p204.Runs = []fxRun{{Name: "build", Conclusion: "success", Started: "2026-11-20T10:00", Completed: "2026-11-20T10:40"}}
	p204.Statuses = []fxStatus{{Context: "lint", State: "success", At: "2026-11-20T10:10"}}
	release := fxCommit{SHA: fakeSHA("web/direct/release"), Author: "release-bot[bot]", Committer: "release-bot[bot]", Date: "2026-11-21T09:00", Message: "chore(release): v2.4.0"}
	webRepo := fxRepo{Owner: "acme", Name: "web",
		Pulls:         []fxPull{p200, p201, p202, p203, p204},
		BranchCommits: map[string][]fxCommit{"main": {release, mergeCommit(p204), mergeCommit(p203), mergeCommit(p202), rebased2, rebased1}},
		CommitPulls:   map[string][]int{rebased1.SHA: {201}, release.SHA: {}},
	}
	empty := func(name string) fxRepo {
		return fxRepo{Owner: "acme", Name: name, BranchCommits: map[string][]fxCommit{"main": {}}}
	}
	return []fxRepo{payments, webRepo, empty("docs"), empty("legacy")}
}

// sampleOrgFiles are the sample organisation's merge activity routes (the
// secret-project ones GitHub refuses) and body files (named below
// sampleActivityDir).
func sampleOrgFiles(t testing.TB) ([]ghfake.Route, map[string][]byte) {
	files := map[string][]byte{}
	var routes []ghfake.Route
	for _, r := range sampleOrgActivity() {
		ff := r.build(t, sampleActivityDir+"/"+r.Name+"-", false)
		routes = append(routes, ff.routes...)
		for n, b := range ff.files {
			files[strings.TrimPrefix(n, sampleActivityDir+"/")] = b
		}
	}
	routes = append(routes,
		forbidden("/repos/acme/secret-project/pulls", map[string]string{"state": "closed", "sort": "updated", "direction": "desc"}),
		forbidden("/repos/acme/secret-project/commits", map[string]string{"sha": "main"}))
	return routes, files
}

// isActivityRoute tells the merge activity routes of the sample
// organisation's routes.json from the others.
func isActivityRoute(line string) bool {
	var r ghfake.Route
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(line), ",")), &r); err != nil {
		return false
	}
	return strings.HasPrefix(r.File, sampleActivityDir+"/") || strings.Contains(r.Path, "/pulls") || strings.Contains(r.Path, "/commits")
}

// checkSampleRoutes compares (or writes) the sample organisation's
// routes.json: its own routes as they are, then the generated ones.
func checkSampleRoutes(t *testing.T, generated []ghfake.Route) {
	t.Helper()
	path := filepath.Join(sampleOrg, ghfake.RoutesFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		tl := strings.TrimSpace(l)
		if tl == "[" || tl == "]" || tl == "" || isActivityRoute(tl) {
			continue
		}
		lines = append(lines, "  "+strings.TrimSuffix(tl, ","))
	}
	for _, r := range generated {
		lines = append(lines, "  "+string(routeLine(r)))
	}
	want := []byte("[\n" + strings.Join(lines, ",\n") + "\n]\n")
	if *fixtures {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s differs from the generated merge activity routes (-fixtures rewrites them): %s", path, golden.FirstDiff(want, data))
	}
}
