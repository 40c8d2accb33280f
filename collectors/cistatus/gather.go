package cistatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/githubapi"
)

const (
	// perPage is the page size asked for everywhere: GitHub's maximum.
	perPage = 100
	// maxListingPages bounds the commit listing against a Link header that
	// never ends.
	maxListingPages = 10000
	// maxRunPages bounds the run listing: GitHub returns at most 1,000 runs
	// for a filtered listing, 10 pages of 100.
	maxRunPages = 100
	// maxSourcePages bounds the pages of one commit's check runs or
	// statuses, and of one lookup.
	maxSourcePages = 100
	// maxAttempts bounds the earlier attempts read of one run.
	maxAttempts = 20
)

// gatherer reads from GitHub. Safe for concurrent use.
type gatherer struct {
	gh *githubapi.Client
}

func esc(s string) string { return url.PathEscape(s) }

// commitItem is what the collection reads of a commit listing item.
type commitItem struct {
	SHA    string `json:"sha"`
	Commit struct {
		Message   string `json:"message"`
		Committer *struct {
			Date *time.Time `json:"date"`
		} `json:"committer"`
	} `json:"commit"`
}

func (c commitItem) committedAt() *time.Time {
	if c.Commit.Committer == nil || c.Commit.Committer.Date == nil {
		return nil
	}
	t := c.Commit.Committer.Date.UTC()
	return &t
}

// parseCommitItems parses a page of the commit listing.
func parseCommitItems(body []byte) ([]commitItem, error) {
	var items []commitItem
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, err
	}
	if items == nil {
		// null is no empty list: the commits are unknown.
		return nil, errors.New("the body is null, not a list of commits")
	}
	for i, it := range items {
		if it.SHA == "" {
			return nil, fmt.Errorf("item %d: no sha", i)
		}
	}
	return items, nil
}

// listCommits lists the commits on branch dated in the window, every page.
// GitHub's since and until are both inclusive.
func (g *gatherer) listCommits(ctx context.Context, owner, name, branch string, since, until time.Time) (*Listing, []commitItem, error) {
	params := map[string]string{
		"sha": branch, "since": since.UTC().Format(time.RFC3339), "until": until.UTC().Format(time.RFC3339),
		"per_page": strconv.Itoa(perPage),
	}
	l := &Listing{Query: githubapi.Query{Endpoint: fmt.Sprintf("GET /repos/%s/%s/commits", owner, name), Params: params}}
	base := collectors.PathQuery(fmt.Sprintf("repos/%s/%s/commits", esc(owner), esc(name)), params)
	var out []commitItem
	for page := 1; ; {
		call, resp, err := g.gh.GetRaw(ctx, collectors.WithPage(base, page))
		if err != nil {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("listing commits of %s/%s@%s (page %d): %w", owner, name, branch, page, err)}
		}
		l.Pages++
		items, err := parseCommitItems(call.Body)
		if err != nil {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("parsing commits of %s/%s@%s (page %d): %w", owner, name, branch, page, err)}
		}
		l.Items += len(items)
		out = append(out, items...)
		next := resp.NextPage
		if next == 0 {
			l.Stop = fmt.Sprintf("last page (%d)", page)
			return l, out, nil
		}
		if next <= page || l.Pages >= maxListingPages {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("listing commits of %s/%s@%s: pagination does not end (next page %d after page %d)", owner, name, branch, next, page)}
		}
		page = next
	}
}

// emptyRepository reports GitHub's answer to listing the commits of a
// repository without any: 409 "Git Repository is empty.".
func emptyRepository(call Call) bool {
	return call.HTTPStatus == http.StatusConflict && strings.Contains(strings.ToLower(call.Message), "repository is empty")
}

// checkBranch reads GET /repos/{o}/{r}/branches/{branch}: whether a branch
// whose commit listing answered 404 exists.
func (g *gatherer) checkBranch(ctx context.Context, owner, name, branch string) Call {
	call, _, _ := g.gh.GetRaw(ctx, fmt.Sprintf("repos/%s/%s/branches/%s", esc(owner), esc(name), esc(branch)))
	return call
}

// branchMissing reports GitHub's answer for a branch that does not exist:
// 404 "Branch not found". (A 404 "Not Found" is what a token that may not
// see the repository gets: it says nothing about the branch.)
func branchMissing(call Call) bool {
	return call.HTTPStatus == http.StatusNotFound && strings.EqualFold(strings.TrimSpace(call.Message), "Branch not found")
}

// workflowsPage is a page of GET …/actions/workflows.
type workflowsPage struct {
	TotalCount *int       `json:"total_count"`
	Workflows  []Workflow `json:"workflows"`
}

// readWorkflows reads the repository's workflows, page by page until one is
// active (all that "is there CI" needs) or the last page. A refusal leaves
// the source unknown, without error.
func (g *gatherer) readWorkflows(ctx context.Context, owner, name string) (*WorkflowFacts, error) {
	wf := &WorkflowFacts{Source: &Source{Pages: []Call{}}, Workflows: []Workflow{}}
	base := fmt.Sprintf("repos/%s/%s/actions/workflows?per_page=%d", esc(owner), esc(name), perPage)
	for page := 1; ; {
		call, resp, err := g.gh.GetRaw(ctx, collectors.WithPage(base, page))
		wf.Source.Pages = append(wf.Source.Pages, call)
		if err != nil {
			if githubapi.Withheld(call, err) {
				wf.Source.Status = StatusUnknown
				return wf, nil
			}
			wf.Source.Status = StatusError
			return wf, fmt.Errorf("listing the workflows of %s/%s (page %d): %w", owner, name, page, err)
		}
		var p workflowsPage
		if err := json.Unmarshal(call.Body, &p); err != nil {
			wf.Source.Status = StatusError
			return wf, fmt.Errorf("parsing the workflows of %s/%s (page %d): %w", owner, name, page, err)
		}
		if p.TotalCount == nil {
			wf.Source.Status = StatusError
			return wf, fmt.Errorf("parsing the workflows of %s/%s (page %d): no total_count: not a workflow listing", owner, name, page)
		}
		if p.Workflows == nil {
			wf.Source.Status = StatusError
			return wf, fmt.Errorf("parsing the workflows of %s/%s (page %d): workflows is null or missing, not a list", owner, name, page)
		}
		if page == 1 {
			n := *p.TotalCount
			wf.TotalCount = &n
		}
		wf.Workflows = append(wf.Workflows, p.Workflows...)
		next := resp.NextPage
		if next == 0 || hasActive(wf.Workflows) {
			break
		}
		if next <= page || len(wf.Source.Pages) >= maxSourcePages {
			wf.Source.Status = StatusError
			return wf, fmt.Errorf("listing the workflows of %s/%s: pagination does not end (next page %d after page %d)", owner, name, next, page)
		}
		page = next
	}
	wf.Source.Status = StatusRead
	return wf, nil
}

func hasActive(ws []Workflow) bool {
	for _, w := range ws {
		if w.State == "active" {
			return true
		}
	}
	return false
}

// runJSON is what the collection reads of a workflow run payload.
type runJSON struct {
	ID           int64      `json:"id"`
	Name         *string    `json:"name"`
	WorkflowID   int64      `json:"workflow_id"`
	RunNumber    int        `json:"run_number"`
	HeadSHA      string     `json:"head_sha"`
	HeadBranch   *string    `json:"head_branch"`
	Event        string     `json:"event"`
	Status       *string    `json:"status"`
	Conclusion   *string    `json:"conclusion"`
	RunAttempt   int        `json:"run_attempt"`
	CreatedAt    *time.Time `json:"created_at"`
	UpdatedAt    *time.Time `json:"updated_at"`
	RunStartedAt *time.Time `json:"run_started_at"`
	HTMLURL      string     `json:"html_url"`
	CheckSuiteID int64      `json:"check_suite_id"`
}

// parseRun parses a workflow run and checks what the judgement relies on.
func parseRun(raw json.RawMessage) (Run, error) {
	var r runJSON
	if err := json.Unmarshal(raw, &r); err != nil {
		return Run{}, err
	}
	switch {
	case r.ID <= 0:
		return Run{}, errors.New("no run id")
	case r.HeadSHA == "":
		return Run{}, fmt.Errorf("run %d: no head_sha", r.ID)
	case r.CreatedAt == nil:
		return Run{}, fmt.Errorf("run %d: no created_at", r.ID)
	case r.Status == nil:
		return Run{}, fmt.Errorf("run %d: no status", r.ID)
	}
	run := Run{
		ID: r.ID, WorkflowID: r.WorkflowID, RunNumber: r.RunNumber, HeadSHA: r.HeadSHA, Event: r.Event,
		Status: *r.Status, RunAttempt: max(r.RunAttempt, 1), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: utcPtr(r.UpdatedAt), HTMLURL: r.HTMLURL,
		CheckSuiteID: r.CheckSuiteID,
	}
	if r.Name != nil {
		run.Name = *r.Name
	}
	if r.HeadBranch != nil {
		run.HeadBranch = *r.HeadBranch
	}
	if r.Conclusion != nil {
		run.Conclusion = *r.Conclusion
	}
	return run, nil
}

// runsPage is a page of a workflow run listing.
type runsPage struct {
	TotalCount   *int              `json:"total_count"`
	WorkflowRuns []json.RawMessage `json:"workflow_runs"`
}

// parseRunsPage parses a page of workflow runs, keeping each item's bytes.
func parseRunsPage(body []byte) (int, []Run, []json.RawMessage, error) {
	var p runsPage
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, nil, nil, err
	}
	if p.TotalCount == nil {
		return 0, nil, nil, errors.New("no total_count: not a workflow run listing")
	}
	if p.WorkflowRuns == nil {
		// null is no empty list: the runs are unknown.
		return 0, nil, nil, errors.New("workflow_runs is null or missing, not a list")
	}
	runs := make([]Run, 0, len(p.WorkflowRuns))
	for i, raw := range p.WorkflowRuns {
		r, err := parseRun(raw)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("item %d: %w", i, err)
		}
		runs = append(runs, r)
	}
	return *p.TotalCount, runs, p.WorkflowRuns, nil
}

// keepRaw reports whether a run's listing item is kept byte for byte: its
// latest attempt did not succeed, or it was re-run.
func keepRaw(r Run) bool { return r.RunAttempt > 1 || !passingConclusion(r.Conclusion) }

// createdRange is the created filter of the window: GitHub's search date
// range START..END, both ends inclusive.
func createdRange(start, end time.Time) string {
	return start.UTC().Format(time.RFC3339) + ".." + end.UTC().Format(time.RFC3339)
}

// listRuns lists the workflow runs on branch created in [start, end], every
// page. A refusal leaves the listing unknown, without error; a listing that
// ends before total_count runs is truncated.
func (g *gatherer) listRuns(ctx context.Context, owner, name, branch string, start, end time.Time) (*RunListing, error) {
	params := map[string]string{
		"branch": branch, "created": createdRange(start, end), "exclude_pull_requests": "true", "per_page": strconv.Itoa(perPage),
	}
	l := &RunListing{Listing: Listing{Query: githubapi.Query{Endpoint: fmt.Sprintf("GET /repos/%s/%s/actions/runs", owner, name), Params: params}}, Runs: []Run{}, Foreign: []ForeignRun{}}
	base := collectors.PathQuery(fmt.Sprintf("repos/%s/%s/actions/runs", esc(owner), esc(name)), params)
	seen := map[int64]bool{}
	for page := 1; ; {
		call, resp, err := g.gh.GetRaw(ctx, collectors.WithPage(base, page))
		if err != nil {
			if githubapi.Withheld(call, err) {
				l.Status, l.Reason = StatusUnknown, collectors.WithheldReason(call, githubapi.PermActions)
				l.Stop = fmt.Sprintf("refused at page %d", page)
				return l, nil
			}
			return l, fmt.Errorf("listing the workflow runs of %s/%s@%s (page %d): %w", owner, name, branch, page, err)
		}
		l.Pages++
		total, runs, raws, err := parseRunsPage(call.Body)
		if err != nil {
			return l, fmt.Errorf("parsing the workflow runs of %s/%s@%s (page %d): %w", owner, name, branch, page, err)
		}
		if page == 1 {
			l.TotalCount = total
		}
		l.Items += len(runs)
		for i, r := range runs {
			if seen[r.ID] {
				l.Duplicates++
				continue
			}
			seen[r.ID] = true
			if fr, foreign := foreignRun(r, raws[i], owner, name); foreign {
				l.Foreign = append(l.Foreign, fr)
				continue
			}
			if keepRaw(r) {
				r.Raw = raws[i]
			}
			l.Runs = append(l.Runs, r)
		}
		next := resp.NextPage
		if next == 0 {
			l.Stop = fmt.Sprintf("last page (%d)", page)
			break
		}
		if next <= page || l.Pages >= maxRunPages {
			return l, fmt.Errorf("listing the workflow runs of %s/%s@%s: pagination does not end (next page %d after page %d)", owner, name, branch, next, page)
		}
		page = next
	}
	sortRuns(l.Runs)
	l.ForeignCount = len(l.Foreign)
	l.Status = StatusRead
	if listed := len(l.Runs) + len(l.Foreign); listed < l.TotalCount {
		l.Status = StatusTruncated
		l.Reason = fmt.Sprintf("%s listed %d of the %d runs GitHub counts (it returns at most 1,000 runs of a filtered listing): collect shorter windows",
			l.Endpoint, listed, l.TotalCount)
	}
	return l, nil
}

// runRepos are the repositories of a workflow run payload.
type runRepos struct {
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	HeadRepository *struct {
		FullName string `json:"full_name"`
	} `json:"head_repository"`
}

// foreignRun reports a run of a branch listing whose head commit came from
// another repository than the run's own (a pull request from a fork whose
// branch has the listed branch's name): GitHub's branch filter matches
// head_branch alone. A run that does not name its head repository is kept.
func foreignRun(r Run, raw json.RawMessage, owner, name string) (ForeignRun, bool) {
	var rr runRepos
	if err := json.Unmarshal(raw, &rr); err != nil || rr.HeadRepository == nil || rr.HeadRepository.FullName == "" {
		return ForeignRun{}, false
	}
	base := owner + "/" + name
	if rr.Repository != nil && rr.Repository.FullName != "" {
		base = rr.Repository.FullName
	}
	if strings.EqualFold(rr.HeadRepository.FullName, base) {
		return ForeignRun{}, false
	}
	return ForeignRun{ID: r.ID, HeadRepository: rr.HeadRepository.FullName, Repository: base, Event: r.Event, HeadBranch: r.HeadBranch,
		HeadSHA: r.HeadSHA, Status: r.Status, Conclusion: r.Conclusion}, true
}

// readAttempt reads attempt n of a run.
func (g *gatherer) readAttempt(ctx context.Context, owner, name string, run int64, n int) Attempt {
	a := Attempt{Number: n}
	call, _, err := g.gh.GetRaw(ctx, fmt.Sprintf("repos/%s/%s/actions/runs/%d/attempts/%d", esc(owner), esc(name), run, n))
	a.Call = call
	switch {
	case err != nil && githubapi.Withheld(call, err):
		a.Read = StatusUnknown
		return a
	case err != nil:
		a.Read, a.Error = StatusError, oneLine(err.Error())
		return a
	}
	r, err := parseRun(call.Body)
	if err != nil {
		a.Read, a.Error = StatusError, oneLine(fmt.Sprintf("parsing attempt %d of run %d: %v", n, run, err))
		return a
	}
	a.Read, a.Status, a.Conclusion, a.CheckSuiteID = StatusRead, r.Status, r.Conclusion, r.CheckSuiteID
	var started struct {
		RunStartedAt *time.Time `json:"run_started_at"`
	}
	_ = json.Unmarshal(call.Body, &started)
	a.StartedAt = utcPtr(started.RunStartedAt)
	return a
}

// lookupRuns reads the workflow runs of one commit.
func (g *gatherer) lookupRuns(ctx context.Context, owner, name, sha string) Lookup {
	lk := Lookup{SHA: sha, Runs: []Run{}}
	path := fmt.Sprintf("repos/%s/%s/actions/runs?head_sha=%s&per_page=%d", esc(owner), esc(name), url.QueryEscape(sha), perPage)
	src, err := collectors.ReadSource(ctx, g.gh, path, maxSourcePages)
	lk.Source = src
	if err != nil {
		lk.Error = oneLine(fmt.Sprintf("reading the workflow runs of commit %s in %s/%s: %v", shortSHA(sha), owner, name, err))
		return lk
	}
	if src.Status != StatusRead {
		return lk
	}
	seen := map[int64]bool{}
	for i, call := range src.Pages {
		_, runs, raws, err := parseRunsPage(call.Body)
		if err != nil {
			src.Status = StatusError
			lk.Error = oneLine(fmt.Sprintf("parsing the workflow runs of commit %s in %s/%s (page %d): %v", shortSHA(sha), owner, name, i+1, err))
			lk.Runs = []Run{}
			return lk
		}
		for j, r := range runs {
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			if keepRaw(r) {
				r.Raw = raws[j]
			}
			lk.Runs = append(lk.Runs, r)
		}
	}
	sortRuns(lk.Runs)
	return lk
}

// countPage is the total_count of a check run listing or combined status.
type countPage struct {
	TotalCount *int `json:"total_count"`
}

// probeHead asks whether the head of branch has any check run or status,
// reading one item of each.
func (g *gatherer) probeHead(ctx context.Context, owner, name, branch string) *HeadProbe {
	h := &HeadProbe{}
	base := fmt.Sprintf("repos/%s/%s/commits/%s", esc(owner), esc(name), esc(branch))
	read := func(path, what string) (*Source, *int) {
		call, _, err := g.gh.GetRaw(ctx, path)
		src := &Source{Pages: []Call{call}}
		switch {
		case err != nil && githubapi.Withheld(call, err):
			src.Status = StatusUnknown
			return src, nil
		case err != nil:
			src.Status = StatusError
			h.Error = joinErr(h.Error, fmt.Sprintf("reading the %s of %s/%s@%s: %v", what, owner, name, branch, err))
			return src, nil
		}
		var p countPage
		if err := json.Unmarshal(call.Body, &p); err != nil || p.TotalCount == nil {
			src.Status = StatusError
			h.Error = joinErr(h.Error, fmt.Sprintf("parsing the %s of %s/%s@%s: no total_count", what, owner, name, branch))
			return src, nil
		}
		src.Status = StatusRead
		return src, p.TotalCount
	}
	h.CheckRuns, h.CheckRunCount = read(base+"/check-runs?per_page=1", "check runs of the head")
	h.Status, h.StatusCount = read(base+"/status?per_page=1", "combined status of the head")
	h.Error = oneLine(h.Error)
	return h
}

// readCommit reads a commit's check runs (every attempt) and combined
// status. A source GitHub withholds (403, 404) is left unknown; any other
// failure makes the commit an error.
func (g *gatherer) readCommit(ctx context.Context, owner, name string, c *CommitFacts) {
	base := fmt.Sprintf("repos/%s/%s/commits/%s", esc(owner), esc(name), esc(c.SHA))
	reads := []struct {
		dst  **Source
		path string
		what string
	}{
		{&c.CheckRuns, base + "/check-runs?filter=all&per_page=100", "check runs"},
		{&c.Status, base + "/status?per_page=100", "combined status"},
	}
	// A read that fails after retries does not stop the other: a red check
	// it shows is a failure established whatever the other source says.
	for _, r := range reads {
		src, err := collectors.ReadSource(ctx, g.gh, r.path, maxSourcePages)
		*r.dst = src
		if err != nil {
			c.Error = joinErr(c.Error, oneLine(fmt.Sprintf("reading the %s of commit %s in %s/%s: %v", r.what, shortSHA(c.SHA), owner, name, err)))
			if ctx.Err() != nil {
				return
			}
		}
	}
	if err := normaliseChecks(c); err != nil {
		c.Error = joinErr(c.Error, oneLine(fmt.Sprintf("commit %s in %s/%s: %v", shortSHA(c.SHA), owner, name, err)))
		c.Checks = []CheckResult{}
	}
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
