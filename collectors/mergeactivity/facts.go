package mergeactivity

import (
	"encoding/json"
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
	// CollectedAt is the time the changes were judged at: whether an
	// emergency change's grace period is still open depends on it.
	CollectedAt time.Time `json:"collected_at"`
	// LookbackStart is the window start minus the emergency grace period:
	// emergency changes merged in (lookback_start, start) are re-examined.
	LookbackStart time.Time `json:"lookback_start"`
	// Queries are the organisation listings that made up the repositories.
	Queries []githubapi.Query `json:"queries"`
	// SkippedArchived names the archived repositories the listings returned
	// and the collection left out.
	SkippedArchived []string `json:"skipped_archived"`
	// Population is the window's population over every repository: each
	// change that reached a branch in scope in the window.
	Population Population `json:"population"`
	// Repos are the facts of every repository, sorted by name.
	Repos []RepoFacts `json:"repos"`
}

// Repository read states.
const (
	// RepoRead: the repository's population is known.
	RepoRead = "read"
	// RepoUnreadable: GitHub would not list the repository's pull requests
	// or commits; its population is unknown.
	RepoUnreadable = "unreadable"
)

// RepoFacts are the facts of one repository.
type RepoFacts struct {
	// Repo is OWNER/NAME as GitHub spells it.
	Repo string `json:"repo"`
	// Branches are the branches examined.
	Branches []string `json:"branches"`
	// Status is read or unreadable.
	Status string `json:"status"`
	// Reason says why the repository is unreadable, with the permission the
	// token needs.
	Reason string `json:"reason,omitempty"`
	// Pulls is the listing of closed pull requests (over REST) or merged
	// pull requests (over GraphQL: POST /graphql MergedPullRequests, the
	// query's sha256 among its parameters), newest update first, read until
	// one was last updated before the look-back start.
	Pulls *Listing `json:"pulls,omitempty"`
	// GraphQLFallback says why the GraphQL listing was given up and the
	// pull requests listed over REST instead; empty when it was not.
	GraphQLFallback string `json:"graphql_fallback,omitempty"`
	// Commits are the listings of each branch's commits in the window.
	Commits []Listing `json:"commits"`
	// ListedPulls accounts for every pull request the listing returned: in
	// the population, re-examined, or why not.
	ListedPulls []ListedPull `json:"listed_pulls"`
	// BranchCommits accounts for every commit the commit listings returned:
	// which pull request brought it, or that it was pushed directly.
	BranchCommits []ListedCommit `json:"branch_commits"`
	// Population is the repository's window population.
	Population Population `json:"population"`
	// Reexamined are the emergency changes of earlier windows judged again.
	Reexamined Reexamined `json:"reexamined"`
	// Changes are the facts of each change in Population and Reexamined,
	// sorted by branch, time and target.
	Changes []ChangeFacts `json:"changes"`
}

// Listing is one paginated listing query and how far it was read.
type Listing struct {
	githubapi.Query
	// Stop says why paging ended: the last page, or an early stop once the
	// listing reached items older than needed.
	Stop string `json:"stop"`
}

// Dispositions of a listed pull request.
const (
	PullWindow        = "window"
	PullReexamined    = "reexamined"
	PullNotMerged     = "not_merged"
	PullOtherBranch   = "other_branch"
	PullMergedBefore  = "merged_before_window"
	PullMergedAfter   = "merged_after_window"
	PullDuplicate     = "duplicate"
	CommitMerge       = "merge_commit"
	CommitOfPull      = "pull_commit"
	CommitAssociated  = "associated_pull"
	CommitDirectPush  = "direct_push"
	CommitUndecided   = "undecided"
	CommitOutOfWindow = "outside_window"
)

// ListedPull is one pull request of the listing and what became of it.
type ListedPull struct {
	Number    int        `json:"number"`
	Base      string     `json:"base"`
	UpdatedAt time.Time  `json:"updated_at"`
	MergedAt  *time.Time `json:"merged_at"`
	// Disposition is window, reexamined, not_merged, other_branch,
	// merged_before_window, merged_after_window or duplicate.
	Disposition string `json:"disposition"`
}

// ListedCommit is one commit of a branch's listing and how it reached the
// branch.
type ListedCommit struct {
	SHA         string     `json:"sha"`
	Branch      string     `json:"branch"`
	CommittedAt *time.Time `json:"committed_at"`
	// Disposition is merge_commit (a pull request's merge, squash or last
	// rebased commit), pull_commit (one of a pull request's commits),
	// associated_pull (GitHub associates it with a pull request merged into
	// the branch), direct_push, undecided (GitHub would not say) or
	// outside_window.
	Disposition string `json:"disposition"`
	// Pulls are the pull requests it came with.
	Pulls []int `json:"pulls,omitempty"`
}

// Population is a set of changes with its size and digest, so an auditor can
// judge completeness: Items are one line per change, sorted bytewise, and
// SHA256 is the sha256 of the items each followed by "\n" — what
// `LC_ALL=C sort | sha256sum` gives for the lines.
type Population struct {
	Count  int      `json:"count"`
	SHA256 string   `json:"sha256"`
	Items  []string `json:"items"`
}

// Reexamined are the emergency changes merged before the window, whose grace
// period was still open at the window start, judged again at collection
// time so that none is left undecided.
type Reexamined struct {
	// Selection says which pull requests were re-examined.
	Selection string `json:"selection"`
	// Query is the listing they came from: the same requests as the
	// window's pull requests, read back to the look-back start.
	Query *Listing `json:"query,omitempty"`
	Population
}

// Change kinds.
const (
	KindPull       = "pull_request"
	KindDirectPush = "direct_push"
)

// Populations a change belongs to.
const (
	InWindow     = "window"
	InReexamined = "reexamined"
)

// ChangeFacts are the facts of one change: a merged pull request or a
// commit pushed to the branch without one.
type ChangeFacts struct {
	Kind   string `json:"kind"`
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	// Population is window or reexamined.
	Population string `json:"population"`
	Number     int    `json:"number,omitempty"`
	SHA        string `json:"sha,omitempty"`
	// Error says why the change could not be collected; its finding is an
	// error.
	Error string `json:"error,omitempty"`

	// Listed is the pull request's listing item as received; kept only when
	// the pull request itself could not be read.
	Listed json.RawMessage `json:"listed,omitempty"`
	// GraphQL is the pull request's node of the GraphQL listing, as
	// received: its labels, reviews, commits, and the check runs and
	// statuses of its head. When it holds them all, no REST source is read.
	GraphQL json.RawMessage `json:"graphql,omitempty"`
	// RESTReason says why a pull request the GraphQL listing gave was read
	// over REST: an error inside its node, or more reviews, commits or
	// checks than the node's first page.
	RESTReason string `json:"rest_reason,omitempty"`
	// Pull is GET /repos/{o}/{r}/pulls/{n}.
	Pull *Call `json:"pull,omitempty"`
	// Reviews, Commits, CheckRuns and Status are the pull request's reviews,
	// commits, and the check runs and combined status of its merged head.
	Reviews   *Source `json:"reviews,omitempty"`
	Commits   *Source `json:"commits,omitempty"`
	CheckRuns *Source `json:"check_runs,omitempty"`
	Status    *Source `json:"status,omitempty"`

	// Commit is a direct push's item of the branch's commit listing, as
	// received.
	Commit json.RawMessage `json:"commit,omitempty"`
	// CommitPulls is GET /repos/{o}/{r}/commits/{sha}/pulls for a direct
	// push: GitHub associates no merged pull request with it.
	CommitPulls *Source `json:"commit_pulls,omitempty"`

	// PR and Push are the normalised facts the judgement reads.
	PR   *PullView `json:"pr,omitempty"`
	Push *PushView `json:"push,omitempty"`
}

// Target names the change in evidence: github.com/owner/repo#123 for a pull
// request, github.com/owner/repo@abcdef123456 for a direct push; owner and
// repository lower-cased as in collectors.Scope.String.
func (c ChangeFacts) Target() string {
	t := "github.com/" + strings.ToLower(c.Repo)
	if c.Kind == KindPull {
		return t + "#" + itoa(c.Number)
	}
	return t + "@" + shortSHA(c.SHA)
}

// when is the change's time: merged_at or the commit date.
func (c ChangeFacts) when() time.Time {
	switch {
	case c.PR != nil:
		return c.PR.MergedAt
	case c.Push != nil && c.Push.CommittedAt != nil:
		return *c.Push.CommittedAt
	}
	return time.Time{}
}

// Source read states.
const (
	SourceRead    = collectors.SourceRead
	SourceUnknown = collectors.SourceUnknown
	SourceError   = collectors.SourceError
)

// Source is one per-change endpoint, every page it returned.
type Source = collectors.Source

// Call is one API call and what it returned.
type Call = githubapi.Call

// Actor is a GitHub account.
type Actor struct {
	Login string `json:"login"`
	// Type is GitHub's account type: User, Bot or Organization.
	Type string `json:"type,omitempty"`
}

// IsBot reports a bot account: type Bot, or a login ending in "[bot]".
func (a Actor) IsBot() bool {
	return a.Type == "Bot" || strings.HasSuffix(strings.ToLower(a.Login), "[bot]")
}

// PullView is a merged pull request, normalised.
type PullView struct {
	Title  string `json:"title"`
	Author Actor  `json:"author"`
	// MergedBy is null when the pull request itself could not be read.
	MergedBy *Actor    `json:"merged_by"`
	MergedAt time.Time `json:"merged_at"`
	// HeadSHA is the head commit that was merged; MergeSHA the commit the
	// merge put on the branch.
	HeadSHA  string   `json:"head_sha"`
	MergeSHA string   `json:"merge_sha"`
	Labels   []string `json:"labels"`
	// CommitCount is the pull request's number of commits, null when
	// unknown. GitHub lists at most 250 of them.
	CommitCount *int        `json:"commit_count"`
	Commits     []CommitRef `json:"commits"`
	Reviews     []Review    `json:"reviews"`
	// Checks are the check runs (every attempt) and commit statuses (the
	// latest per context) of the merged head.
	Checks []CheckResult `json:"checks"`
	// Unread names the sources GitHub would not show, and why.
	Unread []Unread `json:"unread"`
}

// CommitRef is a pull request commit's author and committer accounts, null
// when git's author or committer is not linked to a GitHub account.
type CommitRef struct {
	SHA       string `json:"sha"`
	Author    string `json:"author,omitempty"`
	Committer string `json:"committer,omitempty"`
}

// Review is one submitted review.
type Review struct {
	ID       int64  `json:"id"`
	Reviewer Actor  `json:"reviewer"`
	State    string `json:"state"`
	// SubmittedAt is null for a review that was never submitted.
	SubmittedAt *time.Time `json:"submitted_at"`
	CommitID    string     `json:"commit_id"`
}

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
	// Status is a check run's queued, in_progress or completed; for a commit
	// status, completed unless its state is pending.
	Status string `json:"status"`
	// Conclusion is a check run's conclusion (success, failure, neutral,
	// cancelled, skipped, timed_out, action_required, ...) or a commit
	// status's state (success, failure, error, pending).
	Conclusion  string     `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

// Unread is a source GitHub would not show.
type Unread struct {
	// Source is reviews, commits, check_runs, status, pull or commit_pulls.
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// PushView is a commit that reached the branch without a pull request.
type PushView struct {
	Author    Actor `json:"author"`
	Committer Actor `json:"committer"`
	// Pusher is who is taken to have pushed: the committer account, or the
	// author when GitHub's web-flow committed (an edit on github.com).
	Pusher      string     `json:"pusher"`
	CommittedAt *time.Time `json:"committed_at"`
	Message     string     `json:"message"`
	// Unread says why GitHub could not tell whether a pull request brought
	// the commit.
	Unread []Unread `json:"unread"`
}
