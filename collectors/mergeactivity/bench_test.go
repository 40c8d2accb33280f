package mergeactivity

import (
	"testing"

	"github.com/changeproof/changeproof/collectors"
)

// BenchmarkCollect500PRs collects a generated repository with 500 pull
// requests merged in the window from the fake GitHub (no latency) and
// reports the requests per merged pull request.
func BenchmarkCollect500PRs(b *testing.B) {
	srv, gh := serveFixture(b, memFixture(bigRepo(500).build(b, "", true)))
	c := newCollector(b, gh, mustTime(caseNow), 0)
	scope := collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "big"}}}
	b.ReportAllocs()
	for b.Loop() {
		collect(b, c, scope, week(), NewPolicy())
	}
	b.ReportMetric(float64(srv.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Requests())/float64(b.N)/500, "requests/PR")
}

// BenchmarkCollectSampleOrg collects the sample organisation's demo week and
// reports the requests per merged pull request.
func BenchmarkCollectSampleOrg(b *testing.B) {
	srv, gh := fakeGitHub(b, sampleOrg)
	c := newCollector(b, gh, mustTime(caseNow), 0)
	scope := collectors.Scope{Orgs: []string{"acme"}}
	var merged int
	b.ReportAllocs()
	for b.Loop() {
		res := collect(b, c, scope, week(), NewPolicy())
		merged = 0
		for _, r := range res.Facts.(*Facts).Repos {
			for _, ch := range r.Changes {
				if ch.Kind == KindPull && ch.Population == InWindow {
					merged++
				}
			}
		}
	}
	b.ReportMetric(float64(srv.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Requests())/float64(b.N)/float64(merged), "requests/PR")
}
