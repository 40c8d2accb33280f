package mergeactivity

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/evidence"
)

// Rule ids, stable: they are recorded in evidence.
const (
	RuleIndependentApproval  = "independent_approval"
	RuleApprovalOnMergedHead = "approval_on_merged_head"
	RuleCIGreen              = "ci_green"
	RuleRequiredChecks       = "required_checks"
	RuleEmergencyReview      = "emergency_review"
	RuleBotChange            = "bot_change"
	RuleNoBypass             = "no_bypass"
	RuleNoDirectPush         = "no_direct_push"
	RulePopulation           = "population"
)

// Verdicts refine a finding's status.
const (
	// VerdictApproved (pass): independently approved on the merged head,
	// with green checks, before the merge.
	VerdictApproved = "approved"
	// VerdictNoChanges (pass): a repository whose listings were read
	// completely and hold no change in the window.
	VerdictNoChanges = "no_changes"
	// VerdictBotAccepted (pass): a bot's pull request accepted with green
	// checks under bot_prs: checks_only.
	VerdictBotAccepted = "bot_accepted"
	// VerdictEmergency (pass): an emergency change merged without approval
	// and approved by someone else within the grace period after the merge.
	VerdictEmergency = "emergency"
	// VerdictPending (not_verifiable): an emergency change whose grace
	// period was still open at collection time; a later run decides it.
	VerdictPending = "pending"
	// VerdictUnreviewed (fail): an emergency change the grace period ended
	// for without an approval.
	VerdictUnreviewed = "unreviewed"
	// VerdictBypass (fail): merged although approvals or checks were
	// missing — someone merged around review or CI (an admin merge, or
	// protection that did not require them).
	VerdictBypass = "bypass"
	// VerdictDirectPush (fail): a commit reached the branch without a pull
	// request.
	VerdictDirectPush = "direct_push"
	// VerdictAllowedPush (pass): a direct push by an account in
	// allowed_pushers.
	VerdictAllowedPush = "allowed_push"
)

// Reasons an approval did not count.
const (
	IgnoredUnknownUser = "unknown_user"
	IgnoredAuthor      = "author"
	IgnoredBot         = "bot"
	IgnoredCommitter   = "committer"
	IgnoredAfterMerge  = "after_merge"
	IgnoredSuperseded  = "superseded"
	IgnoredDismissed   = "dismissed"
	IgnoredStale       = "stale"
)

// Where a check stood at the merge.
const (
	AtMergePassed  = "passed"
	AtMergeFailed  = "failed"
	AtMergeRunning = "running"
	// AtMergeNone: no result from before the merge (the check run started
	// after it, or the commit status was last set after it).
	AtMergeNone = "after_merge"
)

// PullDetails are a pull request finding's details.
type PullDetails struct {
	Repo       string `json:"repo"`
	Branch     string `json:"branch"`
	Population string `json:"population"`
	Number     int    `json:"number"`
	Title      string `json:"title"`
	Author     string `json:"author"`
	// MergedBy is null when the pull request itself could not be read.
	MergedBy *string   `json:"merged_by"`
	MergedAt time.Time `json:"merged_at"`
	HeadSHA  string    `json:"head_sha"`
	MergeSHA string    `json:"merge_sha"`
	Labels   []string  `json:"labels"`
	// Approvers are the approvals that counted, in the order given.
	Approvers        []string          `json:"approvers"`
	IgnoredApprovals []IgnoredApproval `json:"ignored_approvals"`
	Checks           []CheckDetail     `json:"checks"`
	// EmergencyReviewAt is when the approval that completed an emergency
	// change's review after the merge was submitted.
	EmergencyReviewAt *time.Time `json:"emergency_review_at"`
}

// IgnoredApproval is an approval that did not count, and why.
type IgnoredApproval struct {
	Reviewer string `json:"reviewer"`
	// Reason is author, committer, bot, stale, superseded, dismissed,
	// after_merge or unknown_user.
	Reason      string     `json:"reason"`
	SubmittedAt *time.Time `json:"submitted_at"`
	CommitID    string     `json:"commit_id"`
	// review is the index of the review in PullView.Reviews; by, for a
	// superseded approval, the state of the reviewer's later review.
	review int
	by     string
}

// CheckDetail is one check of the merged head: its latest result, and where
// it stood at the merge.
type CheckDetail struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Conclusion  string     `json:"conclusion"`
	CompletedAt *time.Time `json:"completed_at"`
	// AtMerge is passed, failed, running or after_merge.
	AtMerge string `json:"at_merge"`
}

// PushDetails are a direct push finding's details.
type PushDetails struct {
	Repo        string     `json:"repo"`
	Branch      string     `json:"branch"`
	Population  string     `json:"population"`
	SHA         string     `json:"sha"`
	CommittedAt *time.Time `json:"committed_at"`
	Pusher      string     `json:"pusher"`
	Author      string     `json:"author"`
	Committer   string     `json:"committer"`
	Message     string     `json:"message"`
}

// EvaluateFacts judges every change of a collection at the time it was
// collected: what Collect returns as findings, re-derivable by an auditor
// from the raw facts under any policy.
func EvaluateFacts(f Facts, p Policy) []evidence.Finding {
	out := []evidence.Finding{}
	for _, r := range f.Repos {
		if r.Status != RepoRead {
			out = append(out, repoFinding(r))
			continue
		}
		if len(r.Changes) == 0 {
			out = append(out, quietFinding(r))
		}
		for _, c := range r.Changes {
			out = append(out, Evaluate(c, p, f.CollectedAt))
		}
	}
	return out
}

// quietFinding records a repository whose listings were read completely and
// held no change in the window: a verified empty population, which passes.
// Without it a quiet day would be "nothing checked" (not_verifiable).
func quietFinding(r RepoFacts) evidence.Finding {
	f := repoFinding(r)
	f.Status = evidence.StatusPass
	f.Verdict = VerdictNoChanges
	f.Summary = "no change reached " + strings.Join(r.Branches, ", ") + " in the window"
	f.Checks = []evidence.Check{{
		Rule:   RulePopulation,
		Status: evidence.StatusPass,
		Detail: fmt.Sprintf("the pull request and commit listings were read completely and hold no change in the window (population sha256 %s)", r.Population.SHA256),
	}}
	return f
}

// Evaluate judges one change against the policy as of its merge, at time
// now (which decides whether an emergency change's grace period is over).
// A change whose facts could not be collected (a read that failed after
// retries, a body that could not be parsed) is not_verifiable, its summary
// naming the failure. It is a pure function of its arguments.
func Evaluate(c ChangeFacts, p Policy, now time.Time) evidence.Finding {
	f := evidence.Finding{Target: c.Target()}
	switch {
	case c.Error != "" && c.Kind == KindPull && c.PR != nil:
		// Judged on what was read: a failure established stands; anything
		// else is not verifiable, never a pass.
		f = evalPull(f, c, p, now)
		for i := range f.Checks {
			if ch := &f.Checks[i]; ch.Status == evidence.StatusNotVerifiable && strings.Contains(ch.Detail, "could not be read: ") {
				ch.Fix = "Collect the window again: GitHub did not answer, it was not a permission"
			}
		}
		if f.Status != evidence.StatusFail {
			f.Status = evidence.StatusNotVerifiable
			f.Summary = "could not be checked: " + c.Error
		} else {
			f.Summary += "; and could not be checked: " + c.Error
		}
		return f
	case c.Error != "":
		f.Status = evidence.StatusNotVerifiable
		f.Summary = "could not be checked: " + c.Error
		return f
	case c.Kind == KindPull && c.PR != nil:
		return evalPull(f, c, p, now)
	case c.Kind == KindDirectPush && c.Push != nil:
		return evalPush(f, c, p)
	}
	// Not reached: the collection records facts or an error for every change.
	f.Status = evidence.StatusError
	f.Summary = fmt.Sprintf("not collected: no facts for %s %s", c.Kind, c.Target())
	return f
}

// outcome is one rule's check, and a short reason for the summary.
type outcome struct {
	check evidence.Check
	short string
}

func (o outcome) status() evidence.Status { return o.check.Status }

func worst(outs ...outcome) evidence.Status {
	s := evidence.StatusPass
	for _, o := range outs {
		s = evidence.Worse(s, o.status())
	}
	return s
}

// route is the way a pull request can meet the policy.
type route int

const (
	routeNormal route = iota
	routeBot
	routeEmergency
)

func evalPull(f evidence.Finding, c ChangeFacts, p Policy, now time.Time) evidence.Finding {
	pr := c.PR
	ap := analyseApprovals(pr, p)
	checks := analyseChecks(pr)

	// The normal way: independent approval on the merged head before the
	// merge.
	normal := []outcome{independentApproval(ap, p, c.Branch)}
	if !p.AllowStaleApprovals {
		normal = append(normal, approvalOnHead(ap, p, c.Branch))
	}
	var ci []outcome
	if p.RequireCI {
		ci = append(ci, ciGreen(pr, checks, c.Branch))
	}
	if len(p.RequiredChecks) > 0 {
		ci = append(ci, requiredChecks(pr, checks, p.RequiredChecks, c.Branch))
	}

	rt, approval := routeNormal, normal
	var em *emergency
	switch {
	case worst(normal...) != evidence.StatusFail:
	case pr.Author.IsBot() && p.BotPRs == BotChecksOnly:
		rt, approval = routeBot, []outcome{botChange(pr)}
	case p.emergencyEnabled() && hasLabel(pr.Labels, p.EmergencyLabel) && ap.reviewsKnown:
		e := analyseEmergency(pr, p, ap, now)
		em = &e
		rt, approval = routeEmergency, []outcome{emergencyReview(pr, p, ap, e, c.Branch)}
	}

	outs := append(slices.Clone(approval), ci...)
	outs = append(outs, noBypass(pr, rt, approval, ci, c.Branch))
	for _, o := range outs {
		f.Checks = append(f.Checks, o.check)
	}
	f.Status = worst(outs...)
	f.Verdict, f.Summary = pullVerdict(f.Status, rt, pr, p, ap, em, approval, ci, outs, checks)

	approvers := ap.countedLogins()
	var emAt *time.Time
	ignored := ap.ignored
	if em != nil {
		ignored = em.ignored
		if em.done {
			approvers = em.approvers
			emAt = &em.at
		}
	}
	d := PullDetails{
		Repo: c.Repo, Branch: c.Branch, Population: c.Population, Number: c.Number, Title: pr.Title,
		Author: pr.Author.Login, MergedAt: pr.MergedAt, HeadSHA: pr.HeadSHA, MergeSHA: pr.MergeSHA,
		Labels: nonNil(pr.Labels), Approvers: nonNil(approvers), IgnoredApprovals: nonNil(ignored),
		Checks: checks.details(), EmergencyReviewAt: emAt,
	}
	if pr.MergedBy != nil {
		d.MergedBy = &pr.MergedBy.Login
	}
	f.Details = mustJSON(d)
	return f
}

// pullVerdict names the outcome and writes the summary.
func pullVerdict(status evidence.Status, rt route, pr *PullView, p Policy, ap approvals, em *emergency,
	approval, ci, outs []outcome, checks checkSet) (string, string) {
	switch status {
	case evidence.StatusPass:
		green := checks.greenSummary()
		switch rt {
		case routeBot:
			return VerdictBotAccepted, fmt.Sprintf("bot change by %s accepted with %s (bot_prs: checks_only)", pr.Author.Login, green)
		case routeEmergency:
			return VerdictEmergency, fmt.Sprintf("emergency change reviewed after the merge: approved by %s %s after it (grace %s)",
				strings.Join(em.approvers, ", "), Duration(em.at.Sub(pr.MergedAt)), p.EmergencyGrace)
		}
		s := "approved by " + strings.Join(ap.countedLogins(), ", ")
		if p.RequireCI || len(p.RequiredChecks) > 0 {
			s += "; " + green
		}
		return VerdictApproved, s
	case evidence.StatusFail:
		if rt == routeEmergency && worst(approval...) == evidence.StatusFail && worst(ci...) != evidence.StatusFail {
			return VerdictUnreviewed, fmt.Sprintf("emergency change not approved by someone else within %s of the merge (by %s)",
				p.EmergencyGrace, em.deadline.Format(time.RFC3339))
		}
		return VerdictBypass, "merged by " + mergedBy(pr) + " although " + strings.Join(failing(outs), "; ")
	case evidence.StatusNotVerifiable:
		if rt == routeEmergency && worst(approval...) == evidence.StatusNotVerifiable && em != nil && em.pending {
			return VerdictPending, fmt.Sprintf("emergency change awaiting review: no approval by someone else yet; the grace period ends %s",
				em.deadline.Format(time.RFC3339))
		}
		return "", "not verifiable: " + strings.Join(unverified(outs), "; ")
	}
	return "", string(status)
}

func failing(outs []outcome) []string {
	var r []string
	for _, o := range outs {
		if o.status() == evidence.StatusFail && o.check.Rule != RuleNoBypass {
			r = append(r, o.short)
		}
	}
	return r
}

func unverified(outs []outcome) []string {
	var r []string
	for _, o := range outs {
		if o.status() == evidence.StatusNotVerifiable && o.check.Rule != RuleNoBypass {
			r = append(r, o.check.Rule+" ("+o.short+")")
		}
	}
	return r
}

func mergedBy(pr *PullView) string {
	if pr.MergedBy == nil || pr.MergedBy.Login == "" {
		return "an account GitHub did not name"
	}
	return pr.MergedBy.Login
}

// ---- approvals ----

type approvalRef struct {
	reviewer string
	at       time.Time
	commitID string
}

// approvals is the review state of a pull request as of its merge.
type approvals struct {
	reviewsKnown    bool
	committersKnown bool
	// unknown says what could not be read.
	unknown []string
	// independent are the reviewers' latest pre-merge approvals by someone
	// other than the author, a committer or a bot, staleness aside.
	independent []approvalRef
	stale       []approvalRef
	counted     []approvalRef
	ignored     []IgnoredApproval
	// committerOf maps a lower-cased login to a pull request commit it
	// authored or committed.
	committerOf map[string]string
	head        string
}

func (a approvals) countedLogins() []string {
	out := []string{}
	for _, r := range a.counted {
		out = append(out, r.reviewer)
	}
	return out
}

// independence says why an approval by login does not count, or "".
func (a approvals) independence(login string, author Actor, reviewer Actor) string {
	switch {
	case login == "":
		return IgnoredUnknownUser
	case strings.EqualFold(login, author.Login):
		return IgnoredAuthor
	case reviewer.IsBot():
		return IgnoredBot
	}
	if _, ok := a.committerOf[strings.ToLower(login)]; ok {
		return IgnoredCommitter
	}
	return ""
}

func analyseApprovals(pr *PullView, p Policy) approvals {
	a := approvals{reviewsKnown: true, committersKnown: true, committerOf: map[string]string{}, head: pr.HeadSHA}
	for _, u := range pr.Unread {
		switch u.Source {
		case "reviews":
			a.reviewsKnown = false
			a.unknown = append(a.unknown, "the reviews are unreadable: "+u.Reason)
		case "commits":
			a.committersKnown = false
			a.unknown = append(a.unknown, "the pull request's commits are unreadable, so who committed to it is unknown: "+u.Reason)
		}
	}
	if pr.CommitCount != nil && *pr.CommitCount > len(pr.Commits) && a.committersKnown {
		a.committersKnown = false
		a.unknown = append(a.unknown, fmt.Sprintf("the pull request has %d commits and GitHub listed %d (it lists at most 250), so who committed to the rest is unknown",
			*pr.CommitCount, len(pr.Commits)))
	}
	for _, c := range pr.Commits {
		for _, l := range []string{c.Author, c.Committer} {
			if k := strings.ToLower(l); l != "" && l != webFlow && a.committerOf[k] == "" {
				a.committerOf[k] = c.SHA
			}
		}
	}
	if !a.reviewsKnown {
		return a
	}
	latest := latestStates(pr.Reviews, func(t time.Time) bool { return !t.After(pr.MergedAt) })
	seen := map[string]bool{}
	ignoreBy := func(i int, reason, by string) {
		r := pr.Reviews[i]
		key := strings.ToLower(r.Reviewer.Login) + " " + reason
		if seen[key] {
			return
		}
		seen[key] = true
		a.ignored = append(a.ignored, IgnoredApproval{Reviewer: r.Reviewer.Login, Reason: reason, SubmittedAt: r.SubmittedAt, CommitID: r.CommitID, review: i, by: by})
	}
	ignore := func(i int, reason string) { ignoreBy(i, reason, "") }
	for i, r := range pr.Reviews {
		if r.SubmittedAt == nil || (r.State != "APPROVED" && r.State != "DISMISSED") {
			continue
		}
		login := r.Reviewer.Login
		if r.State == "DISMISSED" {
			if !r.SubmittedAt.After(pr.MergedAt) {
				ignore(i, IgnoredDismissed)
			}
			continue
		}
		if why := a.independence(login, pr.Author, r.Reviewer); why != "" {
			ignore(i, why)
			continue
		}
		if r.SubmittedAt.After(pr.MergedAt) {
			ignore(i, IgnoredAfterMerge)
			continue
		}
		if l := latest[strings.ToLower(login)]; l != i {
			if pr.Reviews[l].State != "APPROVED" {
				ignoreBy(i, IgnoredSuperseded, pr.Reviews[l].State)
			}
			continue
		}
		ref := approvalRef{reviewer: login, at: *r.SubmittedAt, commitID: r.CommitID}
		a.independent = append(a.independent, ref)
		if r.CommitID != pr.HeadSHA {
			a.stale = append(a.stale, ref)
			if !p.AllowStaleApprovals {
				ignore(i, IgnoredStale)
				continue
			}
		}
		a.counted = append(a.counted, ref)
	}
	return a
}

// latestStates maps each reviewer (lower-cased login) to the index of their
// latest review that sets a state — APPROVED, CHANGES_REQUESTED or
// DISMISSED; a COMMENTED review changes nothing — among the reviews
// submitted at times in.
func latestStates(reviews []Review, in func(time.Time) bool) map[string]int {
	latest := map[string]int{}
	for i, r := range reviews {
		if r.SubmittedAt == nil || !in(*r.SubmittedAt) {
			continue
		}
		switch r.State {
		case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
			latest[strings.ToLower(r.Reviewer.Login)] = i
		}
	}
	return latest
}

func independentApproval(a approvals, p Policy, branch string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleIndependentApproval}}
	need := p.MinApprovals
	fix := fmt.Sprintf("Require %s before merging into %s (branch protection or a ruleset) and have someone who neither opened nor committed to a pull request approve it",
		plural(need, "approving review"), branch)
	if !a.reviewsKnown {
		o.check.Status, o.check.Detail = evidence.StatusNotVerifiable, strings.Join(a.unknown, "; ")
		o.check.Fix = `Give the token "Pull requests: read" on the repository`
		o.short = "reviews unreadable"
		return o
	}
	got := len(a.independent)
	switch {
	case got >= need && a.committersKnown:
		o.check.Status = evidence.StatusPass
		o.check.Detail = fmt.Sprintf("%s before the merge by %s (policy: at least %d)", plural(got, "independent approval"), refLogins(a.independent), need)
		return o
	case got >= need:
		o.check.Status = evidence.StatusNotVerifiable
		o.check.Detail = fmt.Sprintf("approved before the merge by %s, but %s", refLogins(a.independent), strings.Join(a.unknown, "; "))
		o.check.Fix = `Give the token "Pull requests: read" on the repository`
		o.short = "whether the approvers committed to the pull request is unknown"
		return o
	}
	o.check.Status, o.check.Fix = evidence.StatusFail, fix
	var why []string
	for _, ig := range a.ignored {
		switch ig.Reason {
		case IgnoredAuthor:
			why = append(why, ig.Reviewer+" approved their own pull request")
		case IgnoredCommitter:
			why = append(why, fmt.Sprintf("%s approved but committed %s to it", ig.Reviewer, shortSHA(a.committerOf[strings.ToLower(ig.Reviewer)])))
		case IgnoredBot:
			why = append(why, ig.Reviewer+" is a bot")
		case IgnoredSuperseded:
			if ig.by == "CHANGES_REQUESTED" {
				why = append(why, ig.Reviewer+" requested changes after approving")
			} else {
				why = append(why, ig.Reviewer+"'s approval was superseded by a later review, since dismissed")
			}
		case IgnoredDismissed:
			why = append(why, ig.Reviewer+"'s review was dismissed")
		case IgnoredAfterMerge:
			why = append(why, ig.Reviewer+" approved only after the merge")
		case IgnoredUnknownUser:
			why = append(why, "an approval by a deleted account")
		}
	}
	switch {
	case got == 0 && len(why) == 0:
		o.short = "no independent approval: nobody approved before the merge"
	case got == 0:
		o.short = "no independent approval: " + strings.Join(why, "; ")
	default:
		o.short = fmt.Sprintf("%s of %d by %s", plural(got, "independent approval"), need, refLogins(a.independent))
		if len(why) > 0 {
			o.short += "; " + strings.Join(why, "; ")
		}
	}
	o.check.Detail = o.short + fmt.Sprintf(" (policy: at least %d)", need)
	if !a.committersKnown {
		o.check.Detail += "; " + strings.Join(a.unknown, "; ")
	}
	return o
}

func approvalOnHead(a approvals, p Policy, branch string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleApprovalOnMergedHead}}
	switch {
	case !a.reviewsKnown:
		o.check.Status, o.check.Detail = evidence.StatusNotVerifiable, strings.Join(a.unknown, "; ")
		o.short = "reviews unreadable"
		return o
	case len(a.stale) == 0 && len(a.independent) == 0:
		o.check.Status, o.check.Detail = evidence.StatusPass, "no independent approval was stale"
		return o
	case len(a.stale) == 0:
		o.check.Status, o.check.Detail = evidence.StatusPass, "every independent approval was given on the merged head"
		return o
	}
	var stale []string
	for _, s := range a.stale {
		stale = append(stale, fmt.Sprintf("%s approved %s", s.reviewer, shortSHA(s.commitID)))
	}
	if len(a.counted) >= p.MinApprovals {
		o.check.Status = evidence.StatusPass
		o.check.Detail = fmt.Sprintf("%s on the merged head; stale and not counted: %s", plural(len(a.counted), "independent approval"), strings.Join(stale, ", "))
		return o
	}
	o.check.Status = evidence.StatusFail
	o.short = fmt.Sprintf("stale approval: %s, not the merged head %s (commits were pushed after the approval)", strings.Join(stale, ", "), shortSHA(a.head))
	o.check.Detail = o.short
	o.check.Fix = fmt.Sprintf("Turn on \"Dismiss stale pull request approvals when new commits are pushed\" for %s, so a push after an approval needs a new approval", branch)
	return o
}

// ---- emergency ----

type emergency struct {
	deadline time.Time
	// done: enough approvals, counting those within the grace period.
	done bool
	// pending: not done and the grace period was open at collection time.
	pending   bool
	at        time.Time
	approvers []string
	ignored   []IgnoredApproval
}

// analyseEmergency counts the approvals an emergency change got: those
// before the merge, then those after it within the grace period, each
// reviewer's latest state up to the deadline.
func analyseEmergency(pr *PullView, p Policy, a approvals, now time.Time) emergency {
	e := emergency{deadline: pr.MergedAt.Add(p.grace())}
	approvers := a.countedLogins()
	latest := latestStates(pr.Reviews, func(t time.Time) bool { return t.Before(e.deadline) })
	counted := map[int]bool{}
	for i, r := range pr.Reviews {
		if len(approvers) >= p.MinApprovals {
			break
		}
		if r.SubmittedAt == nil || r.State != "APPROVED" || !r.SubmittedAt.After(pr.MergedAt) || !r.SubmittedAt.Before(e.deadline) {
			continue
		}
		if a.independence(r.Reviewer.Login, pr.Author, r.Reviewer) != "" || slices.Contains(approvers, r.Reviewer.Login) {
			continue
		}
		if latest[strings.ToLower(r.Reviewer.Login)] != i {
			continue
		}
		if r.CommitID != pr.HeadSHA && !p.AllowStaleApprovals {
			continue
		}
		approvers = append(approvers, r.Reviewer.Login)
		counted[i] = true
		e.at = *r.SubmittedAt
	}
	e.done = len(approvers) >= p.MinApprovals && a.committersKnown
	e.pending = !e.done && now.Before(e.deadline)
	if e.done {
		e.approvers = approvers
	}
	for _, ig := range a.ignored {
		if ig.Reason == IgnoredAfterMerge && counted[ig.review] {
			continue
		}
		e.ignored = append(e.ignored, ig)
	}
	return e
}

func emergencyReview(pr *PullView, p Policy, a approvals, e emergency, branch string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleEmergencyReview}}
	before := "no independent approval before the merge"
	if n := len(a.counted); n > 0 {
		before = fmt.Sprintf("%s of %d before the merge", plural(n, "independent approval"), p.MinApprovals)
	}
	label := fmt.Sprintf("labelled %q: %s", p.EmergencyLabel, before)
	switch {
	case e.done:
		o.check.Status = evidence.StatusPass
		o.check.Detail = fmt.Sprintf("%s; approved by %s at %s, %s after the merge, within the %s grace period",
			label, strings.Join(e.approvers, ", "), e.at.Format(time.RFC3339), Duration(e.at.Sub(pr.MergedAt)), p.EmergencyGrace)
		return o
	case e.pending:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "the emergency review is due by " + e.deadline.Format(time.RFC3339)
		o.check.Detail = fmt.Sprintf("%s; no approval by someone else yet; the %s grace period ends %s: a later collection decides",
			label, p.EmergencyGrace, e.deadline.Format(time.RFC3339))
		if !a.committersKnown {
			o.check.Detail += "; " + strings.Join(a.unknown, "; ")
		}
		return o
	case !a.committersKnown:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "whether the reviewers committed to the pull request is unknown"
		o.check.Detail = label + "; " + strings.Join(a.unknown, "; ")
		return o
	}
	o.check.Status = evidence.StatusFail
	o.short = fmt.Sprintf("emergency change not approved by someone else within %s of the merge", p.EmergencyGrace)
	o.check.Detail = fmt.Sprintf("%s; no approval by someone other than the author or a committer was submitted between the merge and %s",
		label, e.deadline.Format(time.RFC3339))
	o.check.Fix = fmt.Sprintf("Have someone other than the author review and approve emergency changes to %s within %s of the merge (an approval can be submitted on a merged pull request)",
		branch, p.EmergencyGrace)
	return o
}

// ---- bots ----

func botChange(pr *PullView) outcome {
	why := "its login ends in [bot]"
	if pr.Author.Type == "Bot" {
		why = "GitHub says its account type is Bot"
	}
	return outcome{check: evidence.Check{
		Rule:   RuleBotChange,
		Status: evidence.StatusPass,
		Detail: fmt.Sprintf("opened by %s, a bot (%s); bot_prs: checks_only accepts bot changes on green checks instead of a review", pr.Author.Login, why),
	}}
}

// ---- checks ----

// checkState is one check (a check run name or a status context) as of the
// merge.
type checkState struct {
	name, kind string
	atMerge    string
	// decisive is the result the at-merge state comes from, nil when none.
	decisive *CheckResult
	latest   CheckResult
}

type checkSet struct {
	states []checkState
	// unknown says which check sources are unreadable.
	unknown []string
}

func analyseChecks(pr *PullView) checkSet {
	var cs checkSet
	for _, u := range pr.Unread {
		switch u.Source {
		case "check_runs":
			cs.unknown = append(cs.unknown, "check runs unreadable: "+u.Reason)
		case "status":
			cs.unknown = append(cs.unknown, "commit statuses unreadable: "+u.Reason)
		}
	}
	groups := map[[2]string][]CheckResult{}
	var keys [][2]string
	for _, c := range pr.Checks {
		k := [2]string{c.Name, c.Kind}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], c)
	}
	merged := pr.MergedAt
	for _, k := range keys {
		attempts := groups[k]
		st := checkState{name: k[0], kind: k[1], atMerge: AtMergeNone, latest: attempts[len(attempts)-1]}
		var done *CheckResult
		startedBefore := false
		for i := range attempts {
			a := &attempts[i]
			if a.CompletedAt != nil && a.Status == "completed" && !a.CompletedAt.After(merged) {
				if done == nil || !a.CompletedAt.Before(*done.CompletedAt) {
					done = a
				}
			}
			if a.StartedAt == nil || !a.StartedAt.After(merged) {
				startedBefore = true
			}
		}
		switch {
		case done != nil && passing(*done):
			st.atMerge, st.decisive = AtMergePassed, done
		case done != nil:
			st.atMerge, st.decisive = AtMergeFailed, done
		case k[1] == KindStatus && st.latest.Status == "pending" && startedBefore:
			st.atMerge = AtMergeRunning
		case k[1] == KindCheckRun && startedBefore:
			st.atMerge = AtMergeRunning
		}
		cs.states = append(cs.states, st)
	}
	return cs
}

// passing reports a successful conclusion: success, neutral or skipped for a
// check run (as GitHub's required checks treat them), success for a status.
func passing(c CheckResult) bool {
	if c.Kind == KindStatus {
		return c.Conclusion == "success"
	}
	switch c.Conclusion {
	case "success", "neutral", "skipped":
		return true
	}
	return false
}

func (cs checkSet) details() []CheckDetail {
	out := []CheckDetail{}
	for _, s := range cs.states {
		out = append(out, CheckDetail{Name: s.name, Kind: s.kind, Conclusion: s.latest.Conclusion, CompletedAt: s.latest.CompletedAt, AtMerge: s.atMerge})
	}
	return out
}

func (cs checkSet) greenSummary() string {
	n := 0
	for _, s := range cs.states {
		if s.atMerge == AtMergePassed {
			n++
		}
	}
	return plural(n, "check") + " green at the merge"
}

func (s checkState) describe() string {
	label := s.name
	if s.kind == KindStatus {
		label += " (status)"
	}
	switch s.atMerge {
	case AtMergePassed:
		return label + " passed"
	case AtMergeFailed:
		d := fmt.Sprintf("%s %s", label, s.decisive.Conclusion)
		if s.latest.Conclusion != s.decisive.Conclusion && s.latest.CompletedAt != nil {
			d += fmt.Sprintf(" (%s only after the merge, at %s)", s.latest.Conclusion, s.latest.CompletedAt.Format(time.RFC3339))
		}
		return d
	case AtMergeRunning:
		d := label + " was still running at the merge"
		if s.latest.CompletedAt != nil && s.latest.Conclusion != "" {
			d += fmt.Sprintf(" (%s at %s)", s.latest.Conclusion, s.latest.CompletedAt.Format(time.RFC3339))
		}
		return d
	}
	d := label + " has no result from before the merge"
	if s.latest.CompletedAt != nil && s.latest.Conclusion != "" {
		d += fmt.Sprintf(" (%s at %s)", s.latest.Conclusion, s.latest.CompletedAt.Format(time.RFC3339))
	}
	return d
}

func ciGreen(pr *PullView, cs checkSet, branch string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleCIGreen}}
	var bad, good, after []string
	for _, s := range cs.states {
		switch s.atMerge {
		case AtMergeFailed, AtMergeRunning:
			bad = append(bad, s.describe())
		case AtMergePassed:
			good = append(good, s.name)
		default:
			after = append(after, s.describe())
		}
	}
	head := shortSHA(pr.HeadSHA)
	fix := fmt.Sprintf("Require status checks to pass before merging into %s, and merge only once every check on the head has succeeded", branch)
	note := ""
	if len(after) > 0 {
		note = "; not counted: " + strings.Join(after, ", ")
	}
	switch {
	case len(bad) > 0:
		o.check.Status, o.check.Fix = evidence.StatusFail, fix
		o.short = "checks not green at the merge: " + strings.Join(bad, ", ")
		o.check.Detail = fmt.Sprintf("on the merged head %s: %s%s", head, strings.Join(bad, ", "), note)
	case len(cs.unknown) > 0:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = strings.Join(cs.unknown, "; ")
		o.check.Detail = fmt.Sprintf("on the merged head %s: passed before the merge: %s; %s%s", head, listOrNone(good), o.short, note)
		o.check.Fix = `Give the token "Checks: read" and "Commit statuses: read" on the repository`
	case len(good) == 0:
		o.check.Status, o.check.Fix = evidence.StatusFail, fix
		o.short = "no check had succeeded on the merged head " + head + " before the merge"
		o.check.Detail = o.short + note
	default:
		o.check.Status = evidence.StatusPass
		o.check.Detail = fmt.Sprintf("on the merged head %s, before the merge: %s passed%s", head, strings.Join(good, ", "), note)
	}
	return o
}

func requiredChecks(pr *PullView, cs checkSet, required []string, branch string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleRequiredChecks}}
	var bad, unknown, good []string
	for _, name := range required {
		var found []checkState
		for _, s := range cs.states {
			if s.name == name {
				found = append(found, s)
			}
		}
		switch {
		case slices.ContainsFunc(found, func(s checkState) bool { return s.atMerge == AtMergePassed }):
			good = append(good, name)
		case len(found) > 0:
			bad = append(bad, found[0].describe())
		case len(cs.unknown) > 0:
			unknown = append(unknown, name)
		default:
			bad = append(bad, name+" did not run on the merged head")
		}
	}
	head := shortSHA(pr.HeadSHA)
	switch {
	case len(bad) > 0:
		o.check.Status = evidence.StatusFail
		o.short = "required checks not green at the merge: " + strings.Join(bad, ", ")
		o.check.Detail = fmt.Sprintf("on the merged head %s: %s", head, strings.Join(bad, ", "))
		o.check.Fix = fmt.Sprintf("Add %s to the required status checks of %s", strings.Join(required, ", "), branch)
	case len(unknown) > 0:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "not found: " + strings.Join(unknown, ", ") + "; " + strings.Join(cs.unknown, "; ")
		o.check.Detail = fmt.Sprintf("on the merged head %s: %s", head, o.short)
		o.check.Fix = `Give the token "Checks: read" and "Commit statuses: read" on the repository`
	default:
		o.check.Status = evidence.StatusPass
		o.check.Detail = fmt.Sprintf("on the merged head %s, before the merge: %s passed", head, strings.Join(good, ", "))
	}
	return o
}

// ---- bypass ----

func noBypass(pr *PullView, rt route, approval, ci []outcome, branch string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleNoBypass}}
	all := append(slices.Clone(approval), ci...)
	by := mergedBy(pr)
	switch worst(all...) {
	case evidence.StatusFail:
		o.check.Status = evidence.StatusFail
		o.short = "merged by " + by + " although " + strings.Join(failing(all), "; ")
		o.check.Detail = o.short
		o.check.Fix = fmt.Sprintf("Protect %s so that no one — administrators included — can merge without the required review and checks: classic protection with \"Do not allow bypassing the above settings\", or rulesets without bypass actors", branch)
	case evidence.StatusNotVerifiable:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "whether the merge went around review or checks is not known yet"
		o.check.Detail = fmt.Sprintf("merged by %s; not verifiable: %s", by, strings.Join(unverified(all), "; "))
	default:
		o.check.Status = evidence.StatusPass
		switch rt {
		case routeBot:
			o.check.Detail = fmt.Sprintf("merged by %s as a bot change with green checks", by)
		case routeEmergency:
			o.check.Detail = fmt.Sprintf("merged by %s under the emergency procedure and reviewed within the grace period", by)
		default:
			o.check.Detail = fmt.Sprintf("merged by %s with the approvals and checks the policy requires", by)
		}
	}
	return o
}

// ---- direct pushes ----

func evalPush(f evidence.Finding, c ChangeFacts, p Policy) evidence.Finding {
	v := c.Push
	sha := shortSHA(c.SHA)
	check := evidence.Check{Rule: RuleNoDirectPush}
	allowed := v.Pusher != "" && slices.ContainsFunc(p.AllowedPushers, func(l string) bool { return strings.EqualFold(l, v.Pusher) })
	who := v.Pusher
	if who == "" {
		who = "an account GitHub did not name (the commit's author and committer are not linked to GitHub accounts)"
	}
	msg := ""
	if v.Message != "" {
		msg = fmt.Sprintf(" (%q)", v.Message)
	}
	switch {
	case len(v.Unread) > 0:
		var why []string
		for _, u := range v.Unread {
			why = append(why, u.Reason)
		}
		check.Status = evidence.StatusNotVerifiable
		check.Detail = fmt.Sprintf("commit %s%s reached %s; whether a pull request brought it is unknown: %s", sha, msg, c.Branch, strings.Join(why, "; "))
		check.Fix = `Give the token "Contents: read" and "Pull requests: read" on the repository`
		f.Summary = "not verifiable: whether commit " + sha + " came through a pull request is unknown"
	case allowed:
		check.Status = evidence.StatusPass
		check.Detail = fmt.Sprintf("commit %s%s reached %s without a pull request, pushed by %s, who is in allowed_pushers", sha, msg, c.Branch, who)
		f.Verdict, f.Summary = VerdictAllowedPush, fmt.Sprintf("direct push by %s, allowed by allowed_pushers", who)
	default:
		check.Status = evidence.StatusFail
		check.Detail = fmt.Sprintf("commit %s%s reached %s without a pull request; pushed by %s", sha, msg, c.Branch, who)
		check.Fix = fmt.Sprintf("Require a pull request before merging into %s (branch protection or a ruleset) so no one pushes to it directly; if the account is an approved automation, add it to allowed_pushers", c.Branch)
		f.Verdict, f.Summary = VerdictDirectPush, fmt.Sprintf("direct push by %s: commit %s reached %s without a pull request", who, sha, c.Branch)
	}
	f.Checks = []evidence.Check{check}
	f.Status = check.Status
	f.Details = mustJSON(PushDetails{
		Repo: c.Repo, Branch: c.Branch, Population: c.Population, SHA: c.SHA, CommittedAt: v.CommittedAt,
		Pusher: v.Pusher, Author: v.Author.Login, Committer: v.Committer.Login, Message: v.Message,
	})
	return f
}

// ---- repositories ----

// repoFinding is the finding of a repository whose population GitHub would
// not list: not_verifiable, naming the permission.
func repoFinding(r RepoFacts) evidence.Finding {
	t := "github.com/" + strings.ToLower(r.Repo)
	if len(r.Branches) > 0 {
		t += "@" + strings.Join(r.Branches, "+")
	}
	return evidence.Finding{
		Target:  t,
		Status:  evidence.StatusNotVerifiable,
		Summary: "population unknown: " + r.Reason,
		Checks: []evidence.Check{{
			Rule:   RulePopulation,
			Status: evidence.StatusNotVerifiable,
			Detail: "the changes that reached the branch could not be listed: " + r.Reason,
			Fix:    fmt.Sprintf(`Give the token "Pull requests: read", "Contents: read" and "Metadata: read" on %s`, r.Repo),
		}},
	}
}

// ---- helpers ----

func hasLabel(labels []string, name string) bool {
	return slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, name) })
}

func refLogins(refs []approvalRef) string {
	var s []string
	for _, r := range refs {
		s = append(s, r.reviewer)
	}
	return strings.Join(s, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("mergeactivity: details do not serialise: " + err.Error())
	}
	return b
}
