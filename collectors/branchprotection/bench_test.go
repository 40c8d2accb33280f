package branchprotection

import (
	"testing"

	"github.com/changeproof/changeproof/collectors"
)

// BenchmarkCollectSampleOrg collects the sample organisation from the fake
// GitHub (no latency) and reports the requests one collection makes.
func BenchmarkCollectSampleOrg(b *testing.B) {
	srv, gh := fakeGitHub(b, sampleOrg)
	c := newCollector(b, gh, 0)
	scope := collectors.Scope{Orgs: []string{"acme"}}
	var branches int
	b.ReportAllocs()
	for b.Loop() {
		res := collect(b, c, scope, NewPolicy())
		branches = len(res.Findings)
	}
	b.ReportMetric(float64(srv.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Requests()-b.N)/float64(b.N)/float64(branches), "requests/repo")
}
