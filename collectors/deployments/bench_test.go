package deployments

import (
	"fmt"
	"testing"

	"github.com/changeproof/changeproof/internal/ghfake"
)

// BenchmarkCollectSample collects the demo (sample organisation's payments
// and web, sample Cloudflare account) from the fakes (no latency) and
// reports the requests per production deployment.
func BenchmarkCollectSample(b *testing.B) {
	e := newEnv(b, loadGitHub(b, sampleOrg), loadCloudflare(b, sampleAccount), envOptions{})
	c := e.collector(b, mustTime(caseNow))
	var deployments int
	b.ReportAllocs()
	for b.Loop() {
		res := collect(b, c, repos("acme/payments", "acme/web"), week(), samplePolicy())
		deployments = res.Facts.(*Facts).Population.Count
	}
	b.ReportMetric(float64(e.requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(e.requests())/float64(b.N)/float64(deployments), "requests/deployment")
}

// BenchmarkCollect500Deployments collects a repository with 500 production
// deployments in the window of 25 distinct commits (allowed direct pushes):
// each deployment costs its statuses, each commit its compare and trace
// once.
func BenchmarkCollect500Deployments(b *testing.B) {
	var deps []obj
	finals := map[int64]string{}
	var routes []ghfake.Route
	for i := 499; i >= 0; i-- {
		sha := fakeSHA(fmt.Sprintf("bench/%d", i%25))
		created := plusMinutes(at("16T00:00"), i*19)
		d := ghDeploymentJSON(api, int64(100000+i), sha, "main", "production", "github-actions[bot]", created)
		deps = append(deps, d)
		finals[int64(100000+i)] = "success"
	}
	for i := range 25 {
		sha := fakeSHA(fmt.Sprintf("bench/%d", i))
		routes = append(routes, directPushRoutes(api, sha, "release-bot[bot]", "15T09:00")...)
		routes = append(routes, compareRoute(api, "main", sha, "behind", 0, 1))
	}
	routes = append(append(routes, repoRoute(api, "main")), ghDeploymentRoutes(api, deps, finals)...)
	e := newEnv(b, &ghfake.Fixture{Routes: routes}, nil, envOptions{})
	c := e.collector(b, mustTime(caseNow))
	p := NewPolicy()
	p.Review.AllowedPushers = []string{"release-bot[bot]"}
	b.ReportAllocs()
	for b.Loop() {
		res := collect(b, c, repos(api), week(), p)
		if len(res.Findings) != 500 {
			b.Fatalf("%d findings", len(res.Findings))
		}
	}
	b.ReportMetric(float64(e.requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(e.requests())/float64(b.N)/500, "requests/deployment")
}
