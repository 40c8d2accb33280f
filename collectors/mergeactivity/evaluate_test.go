package mergeactivity

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
)

// Hand-built changes: the judgement alone, without GitHub.

var merged = mustTime("2026-11-18T10:00")

func tptr(s string) *time.Time { t := mustTime(s); return &t }

func review(id int64, who, state, at string) Review {
	return Review{ID: id, Reviewer: Actor{Login: who, Type: "User"}, State: state, SubmittedAt: tptr(at), CommitID: "head"}
}

// change is a pull request by alice merged at 10:00 with green CI.
func change(reviews ...Review) ChangeFacts {
	return ChangeFacts{Kind: KindPull, Repo: "Acme/API", Branch: "main", Population: InWindow, Number: 7, SHA: "merge",
		PR: &PullView{
			Title: "Change", Author: Actor{Login: "alice", Type: "User"}, MergedBy: &Actor{Login: "alice"}, MergedAt: merged,
			HeadSHA: "head", MergeSHA: "merge", Labels: []string{},
			Commits: []CommitRef{{SHA: "c1", Author: "alice", Committer: "alice"}},
			Reviews: reviews,
			Checks: []CheckResult{{Name: "ci", Kind: KindCheckRun, ID: 1, Status: "completed", Conclusion: "success",
				StartedAt: tptr("2026-11-18T09:00"), CompletedAt: tptr("2026-11-18T09:30")}},
			Unread: []Unread{},
		}}
}

func emergencyChange(reviews ...Review) ChangeFacts {
	c := change(reviews...)
	c.PR.Labels = []string{"EMERGENCY"}
	return c
}

func statuses(f evidence.Finding) map[string]evidence.Status {
	m := map[string]evidence.Status{}
	for _, c := range f.Checks {
		m[c.Rule] = c.Status
	}
	return m
}

func details(t *testing.T, f evidence.Finding) PullDetails {
	t.Helper()
	var d PullDetails
	if err := json.Unmarshal(f.Details, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEmergencyAroundGrace: an emergency change is pending while its grace
// period is open, passes once someone else approves within it, and fails
// once it ends without; the clock is the collection time.
func TestEmergencyAroundGrace(t *testing.T) {
	p := DefaultPolicy()
	deadline := merged.Add(24 * time.Hour)
	tests := []struct {
		name    string
		reviews []Review
		now     time.Time
		status  evidence.Status
		verdict string
	}{
		{"no review, just merged", nil, merged.Add(time.Minute), evidence.StatusNotVerifiable, VerdictPending},
		{"no review, a second before the end", nil, deadline.Add(-time.Second), evidence.StatusNotVerifiable, VerdictPending},
		{"no review, at the end", nil, deadline, evidence.StatusFail, VerdictUnreviewed},
		{"no review, long after", nil, deadline.Add(30 * 24 * time.Hour), evidence.StatusFail, VerdictUnreviewed},
		{"reviewed in time, seen in time", []Review{review(1, "bob", "APPROVED", "2026-11-18T15:00")}, merged.Add(6 * time.Hour), evidence.StatusPass, VerdictEmergency},
		{"reviewed in time, seen later", []Review{review(1, "bob", "APPROVED", "2026-11-18T15:00")}, deadline.Add(48 * time.Hour), evidence.StatusPass, VerdictEmergency},
		{"reviewed too late", []Review{review(1, "bob", "APPROVED", "2026-11-19T10:00:01")}, deadline.Add(time.Hour), evidence.StatusFail, VerdictUnreviewed},
		{"only the author approved", []Review{review(1, "alice", "APPROVED", "2026-11-18T11:00")}, deadline.Add(time.Hour), evidence.StatusFail, VerdictUnreviewed},
		{"author approved, grace open", []Review{review(1, "alice", "APPROVED", "2026-11-18T11:00")}, merged.Add(time.Hour), evidence.StatusNotVerifiable, VerdictPending},
		{"approved then changes requested", []Review{review(1, "bob", "APPROVED", "2026-11-18T11:00"), review(2, "bob", "CHANGES_REQUESTED", "2026-11-18T12:00")},
			deadline.Add(time.Hour), evidence.StatusFail, VerdictUnreviewed},
		{"approved before the merge", []Review{review(1, "bob", "APPROVED", "2026-11-18T09:00")}, merged.Add(time.Minute), evidence.StatusPass, VerdictApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Evaluate(emergencyChange(tt.reviews...), p, tt.now)
			if f.Status != tt.status || f.Verdict != tt.verdict {
				t.Errorf("status, verdict = %s, %s; want %s, %s (%s)", f.Status, f.Verdict, tt.status, tt.verdict, f.Summary)
			}
			d := details(t, f)
			if tt.verdict == VerdictEmergency && (d.EmergencyReviewAt == nil || !d.EmergencyReviewAt.Equal(*tt.reviews[0].SubmittedAt) || !slices.Equal(d.Approvers, []string{"bob"})) {
				t.Errorf("emergency_review_at, approvers = %v, %v", d.EmergencyReviewAt, d.Approvers)
			}
			if tt.verdict != VerdictEmergency && d.EmergencyReviewAt != nil {
				t.Errorf("emergency_review_at = %v for verdict %s", d.EmergencyReviewAt, f.Verdict)
			}
		})
	}
	// Without the label the same post-merge approval does not count.
	f := Evaluate(change(review(1, "bob", "APPROVED", "2026-11-18T15:00")), p, deadline)
	if f.Verdict != VerdictBypass || !slices.ContainsFunc(details(t, f).IgnoredApprovals, func(ig IgnoredApproval) bool { return ig.Reason == IgnoredAfterMerge }) {
		t.Errorf("unlabelled post-merge approval: %s %s %s", f.Status, f.Verdict, f.Details)
	}
	// With the procedure off the label means nothing.
	off := DefaultPolicy()
	off.EmergencyLabel = ""
	if f := Evaluate(emergencyChange(), off, merged.Add(time.Minute)); f.Verdict != VerdictBypass {
		t.Errorf("emergency procedure off: verdict %s, want bypass", f.Verdict)
	}
}

func TestEmergencyNeedsMinApprovals(t *testing.T) {
	p := DefaultPolicy()
	p.MinApprovals = 2
	pre := review(1, "carol", "APPROVED", "2026-11-18T09:00")
	post := review(2, "bob", "APPROVED", "2026-11-18T12:00")
	f := Evaluate(emergencyChange(pre, post), p, merged.Add(48*time.Hour))
	if f.Verdict != VerdictEmergency {
		t.Fatalf("one approval before and one after the merge, two required: %s %s", f.Verdict, f.Summary)
	}
	if d := details(t, f); !slices.Equal(d.Approvers, []string{"carol", "bob"}) || !d.EmergencyReviewAt.Equal(*post.SubmittedAt) {
		t.Errorf("approvers %v at %v", d.Approvers, d.EmergencyReviewAt)
	}
	if f := Evaluate(emergencyChange(post), p, merged.Add(48*time.Hour)); f.Verdict != VerdictUnreviewed {
		t.Errorf("one approval of two: %s", f.Verdict)
	}
}

func TestApprovalIndependence(t *testing.T) {
	p := DefaultPolicy()
	c := change(review(1, "Erin", "APPROVED", "2026-11-18T09:00"))
	c.PR.Commits = append(c.PR.Commits, CommitRef{SHA: "c2", Author: "", Committer: "erin"})
	f := Evaluate(c, p, merged)
	if f.Verdict != VerdictBypass || statuses(f)[RuleIndependentApproval] != evidence.StatusFail {
		t.Fatalf("approval by a committer (case differs): %s %v", f.Verdict, statuses(f))
	}
	if d := details(t, f); len(d.IgnoredApprovals) != 1 || d.IgnoredApprovals[0].Reason != IgnoredCommitter {
		t.Errorf("ignored = %+v", d.IgnoredApprovals)
	}
	// web-flow commits (the "Update branch" button, web edits) make no one
	// a committer.
	c = change(review(1, "bob", "APPROVED", "2026-11-18T09:00"))
	c.PR.Commits = append(c.PR.Commits, CommitRef{SHA: "c2", Author: "alice", Committer: webFlow})
	if f := Evaluate(c, p, merged); f.Verdict != VerdictApproved {
		t.Errorf("web-flow committer: %s %s", f.Verdict, f.Summary)
	}
	// A reviewer whose account is gone.
	gone := review(1, "", "APPROVED", "2026-11-18T09:00")
	if f := Evaluate(change(gone), p, merged); f.Verdict != VerdictBypass || details(t, f).IgnoredApprovals[0].Reason != IgnoredUnknownUser {
		t.Errorf("deleted reviewer: %s %s", f.Verdict, f.Details)
	}
	// Two approvals needed, one independent.
	p2 := DefaultPolicy()
	p2.MinApprovals = 2
	f = Evaluate(change(review(1, "bob", "APPROVED", "2026-11-18T09:00"), review(2, "alice", "APPROVED", "2026-11-18T09:10")), p2, merged)
	if f.Verdict != VerdictBypass || !strings.Contains(f.Summary, "1 independent approval of 2 by bob; alice approved their own pull request") {
		t.Errorf("1 of 2: %s", f.Summary)
	}
}

func TestReviewsSubmittedAtTheMergeCount(t *testing.T) {
	f := Evaluate(change(review(1, "bob", "APPROVED", "2026-11-18T10:00")), DefaultPolicy(), merged)
	if f.Verdict != VerdictApproved {
		t.Errorf("approval in the merge's second: %s %s", f.Verdict, f.Summary)
	}
}

func TestBotDetection(t *testing.T) {
	for _, a := range []Actor{{Login: "dependabot[bot]", Type: "Bot"}, {Login: "renovate[bot]"}, {Login: "ci-app", Type: "Bot"}, {Login: "Some-App[BOT]", Type: "User"}} {
		if !a.IsBot() {
			t.Errorf("%+v is not taken for a bot", a)
		}
	}
	for _, a := range []Actor{{Login: "alice", Type: "User"}, {Login: "bot", Type: "User"}, {Login: "robot-lover"}} {
		if a.IsBot() {
			t.Errorf("%+v is taken for a bot", a)
		}
	}
	p := DefaultPolicy()
	p.BotPRs = BotChecksOnly
	c := change()
	c.PR.Author = Actor{Login: "renovate[bot]", Type: "User"}
	if f := Evaluate(c, p, merged); f.Verdict != VerdictBotAccepted || f.Status != evidence.StatusPass {
		t.Errorf("bot by login under checks_only: %s %s", f.Verdict, f.Summary)
	}
	c.PR.Checks = nil
	if f := Evaluate(c, p, merged); f.Verdict != VerdictBypass {
		t.Errorf("bot without checks under checks_only: %s", f.Verdict)
	}
	if f := Evaluate(c, DefaultPolicy(), merged); f.Verdict != VerdictBypass {
		t.Errorf("bot under same_review: %s", f.Verdict)
	}
}

func TestChecksAsOfMerge(t *testing.T) {
	run := func(name, conclusion, started, completed string) CheckResult {
		c := CheckResult{Name: name, Kind: KindCheckRun, Status: "completed", Conclusion: conclusion, StartedAt: tptr(started)}
		if completed != "" {
			c.CompletedAt = tptr(completed)
		} else {
			c.Status, c.Conclusion = "in_progress", ""
		}
		return c
	}
	status := func(ctx, state, at string) CheckResult {
		c := CheckResult{Name: ctx, Kind: KindStatus, Status: "completed", Conclusion: state, StartedAt: tptr(at), CompletedAt: tptr(at)}
		if state == "pending" {
			c.Status, c.CompletedAt = "pending", nil
		}
		return c
	}
	tests := []struct {
		name    string
		checks  []CheckResult
		want    evidence.Status
		atMerge map[string]string
	}{
		{"green", []CheckResult{run("ci", "success", "2026-11-18T09:00", "2026-11-18T09:10")}, evidence.StatusPass, map[string]string{"ci": AtMergePassed}},
		{"neutral and skipped pass", []CheckResult{run("a", "neutral", "2026-11-18T09:00", "2026-11-18T09:10"), run("b", "skipped", "2026-11-18T09:00", "2026-11-18T09:10")}, evidence.StatusPass, nil},
		{"cancelled fails", []CheckResult{run("ci", "cancelled", "2026-11-18T09:00", "2026-11-18T09:10")}, evidence.StatusFail, map[string]string{"ci": AtMergeFailed}},
		{"still running at the merge", []CheckResult{run("ci", "", "2026-11-18T09:00", "")}, evidence.StatusFail, map[string]string{"ci": AtMergeRunning}},
		{"completed exactly at the merge", []CheckResult{run("ci", "success", "2026-11-18T09:00", "2026-11-18T10:00")}, evidence.StatusPass, map[string]string{"ci": AtMergePassed}},
		{"started after the merge is not counted", []CheckResult{run("ci", "success", "2026-11-18T09:00", "2026-11-18T09:10"), run("late", "failure", "2026-11-18T11:00", "2026-11-18T11:10")},
			evidence.StatusPass, map[string]string{"late": AtMergeNone}},
		{"only checks after the merge", []CheckResult{run("late", "success", "2026-11-18T11:00", "2026-11-18T11:10")}, evidence.StatusFail, nil},
		{"status pending at the merge", []CheckResult{run("ci", "success", "2026-11-18T09:00", "2026-11-18T09:10"), status("lint", "pending", "2026-11-18T09:00")}, evidence.StatusFail, map[string]string{"lint": AtMergeRunning}},
		{"status error", []CheckResult{status("lint", "error", "2026-11-18T09:00")}, evidence.StatusFail, map[string]string{"lint": AtMergeFailed}},
		{"status set after the merge", []CheckResult{status("lint", "success", "2026-11-18T11:00"), status("unit", "success", "2026-11-18T09:00")}, evidence.StatusPass, map[string]string{"lint": AtMergeNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := change(review(1, "bob", "APPROVED", "2026-11-18T09:00"))
			c.PR.Checks = tt.checks
			f := Evaluate(c, DefaultPolicy(), merged)
			if got := statuses(f)[RuleCIGreen]; got != tt.want {
				t.Errorf("ci_green = %s, want %s: %s", got, tt.want, f.Checks)
			}
			for _, cd := range details(t, f).Checks {
				if want, ok := tt.atMerge[cd.Name]; ok && cd.AtMerge != want {
					t.Errorf("%s at merge = %s, want %s", cd.Name, cd.AtMerge, want)
				}
			}
		})
	}
}

func TestRequireCIOff(t *testing.T) {
	p := DefaultPolicy()
	p.RequireCI = false
	c := change(review(1, "bob", "APPROVED", "2026-11-18T09:00"))
	c.PR.Checks = nil
	f := Evaluate(c, p, merged)
	if f.Verdict != VerdictApproved || f.Summary != "approved by bob" {
		t.Errorf("require_ci off: %s %q", f.Verdict, f.Summary)
	}
	if _, ok := statuses(f)[RuleCIGreen]; ok {
		t.Error("ci_green checked although require_ci is off")
	}
}

func TestDirectPushPusher(t *testing.T) {
	push := func(author, committer string) ChangeFacts {
		return ChangeFacts{Kind: KindDirectPush, Repo: "acme/api", Branch: "main", Population: InWindow, SHA: "0123456789abcdef0123",
			Push: &PushView{Author: Actor{Login: author}, Committer: Actor{Login: committer}, Pusher: pusherOf(author, committer), Unread: []Unread{}}}
	}
	p := DefaultPolicy()
	p.AllowedPushers = []string{"Release-Bot[bot]"}
	tests := []struct {
		author, committer string
		verdict           string
	}{
		{"release-bot[bot]", "release-bot[bot]", VerdictAllowedPush},
		{"alice", "release-bot[bot]", VerdictAllowedPush},
		{"release-bot[bot]", "alice", VerdictDirectPush},
		{"release-bot[bot]", webFlow, VerdictAllowedPush},
		{"mallory", webFlow, VerdictDirectPush},
		{"", "", VerdictDirectPush},
	}
	for _, tt := range tests {
		f := Evaluate(push(tt.author, tt.committer), p, merged)
		if f.Verdict != tt.verdict {
			t.Errorf("author %q committer %q: verdict %s, want %s (%s)", tt.author, tt.committer, f.Verdict, tt.verdict, f.Summary)
		}
		if f.Target != "github.com/acme/api@0123456789ab" {
			t.Errorf("target %s", f.Target)
		}
	}
}

// pusherOf is pushView's choice of pusher.
func pusherOf(author, committer string) string {
	return pushView(commitItem{Author: &userJSON{Login: author}, Committer: &userJSON{Login: committer}}, nil).Pusher
}

func TestEvaluateIsPure(t *testing.T) {
	c := emergencyChange(review(1, "bob", "APPROVED", "2026-11-18T15:00"))
	before, _ := json.Marshal(c)
	a := Evaluate(c, DefaultPolicy(), merged.Add(time.Hour))
	b := Evaluate(c, DefaultPolicy(), merged.Add(time.Hour))
	after, _ := json.Marshal(c)
	if string(before) != string(after) {
		t.Error("Evaluate changed its facts")
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Error("Evaluate is not deterministic")
	}
}

// A change whose reads failed after retries is not_verifiable naming the
// failure; only facts that are missing without a failure (an internal
// inconsistency) make an error finding.
func TestUncollectedChange(t *testing.T) {
	c := change()
	c.Error, c.PR = "reading reviews of acme/api#7: GET /repos/acme/api/pulls/7/reviews?per_page=100: HTTP 502 Bad Gateway: Server Error", nil
	f := Evaluate(c, DefaultPolicy(), merged)
	if f.Status != evidence.StatusNotVerifiable || f.Summary != "could not be checked: "+c.Error || f.Verdict != "" || len(f.Checks) != 0 {
		t.Errorf("uncollected change = %+v", f)
	}
	if f := Evaluate(ChangeFacts{Kind: KindPull, Repo: "a/b", Number: 1}, DefaultPolicy(), merged); f.Status != evidence.StatusError {
		t.Errorf("no facts: %+v", f)
	}
}

func TestQuietRepositoryPasses(t *testing.T) {
	facts := Facts{Repos: []RepoFacts{
		{Repo: "acme/api", Branches: []string{"main"}, Status: RepoRead, Population: Population{SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		{Repo: "acme/secret", Branches: []string{"main"}, Status: "unreadable", Reason: "403"},
	}}
	got := EvaluateFacts(facts, DefaultPolicy())
	if len(got) != 2 {
		t.Fatalf("findings = %+v", got)
	}
	if got[0].Target != "github.com/acme/api@main" || got[0].Status != evidence.StatusPass || got[0].Verdict != VerdictNoChanges {
		t.Fatalf("quiet repository: %+v", got[0])
	}
	if got[1].Status != evidence.StatusNotVerifiable {
		t.Fatalf("an unreadable repository must not pass: %+v", got[1])
	}
}
