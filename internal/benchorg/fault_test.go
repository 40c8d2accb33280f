package benchorg_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/benchorg"
)

// The fault tests run every collector against a small organisation, with a
// millisecond of latency, the client's retry waits shortened to
// milliseconds (a secondary limit's Retry-After: 1 is still honoured: a
// second).

func faultOrg(t *testing.T) *benchorg.Org {
	t.Helper()
	org, err := benchorg.New(benchorg.Config{Repos: 6, PRsPerDay: 5, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// faulty is the mix: 10% 502s, 1% connection resets, random
// secondary rate limits, and a slow endpoint (every combined status).
func faulty(seed uint64) benchorg.Options {
	return benchorg.Options{
		Latency: time.Millisecond,
		Faults: benchorg.Faults{
			Seed: seed, Percent502: 10, PercentReset: 1, PercentSecondary: 0.5, RetryAfter: 1,
			Slow: regexp.MustCompile(`/status$`), SlowDelay: 30 * time.Millisecond,
		},
	}
}

// TestFaultsRunCompletes: with the faults on, every collector completes
// (no error, nothing incomplete), and every kind of fault was served.
func TestFaultsRunCompletes(t *testing.T) {
	org := faultOrg(t)
	seen := map[string]int{}
	for _, name := range collectorNames {
		t.Run(name, func(t *testing.T) {
			srv, gh := serve(t, org, faulty(3), clientOpts{})
			mustCollect(t, name, org, gh)
			for k, v := range srv.FaultCounts() {
				seen[k] += v
			}
			t.Logf("%s: %d requests, faults %v, client retries %d", name, srv.Requests(), srv.FaultCounts(), gh.Stats.Retries())
		})
	}
	for _, k := range []string{benchorg.Fault502, benchorg.FaultReset, benchorg.FaultSecondary} {
		if seen[k] == 0 {
			t.Errorf("no %s fault was served (%v): the test proves nothing about it", k, seen)
		}
	}
}

// TestFaultsFindingsEqualFaultFree: the findings of a run with faults are
// those of the fault-free run, byte for byte (the collection time is
// fixed, so no timestamp differs).
func TestFaultsFindingsEqualFaultFree(t *testing.T) {
	org := faultOrg(t)
	for _, name := range collectorNames {
		t.Run(name, func(t *testing.T) {
			_, clean := serve(t, org, benchorg.Options{}, clientOpts{})
			want := mustCollect(t, name, org, clean)
			srv, gh := serve(t, org, faulty(11), clientOpts{})
			got := mustCollect(t, name, org, gh)
			if len(srv.FaultCounts()) == 0 {
				t.Fatal("no fault was served")
			}
			if w, g := findingsJSON(t, want.Findings), findingsJSON(t, got.Findings); w != g {
				t.Errorf("findings differ with faults %v:\nfault-free:\n%s\nwith faults:\n%s", srv.FaultCounts(), w, g)
			}
			if len(want.Findings) == 0 {
				t.Error("no findings: nothing compared")
			}
		})
	}
}

// TestFaultsUnobtainableIsNeverPass: an endpoint that answers 502 however
// often it is asked makes the findings that need it not_verifiable or
// error, naming the failure — never pass — and the result incomplete.
func TestFaultsUnobtainableIsNeverPass(t *testing.T) {
	org := faultOrg(t)
	repo := org.Repos[1].Name
	// merge-activity reads reviews over GraphQL and falls back to REST
	// when GraphQL fails: the reviews are unobtainable only when both fail
	// (the GraphQL endpoint's path cannot name one repository).
	cases := map[string]string{
		"merge-activity":    `^/graphql$|^/repos/[^/]+/` + repo + `/pulls/\d+/reviews$`,
		"ci-status":         `^/repos/[^/]+/` + repo + `/commits/[0-9a-f]{40}/check-runs$`,
		"branch-protection": `^/repos/[^/]+/` + repo + `/(branches/main/protection|rules/branches/main|rulesets/\d+)$`,
		"deployments":       `^/repos/[^/]+/` + repo + `/deployments/\d+/statuses$`,
	}
	// The findings that need the endpoint: for ci-status, the commits'
	// (the branch's finding is judged from the workflow and run listings,
	// which were read).
	needs := map[string]*regexp.Regexp{"ci-status": regexp.MustCompile(`/` + repo + `@[0-9a-f]{12}$`)}
	for _, name := range collectorNames {
		t.Run(name, func(t *testing.T) {
			o := benchorg.Options{Faults: benchorg.Faults{Fail: regexp.MustCompile(cases[name])}}
			srv, gh := serve(t, org, o, clientOpts{retryMax: 2})
			res, err := collect(t, name, org, gh)
			if srv.FaultCounts()[benchorg.FaultAlways] == 0 {
				t.Fatalf("the failing endpoint %s was never asked", cases[name])
			}
			if err != nil {
				// The whole collection failing is honest too: nothing is
				// reported as pass.
				t.Logf("collection failed: %v", err)
				return
			}
			if res.Incomplete == "" {
				t.Error("the result is not marked incomplete")
			}
			var affected int
			for _, f := range res.Findings {
				if !strings.Contains(f.Target, "/"+repo) || (needs[name] != nil && !needs[name].MatchString(f.Target)) {
					continue
				}
				affected++
				if f.Status == evidence.StatusPass || f.Status == evidence.StatusFail {
					t.Errorf("%s: %s although its data could not be read: %s", f.Target, f.Status, f.Summary)
				}
				if !strings.Contains(findingsJSON(t, []evidence.Finding{f}), "502") {
					t.Errorf("%s: %s without naming the failure (502): %s", f.Target, f.Status, f.Summary)
				}
				t.Logf("%s: %s: %s", f.Target, f.Status, f.Summary)
			}
			if affected == 0 {
				t.Errorf("no finding about %s", repo)
			}
			if statusCounts(res.Findings)[evidence.StatusPass] == 0 {
				t.Error("no other repository passed: the failure spread further than its endpoint")
			}
		})
	}
}
