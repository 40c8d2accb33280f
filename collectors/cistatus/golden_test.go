package cistatus

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/golden"
	"github.com/changeproof/changeproof/schedules"
)

var (
	update   = flag.Bool("update", false, "rewrite the golden testdata/*/expected.json files")
	fixtures = flag.Bool("fixtures", false, "rewrite the fixtures generated from fixture_test.go, cases_test.go and sample_test.go (testdata/*/ and the sample organisation's CI)")
)

// goldenCase is testdata/<case>/case.json: what to collect from the case's
// fixture.
type goldenCase struct {
	Description string           `json:"description"`
	Scope       collectors.Scope `json:"scope"`
	Window      schedules.Window `json:"window"`
	Now         time.Time        `json:"now"`
	// Policy overrides the default policy's keys.
	Policy json.RawMessage `json:"policy,omitempty"`
	// MaxPerPage lowers the fake's page size, for arrays and objects.
	MaxPerPage int `json:"max_per_page,omitempty"`
}

// goldenResult is testdata/<case>/expected.json.
type goldenResult struct {
	Targets    []string           `json:"targets"`
	Incomplete string             `json:"incomplete"`
	Requests   map[string]int     `json:"requests"`
	Repos      []goldenRepo       `json:"repos"`
	Findings   []evidence.Finding `json:"findings"`
}

// goldenRepo is a repository's facts without the bodies.
type goldenRepo struct {
	Repo      string         `json:"repo"`
	Status    string         `json:"status"`
	Reason    string         `json:"reason,omitempty"`
	Empty     bool           `json:"empty,omitempty"`
	Workflows *int           `json:"workflows_total_count"`
	Branches  []goldenBranch `json:"branches"`
	Commits   []string       `json:"commits"`
	Lookups   []string       `json:"lookups"`
}

type goldenBranch struct {
	Branch      string         `json:"branch"`
	CommitQuery *Listing       `json:"commit_query"`
	Missing     bool           `json:"missing,omitempty"`
	BranchCheck string         `json:"branch_check,omitempty"`
	Listed      []ListedCommit `json:"listed"`
	Runs        *goldenRuns    `json:"runs"`
	Head        *[2]*int       `json:"head,omitempty"`
}

type goldenRuns struct {
	Listing
	Status     string  `json:"status"`
	Reason     string  `json:"reason,omitempty"`
	TotalCount int     `json:"total_count"`
	Duplicates int     `json:"duplicates"`
	IDs        []int64 `json:"ids"`
	// Foreign are the ids of the runs dropped as another repository's.
	Foreign []int64 `json:"foreign,omitempty"`
}

func goldenOf(res *collectors.Result, srv *ghfake.Server) goldenResult {
	facts := res.Facts.(*Facts)
	g := goldenResult{Targets: res.Targets, Incomplete: res.Incomplete, Requests: srv.RequestsByPath(), Findings: res.Findings, Repos: []goldenRepo{}}
	for _, r := range facts.Repos {
		gr := goldenRepo{Repo: r.Repo, Status: r.Status, Reason: r.Reason, Empty: r.Empty, Branches: []goldenBranch{}, Commits: []string{}, Lookups: []string{}}
		if r.Workflows != nil {
			gr.Workflows = r.Workflows.TotalCount
		}
		for _, b := range r.Branches {
			gb := goldenBranch{Branch: b.Branch, CommitQuery: b.CommitQuery, Missing: b.Missing, Listed: b.Listed}
			if c := b.BranchCheck; c != nil {
				gb.BranchCheck = fmt.Sprintf("%s: %d %s", c.Request, c.HTTPStatus, c.Message)
			}
			if b.Runs != nil {
				gb.Runs = &goldenRuns{Listing: b.Runs.Listing, Status: b.Runs.Status, Reason: b.Runs.Reason, TotalCount: b.Runs.TotalCount,
					Duplicates: b.Runs.Duplicates, IDs: []int64{}}
				for _, run := range b.Runs.Runs {
					gb.Runs.IDs = append(gb.Runs.IDs, run.ID)
				}
				for _, run := range b.Runs.Foreign {
					gb.Runs.Foreign = append(gb.Runs.Foreign, run.ID)
				}
			}
			if b.Head != nil {
				gb.Head = &[2]*int{b.Head.CheckRunCount, b.Head.StatusCount}
			}
			gr.Branches = append(gr.Branches, gb)
		}
		for _, c := range r.Commits {
			gr.Commits = append(gr.Commits, shortSHA(c.SHA)+" "+strings.Join(c.Branches, "+"))
		}
		for _, lk := range r.Lookups {
			gr.Lookups = append(gr.Lookups, shortSHA(lk.SHA)+" "+lk.Source.Status)
		}
		g.Repos = append(g.Repos, gr)
	}
	return g
}

// files are the files of testdata/<case>/.
func (c fxCase) files(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	window := [2]string{cmp.Or(c.Window[0], weekStart), cmp.Or(c.Window[1], weekEnd)}
	var routes []ghfake.Route
	for _, r := range c.Repos {
		prefix := ""
		if len(c.Repos) > 1 {
			prefix = r.Name + "-"
		}
		ff := r.build(t, prefix, window)
		routes = append(routes, ff.routes...)
		for n, b := range ff.files {
			out[n] = b
		}
	}
	routes = append(routes, c.Extra...)
	for _, o := range c.Overrides {
		for i, r := range routes {
			if r.Path == o.Path && routeQuery(r) == routeQuery(o) {
				delete(out, r.File)
				routes[i] = o
			}
		}
	}
	for n, b := range c.Files {
		out[n] = b
	}
	out[ghfake.RoutesFile] = routesJSON(routes)
	scope := c.Scope
	if len(scope.Orgs) == 0 && len(scope.Repos) == 0 {
		scope = apiScope
	}
	gc := goldenCase{Description: c.Description, Scope: scope, Now: mustTime(cmp.Or(c.Now, caseNow)), MaxPerPage: c.MaxPerPage,
		Window: schedules.Window{Start: mustTime(window[0]), End: mustTime(window[1])}}
	if c.Policy != "" {
		gc.Policy = json.RawMessage(c.Policy)
	}
	out["case.json"] = golden.JSON(t, gc)
	return out
}

func routeQuery(r ghfake.Route) string {
	b, _ := json.Marshal(r.Query)
	return string(b)
}

// TestFixturesUpToDate: the fixture files on disk are what the fixture code
// generates (-fixtures rewrites them), and no case directory is left over.
func TestFixturesUpToDate(t *testing.T) {
	names := map[string]bool{"templates": true}
	for _, c := range goldenCases(t) {
		if names[c.Name] {
			t.Fatalf("case %s defined twice", c.Name)
		}
		names[c.Name] = true
		checkFiles(t, filepath.Join("testdata", c.Name), c.files(t), true)
	}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !names[d.Name()] {
			t.Errorf("testdata/%s is no golden case of cases_test.go: remove it", d.Name())
		}
	}
	routes, files := sampleOrgFiles(t)
	checkFiles(t, filepath.Join(sampleOrg, sampleDir), files, true)
	checkFiles(t, filepath.Join(sampleOrg, ghfake.RoutesDir), map[string][]byte{sampleRoutes: routesJSON(routes)}, false)
}

// checkFiles compares (or, with -fixtures, writes) generated files with a
// directory. With strict, every file of the directory but expected.json
// must be generated; otherwise the directory may hold other files too.
func checkFiles(t *testing.T, dir string, files map[string][]byte, strict bool) {
	t.Helper()
	if *fixtures {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if strict {
			old, _ := os.ReadDir(dir)
			for _, e := range old {
				if _, keep := files[e.Name()]; !keep && e.Name() != "expected.json" {
					os.Remove(filepath.Join(dir, e.Name()))
				}
			}
		}
		for n, b := range files {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for n, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Errorf("%v (go test -run TestFixturesUpToDate -fixtures writes it)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the fixture code generates (-fixtures rewrites it): %s", filepath.Join(dir, n), golden.FirstDiff(want, got))
		}
	}
	if strict {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if _, ok := files[e.Name()]; !ok && e.Name() != "expected.json" {
				t.Errorf("%s is not generated: remove it (-fixtures does)", filepath.Join(dir, e.Name()))
			}
		}
	}
}

func loadCase(t *testing.T, dir string) (goldenCase, *Policy) {
	t.Helper()
	var gc goldenCase
	golden.ReadStrict(t, filepath.Join(dir, "case.json"), &gc)
	p := NewPolicy()
	golden.Overrides(t, "case.json policy", gc.Policy, p)
	return gc, p
}

// TestGolden runs every case in testdata/ against the fake GitHub and
// compares the facts' listings, the findings and the requests with
// expected.json.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/routes.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < len(goldenCases(t)) {
		t.Fatalf("found %d golden cases, cases_test.go defines %d (go test -run TestFixturesUpToDate -fixtures writes them)", len(dirs), len(goldenCases(t)))
	}
	for _, routes := range dirs {
		dir := filepath.Dir(routes)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			gc, p := loadCase(t, dir)
			srv, pg, gh := fakeGitHub(t, dir, gc.MaxPerPage)
			res := collect(t, newCollector(t, gh, gc.Now, 0), gc.Scope, gc.Window, p)

			facts := res.Facts.(*Facts)
			if res.Requests != int64(srv.Requests()) {
				t.Errorf("Result.Requests = %d, the fake saw %d", res.Requests, srv.Requests())
			}
			checkRawBodies(t, pg, facts)
			checkReEvaluation(t, facts, res.Findings, p)
			checkTargets(t, res)

			got := golden.JSON(t, goldenOf(res, srv))
			golden.Compare(t, filepath.Join(dir, "expected.json"), got, *update, "go test -run TestGolden -update")
		})
	}
}

// checkRawBodies asserts that every body kept in the facts is byte for byte
// what the API sent for that request, and every run kept raw is an item of
// the listing page that returned it.
func checkRawBodies(t *testing.T, pg *pager, facts *Facts) {
	t.Helper()
	call := func(what string, c Call) {
		if c.Body == nil {
			return
		}
		served, ok := pg.body(c.Request)
		if !ok {
			t.Errorf("%s: %s was never served", what, c.Request)
			return
		}
		if !bytes.Equal(served, c.Body) {
			t.Errorf("%s: the body of %s is not the API's byte for byte", what, c.Request)
		}
	}
	source := func(what string, s *Source) {
		if s != nil {
			for _, c := range s.Pages {
				call(what, c)
			}
		}
	}
	var listed [][]byte
	pg.mu.Lock()
	for req, b := range pg.served {
		if strings.Contains(req, "/actions/runs?") {
			listed = append(listed, b)
		}
	}
	pg.mu.Unlock()
	raw := func(what string, runs []Run) {
		for _, r := range runs {
			if r.Raw != nil && !containsAny(listed, r.Raw) {
				t.Errorf("%s: run %d is not kept as listed", what, r.ID)
			}
			for _, a := range r.Attempts {
				call(what, a.Call)
			}
		}
	}
	for _, r := range facts.Repos {
		if r.Workflows != nil {
			source(r.Repo+" workflows", r.Workflows.Source)
		}
		for _, c := range r.Commits {
			source(r.Repo+"@"+shortSHA(c.SHA), c.CheckRuns)
			source(r.Repo+"@"+shortSHA(c.SHA), c.Status)
		}
		for _, b := range r.Branches {
			if b.Runs != nil {
				raw(r.Repo+" runs", b.Runs.Runs)
			}
			if b.BranchCheck != nil {
				call(r.Repo+" branch check", *b.BranchCheck)
			}
			if b.Head != nil {
				source(r.Repo+" head", b.Head.CheckRuns)
				source(r.Repo+" head", b.Head.Status)
			}
		}
		for _, lk := range r.Lookups {
			source(r.Repo+" lookup", lk.Source)
			raw(r.Repo+" lookup", lk.Runs)
		}
	}
}

func containsAny(bodies [][]byte, item []byte) bool {
	for _, b := range bodies {
		if bytes.Contains(b, item) {
			return true
		}
	}
	return false
}

// checkReEvaluation asserts what an auditor relies on: the raw facts, once
// serialised, re-evaluate to the same findings.
func checkReEvaluation(t *testing.T, facts *Facts, findings []evidence.Finding, p *Policy) {
	t.Helper()
	golden.ReEvaluates(t, facts, findings, func(f Facts) []evidence.Finding { return EvaluateFacts(f, *p) })
}

// checkTargets asserts every finding names a target, each once, and
// Result.Targets lists them.
func checkTargets(t *testing.T, r *collectors.Result) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range r.Findings {
		if f.Target == "" || seen[f.Target] {
			t.Errorf("finding target %q empty or repeated", f.Target)
		}
		seen[f.Target] = true
		if !f.Status.Valid() {
			t.Errorf("%s: status %q", f.Target, f.Status)
		}
		for _, c := range f.Checks {
			if c.Status != evidence.StatusPass && c.Status != evidence.StatusError && c.Fix == "" && c.Status != evidence.StatusNotVerifiable {
				t.Errorf("%s: %s %s without a fix", f.Target, c.Rule, c.Status)
			}
		}
	}
	if len(seen) != len(r.Targets) {
		t.Errorf("%d targets for %d distinct findings", len(r.Targets), len(seen))
	}
}
