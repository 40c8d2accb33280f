package collectortest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/schedules"
)

// HostileBodies are what a broken or hostile API might answer, seeded for
// every route of every collector's fuzz target: a huge page, empty and
// truncated JSON, nulls, wrong types, a number too large for any type.
// Each collector adds the shapes of its own payloads.
var HostileBodies = []string{
	"[" + strings.Repeat(`{"id":1,"sha":null,"user":null},`, 2999) + "null]",
	"", "null", "{}", "[]", "[null]", "{", `{"url":`, "\"x\"", "1e400",
}

// SeedRoutes adds, for route ri of case ci (which = ci<<8 | ri), the route's
// own body and every hostile body (HostileBodies and extra).
func SeedRoutes(f *testing.F, ci int, bodies [][]byte, extra []string) {
	for ri, body := range bodies {
		which := uint16(ci<<8 | ri)
		f.Add(which, body)
		for _, h := range HostileBodies {
			f.Add(which, []byte(h))
		}
		for _, h := range extra {
			f.Add(which, []byte(h))
		}
	}
}

// Pick splits a fuzz input's which into the case and route it corrupts.
func Pick(which uint16, cases, routes int) (ci, ri int) {
	return int(which>>8) % cases, int(which&0xff) % routes
}

// CheckFuzzResult is what every collector must do with a hostile answer:
// return an error, or a result whose findings have known statuses, none
// better than its worst check. It never panics (the fuzzer reports that).
func CheckFuzzResult(t *testing.T, res *collectors.Result, err error) {
	t.Helper()
	if err != nil {
		return
	}
	if res == nil {
		t.Fatal("Collect returned neither a result nor an error")
	}
	for _, fd := range res.Findings {
		if !fd.Status.Valid() {
			t.Fatalf("finding %s has status %q", fd.Target, fd.Status)
		}
		for _, ck := range fd.Checks {
			if evidence.Worse(fd.Status, ck.Status) != fd.Status {
				t.Fatalf("finding %s is %q over a %q check", fd.Target, fd.Status, ck.Status)
			}
		}
	}
}

// FuzzCase is one golden case a GitHub collector's fuzz target corrupts.
type FuzzCase struct {
	Fixture *ghfake.Fixture
	// MaxPerPage is the fake's page size limit, when the case sets one.
	MaxPerPage int
	// Collect builds the collector over gh and collects the case.
	Collect func(t *testing.T, gh *githubapi.Client, log *slog.Logger) (*collectors.Result, error)
}

// FuzzGitHubRoutes is a GitHub collector's fuzz target: it seeds every
// route of every case with its own body and the hostile ones (extra among
// them), then serves a case with one route's body replaced by the fuzzer's
// bytes, collects it, and checks the result with CheckFuzzResult.
func FuzzGitHubRoutes(f *testing.F, token string, cases []FuzzCase, extra []string) {
	for ci, c := range cases {
		var bodies [][]byte
		for _, r := range c.Fixture.Routes {
			bodies = append(bodies, []byte(r.Body))
		}
		SeedRoutes(f, ci, bodies, extra)
	}
	f.Fuzz(func(t *testing.T, which uint16, body []byte) {
		ci, _ := Pick(which, len(cases), 1)
		c := cases[ci]
		routes := slices.Clone(c.Fixture.Routes)
		_, ri := Pick(which, 1, len(routes))
		routes[ri].Body = body
		opts := []ghfake.Option{ghfake.WithToken(token)}
		if c.MaxPerPage > 0 {
			opts = append(opts, ghfake.WithMaxPerPage(c.MaxPerPage))
		}
		srv := ghfake.New(&ghfake.Fixture{Routes: routes}, opts...)
		log := slog.New(slog.DiscardHandler)
		_, gh := GitHubClient(t, srv, srv, token, log)
		res, err := c.Collect(t, gh, log)
		CheckFuzzResult(t, res, err)
	})
}

// goldenCase is what the fuzz targets read of a golden case's case.json.
type goldenCase struct {
	Scope      collectors.Scope `json:"scope"`
	Window     schedules.Window `json:"window"`
	Now        time.Time        `json:"now"`
	Policy     json.RawMessage  `json:"policy"`
	MaxPerPage int              `json:"max_per_page"`
}

// FuzzGoldenCases turns golden case directories (routes.json and
// case.json: scope, window, now, policy overrides, max_per_page) into the
// cases of FuzzGitHubRoutes, each collecting with a collector newCollector
// builds, under the collector's default policy and the case's overrides,
// at the case's time (now, when it gives none).
func FuzzGoldenCases(f *testing.F, dirs []string, newCollector func(collectors.Deps) collectors.Collector) []FuzzCase {
	var cases []FuzzCase
	for _, dir := range dirs {
		fx := LoadGitHub(f, dir)
		data, err := os.ReadFile(filepath.Join(dir, "case.json"))
		if err != nil {
			f.Fatal(err)
		}
		var gc goldenCase
		if err := json.Unmarshal(data, &gc); err != nil {
			f.Fatalf("%s/case.json: %v", dir, err)
		}
		cases = append(cases, FuzzCase{Fixture: fx, MaxPerPage: gc.MaxPerPage,
			Collect: func(t *testing.T, gh *githubapi.Client, log *slog.Logger) (*collectors.Result, error) {
				now := time.Now
				if !gc.Now.IsZero() {
					now = func() time.Time { return gc.Now }
				}
				c := newCollector(collectors.Deps{GitHub: gh, Logger: log, Now: now})
				p := c.NewPolicy()
				if len(gc.Policy) > 0 {
					if err := json.Unmarshal(gc.Policy, p); err != nil {
						t.Fatal(err)
					}
				}
				return c.Collect(context.Background(), collectors.Request{Scope: gc.Scope, Window: gc.Window, Policy: p})
			}})
	}
	return cases
}
