package cistatus

// Fixtures: GitHub as the tests and the demo see it, built from GitHub's
// published example payloads (testdata/templates) with the ids, SHAs, names
// and dates of each scenario filled in. The golden cases under testdata/ and
// the sample organisation's CI are written from here
// (go test -run TestFixturesUpToDate -fixtures) and checked against it, so
// they never drift apart.

import (
	"bytes"
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/ghfake"
)

// fxRepo is a repository's CI as GitHub serves it.
type fxRepo struct {
	Owner, Name   string
	DefaultBranch string
	// WithRepo serves GET /repos/{o}/{r} (for --repo without --branch).
	WithRepo bool
	// Branches are the commits each branch's listing returns, newest first.
	Branches map[string][]fxCommit
	// SkipListings: the commit listings are served by other routes.
	SkipListings bool
	// ListingStatus answers the commit listings with an error.
	ListingStatus int
	Workflows     []fxWorkflow
	// WorkflowsStatus answers the workflow listing with an error.
	WorkflowsStatus int
	// Runs are each branch's runs created in the window (any order; served
	// newest first).
	Runs map[string][]fxRun
	// RunsStatus answers the run listings with an error; RunsTotal
	// overrides their total_count.
	RunsStatus int
	RunsTotal  int
	// ExtraRuns are runs in no branch listing (pull request runs, runs
	// created after the window), which only lookups return.
	ExtraRuns []fxRun
	// Lookups are the commits GET …/actions/runs?head_sha= answers for.
	Lookups      []string
	LookupStatus int
	// Heads serves the check run and status counts of branch heads.
	Heads map[string][2]int
	// Empty: the repository has no commit; its commit listings answer 409
	// "Git Repository is empty." and nothing else is served.
	Empty bool
	// MissingBranches answer their commit listing and GET …/branches/{b}
	// with 404 (Not Found, Branch not found); ExistingBranches serve GET
	// …/branches/{b}.
	MissingBranches, ExistingBranches []string
	// SkipRest serves the commit listings and branches only.
	SkipRest bool
}

func (r fxRepo) full() string { return r.Owner + "/" + r.Name }

// fxCommit is a commit and its checks.
type fxCommit struct {
	SHA     string
	Date    string
	Message string
	Author  string
	Checks  []fxCheck
	// Statuses are the latest status per context.
	Statuses []fxStatus
	// ChecksStatus and StatusStatus answer the commit's check runs or
	// combined status with an error.
	ChecksStatus, StatusStatus int
	// NoRoutes: the commit's check routes are served by other routes.
	NoRoutes bool
}

type fxCheck struct {
	ID                 int64
	Name               string
	Status             string // default completed
	Conclusion         string
	Started, Completed string
	App                string // default github-actions
	// Suite is the check suite; default one per commit and app.
	// runSuite(id) puts the check run in workflow run id's suite.
	Suite int64
}

type fxStatus struct {
	ID      int64
	Context string
	State   string
	At      string
}

type fxWorkflow struct {
	ID    int64
	Name  string
	Path  string
	State string // default active
}

// fxRun is a workflow run: its latest attempt, and the earlier ones.
type fxRun struct {
	ID         int64
	Workflow   string
	WorkflowID int64
	Number     int
	SHA        string
	Branch     string // default main
	Event      string // default push
	Status     string // default completed
	Conclusion string
	Created    string
	Attempt    int // default 1
	// Earlier are attempts 1 … Attempt-1, served by …/attempts/{n}.
	Earlier        []fxAttempt
	AttemptsStatus int
	// HeadRepo is the full name of the repository of the head commit, for
	// a pull request from a fork; default the repository itself.
	HeadRepo string
}

type fxAttempt struct {
	Status     string // default completed
	Conclusion string
	Started    string
}

// ts turns "2026-11-16T10:00" into RFC 3339 UTC.
func ts(s string) string {
	if s == "" {
		return ""
	}
	if strings.Count(s, ":") == 1 {
		s += ":00"
	}
	return s + "Z"
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, ts(s))
	if err != nil {
		panic(err)
	}
	return t
}

// at formats t as a fixture time.
func at(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// shift moves a fixture time.
func shift(s string, d time.Duration) string { return at(mustTime(s).Add(d)) }

// runSuite is the check suite of a workflow run: its jobs' check runs, in
// every attempt, carry it.
func runSuite(run int64) int64 { return fakeID(fmt.Sprintf("suite:%d", run)) }

// fakeSHA is a stable 40-hex sha for a name.
func fakeSHA(name string) string {
	h := sha1.Sum([]byte(name))
	return hex.EncodeToString(h[:])
}

func fakeID(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int64(h.Sum32()%90000000) + 1000000
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ---- templates ----

var (
	tmplOnce sync.Once
	tmpl     map[string][]byte
	tmplErr  error
)

// template decodes a fresh copy of testdata/templates/NAME.json.
func template(t testing.TB, name string) map[string]any {
	t.Helper()
	tmplOnce.Do(func() {
		tmpl = map[string][]byte{}
		for _, n := range []string{"check-run", "combined-commit-status", "workflow-run", "workflow", "commit", "full-repository", "branch"} {
			b, err := os.ReadFile(filepath.Join("testdata", "templates", n+".json"))
			if err != nil {
				tmplErr = err
				return
			}
			tmpl[n] = b
		}
	})
	if tmplErr != nil {
		t.Fatal(tmplErr)
	}
	dec := json.NewDecoder(bytes.NewReader(tmpl[name]))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("template %s: %v", name, err)
	}
	return v
}

// rewrite replaces text in every string of a decoded JSON value.
func rewrite(v any, r *strings.Replacer) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = rewrite(x, r)
		}
	case []any:
		for i, x := range t {
			t[i] = rewrite(x, r)
		}
	case string:
		return r.Replace(t)
	}
	return v
}

func obj(v any) map[string]any { return v.(map[string]any) }

func num(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// encode writes a payload as GitHub would: indented JSON.
func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// fx builds payloads for one repository.
type fx struct {
	t    testing.TB
	repo fxRepo
}

func (b fx) user(login string) any {
	if login == "" {
		return nil
	}
	id := fakeID("user:" + login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{
		"login": login, "id": num(id), "node_id": "U_" + strconv.FormatInt(id, 36),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(id, 10), "gravatar_id": "",
		"url": "https://api.github.com/users/" + login, "html_url": "https://github.com/" + login,
		"type": typ, "site_admin": false,
	}
}

func (b fx) commit(c fxCommit) any {
	o := template(b.t, "commit")
	rewrite(o, strings.NewReplacer("octocat/Hello-World", b.repo.full(), "6dcb09b5b57875f334f61aebed695e2e4193db5e", c.SHA))
	author := cmp.Or(c.Author, "alice")
	ident := map[string]any{"name": author, "email": strings.TrimSuffix(author, "[bot]") + "@example.com", "date": ts(c.Date)}
	gc := obj(o["commit"])
	gc["author"], gc["committer"] = ident, ident
	gc["message"] = cmp.Or(c.Message, "Change "+c.SHA[:7])
	gc["comment_count"] = num(0)
	o["author"], o["committer"] = b.user(author), b.user(author)
	o["node_id"] = "C_" + c.SHA[:14]
	parent := fakeSHA("parent-" + c.SHA)
	o["parents"] = []any{map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/%s/commits/%s", b.repo.full(), parent), "sha": parent}}
	return o
}

func (b fx) checkRuns(sha string, checks []fxCheck) any {
	runs := []any{}
	for _, c := range checks {
		o := template(b.t, "check-run")
		rewrite(o, strings.NewReplacer("github/hello-world", b.repo.full()))
		id := cmp.Or(c.ID, fakeID(fmt.Sprintf("check:%s:%s:%s:%s", b.repo.full(), sha, c.Name, c.Started)))
		o["id"], o["node_id"], o["head_sha"] = num(id), "CR_"+strconv.FormatInt(id, 36), sha
		o["url"] = fmt.Sprintf("https://api.github.com/repos/%s/check-runs/%d", b.repo.full(), id)
		o["html_url"] = fmt.Sprintf("https://github.com/%s/runs/%d", b.repo.full(), id)
		o["details_url"] = o["html_url"]
		o["status"], o["conclusion"] = cmp.Or(c.Status, "completed"), orNull(c.Conclusion)
		o["started_at"], o["completed_at"] = orNull(ts(c.Started)), orNull(ts(c.Completed))
		o["name"] = c.Name
		out := obj(o["output"])
		out["title"], out["summary"], out["text"], out["annotations_count"] = c.Name+": "+cmp.Or(c.Conclusion, "running"), "See the details.", nil, num(0)
		out["annotations_url"] = fmt.Sprintf("https://api.github.com/repos/%s/check-runs/%d/annotations", b.repo.full(), id)
		o["check_suite"] = map[string]any{"id": num(cmp.Or(c.Suite, fakeID("suite:"+sha+c.App)))}
		app := obj(o["app"])
		slug := cmp.Or(c.App, "github-actions")
		app["slug"], app["name"] = slug, map[string]string{"github-actions": "GitHub Actions"}[slug]
		if app["name"] == "" {
			app["name"] = slug
		}
		o["pull_requests"] = []any{}
		runs = append(runs, o)
	}
	return map[string]any{"total_count": num(int64(len(runs))), "check_runs": runs}
}

func (b fx) combinedStatus(sha string, statuses []fxStatus) any {
	o := template(b.t, "combined-commit-status")
	tmplStatus := o["statuses"].([]any)[0]
	rewrite(o, strings.NewReplacer("octocat/Hello-World", b.repo.full(), "Hello-World", b.repo.Name, "octocat", b.repo.Owner,
		"6dcb09b5b57875f334f61aebed695e2e4193db5e", sha))
	// GitHub's combined state is pending when there is no status at all.
	state := "pending"
	if len(statuses) > 0 {
		state = "success"
	}
	list := []any{}
	for _, s := range statuses {
		st := obj(rewrite(cloneJSON(tmplStatus), strings.NewReplacer("octocat/Hello-World", b.repo.full(), "6dcb09b5b57875f334f61aebed695e2e4193db5e", sha)))
		id := cmp.Or(s.ID, fakeID(fmt.Sprintf("status:%s:%s:%s", b.repo.full(), sha, s.Context)))
		st["id"], st["node_id"], st["state"], st["context"] = num(id), "SC_"+strconv.FormatInt(id, 36), s.State, s.Context
		st["description"] = map[string]string{"success": "The check succeeded", "failure": "The check failed", "error": "The check errored", "pending": "The check is running"}[s.State]
		st["target_url"] = fmt.Sprintf("https://ci.example.com/%s/%d", b.repo.Name, id)
		st["created_at"], st["updated_at"] = ts(s.At), ts(s.At)
		list = append(list, st)
		switch {
		case s.State == "failure" || s.State == "error":
			state = "failure"
		case s.State == "pending" && state != "failure":
			state = "pending"
		}
	}
	o["state"], o["statuses"], o["sha"], o["total_count"] = state, list, sha, num(int64(len(list)))
	o["commit_url"] = fmt.Sprintf("https://api.github.com/repos/%s/commits/%s", b.repo.full(), sha)
	o["url"] = fmt.Sprintf("https://api.github.com/repos/%s/commits/%s/status", b.repo.full(), sha)
	return o
}

func cloneJSON(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		panic(err)
	}
	return out
}

func (b fx) workflowID(name string) int64 { return fakeID("workflow:" + b.repo.full() + ":" + name) }

func workflowPath(name string) string {
	return ".github/workflows/" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".yml"
}

func (b fx) workflows() any {
	list := []any{}
	for _, w := range b.repo.Workflows {
		o := template(b.t, "workflow")
		id := cmp.Or(w.ID, b.workflowID(w.Name))
		path := cmp.Or(w.Path, workflowPath(w.Name))
		o["id"], o["node_id"], o["name"], o["path"], o["state"] = num(id), "W_"+strconv.FormatInt(id, 36), w.Name, path, cmp.Or(w.State, "active")
		o["created_at"], o["updated_at"] = "2025-03-01T09:00:00.000Z", "2026-06-01T09:00:00.000Z"
		o["url"] = fmt.Sprintf("https://api.github.com/repos/%s/actions/workflows/%d", b.repo.full(), id)
		o["html_url"] = fmt.Sprintf("https://github.com/%s/blob/main/%s", b.repo.full(), path)
		o["badge_url"] = fmt.Sprintf("https://github.com/%s/workflows/%s/badge.svg", b.repo.full(), strings.ReplaceAll(w.Name, " ", "%20"))
		list = append(list, o)
	}
	return map[string]any{"total_count": num(int64(len(list))), "workflows": list}
}

// run fills the workflow run template; attempt 0 is the latest attempt.
func (b fx) run(r fxRun, attempt int) any {
	o := template(b.t, "workflow-run")
	rewrite(o, strings.NewReplacer("octo-org/octo-repo", b.repo.full(), "octocat/Hello-World", b.repo.full(), "octo-repo", b.repo.Name, "Hello-World", b.repo.Name))
	wid := cmp.Or(r.WorkflowID, b.workflowID(r.Workflow))
	status, conclusion, started := cmp.Or(r.Status, "completed"), r.Conclusion, shift(r.Created, 30*time.Second)
	n := cmp.Or(r.Attempt, 1)
	if attempt > 0 {
		a := r.Earlier[attempt-1]
		status, conclusion, n = cmp.Or(a.Status, "completed"), a.Conclusion, attempt
		started = cmp.Or(a.Started, started)
	} else if len(r.Earlier) > 0 {
		started = shift(r.Created, time.Duration(n)*time.Hour)
	}
	api := fmt.Sprintf("https://api.github.com/repos/%s/actions/runs/%d", b.repo.full(), r.ID)
	o["id"], o["name"], o["node_id"] = num(r.ID), r.Workflow, "WFR_"+strconv.FormatInt(r.ID, 36)
	o["check_suite_id"] = num(runSuite(r.ID))
	o["check_suite_node_id"] = "CS_" + strconv.FormatInt(runSuite(r.ID), 36)
	o["head_branch"], o["head_sha"] = cmp.Or(r.Branch, "main"), r.SHA
	o["path"] = workflowPath(r.Workflow) + "@" + cmp.Or(r.Branch, "main")
	o["run_number"], o["event"], o["display_title"] = num(int64(cmp.Or(r.Number, 1))), cmp.Or(r.Event, "push"), "Change "+r.SHA[:7]
	o["status"], o["conclusion"], o["workflow_id"] = status, orNull(conclusion), num(wid)
	o["url"], o["html_url"] = api, fmt.Sprintf("https://github.com/%s/actions/runs/%d", b.repo.full(), r.ID)
	o["pull_requests"] = []any{}
	o["created_at"], o["updated_at"], o["run_started_at"] = ts(r.Created), ts(shift(started, 10*time.Minute)), ts(started)
	o["run_attempt"] = num(int64(n))
	o["actor"], o["triggering_actor"] = b.user("alice"), b.user("alice")
	for k, suffix := range map[string]string{"jobs_url": "/jobs", "logs_url": "/logs", "artifacts_url": "/artifacts", "cancel_url": "/cancel", "rerun_url": "/rerun"} {
		o[k] = api + suffix
	}
	o["check_suite_url"] = fmt.Sprintf("https://api.github.com/repos/%s/check-suites/%d", b.repo.full(), runSuite(r.ID))
	o["workflow_url"] = fmt.Sprintf("https://api.github.com/repos/%s/actions/workflows/%d", b.repo.full(), wid)
	if r.HeadRepo != "" {
		owner, name, _ := strings.Cut(r.HeadRepo, "/")
		head := obj(o["head_repository"])
		rewrite(head, strings.NewReplacer(b.repo.full(), r.HeadRepo))
		head["name"], head["full_name"] = name, r.HeadRepo
		head["id"] = num(fakeID("repo:" + r.HeadRepo))
		head["node_id"] = "R_" + strconv.FormatInt(fakeID("repo:"+r.HeadRepo), 36)
		head["owner"] = b.user(owner)
		head["fork"] = true
	}
	hc := obj(o["head_commit"])
	hc["id"], hc["tree_id"], hc["message"], hc["timestamp"] = r.SHA, fakeSHA("tree-"+r.SHA), "Change "+r.SHA[:7], ts(shift(r.Created, -time.Minute))
	return o
}

func (b fx) repository() any {
	o := template(b.t, "full-repository")
	rewrite(o, strings.NewReplacer("octocat/Hello-World", b.repo.full(), "Hello-World", b.repo.Name, "octocat", b.repo.Owner))
	id := fakeID("repo:" + b.repo.full())
	o["id"], o["node_id"], o["default_branch"] = num(id), "R_"+strconv.FormatInt(id, 36), cmp.Or(b.repo.DefaultBranch, "main")
	o["private"], o["archived"], o["fork"] = true, false, false
	delete(o, "parent")
	delete(o, "source")
	delete(o, "organization")
	delete(o, "template_repository")
	return o
}

func (b fx) branch(name string) any {
	o := template(b.t, "branch")
	rewrite(o, strings.NewReplacer("octocat/Hello-World", b.repo.full()))
	o["name"] = name
	o["protection_url"] = fmt.Sprintf("https://api.github.com/repos/%s/branches/%s/protection", b.repo.full(), name)
	links := obj(o["_links"])
	links["self"] = fmt.Sprintf("https://api.github.com/repos/%s/branches/%s", b.repo.full(), name)
	links["html"] = fmt.Sprintf("https://github.com/%s/tree/%s", b.repo.full(), name)
	return o
}

// errorBody is GitHub's error body for a status.
func errorBody(status int) json.RawMessage {
	msg := map[int]string{403: "Resource not accessible by personal access token", 404: "Not Found", 500: "Server Error", 422: "Validation Failed"}[status]
	return json.RawMessage(fmt.Sprintf(`{"message": %q, "documentation_url": "https://docs.github.com/rest", "status": "%d"}`, msg, status))
}

// emptyRepoBody is GitHub's answer to listing the commits of a repository
// without any (409).
const emptyRepoBody = `{"message": "Git Repository is empty.", "documentation_url": "https://docs.github.com/rest/commits/commits#list-commits", "status": "409"}`

// branchNotFoundBody is GitHub's answer for a branch that does not exist.
const branchNotFoundBody = `{"message": "Branch not found", "documentation_url": "https://docs.github.com/rest/branches/branches#get-a-branch", "status": "404"}`

// ---- routes ----

// fixtureFiles are a fixture's routes and the body files they name.
type fixtureFiles struct {
	routes []ghfake.Route
	files  map[string][]byte
}

func (ff *fixtureFiles) add(r ghfake.Route, name string, body []byte) {
	if ff.files == nil {
		ff.files = map[string][]byte{}
	}
	r.File = name
	ff.routes = append(ff.routes, r)
	ff.files[name] = body
}

// addStatus adds a route answering with an error when status is set, else
// with body in file name.
func (ff *fixtureFiles) addStatus(r ghfake.Route, status int, name string, body []byte) {
	if status != 0 {
		r.Status, r.Body = status, errorBody(status)
		ff.routes = append(ff.routes, r)
		return
	}
	ff.add(r, name, body)
}

// allRuns are the repository's listed and extra runs.
func (r fxRepo) allRuns() []fxRun {
	var out []fxRun
	for _, br := range slices.Sorted(maps.Keys(r.Runs)) {
		out = append(out, r.Runs[br]...)
	}
	return append(out, r.ExtraRuns...)
}

// newestFirst sorts runs as GitHub lists them.
func newestFirst(rs []fxRun) []fxRun {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b fxRun) int {
		return cmp.Or(mustTime(b.Created).Compare(mustTime(a.Created)), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// build makes the routes of a repository's CI for a window. prefix is put
// before every file name.
func (r fxRepo) build(t testing.TB, prefix string, window [2]string) *fixtureFiles {
	b := fx{t: t, repo: r}
	ff := &fixtureFiles{files: map[string][]byte{}}
	api := "/repos/" + r.full()
	if r.WithRepo {
		ff.add(ghfake.Route{Path: api}, prefix+"repo.json", encode(b.repository()))
	}
	branches := slices.Sorted(maps.Keys(r.Branches))
	if r.Empty {
		for _, br := range branches {
			ff.routes = append(ff.routes, ghfake.Route{Path: api + "/commits", Query: map[string]string{"sha": br}, Status: 409, Body: json.RawMessage(emptyRepoBody)})
		}
		return ff
	}
	for _, br := range r.MissingBranches {
		ff.routes = append(ff.routes, ghfake.Route{Path: api + "/commits", Query: map[string]string{"sha": br}, Status: 404, Body: errorBody(404)},
			ghfake.Route{Path: api + "/branches/" + br, Status: 404, Body: json.RawMessage(branchNotFoundBody)})
	}
	for _, br := range r.ExistingBranches {
		ff.add(ghfake.Route{Path: api + "/branches/" + br}, prefix+"branch-"+strings.ReplaceAll(br, "/", "-")+".json", encode(b.branch(br)))
	}
	if !r.SkipListings {
		for _, br := range branches {
			cs := []any{}
			for _, c := range r.Branches[br] {
				cs = append(cs, b.commit(c))
			}
			ff.addStatus(ghfake.Route{Path: api + "/commits", Query: map[string]string{"sha": br}}, r.ListingStatus,
				prefix+"commits-"+strings.ReplaceAll(br, "/", "-")+".json", encode(cs))
		}
	}
	if r.SkipRest {
		return ff
	}
	done := map[string]bool{}
	for _, br := range branches {
		for _, c := range r.Branches[br] {
			if c.NoRoutes || done[c.SHA] {
				continue
			}
			done[c.SHA] = true
			stem := prefix + "commit-" + c.SHA[:12]
			ff.addStatus(ghfake.Route{Path: api + "/commits/" + c.SHA + "/check-runs", Query: map[string]string{"filter": "all"}}, c.ChecksStatus,
				stem+"-check-runs.json", encode(b.checkRuns(c.SHA, c.Checks)))
			ff.addStatus(ghfake.Route{Path: api + "/commits/" + c.SHA + "/status"}, c.StatusStatus, stem+"-status.json", encode(b.combinedStatus(c.SHA, c.Statuses)))
		}
	}
	ff.addStatus(ghfake.Route{Path: api + "/actions/workflows"}, r.WorkflowsStatus, prefix+"workflows.json", encode(b.workflows()))
	created := createdRange(mustTime(window[0]), mustTime(window[1]))
	for _, br := range branches {
		runs := []any{}
		for _, run := range newestFirst(r.Runs[br]) {
			runs = append(runs, b.run(run, 0))
		}
		total := int64(cmp.Or(r.RunsTotal, len(runs)))
		ff.addStatus(ghfake.Route{Path: api + "/actions/runs", Query: map[string]string{"branch": br, "created": created}}, r.RunsStatus,
			prefix+"runs-"+strings.ReplaceAll(br, "/", "-")+".json", encode(map[string]any{"total_count": num(total), "workflow_runs": runs}))
	}
	for _, run := range r.allRuns() {
		for i := range run.Earlier {
			n := strconv.Itoa(i + 1)
			ff.addStatus(ghfake.Route{Path: fmt.Sprintf("%s/actions/runs/%d/attempts/%s", api, run.ID, n)}, run.AttemptsStatus,
				fmt.Sprintf("%srun-%d-attempt-%s.json", prefix, run.ID, n), encode(b.run(run, i+1)))
		}
	}
	for _, sha := range r.Lookups {
		runs := []any{}
		for _, run := range newestFirst(r.allRuns()) {
			if run.SHA == sha {
				runs = append(runs, b.run(run, 0))
			}
		}
		ff.addStatus(ghfake.Route{Path: api + "/actions/runs", Query: map[string]string{"head_sha": sha}}, r.LookupStatus,
			prefix+"runs-"+sha[:12]+".json", encode(map[string]any{"total_count": num(int64(len(runs))), "workflow_runs": runs}))
	}
	for _, br := range slices.Sorted(maps.Keys(r.Heads)) {
		n := r.Heads[br]
		head := fakeSHA("head-" + r.full() + br)
		var checks []fxCheck
		for i := range n[0] {
			checks = append(checks, fxCheck{Name: fmt.Sprintf("check-%d", i+1), Conclusion: "success", Started: "2026-11-01T10:00", Completed: "2026-11-01T10:05", App: "circleci-checks"})
		}
		var statuses []fxStatus
		for i := range n[1] {
			statuses = append(statuses, fxStatus{Context: fmt.Sprintf("ci/jenkins-%d", i+1), State: "success", At: "2026-11-01T10:05"})
		}
		stem := prefix + "head-" + strings.ReplaceAll(br, "/", "-")
		ff.add(ghfake.Route{Path: api + "/commits/" + br + "/check-runs"}, stem+"-check-runs.json", encode(b.checkRuns(head, checks)))
		ff.add(ghfake.Route{Path: api + "/commits/" + br + "/status"}, stem+"-status.json", encode(b.combinedStatus(head, statuses)))
	}
	return ff
}

// routesJSON writes routes one per line, spaced as the hand-written route
// lists are.
func routesJSON(routes []ghfake.Route) []byte {
	str := func(s string) string {
		b, err := json.Marshal(s)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	var b strings.Builder
	b.WriteString("[\n")
	for i, r := range routes {
		parts := []string{`"path": ` + str(r.Path)}
		if len(r.Query) > 0 {
			var q []string
			for _, k := range slices.Sorted(maps.Keys(r.Query)) {
				q = append(q, str(k)+": "+str(r.Query[k]))
			}
			parts = append(parts, `"query": {`+strings.Join(q, ", ")+"}")
		}
		if r.Status != 0 {
			parts = append(parts, `"status": `+strconv.Itoa(r.Status))
		}
		if r.File != "" {
			parts = append(parts, `"file": `+str(r.File))
		}
		if len(r.Body) > 0 {
			parts = append(parts, `"body": `+string(r.Body))
		}
		b.WriteString("  {" + strings.Join(parts, ", ") + "}")
		if i < len(routes)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return []byte(b.String())
}
