package deployments

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// Rule ids, stable: they are recorded in evidence.
const (
	// RuleCommitLink: the deployed code names the commit it was built from.
	RuleCommitLink = "commit_link"
	// RuleDefaultBranch: that commit is on the repository's default branch.
	RuleDefaultBranch = "on_default_branch"
	// RuleApprovedChange: the change that brought it there is one
	// merge-activity judges approved.
	RuleApprovedChange = "approved_change"
	// RuleMergedBeforeDeployment: that change had landed on the default
	// branch (merged_at; a direct push: its commit date) when the
	// deployment was created.
	RuleMergedBeforeDeployment = "merged_before_deployment"
	// RuleOutcome: how the deployment ended could be read (a GitHub
	// deployment's statuses).
	RuleOutcome = "outcome"
	// RuleNonProductionFirst: the commit was deployed successfully to a
	// non-production environment first (require_non_production_first).
	RuleNonProductionFirst = "non_production_first"
	// RulePopulation: the source's deployments could be listed.
	RulePopulation = "population"
)

// Verdicts refine a finding's status.
const (
	// VerdictApproved (pass): every commit deployed is on the default
	// branch and came from an approved change.
	VerdictApproved = "approved"
	// VerdictRollback (pass): a Workers rollback to code that meets the
	// policy.
	VerdictRollback = "rollback"
	// VerdictFailedDeployment (pass): a deployment that failed (nothing went
	// live) of code that meets the policy.
	VerdictFailedDeployment = "failed_deployment"
	// VerdictNoDeployments (pass): a source listed completely, with no
	// production deployment in the window.
	VerdictNoDeployments = "no_deployments"
	// VerdictInteractiveEdit (fail): Worker code edited in Cloudflare's
	// dashboard, quick editor or playground.
	VerdictInteractiveEdit = "interactive_edit"
	// VerdictUntraced (not_verifiable, or fail under untraced: fail): code
	// that names no commit.
	VerdictUntraced = "untraced"
	// VerdictDirtyTree (fail): built from a working tree with uncommitted
	// changes.
	VerdictDirtyTree = "dirty_tree"
	// VerdictOtherBranch (fail): the commit is not on the default branch.
	VerdictOtherBranch = "other_branch"
	// VerdictUnknownCommit (fail): GitHub does not know the commit.
	VerdictUnknownCommit = "unknown_commit"
	// VerdictUnreviewed (fail): the change behind the commit is not
	// approved (merge-activity's verdict says how).
	VerdictUnreviewed = "unreviewed"
	// VerdictDeployedBeforeMerge (fail): the commit was deployed before the
	// change that brought it onto the default branch was merged (pushed).
	VerdictDeployedBeforeMerge = "deployed_before_merge"
	// VerdictOtherRepository (fail): Workers Builds built the Worker from a
	// repository other than the one the policy names for it.
	VerdictOtherRepository = "other_repository"
	// VerdictNotProven (fail): not deployed to non-production first.
	VerdictNotProven = "not_proven"
)

// Details are a deployment finding's details.
type Details struct {
	Source        string        `json:"source"`
	Name          string        `json:"name"`
	ID            string        `json:"id"`
	Environment   string        `json:"environment"`
	CreatedAt     time.Time     `json:"created_at"`
	Creator       string        `json:"creator"`
	Trigger       string        `json:"trigger"`
	Ref           string        `json:"ref"`
	Outcome       string        `json:"outcome"`
	OutcomeDetail string        `json:"outcome_detail"`
	Rollback      bool          `json:"rollback"`
	Message       string        `json:"message"`
	Code          []CodeDetails `json:"code"`
}

// CodeDetails are one deployed piece of code and how it traced.
type CodeDetails struct {
	Version       string  `json:"version,omitempty"`
	VersionNumber int     `json:"version_number,omitempty"`
	Percentage    float64 `json:"percentage,omitempty"`
	Source        string  `json:"source,omitempty"`
	Repo          string  `json:"repo"`
	SHA           string  `json:"sha"`
	Link          string  `json:"link"`
	DefaultBranch string  `json:"default_branch,omitempty"`
	// Compare is GitHub's compare status of the default branch and the
	// commit.
	Compare string `json:"compare,omitempty"`
	// Change is the change merge-activity traced the commit to, with its
	// status and verdict.
	Change        string          `json:"change,omitempty"`
	ChangeStatus  evidence.Status `json:"change_status,omitempty"`
	ChangeVerdict string          `json:"change_verdict,omitempty"`
	// ProvenBy is the non-production deployment that proved the commit.
	ProvenBy string `json:"proven_by,omitempty"`
}

// EvaluateFacts judges every production deployment of the window, and each
// source as a whole when it could not be listed or held none: what Collect
// returns as findings, re-derivable by an auditor from the raw facts under
// any policy.
//
// A read that failed after retries (a repository's default branch, a
// comparison, the trace of the change behind a commit) makes the rule that
// needed it not_verifiable, the summary naming the failure: the deployment
// is never pass, and fails only on what was established.
func EvaluateFacts(f Facts, p Policy) []evidence.Finding {
	out, _ := judgeFacts(f, p)
	return out
}

// judgeFacts is EvaluateFacts, and the targets of the deployments whose
// judgement needed a read that failed after retries: the collection is
// incomplete for them.
func judgeFacts(f Facts, p Policy) ([]evidence.Finding, []string) {
	ev := newEvaluator(f, p)
	out := []evidence.Finding{}
	var unread []string
	judge := func(target, reason, fix string, listed int, status string, views []Deployment, nonProd bool, filter []string) {
		switch status {
		case StatusRead, StatusPartial:
		default:
			out = append(out, unreadableFinding(target, reason, fix))
			return
		}
		n := 0
		for _, d := range views {
			if d.Production && d.InWindow {
				f, failed := ev.judge(d)
				out = append(out, f)
				if failed {
					unread = append(unread, f.Target)
				}
				n++
			}
		}
		switch {
		case status == StatusPartial:
			out = append(out, partialFinding(target, reason))
		case n == 0:
			out = append(out, quietFinding(target, listed, nonProd, filter))
		}
	}
	for _, rf := range f.GitHub {
		views := make([]Deployment, 0, len(rf.Deployments))
		for _, d := range rf.Deployments {
			views = append(views, d.View)
		}
		var filter []string
		for _, l := range rf.Listings {
			if e := l.Query.Params["environment"]; e != "" {
				filter = append(filter, e)
			}
		}
		judge("github.com/"+strings.ToLower(rf.Repo)+"/deployments", rf.Reason,
			fmt.Sprintf(`Give the token "Deployments: read" on %s`, rf.Repo), len(rf.Listed), rf.Status, views, false, filter)
	}
	for _, sf := range f.Workers {
		judge("cloudflare.com/"+sf.Account+"/workers/"+sf.Script, sf.Reason,
			`Give the Cloudflare API token "Workers Scripts Read" on the account`, len(sf.Listed), sf.Status, sf.Views, !sf.Production, nil)
	}
	for _, pf := range f.Pages {
		judge("cloudflare.com/"+pf.Account+"/pages/"+pf.Project, pf.Reason,
			`Give the Cloudflare API token "Pages Read" on the account`, len(pf.Listed), pf.Status, pf.Views, false, nil)
	}
	return out, unread
}

// partialFinding is a source whose listing may be missing deployments of
// the window (a Workers listing, which Cloudflare does not paginate, that
// does not reach back past the window start): the deployments it holds are
// judged on their own, the source as a whole is not verifiable.
func partialFinding(target, reason string) evidence.Finding {
	return evidence.Finding{
		Target:  target,
		Status:  evidence.StatusNotVerifiable,
		Summary: "deployments possibly missing: " + reason,
		Checks: []evidence.Check{{Rule: RulePopulation, Status: evidence.StatusNotVerifiable,
			Detail: "the deployments may not have been listed completely: " + reason,
			Fix:    "Collect each window soon after it ends (Cloudflare lists only a Worker's most recent deployments), or collect shorter windows"}},
	}
}

func unreadableFinding(target, reason, fix string) evidence.Finding {
	return evidence.Finding{
		Target:  target,
		Status:  evidence.StatusNotVerifiable,
		Summary: "deployments unknown: " + reason,
		Checks: []evidence.Check{{Rule: RulePopulation, Status: evidence.StatusNotVerifiable,
			Detail: "the deployments could not be listed: " + reason, Fix: fix}},
	}
}

// quietFinding is a source listed completely with no production deployment
// in the window: a verified empty population, which passes.
// A filter (github.environments) is named: only those environments were
// listed.
func quietFinding(target string, listed int, nonProd bool, filter []string) evidence.Finding {
	summary := "no production deployment in the window"
	what := "the deployments were listed"
	if len(filter) > 0 {
		summary += " of environments " + strings.Join(filter, ", ") + " (github.environments)"
		what = "the deployments of environments " + strings.Join(filter, ", ") + " (github.environments; no other environment was listed) were listed"
	}
	if nonProd {
		summary = "a non-production Worker: its deployments are not judged (they can prove commits for require_non_production_first)"
	}
	return evidence.Finding{
		Target: target, Status: evidence.StatusPass, Verdict: VerdictNoDeployments, Summary: summary,
		Checks: []evidence.Check{{Rule: RulePopulation, Status: evidence.StatusPass,
			Detail: fmt.Sprintf("%s completely back to the window start (%d listed); none is a production deployment created in the window", what, listed)}},
	}
}

// evaluator holds the facts a deployment's judgement looks up.
type evaluator struct {
	p        Policy
	now      time.Time
	canon    map[string]string
	branches map[string]string
	lookups  map[string]RepoLookup
	compares map[string]CompareFacts
	traces   map[string]mergeactivity.Trace
	nonProd  []Deployment
	lookback time.Duration
}

func newEvaluator(f Facts, p Policy) *evaluator {
	_, canon := deployedCommits(f, p)
	ev := &evaluator{p: p, now: f.CollectedAt, canon: canon, branches: map[string]string{}, lookups: map[string]RepoLookup{},
		compares: map[string]CompareFacts{}, traces: map[string]mergeactivity.Trace{}, lookback: f.Window.Start.Sub(f.LookbackStart)}
	for _, rf := range f.GitHub {
		if rf.DefaultBranch != "" {
			ev.branches[strings.ToLower(rf.Repo)] = rf.DefaultBranch
		}
	}
	for _, rl := range f.Repos {
		ev.lookups[strings.ToLower(rl.Repo)] = rl
		if rl.DefaultBranch != "" {
			ev.branches[strings.ToLower(rl.Repo)] = rl.DefaultBranch
		}
	}
	for _, c := range f.Compares {
		ev.compares[key(c.Repo, c.SHA)] = c
	}
	for _, t := range f.Traces {
		ev.traces[key(t.Repo, t.SHA)] = t
	}
	for _, d := range allViews(f) {
		if !d.Production {
			ev.nonProd = append(ev.nonProd, d)
		}
	}
	return ev
}

// unit is one piece of code's judgement.
type unit struct {
	checks  []evidence.Check
	verdict map[evidence.Status]string
	shorts  map[evidence.Status][]string
	// unread are the shorts of the not_verifiable checks a read that failed
	// after retries decided.
	unread  []string
	pass    string
	details CodeDetails
}

func (u *unit) add(c evidence.Check, verdict, short string) {
	u.checks = append(u.checks, c)
	if c.Status == evidence.StatusPass {
		return
	}
	if u.verdict[c.Status] == "" {
		u.verdict[c.Status] = verdict
	}
	u.shorts[c.Status] = append(u.shorts[c.Status], short)
}

// failed adds a not_verifiable check a read that failed after retries
// decided; short names the failure.
func (u *unit) failed(c evidence.Check, short string) {
	c.Status = evidence.StatusNotVerifiable
	u.checks = append(u.checks, c)
	u.unread = append(u.unread, short)
}

func (u *unit) status() evidence.Status {
	s := evidence.StatusPass
	for _, c := range u.checks {
		s = evidence.Worse(s, c.Status)
	}
	return s
}

// judge is one production deployment's finding; unread reports that a read
// that failed after retries decided one of its checks.
func (ev *evaluator) judge(d Deployment) (evidence.Finding, bool) {
	f := evidence.Finding{Target: d.Target}
	var units []*unit
	for _, c := range d.Code {
		units = append(units, ev.unit(d, c))
	}
	// Deployment-wide checks come first; they name no code.
	var whole []*unit
	if d.Outcome == OutcomeUnreadable {
		u := &unit{verdict: map[evidence.Status]string{}, shorts: map[evidence.Status][]string{}}
		u.add(evidence.Check{Rule: RuleOutcome, Status: evidence.StatusNotVerifiable,
			Detail: "how the deployment ended is unknown: " + d.OutcomeDetail,
			Fix:    fmt.Sprintf(`Give the token %s on %s`, githubapi.PermDeployments, d.Name)}, "", "its outcome is unknown ("+d.OutcomeDetail+")")
		whole = append(whole, u)
	}
	if len(d.Code) == 0 {
		// Cloudflare answered a deployment without any version: what it
		// deployed could not be read.
		u := &unit{verdict: map[evidence.Status]string{}, shorts: map[evidence.Status][]string{}}
		u.failed(evidence.Check{Rule: RuleCommitLink, Detail: "the deployment names no code (no version): what it deployed is unknown"},
			"the deployment names no code (no version)")
		whole = append(whole, u)
	}
	status := evidence.StatusPass
	for _, u := range append(slices.Clone(whole), units...) {
		for _, c := range u.checks {
			f.Checks = append(f.Checks, c)
		}
		status = evidence.Worse(status, u.status())
	}
	f.Status = status
	var shorts, unread []string
	for _, u := range append(slices.Clone(whole), units...) {
		shorts = append(shorts, u.shorts[status]...)
		unread = append(unread, u.unread...)
		if f.Verdict == "" {
			f.Verdict = u.verdict[status]
		}
	}
	prefix := ""
	switch {
	case d.Rollback:
		prefix = "rollback: "
	case d.Outcome == OutcomeFailed:
		prefix = "failed deployment (nothing went live): "
	case d.Outcome == OutcomeInProgress:
		prefix = "in progress at collection: "
	case d.Outcome == OutcomeUnknown:
		// A deployment with no status may or may not have gone live;
		// either way it was an attempt to deploy this code, judged as such.
		prefix = "outcome unknown (" + d.OutcomeDetail + "): "
	}
	switch status {
	case evidence.StatusPass:
		var passes []string
		for _, u := range units {
			passes = append(passes, u.pass)
		}
		f.Verdict = VerdictApproved
		switch {
		case d.Rollback:
			f.Verdict = VerdictRollback
		case d.Outcome == OutcomeFailed:
			f.Verdict = VerdictFailedDeployment
		}
		f.Summary = prefix + "deploys " + strings.Join(passes, "; ")
	case evidence.StatusFail:
		f.Summary = prefix + strings.Join(shorts, "; ")
	case evidence.StatusNotVerifiable:
		f.Summary = prefix + "not verifiable: " + strings.Join(shorts, "; ")
		if len(unread) > 0 {
			f.Summary = prefix + "could not be checked: " + strings.Join(unread, "; ")
			if len(shorts) > 0 {
				f.Summary += "; not verifiable: " + strings.Join(shorts, "; ")
			}
		}
	case evidence.StatusError:
		f.Summary = prefix + "not judged: " + strings.Join(shorts, "; ")
	}
	det := Details{Source: d.Source, Name: d.Name, ID: d.ID, Environment: d.Environment, CreatedAt: d.CreatedAt,
		Creator: d.Creator, Trigger: d.Trigger, Ref: d.Ref, Outcome: d.Outcome, OutcomeDetail: d.OutcomeDetail,
		Rollback: d.Rollback, Message: d.Message, Code: []CodeDetails{}}
	for _, u := range units {
		det.Code = append(det.Code, u.details)
	}
	f.Details = mustJSON(det)
	return f, len(unread) > 0
}

// label names a piece of code in checks: "version 3 (10%): " for Workers.
func label(d Deployment, c Code) string {
	if d.Source != SourceWorkers {
		return ""
	}
	v := "version " + shortID(c.Version)
	if c.VersionNumber > 0 {
		v = "version " + strconv.Itoa(c.VersionNumber)
	}
	return fmt.Sprintf("%s (%s%%): ", v, strconv.FormatFloat(c.Percentage, 'f', -1, 64))
}

// unit judges one piece of code: its commit link, branch, change and,
// when required, its non-production deployment.
func (ev *evaluator) unit(d Deployment, c Code) *unit {
	u := &unit{verdict: map[evidence.Status]string{}, shorts: map[evidence.Status][]string{}}
	lbl := label(d, c)
	sha, link := commitOf(c, ev.p)
	u.details = CodeDetails{Version: c.Version, VersionNumber: c.VersionNumber, Percentage: c.Percentage, Source: c.Source,
		Repo: c.Repo, SHA: sha, Link: link}

	// commit_link
	chk := evidence.Check{Rule: RuleCommitLink}
	switch {
	case sha == "" && c.LinkUnknown:
		chk.Status = evidence.StatusNotVerifiable
		chk.Detail = lbl + "which commit the code came from is unknown: " + c.Unlinked
		chk.Fix = `Give the Cloudflare API token "Workers Scripts Read" and "Workers CI Read" on the account`
		u.add(chk, "", lbl+"its commit is unknown")
		return u
	case c.Dirty:
		// The uploader's own admission: whatever commit it names, the
		// files deployed are not that commit's.
		claimed := cmp.Or(sha, c.UploadCommit)
		chk.Status = evidence.StatusFail
		chk.Detail = fmt.Sprintf("%sbuilt from a working tree with uncommitted changes on top of commit %s of %s (commit_dirty)", lbl, orUnknown(short(claimed)), orUnknown(c.Repo))
		chk.Fix = "Deploy only from clean checkouts of reviewed commits (CI), never from a developer's working tree"
		u.add(chk, VerdictDirtyTree, lbl+"built from a working tree with uncommitted changes (commit_dirty)")
		return u
	case sha == "" && slices.Contains(interactive, c.Source):
		chk.Status = evidence.StatusFail
		chk.Detail = lbl + c.Unlinked
		chk.Fix = "Deploy Workers only from reviewed commits (Workers Builds, or wrangler in CI), and take dashboard editing (Workers Scripts Write) away from people"
		u.add(chk, VerdictInteractiveEdit, lbl+"code edited in Cloudflare ("+c.Source+"), which no pull request reviewed")
		return u
	case sha == "":
		chk.Status = evidence.StatusNotVerifiable
		if ev.p.Untraced == UntracedFail {
			chk.Status = evidence.StatusFail
		}
		chk.Detail = lbl + c.Unlinked
		chk.Fix = "Deploy from CI with the commit recorded: Workers Builds or the Pages Git integration, or wrangler with the commit and the policy trusting it (versions upload --tag $GITHUB_SHA with workers_tag_is_commit, pages deploy --commit-hash with pages_upload_commit_is_commit)"
		u.add(chk, VerdictUntraced, lbl+c.Unlinked)
		return u
	case c.Repo == "":
		chk.Status = evidence.StatusNotVerifiable
		chk.Detail = lbl + "commit " + short(sha) + " of a repository no one named"
		chk.Fix = "Name the GitHub repository in the policy (cloudflare.pages[].repo), or connect the project to it"
		u.add(chk, "", lbl+"no repository is known for commit "+short(sha))
		return u
	case c.BuildProvider != "" && c.BuildProvider != "github":
		chk.Status = evidence.StatusNotVerifiable
		chk.Detail = fmt.Sprintf("%sWorkers Builds built commit %s from %s repository %s, which is not traced (only GitHub repositories are)", lbl, short(sha), c.BuildProvider, orUnknown(c.BuildRepo))
		chk.Fix = "Build the Worker from its GitHub repository"
		u.add(chk, "", lbl+"built from a "+c.BuildProvider+" repository, which is not traced")
		return u
	case c.BuildRepo != "" && !strings.EqualFold(c.BuildRepo, c.Repo):
		chk.Status = evidence.StatusFail
		chk.Detail = fmt.Sprintf("%sWorkers Builds built commit %s from repository %s, but the policy maps Worker %s to %s: the Worker runs code of a repository the policy does not name", lbl, short(sha), c.BuildRepo, d.Name, c.Repo)
		chk.Fix = fmt.Sprintf("Connect Worker %s's Workers Builds to %s, or, if %s is where it is meant to be built from, name it in cloudflare.workers[].repo", d.Name, c.Repo, c.BuildRepo)
		u.add(chk, VerdictOtherRepository, lbl+"built from repository "+c.BuildRepo+", not "+c.Repo+" (the policy's)")
		return u
	}
	chk.Status = evidence.StatusPass
	chk.Detail = fmt.Sprintf("%scommit %s of %s, from %s", lbl, short(sha), c.Repo, link)
	u.add(chk, "", "")

	// on_default_branch
	chk = evidence.Check{Rule: RuleDefaultBranch}
	base := ev.branches[strings.ToLower(c.Repo)]
	u.details.DefaultBranch = base
	cmpf, compared := ev.compares[key(c.Repo, ev.resolve(c.Repo, sha))]
	switch {
	case base == "":
		rl, ok := ev.lookups[strings.ToLower(c.Repo)]
		switch {
		case ok && (rl.Call.HTTPStatus == http.StatusForbidden || rl.Call.HTTPStatus == http.StatusNotFound):
			chk.Status = evidence.StatusNotVerifiable
			chk.Detail = lbl + "the repository is unreadable: " + collectors.WithheldReason(rl.Call, githubapi.PermMetadata)
			chk.Fix = fmt.Sprintf(`Give the GitHub token "Metadata: read" and "Contents: read" on %s`, c.Repo)
			u.add(chk, "", lbl+"repository "+c.Repo+" is unreadable")
		case ok:
			chk.Detail = lbl + "reading the repository failed: " + callMessage(rl.Call)
			u.failed(chk, lbl+"reading repository "+c.Repo+" failed ("+callMessage(rl.Call)+")")
		default:
			// Not reached: every deployed commit's repository is looked up.
			chk.Status = evidence.StatusError
			chk.Detail = lbl + "the default branch of " + c.Repo + " was not collected"
			u.add(chk, "", lbl+"not collected")
		}
		return u
	case !compared:
		// Not reached: every deployed commit is compared.
		chk.Status = evidence.StatusError
		chk.Detail = lbl + "the comparison with " + base + " was not collected"
		u.add(chk, "", lbl+"not collected")
		return u
	}
	u.details.Compare = cmpf.Status
	switch cmpf.Status {
	case "identical", "behind":
		chk.Status = evidence.StatusPass
		chk.Detail = fmt.Sprintf("%scommit %s is on %s (GitHub compares %s...%s as %s)", lbl, short(sha), base, base, short(sha), cmpf.Status)
		u.add(chk, "", "")
	case "ahead", "diverged":
		ahead, behind := aheadBehind(cmpf.Call.Body)
		chk.Status = evidence.StatusFail
		chk.Detail = fmt.Sprintf("%scommit %s is not on %s: GitHub compares it as %s (%d commits ahead, %d behind)", lbl, short(sha), base, cmpf.Status, ahead, behind)
		chk.Fix = fmt.Sprintf("Deploy to production only commits merged into %s through a reviewed pull request", base)
		msg := "deployed from another branch: commit " + short(sha) + " is not on " + base
		if d.Ref != "" && d.Ref != base {
			msg += " (ref " + d.Ref + ")"
		}
		u.add(chk, VerdictOtherBranch, lbl+msg)
		return u
	case "":
		switch cmpf.Call.HTTPStatus {
		case http.StatusNotFound, http.StatusUnprocessableEntity:
			chk.Status = evidence.StatusFail
			chk.Detail = fmt.Sprintf("%sGitHub does not know commit %s in %s: %s", lbl, short(sha), c.Repo, callMessage(cmpf.Call))
			chk.Fix = "Deploy to production only commits pushed to the repository and merged into " + base
			u.add(chk, VerdictUnknownCommit, lbl+"unknown commit "+short(sha)+" (GitHub does not know it in "+c.Repo+")")
		case http.StatusForbidden:
			chk.Status = evidence.StatusNotVerifiable
			chk.Detail = lbl + "the comparison is unreadable: " + collectors.WithheldReason(cmpf.Call, githubapi.PermContents)
			chk.Fix = fmt.Sprintf(`Give the GitHub token "Contents: read" on %s`, c.Repo)
			u.add(chk, "", lbl+"whether commit "+short(sha)+" is on "+base+" is unknown")
		default:
			chk.Detail = lbl + "comparing failed: " + callMessage(cmpf.Call)
			u.failed(chk, lbl+"comparing commit "+short(sha)+" with "+base+" failed ("+callMessage(cmpf.Call)+")")
		}
		return u
	default:
		chk.Detail = fmt.Sprintf("%sGitHub compares commit %s with %s as %q, which is not a known status", lbl, short(sha), base, cmpf.Status)
		u.failed(chk, fmt.Sprintf("%sGitHub compares commit %s with %s as %q, which is not a known status", lbl, short(sha), base, cmpf.Status))
		return u
	}

	// approved_change
	chk = evidence.Check{Rule: RuleApprovedChange}
	t, ok := ev.traces[key(c.Repo, headSHA(cmpf))]
	if !ok {
		// Not reached: every commit on its default branch is traced.
		chk.Status = evidence.StatusError
		chk.Detail = lbl + "the change behind the commit was not collected"
		u.add(chk, "", lbl+"not collected")
		return u
	}
	mf := t.Judge(ev.p.Review, ev.now)
	u.details.Change, u.details.ChangeStatus, u.details.ChangeVerdict = mf.Target, mf.Status, mf.Verdict
	change := mf.Target
	if mf.Verdict != "" {
		change += " (" + mf.Verdict + ")"
	}
	chk.Detail = fmt.Sprintf("%scommit %s came onto %s with %s, which merge-activity judges %s: %s", lbl, short(sha), base, mf.Target, mf.Status, mf.Summary)
	switch mf.Status {
	case evidence.StatusPass:
		chk.Status = evidence.StatusPass
		u.add(chk, "", "")
	case evidence.StatusFail:
		chk.Status = evidence.StatusFail
		chk.Fix = "Deploy only commits of approved changes; see merge-activity's finding for " + mf.Target
		u.add(chk, VerdictUnreviewed, lbl+"unreviewed change: "+change+": "+mf.Summary)
		return u
	case evidence.StatusNotVerifiable:
		if why := t.ReadError(); why != "" {
			u.failed(chk, lbl+"the change behind commit "+short(sha)+" ("+mf.Target+"): "+why)
			return u
		}
		chk.Status = evidence.StatusNotVerifiable
		u.add(chk, "", lbl+"the change behind commit "+short(sha)+": "+strings.TrimPrefix(mf.Summary, "not verifiable: "))
		return u
	default:
		// Not reached: merge-activity judges every change it has facts for.
		chk.Status = evidence.StatusError
		u.add(chk, "", lbl+mf.Target+": "+mf.Summary)
		return u
	}

	// merged_before_deployment
	chk = evidence.Check{Rule: RuleMergedBeforeDeployment}
	landed, how, verb := landedAt(t)
	created := d.CreatedAt.UTC().Format(time.RFC3339)
	switch {
	case landed.IsZero():
		chk.Status = evidence.StatusNotVerifiable
		chk.Detail = fmt.Sprintf("%swhen %s landed on %s is unknown, so whether it was deployed (at %s) only after is unknown", lbl, mf.Target, base, created)
		u.add(chk, "", lbl+"when "+mf.Target+" landed on "+base+" is unknown")
		return u
	case d.CreatedAt.Before(landed):
		chk.Status = evidence.StatusFail
		chk.Detail = fmt.Sprintf("%sdeployed at %s, before %s landed on %s at %s (%s): commit %s went to production before the change was %s", lbl, created, mf.Target, base, landed.UTC().Format(time.RFC3339), how, short(sha), verb)
		chk.Fix = fmt.Sprintf("Deploy to production only what is already on %s (deploy on push to %s), never a branch awaiting merge", base, base)
		u.add(chk, VerdictDeployedBeforeMerge, fmt.Sprintf("%sdeployed before %s was %s: deployed %s, %s %s", lbl, change, verb, created, verb, landed.UTC().Format(time.RFC3339)))
		return u
	}
	chk.Status = evidence.StatusPass
	chk.Detail = fmt.Sprintf("%s%s landed on %s at %s (%s), not after this deployment at %s", lbl, mf.Target, base, landed.UTC().Format(time.RFC3339), how, created)
	u.add(chk, "", "")
	u.pass = fmt.Sprintf("%s%s, commit %s on %s", lbl, change, short(sha), base)

	// non_production_first
	if ev.p.RequireNonProductionFirst {
		chk = evidence.Check{Rule: RuleNonProductionFirst}
		proof, seen := ev.proven(c.Repo, sha, d.CreatedAt)
		switch {
		case proof != nil:
			chk.Status = evidence.StatusPass
			chk.Detail = fmt.Sprintf("%scommit %s was deployed to %s (%s) at %s, before", lbl, short(sha), proof.Environment, proof.Target, proof.CreatedAt.Format(time.RFC3339))
			u.details.ProvenBy = proof.Target
			u.add(chk, "", "")
		case seen != "":
			chk.Status = evidence.StatusNotVerifiable
			chk.Detail = fmt.Sprintf("%scommit %s went to non-production before, with an outcome not known: %s", lbl, short(sha), seen)
			u.add(chk, "", lbl+"whether commit "+short(sha)+" succeeded in non-production first is unknown")
		default:
			chk.Status = evidence.StatusFail
			chk.Detail = fmt.Sprintf("%sno successful non-production deployment of commit %s before this one (looked back %s before the window)", lbl, short(sha), mergeactivity.Duration(ev.lookback))
			chk.Fix = "Deploy each commit to a staging or preview environment, and let it succeed there, before production"
			u.add(chk, VerdictNotProven, lbl+"commit "+short(sha)+" was not deployed to non-production first")
		}
	}
	return u
}

// proven finds a successful non-production deployment of the commit before
// t; seen names one whose outcome is unknown or still running.
func (ev *evaluator) proven(repo, sha string, t time.Time) (*Deployment, string) {
	var seen []string
	for i := range ev.nonProd {
		d := &ev.nonProd[i]
		if !d.CreatedAt.Before(t) {
			continue
		}
		for _, c := range d.Code {
			s, _ := commitOf(c, ev.p)
			if !strings.EqualFold(c.Repo, repo) || !sameCommit(s, sha) {
				continue
			}
			switch d.Outcome {
			case OutcomeSucceeded:
				return d, ""
			case OutcomeUnknown, OutcomeUnreadable, OutcomeInProgress:
				seen = append(seen, d.Target+" ("+d.OutcomeDetail+")")
			}
		}
	}
	return nil, strings.Join(seen, ", ")
}

// commitOf is the commit a piece of code came from and where the link comes
// from: its recorded commit, or (workers_tag_is_commit) the full commit SHA
// its Worker version is tagged with, or (pages_upload_commit_is_commit) the
// commit a Pages direct upload names; empty when none.
func commitOf(c Code, p Policy) (string, string) {
	switch {
	case c.SHA != "":
		return c.SHA, c.Link
	case p.Cloudflare.WorkersTagIsCommit && isFullSHA(c.Tag) && !slices.Contains(interactive, c.Source):
		return strings.ToLower(c.Tag), "the version's workers/tag annotation (workers_tag_is_commit)"
	case p.Cloudflare.PagesUploadCommitIsCommit && c.UploadCommit != "":
		return c.UploadCommit, "the direct upload's deployment_trigger.metadata.commit_hash (pages_upload_commit_is_commit)"
	}
	return "", ""
}

// tracedCommit is the commit a piece of code is traced through (compare,
// then merge-activity's trace): its repository and commit; empty when the
// judgement stops before (no commit or repository, a dirty tree, a build
// of a repository other than the policy's).
func tracedCommit(c Code, p Policy) (string, string) {
	sha, _ := commitOf(c, p)
	switch {
	case sha == "", c.Repo == "", c.Dirty,
		c.BuildProvider != "" && c.BuildProvider != "github",
		c.BuildRepo != "" && !strings.EqualFold(c.BuildRepo, c.Repo):
		return "", ""
	}
	return c.Repo, sha
}

// deployedCommits are the commits the window's production deployments are
// traced through, each once, sorted, and the map from an abbreviated one
// (a Pages commit_hash can be short) to the full SHA of the same
// repository it abbreviates, when exactly one deployed full SHA does: the
// commit is then compared and traced once, under its full SHA.
func deployedCommits(f Facts, p Policy) ([]commit, map[string]string) {
	var all []commit
	for _, d := range allViews(f) {
		if !d.Production || !d.InWindow {
			continue
		}
		for _, c := range d.Code {
			if repo, sha := tracedCommit(c, p); sha != "" {
				all = append(all, commit{repo: repo, sha: sha})
			}
		}
	}
	full := map[string][]string{}
	for _, c := range all {
		if r, s := strings.ToLower(c.repo), strings.ToLower(c.sha); isFullSHA(s) && !slices.Contains(full[r], s) {
			full[r] = append(full[r], s)
		}
	}
	canon := map[string]string{}
	for _, c := range all {
		if isFullSHA(c.sha) {
			continue
		}
		var match []string
		for _, s := range full[strings.ToLower(c.repo)] {
			if strings.HasPrefix(s, strings.ToLower(c.sha)) {
				match = append(match, s)
			}
		}
		if len(match) == 1 {
			canon[key(c.repo, c.sha)] = match[0]
		}
	}
	seen := map[string]bool{}
	var out []commit
	for _, c := range all {
		if s, ok := canon[key(c.repo, c.sha)]; ok {
			c.sha = s
		}
		if k := key(c.repo, c.sha); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b commit) int { return cmp.Compare(key(a.repo, a.sha), key(b.repo, b.sha)) })
	return out, canon
}

// resolve is the commit under which a deployed commit was compared: its
// full SHA when it abbreviates one deployed in full (deployedCommits).
func (ev *evaluator) resolve(repo, sha string) string {
	if s, ok := ev.canon[key(repo, sha)]; ok {
		return s
	}
	return sha
}

// headSHA is the full SHA of a compared commit, under which it is traced:
// the commit itself when full, else, for a commit on the default branch
// (identical, behind: the merge base is the commit), the compare's
// merge_base_commit.sha it abbreviates.
func headSHA(c CompareFacts) string {
	if isFullSHA(c.SHA) || (c.Status != "identical" && c.Status != "behind") {
		return c.SHA
	}
	var b struct {
		MergeBase struct {
			SHA string `json:"sha"`
		} `json:"merge_base_commit"`
	}
	if json.Unmarshal(c.Call.Body, &b) == nil && isFullSHA(b.MergeBase.SHA) && strings.HasPrefix(strings.ToLower(b.MergeBase.SHA), strings.ToLower(c.SHA)) {
		return b.MergeBase.SHA
	}
	return c.SHA
}

// landedAt is when the change a commit was traced to landed on the
// default branch, what says so, and the verb for it: a pull request's
// merged_at; a direct push's committer date (GitHub's commit API does not
// say when it was pushed, so this bounds the push from below only); zero
// when unknown.
func landedAt(t mergeactivity.Trace) (when time.Time, how, verb string) {
	switch ch := t.Change; {
	case ch == nil:
	case ch.Kind == mergeactivity.KindPull && ch.PR != nil && !ch.PR.MergedAt.IsZero():
		return ch.PR.MergedAt, "merged_at", "merged"
	case ch.Kind == mergeactivity.KindDirectPush && ch.Push != nil && ch.Push.CommittedAt != nil:
		return *ch.Push.CommittedAt, "a direct push: the commit's committer date", "committed"
	}
	return time.Time{}, "", ""
}

// sameCommit compares commit ids, one possibly abbreviated (7+ characters).
func sameCommit(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) < 7 || len(b) < 7 {
		return false
	}
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

func aheadBehind(body []byte) (int, int) {
	var c struct {
		AheadBy  int `json:"ahead_by"`
		BehindBy int `json:"behind_by"`
	}
	_ = json.Unmarshal(body, &c)
	return c.AheadBy, c.BehindBy
}

// callMessage is a failed GitHub call in one line.
func callMessage(c githubapi.Call) string {
	s := c.Request
	if c.HTTPStatus != 0 {
		s += ": " + strconv.Itoa(c.HTTPStatus)
	}
	if c.Message != "" {
		s += " " + c.Message
	}
	if c.InvalidBody != "" {
		s += " (the answer is not JSON)"
	}
	return s
}

// short is the first 12 characters of a commit id.
func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// shortID is the first 8 characters of an id.
func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("deployments: details do not serialise: " + err.Error())
	}
	return b
}
