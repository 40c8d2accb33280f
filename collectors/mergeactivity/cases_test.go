package mergeactivity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// fxCase is a golden case: the GitHub it runs against and what to collect.
type fxCase struct {
	Name        string
	Description string
	Scope       collectors.Scope
	// Window is [start, end) as ts() strings; default the demo week.
	Window [2]string
	// Now is the collection time; default 2026-11-23T12:00.
	Now        string
	Policy     string
	MaxPerPage int
	Repos      []fxRepo
	// Overrides replace the generated route with the same method, path and
	// query, or are added.
	Overrides []ghfake.Route
	// Files are extra body files the overrides name.
	Files map[string][]byte
}

const (
	weekStart = "2026-11-16T00:00"
	weekEnd   = "2026-11-23T00:00"
	caseNow   = "2026-11-23T12:00"
)

// at formats t as a fixture time.
func at(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// shift moves a fixture time.
func shift(s string, d time.Duration) string { return at(mustTime(s).Add(d)) }

// basicPR is a pull request by author merged at merged: one commit by the
// author three hours before, squash-merged by the author, with ci/build (a
// check run) and ci/lint (a commit status) green before the merge, and no
// review.
func basicPR(repo string, n int, author, merged string) fxPull {
	c := fxCommit{SHA: fakeSHA(fmt.Sprintf("%s#%d/c1", repo, n)), Author: author, Committer: author,
		Date: shift(merged, -3*time.Hour), Message: fmt.Sprintf("Implement change %d", n)}
	return fxPull{
		Number: n, Title: fmt.Sprintf("Change %d", n), Author: author, Created: shift(merged, -26*time.Hour),
		Merged: merged, MergedBy: author, MergeSHA: fakeSHA(fmt.Sprintf("%s#%d/merge", repo, n)),
		Commits:  []fxCommit{c},
		Runs:     []fxRun{{Name: "ci/build", Conclusion: "success", Started: shift(merged, -50*time.Minute), Completed: shift(merged, -40*time.Minute)}},
		Statuses: []fxStatus{{Context: "ci/lint", State: "success", At: shift(merged, -45*time.Minute)}},
	}
}

// approved adds an approval of the head by user, an hour before the merge.
func approved(p fxPull, user string) fxPull {
	p.Reviews = append(p.Reviews, fxReview{User: user, State: "APPROVED", At: shift(p.Merged, -time.Hour)})
	return p
}

func titled(p fxPull, title string) fxPull { p.Title = title; return p }

// mergeCommit is the commit a squash merge puts on the base branch.
func mergeCommit(p fxPull) fxCommit {
	return fxCommit{SHA: p.MergeSHA, Author: p.Author, Committer: "web-flow", Date: p.Merged, Message: fmt.Sprintf("%s (#%d)", p.Title, p.Number)}
}

// mainCommits are the merge commits of the pull requests merged into main
// in the window, newest first, plus extra commits.
func mainCommits(window [2]string, pulls []fxPull, extra ...fxCommit) []fxCommit {
	start, end := mustTime(window[0]), mustTime(window[1])
	var out []fxCommit
	for _, p := range pulls {
		if p.Merged == "" || p.base() != "main" {
			continue
		}
		t := mustTime(p.Merged)
		if t.Before(start) || t.After(end) {
			continue
		}
		out = append(out, mergeCommit(p))
	}
	out = append(out, extra...)
	sortCommits(out)
	return out
}

func sortCommits(cs []fxCommit) {
	slices.SortStableFunc(cs, func(a, b fxCommit) int { return mustTime(b.Date).Compare(mustTime(a.Date)) })
}

// simpleRepo is acme/api with the pull requests given and their merge
// commits on main.
func simpleRepo(pulls ...fxPull) fxRepo {
	return fxRepo{Owner: "acme", Name: "api", Pulls: pulls,
		BranchCommits: map[string][]fxCommit{"main": mainCommits([2]string{weekStart, weekEnd}, pulls)}}
}

var apiScope = collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "api"}}}

func forbidden(path string, query map[string]string) ghfake.Route {
	return ghfake.Route{Path: path, Query: query, Status: http.StatusForbidden,
		Body: json.RawMessage(`{"message": "Resource not accessible by personal access token", "documentation_url": "https://docs.github.com/rest", "status": "403"}`)}
}

// goldenCases are every golden case, one or more per rule.
func goldenCases() []fxCase {
	const r = "acme/api"
	var cases []fxCase
	add := func(c fxCase) { cases = append(cases, c) }

	// ---- approvals ----
	p := approved(basicPR(r, 7, "alice", "2026-11-18T10:00"), "bob")
	p.Reviews = append(p.Reviews, fxReview{User: "carol", State: "COMMENTED", At: "2026-11-18T09:30"})
	add(fxCase{Name: "approved-pass", Description: "approved by someone else on the merged head, CI green before the merge: approved",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(titled(p, "Add rate limiting"))}})

	add(fxCase{Name: "self-approval-fail", Description: "only the author approved: the approval does not count, bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(approved(basicPR(r, 8, "carol", "2026-11-18T11:00"), "carol"))}})

	p = basicPR(r, 9, "dave", "2026-11-18T12:00")
	p.Commits = append(p.Commits, fxCommit{SHA: fakeSHA(r + "#9/c2"), Author: "erin", Committer: "erin", Date: "2026-11-18T10:00", Message: "Fix the retry loop"})
	p = approved(p, "erin")
	add(fxCase{Name: "committer-approval-fail", Description: "approved by erin, who pushed a commit to the pull request: not independent, bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	stale := func(n int) fxPull {
		p := basicPR(r, n, "alice", "2026-11-18T13:00")
		first := p.Commits[0]
		p.Commits = append(p.Commits, fxCommit{SHA: fakeSHA(fmt.Sprintf("%s#%d/c2", r, n)), Author: "alice", Committer: "alice", Date: "2026-11-18T12:00", Message: "Push after the review"})
		p.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-18T11:00", Commit: first.SHA}}
		return p
	}
	add(fxCase{Name: "stale-approval-fail", Description: "bob approved an earlier commit; alice pushed again and merged: the approval is stale, bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(stale(10))}})
	add(fxCase{Name: "stale-approval-allowed-pass", Description: "the same stale approval under allow_stale_approvals: true: approved",
		Scope: apiScope, Policy: `{"allow_stale_approvals": true}`, Repos: []fxRepo{simpleRepo(stale(10))}})

	p11 := basicPR(r, 11, "carol", "2026-11-19T11:00")
	p11.MergedBy = "octo-admin"
	p11.Reviews = []fxReview{
		{User: "bob", State: "APPROVED", At: "2026-11-19T09:00"},
		{User: "bob", State: "CHANGES_REQUESTED", At: "2026-11-19T10:00"},
		{User: "dave", State: "COMMENTED", At: "2026-11-19T10:30"},
	}
	p12 := basicPR(r, 12, "carol", "2026-11-19T15:00")
	p12.Reviews = []fxReview{
		{User: "bob", State: "CHANGES_REQUESTED", At: "2026-11-19T13:00"},
		{User: "bob", State: "APPROVED", At: "2026-11-19T14:00"},
	}
	p13 := basicPR(r, 13, "carol", "2026-11-19T18:00")
	p13.Reviews = []fxReview{
		{User: "bob", State: "APPROVED", At: "2026-11-19T16:00"},
		{User: "bob", State: "COMMENTED", At: "2026-11-19T17:00"},
	}
	add(fxCase{Name: "latest-review-state", Description: "each reviewer's latest state counts: approval then changes requested (bypass); changes requested then approval (approved); approval then a comment (approved)",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p11, p12, p13)}})

	p = basicPR(r, 14, "alice", "2026-11-19T12:00")
	p.Reviews = []fxReview{{User: "bob", State: "DISMISSED", At: "2026-11-19T10:00"}}
	add(fxCase{Name: "dismissed-approval-fail", Description: "bob's approval was dismissed before the merge: no approval, bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	p = basicPR(r, 15, "alice", "2026-11-19T12:00")
	p.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-19T14:00"}}
	p.Updated = "2026-11-19T14:00"
	add(fxCase{Name: "approval-after-merge-fail", Description: "without the emergency label an approval after the merge does not count: bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	add(fxCase{Name: "bot-approval-ignored-fail", Description: "an approval by a bot account is not an independent review: bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(approved(basicPR(r, 16, "alice", "2026-11-19T12:00"), "approve-bot[bot]"))}})

	p = basicPR(r, 17, "dave", "2026-11-19T12:00")
	p.CommitCount = 300
	p = approved(p, "bob")
	add(fxCase{Name: "too-many-commits-not-verifiable", Description: "300 commits and GitHub lists 250 at most (here 1): whether bob committed is unknown, not verifiable",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	// ---- checks ----
	p = approved(basicPR(r, 20, "bob", "2026-11-19T10:30"), "alice")
	p.Runs = append(p.Runs, fxRun{Name: "ci/test", Conclusion: "failure", Started: "2026-11-19T09:50", Completed: "2026-11-19T10:20"})
	add(fxCase{Name: "ci-failing-fail", Description: "ci/test failed before the merge: bypass naming the check",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	p = approved(basicPR(r, 21, "heidi", "2026-11-20T10:30"), "frank")
	p.Runs = []fxRun{{Name: "ci/build", Conclusion: "success", Started: "2026-11-20T10:00", Completed: "2026-11-20T10:40"}}
	p.Statuses = []fxStatus{{Context: "ci/unit", State: "success", At: "2026-11-20T10:05"}, {Context: "ci/lint", State: "success", At: "2026-11-20T10:50"}}
	add(fxCase{Name: "ci-green-only-after-merge-fail", Description: "ci/build was still running at the merge and went green after it; ci/lint was set after the merge: not green at the merge, bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	p = approved(basicPR(r, 22, "alice", "2026-11-20T12:00"), "bob")
	p.Runs = append(p.Runs,
		fxRun{ID: 9001, Name: "ci/test", Conclusion: "failure", Started: "2026-11-20T10:00", Completed: "2026-11-20T10:10"},
		fxRun{ID: 9002, Name: "ci/test", Conclusion: "success", Started: "2026-11-20T11:00", Completed: "2026-11-20T11:10"},
		fxRun{ID: 9003, Name: "ci/test", Conclusion: "failure", Started: "2026-11-20T13:00", Completed: "2026-11-20T13:10"})
	add(fxCase{Name: "ci-rerun-before-merge-pass", Description: "ci/test failed, was re-run green before the merge, and re-run red after it: green at the merge, approved",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	add(fxCase{Name: "required-check-missing-fail", Description: "required_checks names ci/build and ci/test; ci/test never ran: bypass naming it",
		Scope: apiScope, Policy: `{"required_checks": ["ci/build", "ci/test"]}`,
		Repos: []fxRepo{simpleRepo(approved(basicPR(r, 23, "alice", "2026-11-20T15:00"), "bob"))}})

	p = approved(basicPR(r, 24, "alice", "2026-11-20T16:00"), "bob")
	p.Runs, p.Statuses = nil, nil
	add(fxCase{Name: "no-checks-fail", Description: "no check run or status on the merged head: CI not green, bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	p = basicPR(r, 25, "heidi", "2026-11-21T09:00")
	p.MergedBy = "octo-admin"
	p.Runs = []fxRun{{Name: "ci/build", Conclusion: "failure", Started: "2026-11-21T08:00", Completed: "2026-11-21T08:20"}}
	p.Statuses = nil
	add(fxCase{Name: "admin-bypass-fail", Description: "merged by an admin without approval, ci/build failing and ci/lint missing: bypass naming every reason",
		Scope: apiScope, Policy: `{"required_checks": ["ci/build", "ci/lint"]}`, Repos: []fxRepo{simpleRepo(p)}})

	// ---- direct pushes ----
	mallory := fxCommit{SHA: fakeSHA("api/direct/mallory"), Author: "mallory", Committer: "mallory", Date: "2026-11-20T14:00", Message: "Quick fix for timeouts"}
	webEdit := fxCommit{SHA: fakeSHA("api/direct/web-edit"), Author: "erin", Committer: "web-flow", Date: "2026-11-21T16:00", Message: "Update README.md"}
	release := fxCommit{SHA: fakeSHA("api/direct/release"), Author: "release-bot[bot]", Committer: "release-bot[bot]", Date: "2026-11-22T09:00", Message: "chore(release): v2.4.0"}
	pushRepo := func(cs ...fxCommit) fxRepo {
		repo := fxRepo{Owner: "acme", Name: "api", BranchCommits: map[string][]fxCommit{"main": mainCommits([2]string{weekStart, weekEnd}, nil, cs...)},
			CommitPulls: map[string][]int{}}
		for _, c := range cs {
			repo.CommitPulls[c.SHA] = []int{}
		}
		return repo
	}
	add(fxCase{Name: "direct-push-fail", Description: "commits pushed to main without a pull request — one by mallory, one edited on github.com by erin (committed by web-flow): direct_push",
		Scope: apiScope, Repos: []fxRepo{pushRepo(mallory, webEdit)}})
	add(fxCase{Name: "allowed-push-pass", Description: "release-bot[bot] is in allowed_pushers: allowed_push; mallory is not: direct_push",
		Scope: apiScope, Policy: `{"allowed_pushers": ["release-bot[bot]"]}`, Repos: []fxRepo{pushRepo(release, mallory)}})
	undecided := pushRepo(mallory)
	add(fxCase{Name: "commit-pulls-forbidden-not-verifiable", Description: "GitHub will not say which pull request brought a commit (403): not verifiable, never a pass",
		Scope: apiScope, Repos: []fxRepo{undecided},
		Overrides: []ghfake.Route{forbidden("/repos/acme/api/commits/"+mallory.SHA+"/pulls", nil)}})

	// ---- emergency ----
	emergencyPR := func(n int, author, merged string) fxPull {
		p := basicPR(r, n, author, merged)
		p.Labels = []string{"emergency"}
		return p
	}
	p = emergencyPR(30, "dave", "2026-11-18T03:00")
	p.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-18T09:00"}}
	p.Updated = "2026-11-18T09:00"
	add(fxCase{Name: "emergency-reviewed-in-time-pass", Description: "labelled emergency, merged without approval, approved by bob six hours after the merge: emergency (pass)",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(titled(p, "Hotfix: stop duplicate charges"))}})

	p = emergencyPR(31, "erin", "2026-11-19T22:00")
	p.Reviews = []fxReview{{User: "alice", State: "COMMENTED", At: "2026-11-20T10:00"}}
	p.Updated = "2026-11-20T10:00"
	add(fxCase{Name: "emergency-never-reviewed-fail", Description: "labelled emergency, merged without approval, only a comment since and the grace period over: unreviewed (fail)",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p)}})

	p32 := emergencyPR(32, "dave", "2026-11-22T20:00")
	p32.Labels = []string{"Emergency"}
	p33 := emergencyPR(33, "erin", "2026-11-22T21:00")
	p33.Reviews = []fxReview{{User: "erin", State: "APPROVED", At: "2026-11-22T22:00"}}
	p33.Updated = "2026-11-22T22:00"
	add(fxCase{Name: "emergency-pending-not-verifiable", Description: "emergency changes merged the evening before collection, grace period still open (the author's own approval does not count): pending (not_verifiable)",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p32, p33)}})

	late := func(n int, approvedAt string) fxPull {
		p := emergencyPR(n, "dave", "2026-11-17T10:00")
		p.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: approvedAt}}
		p.Updated = approvedAt
		return p
	}
	p37 := emergencyPR(37, "dave", "2026-11-17T12:00")
	p37.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-17T13:00"}}
	p37.Runs = []fxRun{{Name: "ci/build", Conclusion: "failure", Started: "2026-11-17T11:00", Completed: "2026-11-17T11:10"}}
	add(fxCase{Name: "emergency-grace-boundaries", Description: "approved 1s after the 24h grace period (fail), exactly at its end (fail: the period is [merge, merge+24h)), 1s before it (emergency); reviewed in time but CI red (bypass)",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(late(34, "2026-11-18T10:00:01"), late(35, "2026-11-18T10:00:00"), late(36, "2026-11-18T09:59:59"), p37)}})

	p40 := emergencyPR(40, "alice", "2026-11-15T18:00")
	p40.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-16T06:00"}}
	p40.Updated = "2026-11-16T06:00"
	p41 := emergencyPR(41, "erin", "2026-11-15T20:00")
	p42 := emergencyPR(42, "erin", "2026-11-15T00:00")
	p43 := basicPR(r, 43, "alice", "2026-11-15T12:00")
	p44 := emergencyPR(44, "erin", "2026-11-14T10:00")
	p45 := approved(basicPR(r, 45, "alice", "2026-11-17T10:00"), "bob")
	add(fxCase{Name: "emergency-reexamined", Description: "emergency changes merged in the day before the window are judged again: #40 reviewed in time (emergency), #41 never (unreviewed); #42's grace period ended exactly at the window start and #43 carries no label (not re-examined); #44 ends the listing",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p40, p41, p42, p43, p44, p45)}})

	p46 := emergencyPR(46, "dave", "2026-11-21T10:00")
	add(fxCase{Name: "emergency-reexamined-pending", Description: "a 72h grace period and a one-day window: #46, merged the day before, is re-examined and still pending",
		Scope: apiScope, Window: [2]string{"2026-11-22T00:00", "2026-11-23T00:00"}, Now: "2026-11-23T01:00", Policy: `{"emergency_grace": "72h"}`,
		Repos: []fxRepo{{Owner: "acme", Name: "api", Pulls: []fxPull{p46}, BranchCommits: map[string][]fxCommit{"main": {}}}}})

	// ---- bots ----
	dep := basicPR(r, 50, "dependabot[bot]", "2026-11-19T08:00")
	dep.Title, dep.MergedBy = "Bump lodash from 4.17.20 to 4.17.21", "grace"
	add(fxCase{Name: "bot-same-review-fail", Description: "a Dependabot pull request without review under the default bot_prs: same_review: bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(dep)}})
	dep51 := dep
	dep51.Number, dep51.MergeSHA = 51, fakeSHA(r+"#51/merge")
	ren := basicPR(r, 52, "renovate[bot]", "2026-11-19T09:00")
	ren.Runs = []fxRun{{Name: "ci/build", Conclusion: "failure", Started: "2026-11-19T08:00", Completed: "2026-11-19T08:10"}}
	human := basicPR(r, 53, "alice", "2026-11-19T10:00")
	add(fxCase{Name: "bot-checks-only", Description: "bot_prs: checks_only: Dependabot with green checks is bot_accepted; Renovate with a red check and a human without review are bypass",
		Scope: apiScope, Policy: `{"bot_prs": "checks_only"}`, Repos: []fxRepo{simpleRepo(dep51, ren, human)}})

	// ---- population ----
	p60 := approved(basicPR(r, 60, "alice", "2026-11-16T00:00:00"), "bob")
	p61 := approved(basicPR(r, 61, "alice", "2026-11-23T00:00:00"), "bob")
	p62 := approved(basicPR(r, 62, "alice", "2026-11-15T23:59:59"), "bob")
	atStart := fxCommit{SHA: fakeSHA("api/direct/at-start"), Author: "mallory", Committer: "mallory", Date: "2026-11-16T00:00:00", Message: "Pushed at the window start"}
	atEnd := fxCommit{SHA: fakeSHA("api/direct/at-end"), Author: "mallory", Committer: "mallory", Date: "2026-11-23T00:00:00", Message: "Pushed at the window end"}
	cs := mainCommits([2]string{weekStart, weekEnd}, []fxPull{p60, p61}, atStart, atEnd)
	add(fxCase{Name: "window-boundaries", Description: "the window is [start, end): #60 merged exactly at the start and a push exactly at the start are in; #61 merged exactly at the end and a push exactly at the end (GitHub's until is inclusive) are out; #62 a second before the start is out",
		Scope: apiScope, Repos: []fxRepo{{Owner: "acme", Name: "api", Pulls: []fxPull{p60, p61, p62},
			BranchCommits: map[string][]fxCommit{"main": cs}, CommitPulls: map[string][]int{atStart.SHA: {}}}}})

	var pg []fxPull
	for i, m := range []string{"2026-11-22T10:00", "2026-11-21T10:00", "2026-11-20T10:00", "", "2026-11-17T10:00", "2026-11-13T10:00", "2026-11-12T10:00", "2026-11-11T10:00"} {
		n := 71 - i
		var p fxPull
		if m == "" {
			p = basicPR(r, n, "alice", "2026-11-19T10:00")
			p.Merged, p.Closed, p.MergeSHA = "", "2026-11-19T10:00", ""
		} else {
			p = approved(basicPR(r, n, "alice", m), "bob")
		}
		pg = append(pg, p)
	}
	pg[0].Commits = append(pg[0].Commits,
		fxCommit{SHA: fakeSHA(r + "#71/c2"), Author: "alice", Committer: "alice", Date: "2026-11-22T08:00"},
		fxCommit{SHA: fakeSHA(r + "#71/c3"), Author: "alice", Committer: "alice", Date: "2026-11-22T09:00"})
	pg[1].Reviews = append([]fxReview{{User: "carol", State: "COMMENTED", At: "2026-11-21T07:00"}, {User: "dave", State: "COMMENTED", At: "2026-11-21T08:00"}}, pg[1].Reviews...)
	pgPush := fxCommit{SHA: fakeSHA("api/direct/paged"), Author: "mallory", Committer: "mallory", Date: "2026-11-18T10:00", Message: "Direct push"}
	add(fxCase{Name: "pagination-early-stop", Description: "two items per page: the closed pull requests take 4 pages but the listing stops after page 3, where #66 was last updated before the look-back start; the branch's 5 commits take 3 pages; #71's commits and #70's reviews take 2 pages each",
		Scope: apiScope, MaxPerPage: 2,
		Repos: []fxRepo{{Owner: "acme", Name: "api", Pulls: pg,
			BranchCommits: map[string][]fxCommit{"main": mainCommits([2]string{weekStart, weekEnd}, pg, pgPush)},
			CommitPulls:   map[string][]int{pgPush.SHA: {}}}}})

	p80 := approved(basicPR(r, 80, "alice", "2026-11-18T10:00"), "bob")
	p80.Base = "release/1.x"
	p81 := basicPR(r, 81, "carol", "2026-11-19T10:00")
	p81.Merged, p81.Closed, p81.Created, p81.MergeSHA = "", "2026-11-19T10:00", "2026-11-18T10:00", ""
	p82 := approved(basicPR(r, 82, "alice", "2026-11-23T05:00"), "bob")
	p83 := approved(basicPR(r, 83, "alice", "2026-11-20T10:00"), "bob")
	add(fxCase{Name: "population-exclusions", Description: "only #83 is in the population: #80 merged into release/1.x, #81 closed without merging, #82 merged after the window",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p80, p81, p82, p83)}})

	// Merge methods: a merge commit brings the pull request's commits onto
	// main; a rebase rewrites them (only the last is the merge sha); a commit
	// of an earlier pull request can carry a date inside the window.
	p89 := approved(basicPR(r, 89, "alice", "2026-11-15T10:00"), "bob")
	p90 := approved(basicPR(r, 90, "alice", "2026-11-17T10:00"), "bob")
	p90.Commits = append(p90.Commits, fxCommit{SHA: fakeSHA(r + "#90/c2"), Author: "alice", Committer: "alice", Date: "2026-11-17T08:00", Message: "Second step"})
	merge90 := fxCommit{SHA: p90.MergeSHA, Author: "alice", Committer: "web-flow", Date: p90.Merged, Message: "Merge pull request #90 from acme/topic-90", Parents: []string{fakeSHA("main-before-90"), p90.head()}}
	p91 := approved(basicPR(r, 91, "carol", "2026-11-18T10:00"), "bob")
	p91.Commits = append(p91.Commits, fxCommit{SHA: fakeSHA(r + "#91/c2"), Author: "carol", Committer: "carol", Date: "2026-11-18T08:00"})
	rebased1 := fxCommit{SHA: fakeSHA(r + "#91/rebased1"), Author: "carol", Committer: "web-flow", Date: "2026-11-18T10:00:00", Message: "Implement change 91"}
	p91.MergeSHA = fakeSHA(r + "#91/rebased2")
	rebased2 := fxCommit{SHA: p91.MergeSHA, Author: "carol", Committer: "web-flow", Date: "2026-11-18T10:00:00", Message: "Second step"}
	p92 := approved(basicPR(r, 92, "dave", "2026-11-19T10:00"), "bob")
	skewed := fxCommit{SHA: fakeSHA(r + "#89/skewed"), Author: "alice", Committer: "alice", Date: "2026-11-16T01:00", Message: "Commit of #89 dated after its merge"}
	mainCs := []fxCommit{mergeCommit(p92), rebased2, rebased1, merge90}
	mainCs = append(mainCs, p90.Commits...)
	mainCs = append(mainCs, skewed)
	sortCommits(mainCs)
	add(fxCase{Name: "merge-methods", Description: "#90 merged with a merge commit (its commits are on main: pull_commit), #91 rebased (the first rebased commit is found through GET commits/{sha}/pulls), #92 squashed; a commit of #89 (merged before the window) dated inside it is associated, not a direct push",
		Scope: apiScope, Repos: []fxRepo{{Owner: "acme", Name: "api", Pulls: []fxPull{p89, p90, p91, p92},
			BranchCommits: map[string][]fxCommit{"main": mainCs},
			CommitPulls:   map[string][]int{rebased1.SHA: {91}, skewed.SHA: {89}}}}})

	p95 := approved(basicPR(r, 95, "alice", "2026-11-18T10:00"), "bob")
	p96 := approved(basicPR(r, 96, "alice", "2026-11-19T10:00"), "bob")
	p96.Base = "release/1.x"
	add(fxCase{Name: "explicit-branches", Description: "--branch main --branch release/1.x: both branches' merges are in the population, the repository is not looked up",
		Scope: collectors.Scope{Repos: apiScope.Repos, Branches: []string{"main", "release/1.x"}},
		Repos: []fxRepo{{Owner: "acme", Name: "api", Pulls: []fxPull{p95, p96}, BranchCommits: map[string][]fxCommit{
			"main": {mergeCommit(p95)}, "release/1.x": {mergeCommit(p96)},
		}}}})

	// ---- permissions and failures ----
	web := fxRepo{Owner: "acme", Name: "web", Pulls: []fxPull{approved(basicPR("acme/web", 5, "frank", "2026-11-18T10:00"), "grace")}}
	web.BranchCommits = map[string][]fxCommit{"main": mainCommits([2]string{weekStart, weekEnd}, web.Pulls)}
	twoRepos := collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "api"}, {Owner: "acme", Name: "web"}}}
	add(fxCase{Name: "pulls-forbidden-not-verifiable", Description: "the token may not list acme/api's pull requests (403): its population is unknown — one not_verifiable finding and an incomplete result; acme/web is judged",
		Scope: twoRepos, Repos: []fxRepo{simpleRepo(approved(basicPR(r, 1, "alice", "2026-11-18T10:00"), "bob")), web},
		Overrides: []ghfake.Route{forbidden("/repos/acme/api/pulls", map[string]string{"state": "closed", "sort": "updated", "direction": "desc"})}})
	add(fxCase{Name: "commits-forbidden-not-verifiable", Description: "the token may not list acme/api's commits (404): direct pushes are unknown, so its population is too",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(approved(basicPR(r, 1, "alice", "2026-11-18T10:00"), "bob"))},
		Overrides: []ghfake.Route{{Path: "/repos/acme/api/commits", Query: map[string]string{"sha": "main"}, Status: http.StatusNotFound,
			Body: json.RawMessage(`{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/commits/commits#list-commits", "status": "404"}`)}}})

	p2 := approved(basicPR(r, 2, "alice", "2026-11-18T10:00"), "bob")
	p3 := approved(basicPR(r, 3, "alice", "2026-11-19T10:00"), "bob")
	p3.Statuses = []fxStatus{{Context: "ci/lint", State: "failure", At: "2026-11-19T09:00"}}
	add(fxCase{Name: "checks-forbidden-not-verifiable", Description: "the token may not read check runs (403): #2, green statuses only, is not verifiable; #3 has a failed status, which decides: bypass",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p2, p3)},
		Overrides: []ghfake.Route{
			forbidden("/repos/acme/api/commits/"+p2.head()+"/check-runs", map[string]string{"filter": "all"}),
			forbidden("/repos/acme/api/commits/"+p3.head()+"/check-runs", map[string]string{"filter": "all"}),
		}})

	p4 := approved(basicPR(r, 4, "alice", "2026-11-18T10:00"), "bob")
	p5 := approved(basicPR(r, 5, "alice", "2026-11-19T10:00"), "bob")
	add(fxCase{Name: "reviews-server-error", Description: "#4's reviews answer 502 after every retry: a not_verifiable finding naming the 502 and an incomplete result; #5 is judged",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p4, p5)},
		Overrides: []ghfake.Route{{Path: "/repos/acme/api/pulls/4/reviews", Status: http.StatusBadGateway, Body: json.RawMessage(`{"message": "Server Error"}`)}}})

	p6 := approved(basicPR(r, 6, "alice", "2026-11-18T10:00"), "bob")
	add(fxCase{Name: "malformed-json-error", Description: "#6's combined status is not JSON: a not_verifiable finding naming it, never a judgement",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p6)},
		Overrides: []ghfake.Route{{Path: "/repos/acme/api/commits/" + p6.head() + "/status", File: "status-broken.json"}},
		Files:     map[string][]byte{"status-broken.json": []byte(`{"state": "success", "statuses": [` + "\n")}})

	p18 := approved(basicPR(r, 18, "alice", "2026-11-18T10:00"), "bob")
	add(fxCase{Name: "pull-unreadable-listing-used", Description: "GET pulls/18 answers 404: the listing item stands in, merged_by is unknown (null), the judgement holds",
		Scope: apiScope, Repos: []fxRepo{simpleRepo(p18)},
		Overrides: []ghfake.Route{{Path: "/repos/acme/api/pulls/18", Status: http.StatusNotFound, Body: json.RawMessage(`{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/pulls/pulls#get-a-pull-request", "status": "404"}`)}}})
	return cases
}
