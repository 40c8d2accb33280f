package mergeactivity

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
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
	fixtures = flag.Bool("fixtures", false, "rewrite the fixtures generated from fixture_test.go and cases_test.go (testdata/*/ and the sample organisation's merge activity)")
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
	// MaxPerPage lowers the fake's page size.
	MaxPerPage int `json:"max_per_page,omitempty"`
}

// goldenRepo is a repository's facts without the per-change bodies.
type goldenRepo struct {
	Repo          string         `json:"repo"`
	Branches      []string       `json:"branches"`
	Status        string         `json:"status"`
	Reason        string         `json:"reason,omitempty"`
	Pulls         *Listing       `json:"pulls"`
	Commits       []Listing      `json:"commits"`
	ListedPulls   []ListedPull   `json:"listed_pulls"`
	BranchCommits []ListedCommit `json:"branch_commits"`
	Population    Population     `json:"population"`
	Reexamined    Reexamined     `json:"reexamined"`
}

// goldenResult is testdata/<case>/expected.json.
type goldenResult struct {
	Targets    []string           `json:"targets"`
	Incomplete string             `json:"incomplete"`
	Population Population         `json:"population"`
	Repos      []goldenRepo       `json:"repos"`
	Requests   map[string]int     `json:"requests"`
	Findings   []evidence.Finding `json:"findings"`
}

// caseFiles are the files of testdata/<case>/.
func (c fxCase) files(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var routes []ghfake.Route
	for _, r := range c.Repos {
		prefix := ""
		if len(c.Repos) > 1 {
			prefix = r.Name + "-"
		}
		ff := r.build(t, prefix, true)
		routes = append(routes, ff.routes...)
		for n, b := range ff.files {
			out[n] = b
		}
	}
	for _, o := range c.Overrides {
		i := slices.IndexFunc(routes, func(r ghfake.Route) bool { return routeKey(r) == routeKey(o) })
		if i < 0 {
			routes = append(routes, o)
			continue
		}
		delete(out, routes[i].File)
		routes[i] = o
	}
	for n, b := range c.Files {
		out[n] = b
	}
	out["routes.json"] = routesJSON(routes)
	gc := goldenCase{Description: c.Description, Scope: c.Scope, Now: mustTime(cmp.Or(c.Now, caseNow)), MaxPerPage: c.MaxPerPage,
		Window: schedules.Window{Start: mustTime(cmp.Or(c.Window[0], weekStart)), End: mustTime(cmp.Or(c.Window[1], weekEnd))}}
	if c.Policy != "" {
		gc.Policy = json.RawMessage(c.Policy)
	}
	out["case.json"] = golden.JSON(t, gc)
	return out
}

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func routeKey(r ghfake.Route) string {
	return string(routeLine(ghfake.Route{Method: r.Method, Path: r.Path, Query: r.Query}))
}

// TestFixturesUpToDate: the fixture files on disk are what fixture_test.go
// and cases_test.go generate (-fixtures rewrites them), and no case
// directory is left over.
func TestFixturesUpToDate(t *testing.T) {
	names := map[string]bool{"templates": true}
	for _, c := range goldenCases() {
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
	checkFiles(t, filepath.Join(sampleOrg, sampleActivityDir), files, false)
	checkSampleRoutes(t, routes)
}

// checkFiles compares (or, with -fixtures, writes) generated files with a
// directory. expected.json is the golden output, not a fixture.
func checkFiles(t *testing.T, dir string, files map[string][]byte, strict bool) {
	t.Helper()
	if *fixtures {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := os.ReadDir(dir)
		for _, e := range old {
			if _, keep := files[e.Name()]; !keep && e.Name() != "expected.json" {
				os.Remove(filepath.Join(dir, e.Name()))
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
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := files[e.Name()]; !ok && (!strict || e.Name() != "expected.json") {
			t.Errorf("%s is not generated: remove it (-fixtures does)", filepath.Join(dir, e.Name()))
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
// compares the population, findings and requests with expected.json.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/routes.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 30 {
		t.Fatalf("found only %d golden cases", len(dirs))
	}
	for _, routes := range dirs {
		dir := filepath.Dir(routes)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			gc, p := loadCase(t, dir)
			var opts []ghfake.Option
			if gc.MaxPerPage > 0 {
				opts = append(opts, ghfake.WithMaxPerPage(gc.MaxPerPage))
			}
			srv, gh := fakeGitHub(t, dir, opts...)
			res := collect(t, newCollector(t, gh, gc.Now, 0), gc.Scope, gc.Window, p)

			facts := res.Facts.(*Facts)
			if res.Requests != int64(srv.Requests()) {
				t.Errorf("Result.Requests = %d, the fake saw %d", res.Requests, srv.Requests())
			}
			checkRawBodies(t, dir, facts)
			checkReEvaluation(t, facts, res.Findings, p)
			checkPopulation(t, facts)

			got := golden.JSON(t, goldenOf(res, srv))
			golden.Compare(t, filepath.Join(dir, "expected.json"), got, *update, "go test -run TestGolden -update")
		})
	}
}

func goldenOf(res *collectors.Result, srv *ghfake.Server) goldenResult {
	facts := res.Facts.(*Facts)
	g := goldenResult{Targets: res.Targets, Incomplete: res.Incomplete, Population: facts.Population,
		Requests: srv.RequestsByPath(), Findings: res.Findings, Repos: []goldenRepo{}}
	for _, r := range facts.Repos {
		g.Repos = append(g.Repos, goldenRepo{Repo: r.Repo, Branches: r.Branches, Status: r.Status, Reason: r.Reason,
			Pulls: r.Pulls, Commits: r.Commits, ListedPulls: r.ListedPulls, BranchCommits: r.BranchCommits,
			Population: r.Population, Reexamined: r.Reexamined})
	}
	return g
}

// checkRawBodies asserts that the bodies kept in the facts are byte for
// byte what the API sent: whole objects as served, and listing items as
// they stood in the listing.
func checkRawBodies(t *testing.T, dir string, facts *Facts) {
	t.Helper()
	fx, err := ghfake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	object := func(path string) []byte {
		for _, r := range fx.Routes {
			if r.Path == path {
				return r.Body
			}
		}
		t.Fatalf("no route for %s", path)
		return nil
	}
	item := func(path string, match func(json.RawMessage) bool) []byte {
		var items []json.RawMessage
		if err := json.Unmarshal(object(path), &items); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, it := range items {
			if match(it) {
				return it
			}
		}
		t.Fatalf("no item in %s", path)
		return nil
	}
	pathOf := func(c Call) string {
		p, _, _ := strings.Cut(strings.TrimPrefix(c.Request, "GET "), "?")
		return p
	}
	for _, r := range facts.Repos {
		for _, ch := range r.Changes {
			if ch.Pull != nil && ch.Pull.Body != nil && !bytes.Equal(ch.Pull.Body, object(pathOf(*ch.Pull))) {
				t.Errorf("%s: the pull request body is not the API's byte for byte", ch.Target())
			}
			for _, src := range []*Source{ch.CheckRuns, ch.Status} {
				if src != nil && len(src.Pages) == 1 && src.Pages[0].Body != nil && !bytes.Equal(src.Pages[0].Body, object(pathOf(src.Pages[0]))) {
					t.Errorf("%s: %s body is not the API's byte for byte", ch.Target(), src.Pages[0].Request)
				}
			}
			if ch.Commit != nil {
				want := item("/repos/"+r.Repo+"/commits", func(it json.RawMessage) bool { return bytes.Contains(it, []byte(`"sha": "`+ch.SHA+`"`)) })
				if !bytes.Equal(want, ch.Commit) {
					t.Errorf("%s: the commit item is not the listing's byte for byte", ch.Target())
				}
			}
			if ch.Listed != nil {
				want := item("/repos/"+r.Repo+"/pulls", func(it json.RawMessage) bool {
					var n struct{ Number int }
					_ = json.Unmarshal(it, &n)
					return n.Number == ch.Number
				})
				if !bytes.Equal(want, ch.Listed) {
					t.Errorf("%s: the listing item is not the listing's byte for byte", ch.Target())
				}
			}
		}
	}
}

// checkReEvaluation asserts what an auditor relies on: the raw facts, once
// serialised, re-evaluate to the same findings.
func checkReEvaluation(t *testing.T, facts *Facts, findings []evidence.Finding, p *Policy) {
	t.Helper()
	golden.ReEvaluates(t, facts, findings, func(f Facts) []evidence.Finding { return EvaluateFacts(f, *p) })
}

// checkPopulation asserts the population's digest is the documented one and
// covers exactly the window's changes.
func checkPopulation(t *testing.T, facts *Facts) {
	t.Helper()
	var all []string
	for _, r := range facts.Repos {
		var window []string
		for _, ch := range r.Changes {
			if ch.Population == InWindow {
				window = append(window, PopulationItem(ch))
			}
		}
		slices.Sort(window)
		if !slices.Equal(window, r.Population.Items) || r.Population.Count != len(window) {
			t.Errorf("%s: population items %v, want the window's changes %v", r.Repo, r.Population.Items, window)
		}
		all = append(all, window...)
	}
	slices.Sort(all)
	var text string
	for _, it := range all {
		text += it + "\n"
	}
	if got := NewPopulation(all).SHA256; got != facts.Population.SHA256 || got != sha256hex(text) {
		t.Errorf("population sha256 %s, want sha256 of the sorted lines %s", facts.Population.SHA256, sha256hex(text))
	}
}

// TestGoldenGraphQL runs every golden case again as users run it, the pull
// requests listed over GraphQL, and requires what the REST run gave:
// the same targets, population, completeness and findings, from fewer
// requests. Every node the facts keep is a pull request of the population.
func TestGoldenGraphQL(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/routes.json")
	if err != nil {
		t.Fatal(err)
	}
	graphQLRead := 0
	for _, routes := range dirs {
		dir := filepath.Dir(routes)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			gc, p := loadCase(t, dir)
			var want goldenResult
			golden.ReadStrict(t, filepath.Join(dir, "expected.json"), &want)
			var opts []ghfake.Option
			if gc.MaxPerPage > 0 {
				opts = append(opts, ghfake.WithMaxPerPage(gc.MaxPerPage))
			}
			srv, gh := fakeGitHub(t, dir, opts...)
			res := collect(t, newGraphQLCollector(t, gh, gc.Now, 0), gc.Scope, gc.Window, p)
			facts := res.Facts.(*Facts)
			checkReEvaluation(t, facts, res.Findings, p)
			checkPopulation(t, facts)

			got := goldenOf(res, srv)
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"targets", got.Targets, want.Targets},
				{"incomplete", got.Incomplete, want.Incomplete},
				{"population", got.Population, want.Population},
				{"findings", got.Findings, want.Findings},
			} {
				if g, w := golden.JSON(t, c.got), golden.JSON(t, c.want); !bytes.Equal(g, w) {
					t.Errorf("%s over GraphQL differ from REST's: %s", c.what, golden.FirstDiff(w, g))
				}
			}
			restRequests, requests := 0, srv.Requests()
			for _, n := range want.Requests {
				restRequests += n
			}
			fellBack := false
			for _, r := range facts.Repos {
				// A GraphQL answer that failed after retries (the fake
				// answers 502 when a REST source inside it fails) costs its
				// attempts on top of the REST listing.
				fellBack = fellBack || r.GraphQLFallback != ""
			}
			if requests > restRequests && !fellBack {
				t.Errorf("%d requests over GraphQL, %d over REST", requests, restRequests)
			}
			for _, r := range facts.Repos {
				for _, ch := range r.Changes {
					if ch.GraphQL == nil {
						continue
					}
					var n struct{ Number int }
					if err := json.Unmarshal(ch.GraphQL, &n); err != nil || n.Number != ch.Number {
						t.Errorf("%s keeps node %s", ch.Target(), ch.GraphQL)
					}
					if ch.RESTReason == "" {
						graphQLRead++
						if ch.Pull != nil || ch.Reviews != nil || ch.Commits != nil || ch.CheckRuns != nil || ch.Status != nil {
							t.Errorf("%s was read over GraphQL and REST", ch.Target())
						}
					} else if ch.Reviews == nil && ch.Error == "" {
						t.Errorf("%s: %s, but it was not read over REST", ch.Target(), ch.RESTReason)
					}
				}
			}
			t.Logf("%d requests over GraphQL, %d over REST", requests, restRequests)
		})
	}
	if graphQLRead < 20 {
		t.Errorf("only %d pull requests were read from GraphQL alone", graphQLRead)
	}
}
