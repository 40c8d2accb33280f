package cistatus

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/schedules"
)

// Rule ids, stable: they are recorded in evidence.
const (
	RuleCIGreen           = "ci_green"
	RuleRequiredChecks    = "required_checks"
	RuleRequiredWorkflows = "required_workflows"
	RuleRerunGreen        = "rerun_green"
	RuleCIConfigured      = "ci_configured"
	RuleWorkflowRuns      = "workflow_runs"
	RuleGreenShare        = "green_share"
	RulePopulation        = "population"
)

// Verdicts refine a finding's status.
const (
	// VerdictGreen (pass): a commit whose CI succeeded.
	VerdictGreen = "green"
	// VerdictFailed (fail): a check, status or required workflow failed on
	// the commit.
	VerdictFailed = "failed"
	// VerdictNoCI (fail): no check run or status ran on the commit.
	VerdictNoCI = "no_ci"
	// VerdictMissingRequired (fail): a required check or workflow did not
	// run on the commit.
	VerdictMissingRequired = "missing_required"
	// VerdictPending (not_verifiable): a check or run was still running at
	// collection time.
	VerdictPending = "pending"
	// VerdictRerunGreen (pass): a failed run whose workflow later succeeded
	// on the same commit (a re-run).
	VerdictRerunGreen = "rerun_green"
	// VerdictNotFixed (fail): a failed run no later run of its workflow on
	// the same commit made good.
	VerdictNotFixed = "not_fixed"
	// VerdictCIConfigured (pass): a branch of a repository that has CI,
	// its green share (if judged) high enough.
	VerdictCIConfigured = "ci_configured"
	// VerdictNoCIConfigured (fail): a repository without CI.
	VerdictNoCIConfigured = "no_ci_configured"
	// VerdictBelowGreenShare (fail): a branch whose share of green commits
	// is below min_green_share.
	VerdictBelowGreenShare = "below_min_green_share"
	// VerdictEmptyRepository (pass): a branch of a repository without any
	// commit (GitHub answered 409 "Git Repository is empty."): nothing
	// landed, nothing to judge.
	VerdictEmptyRepository = "empty_repository"
	// VerdictBranchMissing (not_verifiable): a branch named with --branch
	// that does not exist in the repository (GET …/branches/{branch}
	// answered 404 "Branch not found").
	VerdictBranchMissing = "branch_missing"
)

// actionsApp is the slug of GitHub Actions' app: its check runs are the
// jobs of workflow runs.
const actionsApp = "github-actions"

// Where a check or run stands.
const (
	statePassed  = "passed"
	stateFailed  = "failed"
	statePending = "pending"
)

// CommitDetails are a commit finding's details.
type CommitDetails struct {
	Repo        string     `json:"repo"`
	Branches    []string   `json:"branches"`
	SHA         string     `json:"sha"`
	CommittedAt *time.Time `json:"committed_at"`
	Message     string     `json:"message"`
	// Checks are the latest attempt of each check run name and each status
	// context.
	Checks []CheckDetail `json:"checks"`
	// Workflows are the workflow runs known on the commit.
	Workflows []WorkflowDetail `json:"workflows"`
}

// CheckDetail is the latest attempt of one check: a status context, or a
// check run name of one app (of GitHub Actions: of one workflow, or of one
// check suite when no run read names its workflow).
type CheckDetail struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// App is the slug of the app that created the check run.
	App string `json:"app,omitempty"`
	// Workflow is the GitHub Actions workflow whose runs the check run
	// belongs to, when a run read carries its check suite.
	Workflow string `json:"workflow,omitempty"`
	// CheckSuiteID is the check suite of the latest attempt.
	CheckSuiteID int64      `json:"check_suite_id,omitempty"`
	Status       string     `json:"status"`
	Conclusion   string     `json:"conclusion"`
	CompletedAt  *time.Time `json:"completed_at"`
	// Attempts is how many times the check ran (check runs only).
	Attempts int `json:"attempts"`
	// Ignored: in ignore_checks.
	Ignored bool `json:"ignored,omitempty"`
}

// WorkflowDetail is one workflow run on a commit.
type WorkflowDetail struct {
	Workflow   string    `json:"workflow"`
	RunID      int64     `json:"run_id"`
	Event      string    `json:"event"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion"`
	Attempt    int       `json:"attempt"`
	CreatedAt  time.Time `json:"created_at"`
}

// RunDetails are a failed run finding's details.
type RunDetails struct {
	Repo       string    `json:"repo"`
	Branch     string    `json:"branch"`
	Workflow   string    `json:"workflow"`
	WorkflowID int64     `json:"workflow_id"`
	RunID      int64     `json:"run_id"`
	RunNumber  int       `json:"run_number"`
	Event      string    `json:"event"`
	HeadSHA    string    `json:"head_sha"`
	CreatedAt  time.Time `json:"created_at"`
	HTMLURL    string    `json:"html_url"`
	// Attempts are the run's attempts as known, the latest last.
	Attempts []AttemptDetail `json:"attempts"`
	// FixedBy is the attempt or run that succeeded afterwards, if any.
	FixedBy *FixDetail `json:"fixed_by"`
}

// AttemptDetail is one attempt of a run.
type AttemptDetail struct {
	Attempt    int    `json:"attempt"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
}

// FixDetail is the successful attempt or run that made a failed run good.
type FixDetail struct {
	RunID     int64     `json:"run_id"`
	Attempt   int       `json:"attempt"`
	CreatedAt time.Time `json:"created_at"`
}

// BranchDetails are a branch finding's details.
type BranchDetails struct {
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	// Empty: the repository has no commit at all.
	Empty bool `json:"empty,omitempty"`
	// Missing: the branch does not exist in the repository.
	Missing bool `json:"missing,omitempty"`
	// Commits counts the branch's commits in the window by outcome.
	Commits CommitCounts `json:"commits"`
	// GreenShare is green / total, null without commits.
	GreenShare    *float64       `json:"green_share"`
	MinGreenShare *float64       `json:"min_green_share"`
	Workflows     WorkflowCounts `json:"workflows"`
	Runs          RunCounts      `json:"runs"`
}

// CommitCounts count commits by outcome.
type CommitCounts struct {
	Total           int `json:"total"`
	Green           int `json:"green"`
	Failed          int `json:"failed"`
	NoCI            int `json:"no_ci"`
	MissingRequired int `json:"missing_required"`
	Pending         int `json:"pending"`
	NotVerifiable   int `json:"not_verifiable"`
	// Error counts the commits a read that failed after retries left
	// not_verifiable.
	Error int `json:"error"`
}

// WorkflowCounts describe the repository's workflows.
type WorkflowCounts struct {
	// TotalCount is GitHub's count, null when the listing was withheld.
	TotalCount *int     `json:"total_count"`
	Active     []string `json:"active"`
}

// RunCounts count the branch's runs created in the window.
type RunCounts struct {
	Listed     int `json:"listed"`
	Failed     int `json:"failed"`
	RerunGreen int `json:"rerun_green"`
	NotFixed   int `json:"not_fixed"`
	Pending    int `json:"pending"`
	Unknown    int `json:"unknown"`
}

// EvaluateFacts judges a collection: what Collect returns as findings,
// re-derivable by an auditor from the raw facts under any policy. Per
// repository: one finding per branch (CI configured, green share, the run
// listing), one per commit that landed in the window, one per failed run
// created in the window.
//
// A read that failed after retries (a commit's checks, an earlier attempt,
// the runs of a commit, the head of a branch) makes what needed it
// not_verifiable, the summary naming the failure — never pass, and no
// failure established otherwise is hidden.
func EvaluateFacts(f Facts, p Policy) []evidence.Finding {
	out, _ := judgeFacts(f, p)
	return out
}

// judgeFacts is EvaluateFacts, and the targets of the findings that needed a
// read that failed after retries: the collection is incomplete for them.
func judgeFacts(f Facts, p Policy) ([]evidence.Finding, []string) {
	out := []evidence.Finding{}
	var unread []string
	for _, r := range f.Repos {
		if r.Status != StatusRead {
			out = append(out, unreadableFinding(r))
			continue
		}
		if r.Empty {
			for _, b := range r.Branches {
				out = append(out, emptyFinding(r, b, p))
			}
			continue
		}
		idx := indexRuns(r, true)
		commits := make([]evidence.Finding, 0, len(r.Commits))
		bySHA := map[string]evidence.Finding{}
		unreadSHA := map[string]bool{}
		for _, c := range r.Commits {
			cf, failed := evalCommit(r.Repo, c, idx, p)
			commits = append(commits, cf)
			bySHA[c.SHA] = cf
			if failed {
				unreadSHA[c.SHA] = true
				unread = append(unread, cf.Target)
			}
		}
		var runs []evidence.Finding
		runCounts := map[string]*RunCounts{}
		for _, b := range r.Branches {
			rc := &RunCounts{}
			runCounts[b.Branch] = rc
			if b.Runs == nil {
				continue
			}
			for _, run := range b.Runs.Runs {
				if !f.Window.Contains(run.CreatedAt) {
					continue
				}
				rc.Listed++
				rf, ok, failed := evalRun(r.Repo, b.Branch, run, idx, p)
				if !ok {
					continue
				}
				if failed {
					unread = append(unread, rf.Target)
				}
				rc.Failed++
				switch rf.Verdict {
				case VerdictRerunGreen:
					rc.RerunGreen++
				case VerdictNotFixed:
					rc.NotFixed++
				case VerdictPending:
					rc.Pending++
				default:
					rc.Unknown++
				}
				runs = append(runs, rf)
			}
		}
		for _, b := range r.Branches {
			if b.Missing {
				out = append(out, missingBranchFinding(r, b, p))
				continue
			}
			bf, failed := evalBranch(r, b, bySHA, unreadSHA, *runCounts[b.Branch], p)
			out = append(out, bf)
			if failed {
				unread = append(unread, bf.Target)
			}
		}
		out = append(out, commits...)
		out = append(out, runs...)
	}
	return out, unread
}

// outcome is one rule's check, and a short reason for the summary.
type outcome struct {
	check evidence.Check
	short string
	// why refines a failure or an unknown: failed, missing, no_ci, pending,
	// unread (a read failed after retries).
	why string
}

// whyUnread marks a not_verifiable check whose facts could not be read
// after retries (as opposed to withheld, or still running).
const whyUnread = "unread"

func unreadIn(outs []outcome) bool {
	return slices.ContainsFunc(outs, func(o outcome) bool { return o.why == whyUnread })
}

func worst(outs []outcome) evidence.Status {
	s := evidence.StatusPass
	for _, o := range outs {
		s = evidence.Worse(s, o.check.Status)
	}
	return s
}

// ---- runs ----

// runIndex holds the workflow runs of a repository known per commit: those
// the branch listings and the lookups returned, each once (the lookup's,
// read later, wins), oldest first.
type runIndex struct {
	bySHA   map[string][]Run
	lookups map[string]Lookup
	// suites maps the check suite of every run and attempt read to its
	// workflow: the check runs of GitHub Actions carry their check suite.
	suites map[int64]workflowRef
}

// workflowRef is a workflow as runs name it.
type workflowRef struct {
	// key is the workflow id, or its name for runs without one.
	key  string
	name string
}

func refOf(run Run) workflowRef {
	if run.WorkflowID != 0 {
		return workflowRef{key: "id:" + strconv.FormatInt(run.WorkflowID, 10), name: cmp.Or(run.Name, fmt.Sprintf("workflow %d", run.WorkflowID))}
	}
	return workflowRef{key: "name:" + run.Name, name: run.Name}
}

func indexRuns(r RepoFacts, withLookups bool) runIndex {
	idx := runIndex{bySHA: map[string][]Run{}, lookups: map[string]Lookup{}, suites: map[int64]workflowRef{}}
	add := func(run Run) {
		if run.CheckSuiteID != 0 {
			idx.suites[run.CheckSuiteID] = refOf(run)
		}
		for _, a := range run.Attempts {
			if a.CheckSuiteID != 0 {
				idx.suites[a.CheckSuiteID] = refOf(run)
			}
		}
		list := idx.bySHA[run.HeadSHA]
		if i := slices.IndexFunc(list, func(x Run) bool { return x.ID == run.ID }); i >= 0 {
			list[i] = run
			return
		}
		idx.bySHA[run.HeadSHA] = append(list, run)
	}
	for _, b := range r.Branches {
		if b.Runs != nil {
			for _, run := range b.Runs.Runs {
				add(run)
			}
		}
	}
	if withLookups {
		for _, lk := range r.Lookups {
			idx.lookups[lk.SHA] = lk
			for _, run := range lk.Runs {
				add(run)
			}
		}
	}
	for sha := range idx.bySHA {
		sortRuns(idx.bySHA[sha])
	}
	return idx
}

// runState is where a run's latest attempt stands.
func runState(r Run) string {
	switch {
	case r.Status != "completed":
		return statePending
	case passingConclusion(r.Conclusion):
		return statePassed
	}
	return stateFailed
}

// attemptsOf lists a run's attempts as known: the earlier ones read, then
// the latest. unread names the earlier attempts that could not be read.
func attemptsOf(r Run) (all []AttemptDetail, unread []string, errs []string) {
	readN := map[int]bool{}
	for _, a := range r.Attempts {
		switch a.Read {
		case StatusRead:
			all = append(all, AttemptDetail{Attempt: a.Number, Status: a.Status, Conclusion: a.Conclusion})
			readN[a.Number] = true
		case StatusUnknown:
			unread = append(unread, collectors.WithheldReason(a.Call, githubapi.PermActions))
			readN[a.Number] = true
		default:
			errs = append(errs, cmp.Or(a.Error, fmt.Sprintf("%s: HTTP %d", a.Call.Request, a.Call.HTTPStatus)))
			readN[a.Number] = true
		}
	}
	for n := 1; n < r.RunAttempt; n++ {
		if !readN[n] {
			unread = append(unread, fmt.Sprintf("attempt %d was not read", n))
		}
	}
	all = append(all, AttemptDetail{Attempt: r.RunAttempt, Status: r.Status, Conclusion: r.Conclusion})
	slices.SortFunc(all, func(a, b AttemptDetail) int { return cmp.Compare(a.Attempt, b.Attempt) })
	return all, unread, errs
}

// failedAttempts are the attempts whose conclusion makes a failed run.
func failedAttempts(attempts []AttemptDetail, p Policy) []AttemptDetail {
	var out []AttemptDetail
	for _, a := range attempts {
		if a.Status == "completed" && p.failedRun(a.Conclusion) {
			out = append(out, a)
		}
	}
	return out
}

// fix finds what made a failed run good: its own latest attempt succeeded,
// or a run of the same workflow on the same commit created after it
// succeeded. pending reports a later attempt or run still running.
func fix(r Run, idx runIndex) (fixed *FixDetail, pending bool) {
	if runState(r) == statePassed {
		return &FixDetail{RunID: r.ID, Attempt: r.RunAttempt, CreatedAt: r.CreatedAt}, false
	}
	pending = runState(r) == statePending
	for _, o := range idx.bySHA[r.HeadSHA] {
		if o.ID == r.ID || !sameWorkflow(o, r) || !later(o, r) {
			continue
		}
		switch runState(o) {
		case statePassed:
			return &FixDetail{RunID: o.ID, Attempt: o.RunAttempt, CreatedAt: o.CreatedAt}, false
		case statePending:
			pending = true
		}
	}
	return nil, pending
}

func sameWorkflow(a, b Run) bool {
	if a.WorkflowID != 0 || b.WorkflowID != 0 {
		return a.WorkflowID == b.WorkflowID
	}
	return a.Name == b.Name
}

func later(a, b Run) bool {
	return a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID)
}

// evalRun judges a run created in the window; ok is false for a run that
// did not fail (no finding); unread reports a read that failed after
// retries made it not_verifiable.
func evalRun(repo, branch string, r Run, idx runIndex, p Policy) (f evidence.Finding, ok, unread bool) {
	attempts, unknown, errs := attemptsOf(r)
	failed := failedAttempts(attempts, p)
	f = evidence.Finding{Target: RunTarget(repo, r.ID)}
	d := RunDetails{Repo: repo, Branch: branch, Workflow: r.Name, WorkflowID: r.WorkflowID, RunID: r.ID, RunNumber: r.RunNumber,
		Event: r.Event, HeadSHA: r.HeadSHA, CreatedAt: r.CreatedAt, HTMLURL: r.HTMLURL, Attempts: attempts}
	label := fmt.Sprintf("run %d of %q (#%d, %s) on %s", r.ID, r.Name, r.RunNumber, r.Event, shortSHA(r.HeadSHA))
	check := evidence.Check{Rule: RuleRerunGreen}
	switch {
	case len(failed) == 0 && len(errs) > 0:
		f.Status, unread = evidence.StatusNotVerifiable, true
		check.Status = evidence.StatusNotVerifiable
		check.Detail = fmt.Sprintf("%s was re-run (%d attempts); whether an earlier attempt failed is unknown: its earlier attempts could not be read: %s",
			label, r.RunAttempt, strings.Join(append(errs, unknown...), "; "))
		f.Summary = "could not be checked: " + check.Detail
	case len(failed) == 0 && len(unknown) > 0:
		f.Status = evidence.StatusNotVerifiable
		f.Summary = fmt.Sprintf("not verifiable: %s was re-run (%d attempts); whether an earlier attempt failed is unknown", label, r.RunAttempt)
		check.Status = evidence.StatusNotVerifiable
		check.Detail = f.Summary + ": " + strings.Join(unknown, "; ")
		check.Fix = `Give the token "Actions: read" on the repository`
	case len(failed) == 0:
		return evidence.Finding{}, false, false
	default:
		fixed, pending := fix(r, idx)
		d.FixedBy = fixed
		var fails []string
		for _, a := range failed {
			fails = append(fails, fmt.Sprintf("attempt %d %s", a.Attempt, a.Conclusion))
		}
		what := label + ": " + strings.Join(fails, ", ")
		lk, looked := idx.lookups[r.HeadSHA]
		switch {
		case fixed != nil && fixed.RunID == r.ID:
			check.Status = evidence.StatusPass
			check.Detail = fmt.Sprintf("%s; re-run: attempt %d succeeded (%s)", what, r.RunAttempt, r.Conclusion)
			f.Verdict = VerdictRerunGreen
			f.Summary = fmt.Sprintf("failed run of %s on %s re-run green (attempt %d)", r.Name, shortSHA(r.HeadSHA), r.RunAttempt)
		case fixed != nil:
			check.Status = evidence.StatusPass
			check.Detail = fmt.Sprintf("%s; run %d of the same workflow on the same commit, created %s, succeeded", what, fixed.RunID, fixed.CreatedAt.Format(time.RFC3339))
			f.Verdict = VerdictRerunGreen
			f.Summary = fmt.Sprintf("failed run of %s on %s re-run green (run %d)", r.Name, shortSHA(r.HeadSHA), fixed.RunID)
		case pending:
			check.Status = evidence.StatusNotVerifiable
			check.Detail = what + "; a re-run was still running at collection time"
			f.Verdict = VerdictPending
			f.Summary = fmt.Sprintf("failed run of %s on %s: re-run still running", r.Name, shortSHA(r.HeadSHA))
		case looked && lk.Error != "":
			check.Status, unread = evidence.StatusNotVerifiable, true
			check.Detail = what + "; whether it was re-run could not be read: " + lk.Error
			f.Summary = "could not be checked: " + check.Detail
		case looked && lk.Source != nil && lk.Source.Status == StatusRead:
			check.Status = evidence.StatusFail
			check.Detail = what + "; no later run of the workflow on the commit succeeded (all its runs read)"
			check.Fix = fmt.Sprintf("Re-run the workflow on %s until it succeeds, or record why the failure was accepted; keep %s green", shortSHA(r.HeadSHA), branch)
			f.Verdict = VerdictNotFixed
			f.Summary = fmt.Sprintf("failed run of %s on %s not fixed: %s", r.Name, shortSHA(r.HeadSHA), strings.Join(fails, ", "))
		default:
			why := "the commit's runs were not looked up"
			if looked && lk.Source != nil && len(lk.Source.Pages) > 0 {
				why = collectors.WithheldReason(lk.Source.Pages[len(lk.Source.Pages)-1], githubapi.PermActions)
			}
			check.Status = evidence.StatusNotVerifiable
			check.Detail = what + "; whether it was re-run after the window is unknown: " + why
			check.Fix = `Give the token "Actions: read" on the repository`
			f.Summary = fmt.Sprintf("not verifiable: whether the failed run of %s on %s was re-run is unknown", r.Name, shortSHA(r.HeadSHA))
		}
		f.Status = check.Status
		if u := append(slices.Clone(unknown), errs...); len(u) > 0 {
			check.Detail += "; earlier attempts unknown: " + strings.Join(u, "; ")
		}
	}
	f.Checks = []evidence.Check{check}
	f.Details = mustJSON(d)
	return f, true, unread
}

// ---- commits ----

// checkState is one check: a status context, or the check runs of one name
// from one app — for GitHub Actions, of one workflow (by the workflow run
// carrying their check suite), or of one check suite when no run read names
// its workflow. Its latest attempt decides.
type checkState struct {
	name, kind string
	app        string
	// workflow names the GitHub Actions workflow of the check runs; suite
	// is their check suite when its workflow is unknown.
	workflow string
	suite    int64
	latest   CheckResult
	attempts int
	ignored  bool
	// qualified: another check of the commit has the same name and kind,
	// so the label says where each comes from.
	qualified bool
}

// checkKey groups a commit's check run attempts and statuses into checks.
type checkKey struct {
	kind, name, app string
	workflow        string
	suite           int64
}

// keyOf is the check an attempt belongs to, and its workflow's name.
func keyOf(c CheckResult, suites map[int64]workflowRef) (checkKey, string) {
	k := checkKey{kind: c.Kind, name: c.Name}
	if c.Kind != KindCheckRun {
		return k, ""
	}
	k.app = c.App
	if c.App != actionsApp || c.CheckSuiteID == 0 {
		return k, ""
	}
	if w, ok := suites[c.CheckSuiteID]; ok {
		k.workflow = w.key
		return k, w.name
	}
	k.suite = c.CheckSuiteID
	return k, ""
}

func (s checkState) state() string {
	switch {
	case s.latest.Status != "completed":
		return statePending
	case passing(s.latest):
		return statePassed
	}
	return stateFailed
}

func (s checkState) label() string {
	switch {
	case s.kind == KindStatus:
		return s.name + " (status)"
	case !s.qualified:
		return s.name
	}
	return s.name + " (" + s.origin() + ")"
}

// origin says where a check run comes from: its app, and for GitHub
// Actions its workflow or check suite.
func (s checkState) origin() string {
	app := cmp.Or(s.app, "no app")
	switch {
	case s.workflow != "":
		return app + ", workflow " + s.workflow
	case s.suite != 0:
		return fmt.Sprintf("%s, check suite %d", app, s.suite)
	}
	return app
}

func (s checkState) describe() string {
	switch s.state() {
	case statePending:
		st := s.latest.Status
		if s.kind == KindStatus {
			st = "pending"
		}
		return s.label() + " " + st
	case statePassed:
		return s.label() + " " + s.latest.Conclusion
	}
	c := s.latest.Conclusion
	if c == "" {
		c = "completed without a conclusion"
	}
	return s.label() + " " + c
}

// checkStates groups a commit's checks (sorted by name and kind, then
// attempt) into their latest attempts, per check (see checkState): a check
// run of one app or workflow never hides another's of the same name.
func checkStates(checks []CheckResult, p Policy, suites map[int64]workflowRef) []checkState {
	var out []checkState
	at := map[checkKey]int{}
	for _, c := range checks {
		k, wf := keyOf(c, suites)
		if i, ok := at[k]; ok {
			out[i].latest = c
			out[i].attempts++
			continue
		}
		at[k] = len(out)
		out = append(out, checkState{name: c.Name, kind: c.Kind, app: k.app, workflow: wf, suite: k.suite,
			latest: c, attempts: 1, ignored: p.ignored(c.Name)})
	}
	same := map[[2]string]int{}
	for _, s := range out {
		same[[2]string{s.kind, s.name}]++
	}
	for i := range out {
		out[i].qualified = same[[2]string{out[i].kind, out[i].name}] > 1
	}
	return out
}

// unknownSources describes the unread check sources of a commit.
func unknownSources(c CommitFacts) []string {
	var out []string
	for _, u := range c.Unread {
		what := map[string]string{"check_runs": "check runs", "status": "commit statuses"}[u.Source]
		out = append(out, what+" unreadable: "+u.Reason)
	}
	return out
}

const fixChecksRead = `Give the token "Checks: read" and "Commit statuses: read" on the repository`

func ciGreen(c CommitFacts, states []checkState, branches string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleCIGreen}}
	var failed, pending, passed, ignored []string
	for _, s := range states {
		if s.ignored {
			ignored = append(ignored, s.describe())
			continue
		}
		switch s.state() {
		case stateFailed:
			failed = append(failed, s.describe())
		case statePending:
			pending = append(pending, s.describe())
		default:
			passed = append(passed, s.label())
		}
	}
	unknown := unknownSources(c)
	sha := shortSHA(c.SHA)
	note := ""
	if len(ignored) > 0 {
		note = "; ignored: " + strings.Join(ignored, ", ")
	}
	switch {
	case len(failed) > 0:
		o.check.Status, o.why = evidence.StatusFail, stateFailed
		o.short = strings.Join(failed, ", ")
		o.check.Detail = fmt.Sprintf("on commit %s: %s%s", sha, strings.Join(append(slices.Clone(failed), pending...), ", "), note)
		o.check.Fix = fmt.Sprintf("Require status checks to pass before merging into %s, and fix or re-run the failed checks", branches)
	case len(pending) > 0:
		o.check.Status, o.why = evidence.StatusNotVerifiable, statePending
		o.short = strings.Join(pending, ", ") + " at collection time"
		o.check.Detail = fmt.Sprintf("on commit %s: still running at collection time: %s; passed: %s%s", sha, strings.Join(pending, ", "), listOrNone(passed), note)
		if len(unknown) > 0 {
			o.check.Detail += "; " + strings.Join(unknown, "; ")
		}
	case len(unknown) > 0:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = strings.Join(unknown, "; ")
		o.check.Detail = fmt.Sprintf("on commit %s: passed: %s; %s%s", sha, listOrNone(passed), o.short, note)
		o.check.Fix = fixChecksRead
	case len(passed) == 0:
		o.check.Status, o.why = evidence.StatusFail, "no_ci"
		o.short = "no check run or commit status ran on the commit"
		o.check.Detail = fmt.Sprintf("on commit %s: no check run or commit status%s", sha, note)
		o.check.Fix = fmt.Sprintf("Run CI on every commit that lands on %s (a workflow on push, or required status checks)", branches)
	default:
		o.check.Status = evidence.StatusPass
		o.short = strings.Join(passed, ", ") + " passed"
		o.check.Detail = fmt.Sprintf("on commit %s: %s passed%s", sha, strings.Join(passed, ", "), note)
	}
	return o
}

func requiredChecks(c CommitFacts, states []checkState, required []string, branches string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleRequiredChecks}}
	var bad, pend, missing, good []string
	anyPending := false
	for _, s := range states {
		anyPending = anyPending || s.state() == statePending
	}
	for _, name := range required {
		var found []checkState
		for _, s := range states {
			if s.name == name {
				found = append(found, s)
			}
		}
		has := func(st string) int {
			return slices.IndexFunc(found, func(s checkState) bool { return s.state() == st })
		}
		switch {
		case has(stateFailed) >= 0:
			bad = append(bad, found[has(stateFailed)].describe())
		case has(statePending) >= 0:
			pend = append(pend, found[has(statePending)].describe())
		case len(found) > 0:
			good = append(good, name)
		default:
			missing = append(missing, name)
		}
	}
	unknown := unknownSources(c)
	sha := shortSHA(c.SHA)
	switch {
	case len(bad) > 0:
		o.check.Status, o.why = evidence.StatusFail, stateFailed
		o.short = "required " + strings.Join(bad, ", ")
		o.check.Detail = fmt.Sprintf("on commit %s: %s", sha, strings.Join(bad, ", "))
		if len(missing) > 0 {
			o.check.Detail += "; did not run: " + strings.Join(missing, ", ")
		}
		o.check.Fix = fmt.Sprintf("Add %s to the required status checks of %s", strings.Join(required, ", "), branches)
	case len(pend) > 0 || (len(missing) > 0 && anyPending):
		o.check.Status, o.why = evidence.StatusNotVerifiable, statePending
		o.short = "required checks still running at collection time"
		o.check.Detail = fmt.Sprintf("on commit %s: still running: %s; not started yet: %s; passed: %s", sha, listOrNone(pend), listOrNone(missing), listOrNone(good))
	case len(missing) > 0 && len(unknown) > 0:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "not found: " + strings.Join(missing, ", ") + "; " + strings.Join(unknown, "; ")
		o.check.Detail = fmt.Sprintf("on commit %s: %s", sha, o.short)
		o.check.Fix = fixChecksRead
	case len(missing) > 0:
		o.check.Status, o.why = evidence.StatusFail, "missing"
		o.short = "required check missing: " + strings.Join(missing, ", ")
		o.check.Detail = fmt.Sprintf("on commit %s: did not run: %s; passed: %s", sha, strings.Join(missing, ", "), listOrNone(good))
		o.check.Fix = fmt.Sprintf("Run %s on every commit that lands on %s, and add them to its required status checks", strings.Join(missing, ", "), branches)
	default:
		o.check.Status = evidence.StatusPass
		o.short = "required checks passed"
		o.check.Detail = fmt.Sprintf("on commit %s: %s passed", sha, strings.Join(good, ", "))
	}
	return o
}

func requiredWorkflows(c CommitFacts, runs []Run, lk *Lookup, required []string, branches string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleRequiredWorkflows}}
	var bad, pend, missing, good []string
	for _, wf := range required {
		var latest *Run
		for i := range runs {
			if runs[i].Name == wf {
				latest = &runs[i]
			}
		}
		if latest == nil {
			missing = append(missing, wf)
			continue
		}
		desc := fmt.Sprintf("%s (run %d, %s)", wf, latest.ID, cmp.Or(latest.Conclusion, latest.Status))
		switch runState(*latest) {
		case stateFailed:
			bad = append(bad, desc)
		case statePending:
			pend = append(pend, desc)
		default:
			good = append(good, wf)
		}
	}
	sha := shortSHA(c.SHA)
	switch {
	case len(bad) > 0:
		o.check.Status, o.why = evidence.StatusFail, stateFailed
		o.short = "required workflow " + strings.Join(bad, ", ")
		o.check.Detail = fmt.Sprintf("on commit %s, the latest run of each: %s", sha, strings.Join(bad, ", "))
		o.check.Fix = fmt.Sprintf("Fix or re-run %s on the commits of %s", strings.Join(required, ", "), branches)
		return o
	case len(pend) > 0:
		o.check.Status, o.why = evidence.StatusNotVerifiable, statePending
		o.short = "required workflows still running at collection time: " + strings.Join(pend, ", ")
		o.check.Detail = fmt.Sprintf("on commit %s: still running: %s; passed: %s; no run: %s", sha, strings.Join(pend, ", "), listOrNone(good), listOrNone(missing))
		return o
	case len(missing) == 0:
		o.check.Status = evidence.StatusPass
		o.short = "required workflows succeeded (" + strings.Join(good, ", ") + ")"
		o.check.Detail = fmt.Sprintf("on commit %s, the latest run of each: %s succeeded", sha, strings.Join(good, ", "))
		return o
	}
	switch {
	case lk != nil && lk.Error != "":
		o.check.Status, o.why = evidence.StatusNotVerifiable, whyUnread
		o.short = "whether " + strings.Join(missing, ", ") + " ran: the commit's workflow runs could not be read: " + lk.Error
		o.check.Detail = fmt.Sprintf("on commit %s: %s; passed: %s", sha, o.short, listOrNone(good))
	case lk != nil && lk.Source != nil && lk.Source.Status == StatusRead:
		o.check.Status, o.why = evidence.StatusFail, "missing"
		o.short = "required workflow did not run: " + strings.Join(missing, ", ")
		o.check.Detail = fmt.Sprintf("on commit %s: no run of %s (every run of the commit read); passed: %s", sha, strings.Join(missing, ", "), listOrNone(good))
		o.check.Fix = fmt.Sprintf("Trigger %s on every commit that lands on %s (on: push)", strings.Join(missing, ", "), branches)
	default:
		why := "the commit's runs were not looked up"
		if lk != nil && lk.Source != nil && len(lk.Source.Pages) > 0 {
			why = collectors.WithheldReason(lk.Source.Pages[len(lk.Source.Pages)-1], githubapi.PermActions)
		}
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "whether " + strings.Join(missing, ", ") + " ran is unknown: " + why
		o.check.Detail = fmt.Sprintf("on commit %s: %s; passed: %s", sha, o.short, listOrNone(good))
		o.check.Fix = `Give the token "Actions: read" on the repository`
	}
	return o
}

// evalCommit judges one commit that landed in the window; unread reports a
// read that failed after retries made it not_verifiable.
func evalCommit(repo string, c CommitFacts, idx runIndex, p Policy) (evidence.Finding, bool) {
	f := evidence.Finding{Target: CommitTarget(repo, c.SHA)}
	states := checkStates(c.Checks, p, idx.suites)
	runs := idx.bySHA[c.SHA]
	d := CommitDetails{Repo: repo, Branches: nonNil(c.Branches), SHA: c.SHA, CommittedAt: c.CommittedAt, Message: c.Message,
		Checks: []CheckDetail{}, Workflows: []WorkflowDetail{}}
	for _, s := range states {
		d.Checks = append(d.Checks, CheckDetail{Name: s.name, Kind: s.kind, App: s.app, Workflow: s.workflow, CheckSuiteID: s.latest.CheckSuiteID,
			Status: s.latest.Status, Conclusion: s.latest.Conclusion, CompletedAt: s.latest.CompletedAt, Attempts: s.attempts, Ignored: s.ignored})
	}
	for _, r := range runs {
		d.Workflows = append(d.Workflows, WorkflowDetail{Workflow: r.Name, RunID: r.ID, Event: r.Event, Status: r.Status,
			Conclusion: r.Conclusion, Attempt: r.RunAttempt, CreatedAt: r.CreatedAt})
	}
	f.Details = mustJSON(d)
	branches := strings.Join(c.Branches, ", ")
	var outs []outcome
	if p.AllChecksGreen {
		outs = append(outs, ciGreen(c, states, branches))
	}
	if len(p.RequiredChecks) > 0 {
		outs = append(outs, requiredChecks(c, states, p.RequiredChecks, branches))
	}
	if len(p.RequiredWorkflows) > 0 {
		var lk *Lookup
		if l, ok := idx.lookups[c.SHA]; ok {
			lk = &l
		}
		outs = append(outs, requiredWorkflows(c, runs, lk, p.RequiredWorkflows, branches))
	}
	for _, o := range outs {
		f.Checks = append(f.Checks, o.check)
	}
	f.Status = worst(outs)
	f.Verdict, f.Summary = commitVerdict(f.Status, outs)
	if c.Error != "" {
		// Judged on what was read: a red check that was read stands; a
		// check missing (no CI, a required one absent) may be in what was
		// not, and anything else is not verifiable, never a pass.
		if f.Status == evidence.StatusFail && f.Verdict == VerdictFailed {
			f.Summary += "; and could not be checked: " + c.Error
		} else {
			f.Status, f.Verdict, f.Summary = evidence.StatusNotVerifiable, "", "could not be checked: "+c.Error
			for i := range f.Checks {
				if ch := &f.Checks[i]; ch.Status == evidence.StatusFail || ch.Status == evidence.StatusPass {
					ch.Status = evidence.StatusNotVerifiable
					ch.Detail += " — on what could be read; " + c.Error
					ch.Fix = "Collect the window again: GitHub did not answer, it was not a permission"
				}
			}
		}
		return f, true
	}
	return f, unreadIn(outs)
}

// commitVerdict names the outcome and writes the summary.
func commitVerdict(status evidence.Status, outs []outcome) (string, string) {
	shorts := func(st evidence.Status, why ...string) []string {
		var r []string
		for _, o := range outs {
			if o.check.Status == st && (len(why) == 0 || slices.Contains(why, o.why)) {
				r = append(r, o.short)
			}
		}
		return r
	}
	switch status {
	case evidence.StatusPass:
		return VerdictGreen, "green: " + strings.Join(shorts(evidence.StatusPass), "; ")
	case evidence.StatusFail:
		if s := shorts(evidence.StatusFail, stateFailed); len(s) > 0 {
			return VerdictFailed, "failed: " + strings.Join(s, "; ")
		}
		if s := shorts(evidence.StatusFail, "no_ci"); len(s) > 0 {
			return VerdictNoCI, "no CI: " + strings.Join(s, "; ")
		}
		return VerdictMissingRequired, strings.Join(shorts(evidence.StatusFail), "; ")
	case evidence.StatusNotVerifiable:
		if s := shorts(evidence.StatusNotVerifiable, whyUnread); len(s) > 0 {
			sum := "could not be checked: " + strings.Join(s, "; ")
			if rest := shorts(evidence.StatusNotVerifiable, statePending, ""); len(rest) > 0 {
				sum += "; not verifiable: " + strings.Join(rest, "; ")
			}
			return "", sum
		}
		if s := shorts(evidence.StatusNotVerifiable, statePending); len(s) > 0 {
			return VerdictPending, "pending: " + strings.Join(s, "; ")
		}
		return "", "not verifiable: " + strings.Join(shorts(evidence.StatusNotVerifiable), "; ")
	}
	// Not reached: no rule of a commit is an error.
	return "", "not judged: " + strings.Join(shorts(evidence.StatusError), "; ")
}

// ---- branches ----

func activeWorkflows(wf *WorkflowFacts) []string {
	out := []string{}
	if wf == nil {
		return out
	}
	for _, w := range wf.Workflows {
		if w.State == "active" {
			out = append(out, w.Name)
		}
	}
	return out
}

func ciConfigured(r RepoFacts, b BranchFacts) outcome {
	o := outcome{check: evidence.Check{Rule: RuleCIConfigured}}
	active := activeWorkflows(r.Workflows)
	if len(active) > 0 {
		o.check.Status = evidence.StatusPass
		o.short = fmt.Sprintf("CI configured (%s)", strings.Join(active, ", "))
		o.check.Detail = fmt.Sprintf("%s: %s", plural(len(active), "active GitHub Actions workflow"), strings.Join(active, ", "))
		return o
	}
	names := map[string]bool{}
	var unread []string
	for _, c := range r.Commits {
		for _, ch := range c.Checks {
			names[ch.Name] = true
		}
		if len(c.Unread) > 0 && len(unread) == 0 {
			unread = append(unread, fmt.Sprintf("the checks of commit %s: %s", shortSHA(c.SHA), strings.Join(unknownSources(c), "; ")))
		}
	}
	wfDesc := "no GitHub Actions workflow"
	var unknown []string
	switch {
	case r.Workflows == nil || r.Workflows.Source == nil || r.Workflows.Source.Status != StatusRead:
		wfDesc = "the GitHub Actions workflows are unknown"
		if r.Workflows != nil && r.Workflows.Source != nil && len(r.Workflows.Source.Pages) > 0 {
			unknown = append(unknown, "workflows: "+collectors.WithheldReason(r.Workflows.Source.Pages[len(r.Workflows.Source.Pages)-1], githubapi.PermActions))
		}
	case r.Workflows.TotalCount != nil && *r.Workflows.TotalCount > 0:
		wfDesc = fmt.Sprintf("%s, none active", plural(*r.Workflows.TotalCount, "GitHub Actions workflow"))
	}
	if len(names) > 0 {
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		slices.Sort(list)
		o.check.Status = evidence.StatusPass
		o.short = "CI configured (checks on the commits: " + strings.Join(list, ", ") + ")"
		o.check.Detail = fmt.Sprintf("%s, but the commits in the window carry checks: %s", wfDesc, strings.Join(list, ", "))
		return o
	}
	unknown = append(unknown, unread...)
	if h := b.Head; h != nil {
		switch {
		case h.Error != "":
			o.check.Status, o.why = evidence.StatusNotVerifiable, whyUnread
			o.short = "whether CI is configured could not be checked: the head of " + b.Branch + " could not be read: " + h.Error
			o.check.Detail = wfDesc + "; the head of " + b.Branch + " could not be read: " + h.Error
			return o
		case (h.CheckRunCount != nil && *h.CheckRunCount > 0) || (h.StatusCount != nil && *h.StatusCount > 0):
			o.check.Status = evidence.StatusPass
			o.short = "CI configured (checks on the head of " + b.Branch + ")"
			o.check.Detail = fmt.Sprintf("%s, but the head of %s carries %s and %s", wfDesc, b.Branch,
				plural(deref(h.CheckRunCount), "check run"), plural(deref(h.StatusCount), "commit status"))
			return o
		}
		for _, s := range []*Source{h.CheckRuns, h.Status} {
			if s != nil && s.Status != StatusRead && len(s.Pages) > 0 {
				perm := githubapi.PermChecks
				if s == h.Status {
					perm = githubapi.PermStatuses
				}
				unknown = append(unknown, "head of "+b.Branch+": "+collectors.WithheldReason(s.Pages[0], perm))
			}
		}
	} else {
		unknown = append(unknown, "the head of "+b.Branch+" was not read")
	}
	if len(unknown) > 0 {
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "whether CI is configured is unknown"
		o.check.Detail = wfDesc + "; no check seen; unknown: " + strings.Join(unknown, "; ")
		o.check.Fix = `Give the token "Actions: read", "Checks: read" and "Commit statuses: read" on the repository`
		return o
	}
	o.check.Status, o.why = evidence.StatusFail, "no_ci"
	o.short = "no CI configured"
	o.check.Detail = fmt.Sprintf("%s, and no check run or commit status on the commits of %s in the window or on its head", wfDesc, b.Branch)
	o.check.Fix = fmt.Sprintf("Add a CI workflow (.github/workflows) that builds and tests every push to %s, and require its checks", b.Branch)
	return o
}

func workflowRuns(b BranchFacts, rc RunCounts) outcome {
	o := outcome{check: evidence.Check{Rule: RuleWorkflowRuns}}
	switch {
	case b.Runs == nil:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "the workflow runs were not listed"
		o.check.Detail = o.short
	case b.Runs.Status != StatusRead:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = "the workflow runs are unknown"
		o.check.Detail = "the workflow runs created in the window could not all be listed: " + b.Runs.Reason
		o.check.Fix = `Give the token "Actions: read" on the repository`
		if b.Runs.Status == StatusTruncated {
			o.check.Fix = "Collect shorter windows (GitHub lists at most 1,000 runs of a filtered listing)"
		}
	default:
		o.check.Status = evidence.StatusPass
		o.short = fmt.Sprintf("%s in the window", plural(rc.Failed, "failed run"))
		var parts []string
		for _, c := range []struct {
			n    int
			what string
		}{{rc.RerunGreen, "re-run green"}, {rc.NotFixed, "not fixed"}, {rc.Pending, "re-run still running"}, {rc.Unknown, "undecided"}} {
			if c.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		if len(parts) > 0 {
			o.short += " (" + strings.Join(parts, ", ") + ")"
		}
		o.check.Detail = fmt.Sprintf("listed completely (%s): %s created in the window, %s (each has its own finding)",
			b.Runs.Stop, plural(rc.Listed, "run"), plural(rc.Failed, "failed run"))
	}
	return o
}

func greenShare(b BranchFacts, cc CommitCounts, minShare float64) outcome {
	o := outcome{check: evidence.Check{Rule: RuleGreenShare}}
	unknown := cc.Pending + cc.NotVerifiable + cc.Error
	switch {
	case cc.Total == 0:
		o.check.Status = evidence.StatusPass
		o.short = "no commit landed"
		o.check.Detail = fmt.Sprintf("no commit landed on %s in the window (minimum %s)", b.Branch, percent(minShare))
	case float64(cc.Green)/float64(cc.Total) >= minShare:
		o.check.Status = evidence.StatusPass
		o.short = fmt.Sprintf("green share %s ≥ %s", percent(float64(cc.Green)/float64(cc.Total)), percent(minShare))
		o.check.Detail = fmt.Sprintf("%d of %s on %s green (%s), minimum %s", cc.Green, plural(cc.Total, "commit"), b.Branch, percent(float64(cc.Green)/float64(cc.Total)), percent(minShare))
	case float64(cc.Green+unknown)/float64(cc.Total) < minShare:
		o.check.Status = evidence.StatusFail
		o.short = fmt.Sprintf("green share %s < %s", percent(float64(cc.Green)/float64(cc.Total)), percent(minShare))
		o.check.Detail = fmt.Sprintf("%d of %s on %s green (%s), below the minimum %s even if the %d undecided turn green",
			cc.Green, plural(cc.Total, "commit"), b.Branch, percent(float64(cc.Green)/float64(cc.Total)), percent(minShare), unknown)
		o.check.Fix = fmt.Sprintf("Keep %s green: merge only with passing checks, and fix failures at once", b.Branch)
	default:
		o.check.Status = evidence.StatusNotVerifiable
		o.short = fmt.Sprintf("green share %s, %s undecided", percent(float64(cc.Green)/float64(cc.Total)), plural(unknown, "commit"))
		o.check.Detail = fmt.Sprintf("%d of %s on %s green (%s), minimum %s: decided by %s pending or not verifiable",
			cc.Green, plural(cc.Total, "commit"), b.Branch, percent(float64(cc.Green)/float64(cc.Total)), percent(minShare), plural(unknown, "commit"))
	}
	return o
}

// countCommits counts a branch's commit findings by outcome: Error counts
// the commits a read that failed after retries left not_verifiable.
func countCommits(r RepoFacts, branch string, bySHA map[string]evidence.Finding, unread map[string]bool) CommitCounts {
	var cc CommitCounts
	for _, c := range r.Commits {
		if !slices.Contains(c.Branches, branch) {
			continue
		}
		cc.Total++
		f := bySHA[c.SHA]
		switch {
		case f.Status == evidence.StatusPass:
			cc.Green++
		case f.Status == evidence.StatusError, f.Status == evidence.StatusNotVerifiable && unread[c.SHA]:
			cc.Error++
		case f.Verdict == VerdictFailed:
			cc.Failed++
		case f.Verdict == VerdictNoCI:
			cc.NoCI++
		case f.Verdict == VerdictMissingRequired:
			cc.MissingRequired++
		case f.Verdict == VerdictPending:
			cc.Pending++
		default:
			cc.NotVerifiable++
		}
	}
	return cc
}

// evalBranch judges a branch of a readable repository: CI configured, the
// run listing complete, the green share.
func evalBranch(r RepoFacts, b BranchFacts, bySHA map[string]evidence.Finding, unread map[string]bool, rc RunCounts, p Policy) (evidence.Finding, bool) {
	f := evidence.Finding{Target: BranchTarget(r.Repo, b.Branch)}
	cc := countCommits(r, b.Branch, bySHA, unread)
	d := BranchDetails{Repo: r.Repo, Branch: b.Branch, Commits: cc, MinGreenShare: p.MinGreenShare, Runs: rc,
		Workflows: WorkflowCounts{Active: activeWorkflows(r.Workflows)}}
	if r.Workflows != nil {
		d.Workflows.TotalCount = r.Workflows.TotalCount
	}
	shareText := fmt.Sprintf("no commit landed on %s", b.Branch)
	if cc.Total > 0 {
		s := float64(cc.Green) / float64(cc.Total)
		d.GreenShare = &s
		shareText = fmt.Sprintf("%d of %s green (%s", cc.Green, plural(cc.Total, "commit"), percent(s))
		if u := cc.Pending + cc.NotVerifiable + cc.Error; u > 0 {
			shareText += fmt.Sprintf(", %d undecided", u)
		}
		shareText += ")"
	}
	outs := []outcome{ciConfigured(r, b), workflowRuns(b, rc)}
	if p.MinGreenShare != nil {
		outs = append(outs, greenShare(b, cc, *p.MinGreenShare))
	}
	for _, o := range outs {
		f.Checks = append(f.Checks, o.check)
	}
	f.Status = worst(outs)
	var parts []string
	for _, o := range outs {
		if o.check.Rule == RuleGreenShare {
			continue
		}
		parts = append(parts, o.short)
	}
	parts = slices.Insert(parts, 1, shareText)
	if p.MinGreenShare != nil {
		parts[1] += fmt.Sprintf(", minimum %s", percent(*p.MinGreenShare))
	}
	f.Summary = strings.Join(parts, "; ")
	switch {
	case outs[0].check.Status == evidence.StatusFail:
		f.Verdict = VerdictNoCIConfigured
	case p.MinGreenShare != nil && outs[2].check.Status == evidence.StatusFail:
		f.Verdict = VerdictBelowGreenShare
	case f.Status == evidence.StatusPass:
		f.Verdict = VerdictCIConfigured
	}
	f.Details = mustJSON(d)
	return f, unreadIn(outs)
}

// unreadableFinding is the finding of a repository whose commits GitHub
// would not list: not_verifiable, naming the permission.
func unreadableFinding(r RepoFacts) evidence.Finding {
	var names []string
	for _, b := range r.Branches {
		names = append(names, b.Branch)
	}
	t := repoTarget(r.Repo)
	if len(names) > 0 {
		t += "@" + strings.Join(names, "+")
	}
	return evidence.Finding{
		Target:  t,
		Status:  evidence.StatusNotVerifiable,
		Summary: "commits unknown: " + r.Reason,
		Checks: []evidence.Check{{
			Rule:   RulePopulation,
			Status: evidence.StatusNotVerifiable,
			Detail: "the commits that landed on the branch could not be listed: " + r.Reason,
			Fix:    fmt.Sprintf(`Give the token "Contents: read" and "Metadata: read" on %s`, r.Repo),
		}},
	}
}

// emptyFinding is the finding of a branch of a repository without any
// commit: nothing landed on it, so there is nothing to judge (pass).
func emptyFinding(r RepoFacts, b BranchFacts, p Policy) evidence.Finding {
	d := BranchDetails{Repo: r.Repo, Branch: b.Branch, Empty: true, MinGreenShare: p.MinGreenShare, Workflows: WorkflowCounts{Active: []string{}}}
	return evidence.Finding{
		Target:  BranchTarget(r.Repo, b.Branch),
		Status:  evidence.StatusPass,
		Verdict: VerdictEmptyRepository,
		Summary: "empty repository: no commits",
		Checks: []evidence.Check{{
			Rule:   RulePopulation,
			Status: evidence.StatusPass,
			Detail: fmt.Sprintf("the repository has no commit, so none landed on %s in the window and no CI had anything to run on: %s", b.Branch, r.Reason),
		}},
		Details: mustJSON(d),
	}
}

// missingBranchFinding is the finding of a branch named with --branch that
// the repository does not have: not_verifiable, as the scope asked about
// something that is not there. It is no permission problem.
func missingBranchFinding(r RepoFacts, b BranchFacts, p Policy) evidence.Finding {
	d := BranchDetails{Repo: r.Repo, Branch: b.Branch, Missing: true, MinGreenShare: p.MinGreenShare, Workflows: WorkflowCounts{Active: activeWorkflows(r.Workflows)}}
	if r.Workflows != nil {
		d.Workflows.TotalCount = r.Workflows.TotalCount
	}
	answer := "the branch check"
	if b.BranchCheck != nil {
		answer = fmt.Sprintf("%s answered %d %s", b.BranchCheck.Request, b.BranchCheck.HTTPStatus, b.BranchCheck.Message)
	}
	return evidence.Finding{
		Target:  BranchTarget(r.Repo, b.Branch),
		Status:  evidence.StatusNotVerifiable,
		Verdict: VerdictBranchMissing,
		Summary: fmt.Sprintf("branch %s does not exist", b.Branch),
		Checks: []evidence.Check{{
			Rule:   RulePopulation,
			Status: evidence.StatusNotVerifiable,
			Detail: fmt.Sprintf("branch %s does not exist in %s (its commit listing answered 404; %s): no commit of it to judge", b.Branch, r.Repo, answer),
			Fix:    fmt.Sprintf("Collect %s with the branches it has (--repo %s --branch …), or correct the branch name", r.Repo, r.Repo),
		}},
		Details: mustJSON(d),
	}
}

// ---- what the gathering must read ----

// lookupsNeeded are the commits whose workflow runs must be read on their
// own because the window's run listings cannot decide a rule: a required
// workflow has no run on the commit in them, or a failed run has no later
// success of its workflow on the commit in them (it may have been re-run
// after the window). Sorted.
func lookupsNeeded(r RepoFacts, p *Policy, w schedules.Window) []string {
	idx := indexRuns(r, false)
	need := map[string]bool{}
	if p.requiresWorkflows() {
		for _, c := range r.Commits {
			if c.Error != "" {
				continue
			}
			for _, wf := range p.RequiredWorkflows {
				if !slices.ContainsFunc(idx.bySHA[c.SHA], func(run Run) bool { return run.Name == wf }) {
					need[c.SHA] = true
				}
			}
		}
	}
	for _, b := range r.Branches {
		if b.Runs == nil {
			continue
		}
		for _, run := range b.Runs.Runs {
			if !w.Contains(run.CreatedAt) {
				continue
			}
			attempts, _, _ := attemptsOf(run)
			if len(failedAttempts(attempts, *p)) == 0 {
				continue
			}
			if fixed, _ := fix(run, idx); fixed == nil {
				need[run.HeadSHA] = true
			}
		}
	}
	out := make([]string, 0, len(need))
	for sha := range need {
		out = append(out, sha)
	}
	slices.Sort(out)
	return out
}

// needsProbe reports whether the heads of the repository's branches must be
// read to tell whether it has CI: no active workflow, and no check on any
// commit of the window.
func needsProbe(r RepoFacts) bool {
	if r.Empty || len(activeWorkflows(r.Workflows)) > 0 {
		return false
	}
	for _, c := range r.Commits {
		if len(c.Checks) > 0 {
			return false
		}
	}
	return true
}

// ---- helpers ----

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "status") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
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
		panic("cistatus: details do not serialise: " + err.Error())
	}
	return b
}
