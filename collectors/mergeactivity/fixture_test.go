package mergeactivity

// Fixtures: GitHub as the tests and the demo see it, built from GitHub's
// published example payloads (testdata/templates) with the numbers, logins,
// SHAs and dates of each scenario filled in. The golden cases under
// testdata/ and the merge activity of the sample organisation are written
// from here (go test -run TestFixturesUpToDate -fixtures) and checked
// against it, so the two never drift apart.

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// fxRepo is a repository's merge activity.
type fxRepo struct {
	Owner, Name   string
	DefaultBranch string
	Pulls         []fxPull
	// BranchCommits are the commits each branch's listing returns, newest
	// first as GitHub lists them.
	BranchCommits map[string][]fxCommit
	// CommitPulls answers GET /repos/{o}/{r}/commits/{sha}/pulls: the pull
	// requests (by number, from Pulls) GitHub associates with a commit. A
	// sha not here gets no route (404).
	CommitPulls map[string][]int
	// NoDetails lists pull requests whose own routes are left out.
	NoDetails []int
}

func (r fxRepo) full() string { return r.Owner + "/" + r.Name }

// fxPull is one pull request.
type fxPull struct {
	Number  int
	Title   string
	Author  string
	Base    string // default main
	HeadRef string
	// Head is the head sha; default: the last commit's.
	Head     string
	MergeSHA string
	Created  string
	Updated  string // default: Merged, else Closed
	Closed   string // default: Merged
	Merged   string // "" → not merged
	MergedBy string
	Labels   []string
	Commits  []fxCommit
	Reviews  []fxReview
	Runs     []fxRun
	Statuses []fxStatus
	// CommitCount overrides the pull request's "commits" count.
	CommitCount int
}

func (p fxPull) base() string { return cmp.Or(p.Base, "main") }

func (p fxPull) head() string {
	if p.Head != "" {
		return p.Head
	}
	if len(p.Commits) > 0 {
		return p.Commits[len(p.Commits)-1].SHA
	}
	return fakeSHA(fmt.Sprintf("head-%d", p.Number))
}

func (p fxPull) updated() string { return cmp.Or(p.Updated, p.Merged, p.Closed) }
func (p fxPull) closed() string  { return cmp.Or(p.Closed, p.Merged) }

// fxCommit is a commit; Author and Committer are GitHub logins ("" → the
// git identity is not linked to an account).
type fxCommit struct {
	SHA               string
	Author, Committer string
	Date              string
	Message           string
	Parents           []string
}

type fxReview struct {
	ID     int64
	User   string
	State  string
	At     string
	Commit string
}

type fxRun struct {
	ID                 int64
	Name               string
	Status             string // default completed
	Conclusion         string
	Started, Completed string
}

type fxStatus struct {
	ID      int64
	Context string
	State   string
	At      string
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

// ---- templates ----

type templates struct {
	pullSimple, pull, review, commit, checkRun, combined, repo *jobj
}

var (
	tmplOnce sync.Once
	tmpl     templates
	tmplErr  error
)

func loadTemplates(t testing.TB) templates {
	t.Helper()
	tmplOnce.Do(func() {
		load := func(name string) *jobj {
			if tmplErr != nil {
				return nil
			}
			data, err := os.ReadFile(filepath.Join("testdata", "templates", name))
			if err != nil {
				tmplErr = err
				return nil
			}
			v, err := decodeOrdered(data)
			if err != nil {
				tmplErr = fmt.Errorf("%s: %w", name, err)
				return nil
			}
			return v.(*jobj)
		}
		tmpl = templates{
			pullSimple: load("pull-request-simple.json"), pull: load("pull-request.json"),
			review: load("pull-request-review.json"), commit: load("commit.json"),
			checkRun: load("check-run.json"), combined: load("combined-commit-status.json"),
			repo: load("full-repository.json"),
		}
	})
	if tmplErr != nil {
		t.Fatal(tmplErr)
	}
	return tmpl
}

// fx builds payloads from the templates.
type fx struct {
	t    templates
	repo fxRepo
}

func (b fx) repoReplacer() *strings.Replacer {
	return strings.NewReplacer("octocat/Hello-World", b.repo.full(), "Hello-World", b.repo.Name, "octocat", b.repo.Owner)
}

// user is an account object; bots have type Bot, the owner Organization.
func (b fx) user(login string) any {
	if login == "" {
		return nil
	}
	u := clone(b.t.pullSimple.get("user")).(*jobj)
	rewriteStrings(u, strings.NewReplacer("octocat", login))
	u.set("login", login).set("id", json.Number(strconv.FormatInt(fakeID("user:"+login), 10)))
	u.set("node_id", "U_"+strconv.FormatInt(fakeID("user:"+login), 36))
	switch {
	case strings.HasSuffix(login, "[bot]"):
		u.set("type", "Bot")
	case login == b.repo.Owner:
		u.set("type", "Organization")
	default:
		u.set("type", "User")
	}
	return u
}

func num(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// pullObject fills the simple (listing) or full pull request template.
func (b fx) pullObject(p fxPull, full bool) *jobj {
	src := b.t.pullSimple
	if full {
		src = b.t.pull
	}
	o := clone(src).(*jobj)
	head := p.head()
	rewriteStrings(o, strings.NewReplacer(
		"octocat/Hello-World", b.repo.full(), "Hello-World", b.repo.Name, "octocat", b.repo.Owner,
		"/1347", "/"+strconv.Itoa(p.Number), "6dcb09b5b57875f334f61aebed695e2e4193db5e", head))
	id := fakeID(fmt.Sprintf("pull:%s#%d", b.repo.full(), p.Number))
	o.set("id", num(id)).set("node_id", "PR_"+strconv.FormatInt(id, 36)).set("number", num(int64(p.Number)))
	o.set("state", "closed").set("locked", false).set("title", p.Title).set("user", b.user(p.Author))
	o.set("body", "Closes an item on the board.")
	var labels []any
	for _, l := range p.Labels {
		lo := clone(src.get("labels").([]any)[0]).(*jobj)
		lid := fakeID("label:" + l)
		lo.set("id", num(lid)).set("node_id", "LA_"+strconv.FormatInt(lid, 36))
		lo.set("url", fmt.Sprintf("https://api.github.com/repos/%s/labels/%s", b.repo.full(), l)).set("name", l)
		lo.set("description", l+" change").set("color", "d73a4a").set("default", false)
		labels = append(labels, lo)
	}
	o.set("labels", orEmpty(labels)).set("milestone", nil).set("active_lock_reason", nil)
	o.set("created_at", ts(p.Created)).set("updated_at", ts(p.updated())).set("closed_at", orNull(ts(p.closed())))
	o.set("merged_at", orNull(ts(p.Merged)))
	merge := p.MergeSHA
	if p.Merged == "" && merge == "" {
		merge = fakeSHA(fmt.Sprintf("test-merge-%s-%d", b.repo.full(), p.Number))
	}
	o.set("merge_commit_sha", orNull(merge))
	o.set("assignee", nil).set("assignees", []any{}).set("requested_reviewers", []any{}).set("requested_teams", []any{})
	ref := cmp.Or(p.HeadRef, fmt.Sprintf("topic-%d", p.Number))
	h := o.obj("head")
	h.set("label", b.repo.Owner+":"+ref).set("ref", ref).set("sha", head).set("user", b.user(b.repo.Owner))
	bs := o.obj("base")
	bs.set("label", b.repo.Owner+":"+p.base()).set("ref", p.base()).set("sha", fakeSHA("base-"+p.base()+strconv.Itoa(p.Number))).set("user", b.user(b.repo.Owner))
	for _, side := range []*jobj{h, bs} {
		r := side.obj("repo")
		r.set("default_branch", cmp.Or(b.repo.DefaultBranch, "main"))
		r.obj("owner").set("type", "Organization")
		r.set("description", "The "+b.repo.Name+" service")
	}
	o.set("author_association", "MEMBER").set("auto_merge", nil).set("draft", false)
	if full {
		o.set("merged", p.Merged != "").set("mergeable", nil).set("rebaseable", nil).set("mergeable_state", "unknown")
		o.set("merged_by", b.user(p.MergedBy))
		o.set("comments", num(0)).set("review_comments", num(int64(len(p.Reviews))))
		n := p.CommitCount
		if n == 0 {
			n = len(p.Commits)
		}
		o.set("commits", num(int64(n)))
	}
	return o
}

func orEmpty(a []any) []any {
	if a == nil {
		return []any{}
	}
	return a
}

func (b fx) review(p fxPull, r fxReview) *jobj {
	o := clone(b.t.review).(*jobj)
	rewriteStrings(o, strings.NewReplacer("octocat/Hello-World", b.repo.full(), "/12", "/"+strconv.Itoa(p.Number)))
	id := r.ID
	if id == 0 {
		id = fakeID(fmt.Sprintf("review:%s#%d:%s:%s", b.repo.full(), p.Number, r.User, r.At))
	}
	o.set("id", num(id)).set("node_id", "PRR_"+strconv.FormatInt(id, 36)).set("user", b.user(r.User))
	body := map[string]string{"APPROVED": "Looks good to me.", "CHANGES_REQUESTED": "Please address the comments.", "COMMENTED": "A few questions.", "DISMISSED": "Looks good to me."}[r.State]
	o.set("body", body).set("state", r.State)
	html := fmt.Sprintf("https://github.com/%s/pull/%d#pullrequestreview-%d", b.repo.full(), p.Number, id)
	o.set("html_url", html)
	o.obj("_links").obj("html").set("href", html)
	o.set("submitted_at", orNull(ts(r.At))).set("commit_id", cmp.Or(r.Commit, p.head()))
	o.set("author_association", "MEMBER")
	return o
}

func (b fx) commit(c fxCommit) *jobj {
	o := clone(b.t.commit).(*jobj)
	rewriteStrings(o, strings.NewReplacer("octocat/Hello-World", b.repo.full(), "6dcb09b5b57875f334f61aebed695e2e4193db5e", c.SHA))
	o.set("node_id", "C_"+c.SHA[:14])
	gc := o.obj("commit")
	ident := func(login string) *jobj {
		name := cmp.Or(login, "Unlinked Person")
		return (&jobj{vals: map[string]any{}}).set("name", name).set("email", strings.TrimSuffix(strings.ReplaceAll(name, " ", "."), "[bot]")+"@example.com").set("date", ts(c.Date))
	}
	gc.set("author", ident(c.Author)).set("committer", ident(c.Committer))
	gc.set("message", cmp.Or(c.Message, "Change "+c.SHA[:7]))
	gc.obj("tree").set("sha", fakeSHA("tree-"+c.SHA)).set("url", fmt.Sprintf("https://api.github.com/repos/%s/tree/%s", b.repo.full(), fakeSHA("tree-"+c.SHA)))
	gc.set("verification", (&jobj{vals: map[string]any{}}).set("verified", false).set("reason", "unsigned").set("signature", nil).set("payload", nil))
	o.set("author", b.user(c.Author)).set("committer", b.user(c.Committer))
	parents := []any{}
	for _, ps := range c.Parents {
		parents = append(parents, (&jobj{vals: map[string]any{}}).set("url", fmt.Sprintf("https://api.github.com/repos/%s/commits/%s", b.repo.full(), ps)).set("sha", ps))
	}
	if len(parents) == 0 {
		ps := fakeSHA("parent-" + c.SHA)
		parents = append(parents, (&jobj{vals: map[string]any{}}).set("url", fmt.Sprintf("https://api.github.com/repos/%s/commits/%s", b.repo.full(), ps)).set("sha", ps))
	}
	o.set("parents", parents)
	return o
}

func (b fx) checkRuns(p fxPull) *jobj {
	runs := []any{}
	for _, r := range p.Runs {
		o := clone(b.t.checkRun).(*jobj)
		rewriteStrings(o, strings.NewReplacer("github/hello-world", b.repo.full()))
		id := r.ID
		if id == 0 {
			id = fakeID(fmt.Sprintf("run:%s#%d:%s:%s", b.repo.full(), p.Number, r.Name, r.Started))
		}
		o.set("id", num(id)).set("head_sha", p.head()).set("node_id", "CR_"+strconv.FormatInt(id, 36))
		o.set("url", fmt.Sprintf("https://api.github.com/repos/%s/check-runs/%d", b.repo.full(), id))
		o.set("html_url", fmt.Sprintf("https://github.com/%s/runs/%d", b.repo.full(), id))
		o.set("details_url", fmt.Sprintf("https://ci.example.com/%s/%d", b.repo.Name, id))
		o.set("status", cmp.Or(r.Status, "completed")).set("conclusion", orNull(r.Conclusion))
		o.set("started_at", orNull(ts(r.Started))).set("completed_at", orNull(ts(r.Completed)))
		out := o.obj("output")
		out.set("title", r.Name+": "+cmp.Or(r.Conclusion, "in progress")).set("summary", "See the details.").set("text", nil).set("annotations_count", num(0))
		out.set("annotations_url", fmt.Sprintf("https://api.github.com/repos/%s/check-runs/%d/annotations", b.repo.full(), id))
		o.set("name", r.Name)
		o.obj("check_suite").set("id", num(fakeID(fmt.Sprintf("suite:%s", p.head()))))
		o.set("pull_requests", []any{})
		runs = append(runs, o)
	}
	return (&jobj{vals: map[string]any{}}).set("total_count", num(int64(len(runs)))).set("check_runs", runs)
}

func (b fx) combinedStatus(p fxPull) *jobj {
	o := clone(b.t.combined).(*jobj)
	tmplStatus := o.get("statuses").([]any)[0]
	rewriteStrings(o, strings.NewReplacer("octocat/Hello-World", b.repo.full(), "Hello-World", b.repo.Name, "octocat", b.repo.Owner,
		"6dcb09b5b57875f334f61aebed695e2e4193db5e", p.head()))
	state := "success"
	if len(p.Statuses) == 0 {
		state = "pending"
	}
	statuses := []any{}
	for _, s := range p.Statuses {
		st := clone(tmplStatus).(*jobj)
		id := s.ID
		if id == 0 {
			id = fakeID(fmt.Sprintf("status:%s#%d:%s:%s", b.repo.full(), p.Number, s.Context, s.At))
		}
		st.set("url", fmt.Sprintf("https://api.github.com/repos/%s/statuses/%s", b.repo.full(), p.head()))
		st.set("avatar_url", "https://github.com/images/error/hubot_happy.gif")
		st.set("id", num(id)).set("node_id", "SC_"+strconv.FormatInt(id, 36)).set("state", s.State)
		st.set("description", map[string]string{"success": "The check succeeded", "failure": "The check failed", "error": "The check errored", "pending": "The check is running"}[s.State])
		st.set("target_url", fmt.Sprintf("https://ci.example.com/%s/%d", b.repo.Name, id)).set("context", s.Context)
		st.set("created_at", ts(s.At)).set("updated_at", ts(s.At))
		statuses = append(statuses, st)
		switch {
		case s.State == "failure" || s.State == "error":
			state = "failure"
		case s.State == "pending" && state != "failure":
			state = "pending"
		}
	}
	o.set("state", state).set("statuses", statuses).set("sha", p.head()).set("total_count", num(int64(len(statuses))))
	o.obj("repository").obj("owner").set("type", "Organization")
	o.set("commit_url", fmt.Sprintf("https://api.github.com/repos/%s/commits/%s", b.repo.full(), p.head()))
	o.set("url", fmt.Sprintf("https://api.github.com/repos/%s/commits/%s/status", b.repo.full(), p.head()))
	return o
}

func (b fx) repository() *jobj {
	o := clone(b.t.repo).(*jobj)
	rewriteStrings(o, b.repoReplacer())
	id := fakeID("repo:" + b.repo.full())
	o.set("id", num(id)).set("node_id", "R_"+strconv.FormatInt(id, 36)).set("default_branch", cmp.Or(b.repo.DefaultBranch, "main"))
	o.set("description", "The "+b.repo.Name+" service").set("private", true).set("fork", false)
	o.obj("owner").set("type", "Organization")
	o.del("parent")
	o.del("source")
	return o
}

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

// build makes the routes of a repository's merge activity. prefix is put
// before every file name (a subdirectory, or a per-repository stem).
func (r fxRepo) build(t testing.TB, prefix string, withRepo bool) *fixtureFiles {
	b := fx{t: loadTemplates(t), repo: r}
	ff := &fixtureFiles{}
	api := "/repos/" + r.full()
	if withRepo {
		ff.add(ghfake.Route{Path: api}, prefix+"repo.json", encode(b.repository()))
	}
	pulls := slices.Clone(r.Pulls)
	slices.SortStableFunc(pulls, func(a, c fxPull) int {
		return cmp.Or(mustTime(c.updated()).Compare(mustTime(a.updated())), cmp.Compare(c.Number, a.Number))
	})
	var list []any
	for _, p := range pulls {
		list = append(list, b.pullObject(p, false))
	}
	ff.add(ghfake.Route{Path: api + "/pulls", Query: map[string]string{"state": "closed", "sort": "updated", "direction": "desc"}},
		prefix+"pulls.json", encode(orEmpty(list)))
	branches := make([]string, 0, len(r.BranchCommits))
	for br := range r.BranchCommits {
		branches = append(branches, br)
	}
	slices.Sort(branches)
	for _, br := range branches {
		var cs []any
		for _, c := range r.BranchCommits[br] {
			cs = append(cs, b.commit(c))
		}
		ff.add(ghfake.Route{Path: api + "/commits", Query: map[string]string{"sha": br}},
			prefix+"commits-"+strings.ReplaceAll(br, "/", "-")+".json", encode(orEmpty(cs)))
	}
	for _, p := range r.Pulls {
		if p.Merged == "" || slices.Contains(r.NoDetails, p.Number) {
			continue
		}
		n := strconv.Itoa(p.Number)
		ff.add(ghfake.Route{Path: api + "/pulls/" + n}, prefix+"pull-"+n+".json", encode(b.pullObject(p, true)))
		var rs []any
		for _, rv := range p.Reviews {
			rs = append(rs, b.review(p, rv))
		}
		ff.add(ghfake.Route{Path: api + "/pulls/" + n + "/reviews"}, prefix+"pull-"+n+"-reviews.json", encode(orEmpty(rs)))
		var cs []any
		for _, c := range p.Commits {
			cs = append(cs, b.commit(c))
		}
		ff.add(ghfake.Route{Path: api + "/pulls/" + n + "/commits"}, prefix+"pull-"+n+"-commits.json", encode(orEmpty(cs)))
		ff.add(ghfake.Route{Path: api + "/commits/" + p.head() + "/check-runs", Query: map[string]string{"filter": "all"}},
			prefix+"pull-"+n+"-check-runs.json", encode(b.checkRuns(p)))
		ff.add(ghfake.Route{Path: api + "/commits/" + p.head() + "/status"}, prefix+"pull-"+n+"-status.json", encode(b.combinedStatus(p)))
	}
	shas := make([]string, 0, len(r.CommitPulls))
	for sha := range r.CommitPulls {
		shas = append(shas, sha)
	}
	slices.Sort(shas)
	for _, sha := range shas {
		var items []any
		for _, n := range r.CommitPulls[sha] {
			i := slices.IndexFunc(r.Pulls, func(p fxPull) bool { return p.Number == n })
			items = append(items, b.pullObject(r.Pulls[i], false))
		}
		ff.add(ghfake.Route{Path: api + "/commits/" + sha + "/pulls"}, prefix+"commit-"+sha[:12]+"-pulls.json", encode(orEmpty(items)))
	}
	return ff
}

// routesJSON writes routes one per line, as the hand-written fixtures are.
func routesJSON(routes []ghfake.Route) []byte {
	var b strings.Builder
	b.WriteString("[\n")
	for i, r := range routes {
		b.WriteString("  ")
		b.Write(routeLine(r))
		if i < len(routes)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return []byte(b.String())
}

func routeLine(r ghfake.Route) []byte {
	o := &jobj{vals: map[string]any{}}
	if r.Method != "" {
		o.set("method", r.Method)
	}
	o.set("path", r.Path)
	if len(r.Query) > 0 {
		q := &jobj{vals: map[string]any{}}
		keys := make([]string, 0, len(r.Query))
		for k := range r.Query {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			q.set(k, r.Query[k])
		}
		o.set("query", q)
	}
	if r.Status != 0 {
		o.set("status", num(int64(r.Status)))
	}
	if r.File != "" {
		o.set("file", r.File)
	}
	if len(r.Body) > 0 {
		v, err := decodeOrdered(r.Body)
		if err != nil {
			panic(err)
		}
		o.set("body", v)
	}
	if len(r.Headers) > 0 {
		h := &jobj{vals: map[string]any{}}
		keys := make([]string, 0, len(r.Headers))
		for k := range r.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			h.set(k, r.Headers[k])
		}
		o.set("headers", h)
	}
	return compactLine(o)
}

// compactLine writes an object on one line with ", " and ": " separators.
func compactLine(v any) []byte {
	var b strings.Builder
	var write func(v any)
	write = func(v any) {
		switch t := v.(type) {
		case *jobj:
			b.WriteByte('{')
			for i, k := range t.keys {
				if i > 0 {
					b.WriteString(", ")
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteString(": ")
				write(t.vals[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, vv := range t {
				if i > 0 {
					b.WriteString(", ")
				}
				write(vv)
			}
			b.WriteByte(']')
		default:
			data, err := json.Marshal(t)
			if err != nil {
				panic(err)
			}
			b.Write(data)
		}
	}
	write(v)
	return []byte(b.String())
}
