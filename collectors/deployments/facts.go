package deployments

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/schedules"
)

// Facts are the raw facts of one collection: what GitHub and Cloudflare
// said, byte for byte, kept apart from any judgement so the findings can be
// re-derived under another policy (EvaluateFacts).
type Facts struct {
	// Window is the collection's window [start, end).
	Window schedules.Window `json:"window"`
	// CollectedAt is when the changes were judged: whether an emergency
	// change's grace period is over depends on it.
	CollectedAt time.Time `json:"collected_at"`
	// LookbackStart is how far back non-production deployments were read
	// (the window start unless require_non_production_first).
	LookbackStart time.Time `json:"lookback_start"`
	// Queries are the organisation listings that made up the repositories.
	Queries []githubapi.Query `json:"queries"`
	// SkippedArchived names the archived repositories the listings returned
	// and the collection left out.
	SkippedArchived []string `json:"skipped_archived"`
	// GitHub are the GitHub Deployments of each repository in scope.
	GitHub []RepoFacts `json:"github"`
	// Workers are the deployments of each Worker script configured.
	Workers []ScriptFacts `json:"workers"`
	// Pages are the deployments of each Pages project configured.
	Pages []ProjectFacts `json:"pages"`
	// Repos are the repositories read for their default branch (those
	// named by --repo, or by a Cloudflare source).
	Repos []RepoLookup `json:"repos"`
	// Compares say whether each deployed commit is on its repository's
	// default branch.
	Compares []CompareFacts `json:"compares"`
	// Traces are the change behind each deployed commit on a default
	// branch, as merge-activity collects it.
	Traces []mergeactivity.Trace `json:"traces"`
	// Population is every production deployment in the window, over all
	// sources: one line per deployment, its count and digest.
	Population mergeactivity.Population `json:"population"`
}

// Sources.
const (
	SourceGitHub  = "github"
	SourceWorkers = "workers"
	SourcePages   = "pages"
)

// Read states of a source.
const (
	StatusRead       = "read"
	StatusUnreadable = "unreadable"
	// StatusPartial: the source was read, but its listing may be missing
	// deployments of the window (a Workers listing, which Cloudflare does
	// not paginate, that does not reach back past the window start): the
	// deployments it holds are judged, the source as a whole is not
	// verifiable.
	StatusPartial = "partial"
)

// Dispositions of a listed deployment.
const (
	// InWindow: created in the window.
	InWindow = "window"
	// InLookback: created before the window, inside the look-back, kept
	// as a non-production deployment for require_non_production_first.
	InLookback = "lookback"
	// BeforeWindow and AfterWindow: created outside the window.
	BeforeWindow = "before_window"
	AfterWindow  = "after_window"
	// Duplicate: listed twice (a listing that moved while it was paged).
	Duplicate = "duplicate"
	// OtherEnvironment: a non-production deployment in the window, read
	// only when require_non_production_first needs it.
	OtherEnvironment = "non_production"
)

// Listed is one item of a deployment listing and what became of it.
type Listed struct {
	ID          string    `json:"id"`
	Environment string    `json:"environment"`
	CreatedAt   time.Time `json:"created_at"`
	Production  bool      `json:"production"`
	// Disposition is window, lookback, non_production, before_window,
	// after_window or duplicate.
	Disposition string `json:"disposition"`
}

// RepoFacts are one repository's GitHub Deployments.
type RepoFacts struct {
	// Repo is OWNER/NAME as GitHub spells it.
	Repo          string `json:"repo"`
	DefaultBranch string `json:"default_branch"`
	// Status is read or unreadable; Reason says why, with the permission.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Listings are GET /repos/{o}/{r}/deployments (one per environment
	// configured, else one), newest first, read until a page reached
	// deployments created before the look-back start.
	Listings []mergeactivity.Listing `json:"listings"`
	// Listed accounts for every deployment the listings returned.
	Listed []Listed `json:"listed"`
	// Deployments are those judged or needed: their listing item as
	// received, their statuses, and the normalised view.
	Deployments []GitHubDeployment `json:"deployments"`
}

// GitHubDeployment is one GitHub deployment read.
type GitHubDeployment struct {
	// Item is the deployment as the listing gave it, byte for byte.
	Item json.RawMessage `json:"item"`
	// Statuses is GET /repos/{o}/{r}/deployments/{id}/statuses, every page.
	Statuses *mergeactivity.Source `json:"statuses"`
	View     Deployment            `json:"view"`
}

// ScriptFacts are one Worker script's deployments.
type ScriptFacts struct {
	Account string `json:"account"`
	Script  string `json:"script"`
	// Repo is the repository configured for the script.
	Repo       string `json:"repo"`
	Production bool   `json:"production"`
	// Status is read, unreadable (the listing was refused) or partial (the
	// listing does not reach back past the start it needs: deployments of
	// the window may be missing); Reason says why.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Deployments is GET …/workers/scripts/{script}/deployments, newest
	// first. Cloudflare does not paginate it and answers only the most
	// recent deployments (wrangler: "the 10 most recent"), so it is read
	// once, and is complete for the window only if it holds a deployment
	// created before the window start (a non-production script with
	// require_non_production_first: before the look-back start).
	Deployments *cfapi.Listing `json:"deployments,omitempty"`
	// Versions is GET …/workers/scripts/{script}/versions, newest first,
	// read until every version the deployments name was found.
	Versions *cfapi.Listing `json:"versions,omitempty"`
	// Builds are GET …/builds/builds?version_ids=… for the versions Workers
	// Builds uploaded (source workersci), 20 at a time.
	Builds []cfapi.Call `json:"builds,omitempty"`
	// Listed accounts for every deployment the listing returned.
	Listed []Listed `json:"listed"`
	// Views are the deployments judged or needed, normalised.
	Views []Deployment `json:"views"`
}

// ProjectFacts are one Pages project's deployments.
type ProjectFacts struct {
	Account string `json:"account"`
	Project string `json:"project"`
	// Repo is the repository the project is built from, and RepoFrom where
	// it came from: "policy" or "source.config"; empty when neither says.
	Repo     string `json:"repo"`
	RepoFrom string `json:"repo_from,omitempty"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// ProjectCall is GET …/pages/projects/{project}.
	ProjectCall *cfapi.Call `json:"project_call,omitempty"`
	// Deployments is GET …/pages/projects/{project}/deployments, newest
	// first, read until a page reached deployments created before the
	// look-back start.
	Deployments *cfapi.Listing `json:"deployments,omitempty"`
	Listed      []Listed       `json:"listed"`
	Views       []Deployment   `json:"views"`
}

// RepoLookup is GET /repos/{o}/{r}, read for the default branch.
type RepoLookup struct {
	Repo          string         `json:"repo"`
	Call          githubapi.Call `json:"call"`
	DefaultBranch string         `json:"default_branch,omitempty"`
}

// CompareFacts are GET /repos/{o}/{r}/compare/{default}...{sha}: whether a
// deployed commit is on the default branch (status identical or behind).
type CompareFacts struct {
	Repo string         `json:"repo"`
	Base string         `json:"base"`
	SHA  string         `json:"sha"`
	Call githubapi.Call `json:"call"`
	// Status is GitHub's identical, behind, ahead or diverged; empty when
	// the call failed.
	Status string `json:"status,omitempty"`
}

// Outcomes of a deployment.
const (
	OutcomeSucceeded  = "succeeded"
	OutcomeFailed     = "failed"
	OutcomeInProgress = "in_progress"
	// OutcomeUnknown: the deployment has no status (GitHub) or stage
	// (Pages): nothing says how it ended.
	OutcomeUnknown = "unknown"
	// OutcomeUnreadable: the token may not read the deployment's statuses
	// (GitHub 403/404); the deployment is not verifiable.
	OutcomeUnreadable = "unreadable"
)

// Deployment is one deployment, normalised across sources: what the
// judgement reads.
//
// The view is derived at collection under the collection's policy, and
// EvaluateFacts reads it as it is: which deployments are production
// (production_environments, a Worker's production flag), which are in the
// window, the outcome, and each piece of code's trusted commit (Code.SHA)
// and repository (Code.Repo) are fixed at collection. Re-evaluating the
// facts under another policy re-judges everything else (review,
// untraced, workers_tag_is_commit, pages_upload_commit_is_commit,
// require_non_production_first over what was read), not that
// classification.
type Deployment struct {
	// Source is github, workers or pages; Name the repository, script or
	// project.
	Source string `json:"source"`
	Name   string `json:"name"`
	Target string `json:"target"`
	ID     string `json:"id"`
	// Environment is the GitHub environment, "production"/"preview" for
	// Pages, the script's "production"/"non-production" for Workers.
	Environment string    `json:"environment"`
	Production  bool      `json:"production"`
	InWindow    bool      `json:"in_window"`
	CreatedAt   time.Time `json:"created_at"`
	// Creator is who made it: the GitHub login, the Cloudflare author
	// email; empty when the API does not say.
	Creator string `json:"creator"`
	// Trigger is how it was made: the GitHub task, the Workers deployment
	// source (wrangler, dash, api, …), the Pages trigger type.
	Trigger string `json:"trigger,omitempty"`
	// Ref is the GitHub ref or the Pages branch.
	Ref string `json:"ref,omitempty"`
	// Outcome is succeeded, failed, in_progress or unknown, and
	// OutcomeDetail what it rests on.
	Outcome       string `json:"outcome"`
	OutcomeDetail string `json:"outcome_detail"`
	// Rollback marks a Workers rollback (workers/triggered_by: rollback).
	Rollback bool   `json:"rollback,omitempty"`
	Message  string `json:"message,omitempty"`
	// Code is what was deployed: one entry, or one per Worker version of a
	// split deployment.
	Code []Code `json:"code"`
}

// Code is one piece of deployed code and the commit it came from.
type Code struct {
	// Version, VersionNumber and Percentage describe a Worker version and
	// its share of traffic.
	Version       string  `json:"version,omitempty"`
	VersionNumber int     `json:"version_number,omitempty"`
	Percentage    float64 `json:"percentage,omitempty"`
	// Source is how a Worker version was uploaded (metadata.source:
	// wrangler, workersci, dash, quick_editor, playground, api, terraform…).
	Source string `json:"source,omitempty"`
	// Tag is a Worker version's "workers/tag" annotation (the commit under
	// workers_tag_is_commit).
	Tag string `json:"tag,omitempty"`
	// UploadCommit is the commit_hash a Pages direct upload (ad_hoc, or
	// another trigger that is not the Git integration) names: chosen by
	// the uploader, the commit only under pages_upload_commit_is_commit.
	UploadCommit string `json:"upload_commit,omitempty"`
	// Repo and SHA are the commit; Link says where the link comes from.
	// SHA is set only for a link Cloudflare or GitHub made (a GitHub
	// deployment's sha, a Workers Builds build, a Pages Git-integration
	// build), never for an uploader's claim (Tag, UploadCommit).
	Repo string `json:"repo"`
	SHA  string `json:"sha"`
	Link string `json:"link,omitempty"`
	// BuildProvider and BuildRepo are the repository a Workers Builds
	// build names (provider_type, provider_account_name/repo_name); a
	// repository other than Repo fails (other_repository).
	BuildProvider string `json:"build_provider,omitempty"`
	BuildRepo     string `json:"build_repo,omitempty"`
	// Dirty: built from a working tree with uncommitted changes (Pages
	// commit_dirty).
	Dirty bool `json:"dirty,omitempty"`
	// Unlinked says why there is no commit; LinkUnknown marks a link that
	// could not be read (a withheld call) rather than one that is absent.
	Unlinked    string `json:"unlinked,omitempty"`
	LinkUnknown bool   `json:"link_unknown,omitempty"`
}

// key identifies a commit of a repository, case-insensitively.
func key(repo, sha string) string { return strings.ToLower(repo) + "@" + strings.ToLower(sha) }
