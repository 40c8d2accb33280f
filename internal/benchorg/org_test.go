package benchorg_test

import (
	"testing"

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
