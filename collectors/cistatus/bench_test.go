package cistatus

import (
	"testing"

	"github.com/changeproof/changeproof/collectors"
)

// BenchmarkCollect500Commits collects a generated repository with 500
// commits in the window from the fake GitHub (no latency) and reports the
// requests per commit.
func BenchmarkCollect500Commits(b *testing.B) {
	srv, _, gh := serveFixture(b, memFixture(bigRepo(500, 1).build(b, "", [2]string{weekStart, weekEnd})), 0)
	c := newCollector(b, gh, mustTime(caseNow), 0)
	b.ReportAllocs()
	for b.Loop() {
		collect(b, c, bigScope, week(), NewPolicy())
	}
	b.ReportMetric(float64(srv.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Requests())/float64(b.N)/500, "requests/commit")
}

// BenchmarkCollectSampleOrg collects the sample organisation's demo week
// and reports the requests per commit judged.
func BenchmarkCollectSampleOrg(b *testing.B) {
	srv, _, gh := fakeGitHub(b, sampleOrg, 0)
	c := newCollector(b, gh, mustTime(caseNow), 0)
	scope := collectors.Scope{Orgs: []string{"acme"}}
	var commits int
	b.ReportAllocs()
	for b.Loop() {
		res := collect(b, c, scope, week(), NewPolicy())
		commits = 0
		for _, r := range res.Facts.(*Facts).Repos {
			commits += len(r.Commits)
		}
	}
	b.ReportMetric(float64(srv.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Requests())/float64(b.N)/float64(commits), "requests/commit")
}
