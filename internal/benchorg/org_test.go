package benchorg_test

import (
	"log/slog"
	"testing"

	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"

	"github.com/changeproof/changeproof/internal/benchorg"
)

// TestCollectorsOnTheOrg runs every collector against a small fault-free
// organisation and shows what it found and asked: the baseline the fault
// tests compare with.
func TestCollectorsOnTheOrg(t *testing.T) {
	org, err := benchorg.New(benchorg.Config{Repos: 6, PRsPerDay: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range collectorNames {
		t.Run(name, func(t *testing.T) {
			srv, gh := serve(t, org, benchorg.Options{}, clientOpts{})
			res := mustCollect(t, name, org, gh)
			t.Logf("%s: %d findings %v, %d requests", name, len(res.Findings), statusCounts(res.Findings), res.Requests)
			by := srv.ByEndpoint()
			for _, k := range sortedKeys(by) {
				t.Logf("  %5d %s", by[k], k)
			}
			for _, f := range res.Findings {
				if f.Status != "pass" {
					t.Logf("  %s %s: %s", f.Status, f.Target, f.Summary)
				}
			}
		})
	}
}

// TestFixtureServesWhatTheServerServes: the precomputed ghfake fixture is
// valid and gives every collector the findings the lazy server gives.
func TestFixtureServesWhatTheServerServes(t *testing.T) {
	org, err := benchorg.New(benchorg.Config{Repos: 4, PRsPerDay: 5, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	fx := org.Fixture()
	if err := fx.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, name := range collectorNames {
		t.Run(name, func(t *testing.T) {
			_, lazy := serve(t, org, benchorg.Options{}, clientOpts{})
			want := mustCollect(t, name, org, lazy)
			fake := ghfake.New(fx)
			_, gh := collectortest.GitHubClient(t, fake, fake, collectortest.Token, collectortest.Logger(t, slog.LevelWarn))
			got := mustCollect(t, name, org, gh)
			if w, g := findingsJSON(t, want.Findings), findingsJSON(t, got.Findings); w != g {
				t.Errorf("findings differ:\nserver:\n%s\nfixture:\n%s", w, g)
			}
		})
	}
}

// TestNewRefusesBadConfig: bad sizes are one-line errors.
func TestNewRefusesBadConfig(t *testing.T) {
	for _, c := range []benchorg.Config{{Repos: -1}, {PRsPerDay: -2}, {SelfApprovalPercent: 101}, {Repos: 100_001}} {
		if _, err := benchorg.New(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
