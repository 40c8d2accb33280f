package cistatus

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/schedules"
)

// Facts are the raw facts of one collection: what GitHub said, kept apart
// from any judgement so the findings can be re-derived under another policy
// (EvaluateFacts).
type Facts struct {
	// Window is the collection's window [start, end).
	Window schedules.Window `json:"window"`
	// CollectedAt is when the checks were read: a check still running then
	// is pending.
	CollectedAt time.Time `json:"collected_at"`
	// Queries are the organisation listings that made up the repositories.
	Queries []githubapi.Query `json:"queries"`
	// SkippedArchived names the archived repositories the listings returned
	// and the collection left out.
	SkippedArchived []string `json:"skipped_archived"`
	// Repos are the facts of every repository, sorted by name.
	Repos []RepoFacts `json:"repos"`
}

// Read states of a repository, a source or a listing.
const (
	// StatusRead: GitHub answered and every page was read.
	StatusRead = "read"
	// StatusUnreadable: GitHub would not list the repository's commits
	// (403, 404); its population is unknown.
	StatusUnreadable = "unreadable"
	// StatusUnknown: GitHub would not say (403, 404).
	StatusUnknown = "unknown"
	// StatusError: the read failed otherwise (after retries), or its body
	// could not be parsed.
	StatusError = "error"
	// StatusTruncated: the listing ended before total_count items (GitHub
	// returns at most 1,000 workflow runs for a filtered listing).
	StatusTruncated = "truncated"
)

// RepoFacts are the facts of one repository.
type RepoFacts struct {
	// Repo is OWNER/NAME as GitHub spells it.
	Repo string `json:"repo"`
	// Status is read or unreadable.
	Status string `json:"status"`
	// Reason says why the repository is unreadable, with the permission the
	// token needs, or what GitHub answered for an empty repository.
	Reason string `json:"reason,omitempty"`
	// Empty: GitHub answered the commit listing 409 "Git Repository is
	// empty.": the repository has no commit, so none landed on any branch
	// (the population is known and empty). Its workflows and runs are not
	// read: without a commit there is no workflow file to run.
	Empty bool `json:"empty,omitempty"`
	// Branches are the branches examined, sorted.
	Branches []BranchFacts `json:"branches"`
	// Workflows is the repository's GitHub Actions workflows.
	Workflows *WorkflowFacts `json:"workflows,omitempty"`
	// Commits are the commits that landed on a branch in the window, each
	// once however many branches it is on, oldest first.
	Commits []CommitFacts `json:"commits"`
	// Lookups are the workflow runs of single commits
	// (GET …/actions/runs?head_sha=), read when the window's run listing
	// could not decide a rule.
	Lookups []Lookup `json:"lookups"`
}

// BranchFacts are the listings of one branch.
type BranchFacts struct {
	Branch string `json:"branch"`
	// CommitQuery is the listing of the branch's commits dated in the
	// window; nil when the repository could not be read before it.
	CommitQuery *Listing `json:"commit_query,omitempty"`
	// Missing: the branch was named (--branch), its commit listing answered
	// 404, and GET /repos/{o}/{r}/branches/{branch} answered 404 "Branch not
	// found": the branch does not exist in this repository. Its runs are not
	// listed.
	Missing bool `json:"missing,omitempty"`
	// BranchCheck is GET /repos/{o}/{r}/branches/{branch}, read only when
	// the commit listing of a branch named with --branch answered 404, to
	// tell a missing branch from a token that may not read the repository.
	BranchCheck *Call `json:"branch_check,omitempty"`
	// Listed accounts for every commit the listing returned.
	Listed []ListedCommit `json:"listed"`
	// Runs is the listing of the workflow runs on the branch created in the
	// window.
	Runs *RunListing `json:"runs,omitempty"`
	// Head is the check runs and statuses of the branch's head, read only
	// when no active workflow and no check on the window's commits showed
	// whether the repository has CI.
	Head *HeadProbe `json:"head,omitempty"`
}

// Listing is one paginated listing query and how far it was read.
type Listing struct {
	githubapi.Query
	// Stop says why paging ended.
	Stop string `json:"stop"`
}

// Dispositions of a listed commit.
const (
	// InWindow: committed in [start, end); judged.
	InWindow = "window"
	// OutsideWindow: GitHub's until is inclusive; a commit dated exactly at
	// the window end is left to the next window.
	OutsideWindow = "outside_window"
)

// ListedCommit is one commit of a branch's listing.
type ListedCommit struct {
	SHA         string     `json:"sha"`
	CommittedAt *time.Time `json:"committed_at"`
	// Disposition is window or outside_window.
	Disposition string `json:"disposition"`
}

// WorkflowFacts are GET /repos/{o}/{r}/actions/workflows: its pages (read
// until one showed an active workflow) and what they said.
type WorkflowFacts struct {
	Source *Source `json:"source"`
	// TotalCount is the number of workflows GitHub reported, null when the
	// listing was not read.
	TotalCount *int       `json:"total_count"`
	Workflows  []Workflow `json:"workflows"`
}

// Workflow is one GitHub Actions workflow.
type Workflow struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Path string `json:"path"`
	// State is active, disabled_manually, disabled_inactivity, … .
	State string `json:"state"`
}

// RunListing is the listing of a branch's workflow runs created in the
// window: GET /repos/{o}/{r}/actions/runs?branch=&created=START..END.
type RunListing struct {
	Listing
	// Status is read, unknown (withheld), or truncated (fewer runs than
	// total_count could be listed).
	Status string `json:"status"`
	// Reason says why the listing is unknown or truncated.
	Reason string `json:"reason,omitempty"`
	// TotalCount is GitHub's total_count of the first page.
	TotalCount int `json:"total_count"`
	// Duplicates counts runs listed twice (new runs shift the pages while
	// they are read); each is kept once.
	Duplicates int `json:"duplicates"`
	// ForeignCount and Foreign are the runs listed whose head repository is
	// not the repository itself: pull request runs from forks whose branch
	// has the same name (GitHub's branch filter matches head_branch alone).
	// They are no runs on this branch and are dropped, but recorded.
	ForeignCount int          `json:"foreign_count"`
	Foreign      []ForeignRun `json:"foreign"`
	// Runs are every run listed (but the foreign ones), oldest first.
	Runs []Run `json:"runs"`
}

// ForeignRun is a run a branch's listing returned from another repository's
// branch of the same name.
type ForeignRun struct {
	ID int64 `json:"id"`
	// HeadRepository is the full name of the repository the run's head
	// commit came from; Repository the repository the run belongs to.
	HeadRepository string `json:"head_repository"`
	Repository     string `json:"repository"`
	Event          string `json:"event"`
	HeadBranch     string `json:"head_branch"`
	HeadSHA        string `json:"head_sha"`
	Status         string `json:"status"`
	Conclusion     string `json:"conclusion"`
}

// Run is one workflow run, normalised.
type Run struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	WorkflowID int64      `json:"workflow_id"`
	RunNumber  int        `json:"run_number"`
	HeadSHA    string     `json:"head_sha"`
	HeadBranch string     `json:"head_branch"`
	Event      string     `json:"event"`
	Status     string     `json:"status"`
	Conclusion string     `json:"conclusion"`
	RunAttempt int        `json:"run_attempt"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  *time.Time `json:"updated_at"`
	HTMLURL    string     `json:"html_url"`
	// CheckSuiteID is the check suite of the run's latest attempt: the
	// check runs of its jobs carry it, which ties them to the workflow.
	CheckSuiteID int64 `json:"check_suite_id,omitempty"`
	// Raw is the run as listed, byte for byte; kept for runs whose latest
	// attempt did not succeed or that were re-run, the ones a failed-run
	// finding can be about.
	Raw json.RawMessage `json:"raw,omitempty"`
	// Attempts are the run's earlier attempts (GET …/attempts/{n}), read
	// for a re-run whose latest attempt did not fail, so that a failure
	// hidden by a green re-run is still recorded.
	Attempts []Attempt `json:"attempts,omitempty"`
}

// Attempt is one earlier attempt of a run.
type Attempt struct {
	Number int `json:"number"`
	// Read is read, unknown (withheld) or error.
	Read       string `json:"read"`
	Call       Call   `json:"call"`
	Status     string `json:"status,omitempty"`
	Conclusion string `json:"conclusion,omitempty"`
	// StartedAt is the attempt's run_started_at.
	StartedAt *time.Time `json:"started_at,omitempty"`
	// CheckSuiteID is the attempt's check suite.
	CheckSuiteID int64 `json:"check_suite_id,omitempty"`
	// Error says why the attempt could not be read or parsed, other than
	// by a refusal.
	Error string `json:"error,omitempty"`
}

// CommitFacts are the checks of one commit that landed on a branch in the
// window.
type CommitFacts struct {
	SHA string `json:"sha"`
	// Branches are the branches in scope it landed on in the window.
	Branches    []string   `json:"branches"`
	CommittedAt *time.Time `json:"committed_at"`
	// Message is the first line of the commit message.
	Message string `json:"message"`
	// Error says why the commit's checks could not be collected (a read
	// that failed after retries, a body that could not be parsed); its
	// finding is then not_verifiable and the collection incomplete.
	Error string `json:"error,omitempty"`
	// CheckRuns is GET …/commits/{sha}/check-runs?filter=all (every
	// attempt), Status GET …/commits/{sha}/status (the latest status per
	// context): every page as received.
	CheckRuns *Source `json:"check_runs,omitempty"`
	Status    *Source `json:"status,omitempty"`
	// Checks are the check runs and statuses, normalised.
	Checks []CheckResult `json:"checks"`
	// Unread names the sources GitHub would not show, and why.
	Unread []Unread `json:"unread"`
}

// Lookup is the workflow runs of one commit, any branch, any time:
// GET /repos/{o}/{r}/actions/runs?head_sha=.
type Lookup struct {
	SHA    string  `json:"sha"`
	Source *Source `json:"source"`
	// Error says why the lookup failed other than by a refusal.
	Error string `json:"error,omitempty"`
	Runs  []Run  `json:"runs"`
}

// HeadProbe is whether the head of a branch has any check run or status:
// GET …/commits/{branch}/check-runs?per_page=1 and …/status?per_page=1.
type HeadProbe struct {
	CheckRuns *Source `json:"check_runs"`
	Status    *Source `json:"status"`
	// CheckRunCount and StatusCount are the total_count each reported, null
	// when withheld.
	CheckRunCount *int   `json:"check_run_count"`
	StatusCount   *int   `json:"status_count"`
	Error         string `json:"error,omitempty"`
}

// Source is one endpoint, every page it returned.
type Source = collectors.Source

// Call is one API call and what it returned.
type Call = githubapi.Call

// Check kinds.
const (
	KindCheckRun = "check_run"
	KindStatus   = "status"
)

// CheckResult is one check run attempt or one commit status context.
type CheckResult struct {
	Name string `json:"name"`
	// Kind is check_run or status.
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
	// Status is a check run's queued, in_progress, waiting, requested,
	// pending or completed; for a commit status, completed unless its state
	// is pending.
	Status string `json:"status"`
	// Conclusion is a check run's conclusion (success, failure, neutral,
	// cancelled, skipped, timed_out, action_required, stale, …) or a commit
	// status's state (success, failure, error, pending).
	Conclusion  string     `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	// App is the slug of the GitHub App that created a check run
	// (github-actions for workflow jobs).
	App string `json:"app,omitempty"`
	// CheckSuiteID is a check run's check suite: for GitHub Actions, one
	// workflow run (its re-runs add check runs to the same suite).
	CheckSuiteID int64 `json:"check_suite_id,omitempty"`
}

// Unread is a source GitHub would not show.
type Unread struct {
	// Source is check_runs or status.
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// repoTarget is github.com/owner/repo, lower-cased as in
// collectors.Scope.String.
func repoTarget(repo string) string { return "github.com/" + strings.ToLower(repo) }

// CommitTarget names a commit in evidence:
// github.com/owner/repo@1a2b3c4d5e6f (12 characters of the sha), as
// merge-activity names a direct push.
func CommitTarget(repo, sha string) string { return repoTarget(repo) + "@" + shortSHA(sha) }

// RunTarget names a workflow run: github.com/owner/repo/actions/runs/123.
func RunTarget(repo string, id int64) string {
	return repoTarget(repo) + "/actions/runs/" + strconv.FormatInt(id, 10)
}

// BranchTarget names a repository's branch: github.com/owner/repo@main.
func BranchTarget(repo, branch string) string { return repoTarget(repo) + "@" + branch }

// shortSHA is the first 12 characters of a sha.
func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
