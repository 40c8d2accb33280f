package branchprotection

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden testdata/*/expected.json files")

// goldenCase is testdata/<case>/case.json: what to collect from the case's
// fixture.
type goldenCase struct {
	Description string           `json:"description"`
	Scope       collectors.Scope `json:"scope"`
	// Policy overrides the default policy's keys.
	Policy json.RawMessage `json:"policy,omitempty"`
	// MaxPerPage lowers the fake's page size.
	MaxPerPage int `json:"max_per_page,omitempty"`
}

// goldenResult is testdata/<case>/expected.json.
type goldenResult struct {
	Targets         []string           `json:"targets"`
	Incomplete      string             `json:"incomplete"`
	Queries         []githubapi.Query  `json:"queries"`
	SkippedArchived []string           `json:"skipped_archived"`
	Requests        map[string]int     `json:"requests"`
	Findings        []evidence.Finding `json:"findings"`
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
// compares the findings, population and requests with expected.json.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/routes.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 15 {
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
			res := collect(t, newCollector(t, gh, 0), gc.Scope, p)

			facts := res.Facts.(*Facts)
			if res.Requests != int64(srv.Requests()) {
				t.Errorf("Result.Requests = %d, the fake saw %d", res.Requests, srv.Requests())
			}
			checkRawBodies(t, dir, facts)
			checkReEvaluation(t, facts, res.Findings, p)

			got := golden.JSON(t, goldenResult{
				Targets: res.Targets, Incomplete: res.Incomplete, Queries: facts.Queries,
				SkippedArchived: facts.SkippedArchived, Requests: normalisedRequests(srv), Findings: res.Findings,
			})
			golden.Compare(t, filepath.Join(dir, "expected.json"), got, *update, "go test -run TestGolden -update")
		})
	}
}

// checkRawBodies asserts that every successful protection and ruleset body
// in the facts is byte for byte what the API sent.
func checkRawBodies(t *testing.T, dir string, facts *Facts) {
	t.Helper()
	fx, err := ghfake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	body := func(path string) []byte {
		for _, r := range fx.Routes {
			if r.Path == path {
				return r.Body
			}
		}
		t.Fatalf("no route for %s", path)
		return nil
	}
	for _, bf := range facts.Branches {
		if bf.Classic.Body != nil {
			path := strings.TrimPrefix(bf.Classic.Request, "GET ")
			if want := body(path); !bytes.Equal(want, bf.Classic.Body) {
				t.Errorf("%s: classic body is not the API's body byte for byte", bf.Target())
			}
		}
		for _, rs := range bf.Rulesets {
			if rs.Body == nil {
				continue
			}
			owner, name, _ := strings.Cut(bf.Repo, "/")
			path := "/repos/" + owner + "/" + name + "/rulesets/" + itoa(rs.ID)
			if want := body(path); !bytes.Equal(want, rs.Body) {
				t.Errorf("%s: ruleset %d body is not the API's body byte for byte", bf.Target(), rs.ID)
			}
		}
	}
}

// checkReEvaluation asserts what an auditor relies on: the raw facts, once
// serialised, re-evaluate to the same findings.
func checkReEvaluation(t *testing.T, facts *Facts, findings []evidence.Finding, p *Policy) {
	t.Helper()
	data, err := json.Marshal(facts)
	if err != nil {
		t.Fatalf("facts do not serialise: %v", err)
	}
	var back Facts
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("facts do not deserialise: %v", err)
	}
	var again []evidence.Finding
	for _, bf := range back.Branches {
		again = append(again, Evaluate(bf, *p))
	}
	if !slices.EqualFunc(again, findings, findingEqual) {
		t.Errorf("re-evaluating the serialised facts gives other findings:\n%s\nwant:\n%s", golden.JSON(t, again), golden.JSON(t, findings))
	}
}

func findingEqual(a, b evidence.Finding) bool {
	return a.Target == b.Target && a.Status == b.Status && a.Summary == b.Summary && slices.Equal(a.Checks, b.Checks)
}
