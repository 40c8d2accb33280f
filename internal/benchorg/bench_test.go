package benchorg_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/branchprotection"
	"github.com/changeproof/changeproof/collectors/cistatus"
	"github.com/changeproof/changeproof/collectors/deployments"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/internal/benchorg"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/schedules"
)

// The wall-time benchmark's organisation: the is 200 repositories
// × 50 merged pull requests (-benchorg.wall-repos=200); the default is
// smaller so make bench stays in minutes (the ratio to the ideal does not
// depend on the number of repositories).
var (
	wallRepos   = flag.Int("benchorg.wall-repos", 20, "repositories of BenchmarkWallTime's organisation")
	wallPRs     = flag.Int("benchorg.wall-prs", 50, "merged pull requests per repository of BenchmarkWallTime's organisation")
	wallLatency = flag.Duration("benchorg.latency", 50*time.Millisecond, "latency per request of BenchmarkWallTime")
	memRepos    = flag.Int("benchorg.mem-repos", 1000, "repositories of BenchmarkPeakMemory's organisation")
	memPRs      = flag.Int("benchorg.mem-prs", 5, "merged pull requests per repository of BenchmarkPeakMemory's organisation")
)

// unlimited is the benchmarks' primary budget: they measure the requests a
// collection makes, not how it paces itself under GitHub's 5,000 an hour.
const unlimited = 1 << 30

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// minimumRequests is the fewest requests that read the same data as the
// collector, from the organisation's shape: listings in pages of 100, one
// call per item only where no listing carries its data.
//
//   - merge-activity, which lists merged pull requests over GraphQL: the
//     repository listing; per repository pulls.graphql in pages of GitHub's
//     largest, 100 pull requests (each carrying its reviews, commits and
//     head checks), and the branch's commits (pages).
//   - ci-status: the repository listing; per repository the commits, the
//     workflows and the branch's workflow runs (pages); per commit its check
//     runs and combined status.
//   - branch-protection: the repository listing; per repository its
//     protection and its branch rules; each repository ruleset once (the
//     rules listing does not carry bypass actors).
//   - deployments: the repository listing; per repository its deployments,
//     and its pull requests and branch commits (pages: which commit is on
//     the branch, which pull request merged it); per deployment its
//     statuses, and its pull request's reviews, commits, check runs and
//     combined status.
func minimumRequests(name string, org *benchorg.Org) int {
	r := len(org.Repos)
	p := org.Config.PRsPerDay * org.Config.Days
	d := org.DeploymentCount()
	per := ceilDiv(p, 100)
	base := ceilDiv(r, 100)
	switch name {
	case mergeactivity.Name:
		return base + r*2*per
	case cistatus.Name:
		return base + r*(per+1+per) + 2*p*r
	case branchprotection.Name:
		rulesets := 0
		for _, repo := range org.Repos {
			if repo.RulesetID != 0 {
				rulesets++
			}
		}
		return base + 2*r + rulesets
	case deployments.Name:
		return base + r*(ceilDiv(d/max(r, 1), 100)+2*per) + 5*d
	}
	panic("no minimum for " + name)
}

// minimumREST is, for merge-activity, the fewest requests over REST alone
// (github.graphql: false): the repository listing; per repository the
// closed pull requests and the branch's commits (pages); per merged pull
// request its reviews, its commits, and its head's check runs and combined
// status (no listing carries them). merged_by, which only GET pulls/{n}
// gives per item, is counted as free: the repository's issue events
// listing carries each "merged" event's actor, in pages. Zero for the
// others, which read over REST only.
func minimumREST(name string, org *benchorg.Org) int {
	if name != mergeactivity.Name {
		return 0
	}
	r := len(org.Repos)
	p := org.Config.PRsPerDay * org.Config.Days
	return ceilDiv(r, 100) + r*2*ceilDiv(p, 100) + 4*p*r
}

// items is what a collector's requests are per: merged pull requests, or
// deployments for the deployments collector.
func items(name string, org *benchorg.Org) (int, string) {
	if name == deployments.Name {
		return org.DeploymentCount(), "deployment"
	}
	return org.MergedPRs(), "PR"
}

func newOrg(b *testing.B, repos, prs int) *benchorg.Org {
	b.Helper()
	org, err := benchorg.New(benchorg.Config{Repos: repos, PRsPerDay: prs, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return org
}

// BenchmarkRequests counts each collector's requests on 20 repositories ×
// 50 merged pull requests (no latency), per repository and per merged
// pull request (per deployment for deployments), against the minimum the
// API allows for the same data, and logs the requests per endpoint.
func BenchmarkRequests(b *testing.B) {
	org := newOrg(b, 20, 50)
	for _, name := range collectorNames {
		b.Run(name, func(b *testing.B) {
			srv, gh := serve(b, org, benchorg.Options{RateLimit: unlimited}, clientOpts{})
			ops := 0
			for b.Loop() {
				mustCollect(b, name, org, gh)
				ops++
			}
			req := float64(srv.Requests()) / float64(ops)
			n, per := items(name, org)
			minimum := float64(minimumRequests(name, org))
			b.ReportMetric(req, "requests/op")
			b.ReportMetric(req/float64(len(org.Repos)), "requests/repo")
			b.ReportMetric(minimum/float64(len(org.Repos)), "min-requests/repo")
			if n > 0 {
				b.ReportMetric(req/float64(n), "requests/"+per)
				b.ReportMetric(minimum/float64(n), "min-requests/"+per)
			}
			by := srv.ByEndpoint()
			if rest := minimumREST(name, org); rest > 0 {
				b.ReportMetric(float64(by["POST /graphql"])/float64(ops*len(org.Repos)), "graphql-requests/repo")
				b.ReportMetric(float64(rest)/float64(n), "rest-min-requests/"+per)
			}
			for _, k := range sortedKeys(by) {
				b.Logf("%s: %7.1f/op %s", name, float64(by[k])/float64(ops), k)
			}
		})
	}
}

// BenchmarkWallTime collects with a latency per request and reports the
// wall time against the ideal requests × latency / concurrency, the
// concurrency being the most requests the server saw at once (at most the
// client's bound). A first,
// untimed collection warms the fake's memo of answers (Options.Memo).
func BenchmarkWallTime(b *testing.B) {
	org := newOrg(b, *wallRepos, *wallPRs)
	for _, name := range collectorNames {
		b.Run(fmt.Sprintf("%s/repos=%d/prs=%d", name, *wallRepos, *wallPRs), func(b *testing.B) {
			srv, gh := serve(b, org, benchorg.Options{Latency: *wallLatency, RateLimit: unlimited, Memo: true}, clientOpts{})
			// One collection first fills the fake's memo: GitHub's answer
			// takes the latency, not the latency plus the fake's CPU on
			// the client's two cores.
			mustCollect(b, name, org, gh)
			srv.Reset()
			var wall time.Duration
			ops := 0
			for b.Loop() {
				start := time.Now()
				mustCollect(b, name, org, gh)
				wall += time.Since(start)
				ops++
			}
			req := float64(srv.Requests()) / float64(ops)
			// The server may see one request more than the client sends
			// at once: a handler still returning when the client's next
			// request arrives.
			conc := min(srv.MaxInFlight(), gh.Concurrency())
			ideal := req * wallLatency.Seconds() / float64(conc)
			perOp := wall.Seconds() / float64(ops)
			b.ReportMetric(req, "requests/op")
			b.ReportMetric(float64(conc), "concurrency")
			b.ReportMetric(perOp, "wall-s/op")
			b.ReportMetric(ideal, "ideal-s/op")
			b.ReportMetric(perOp/ideal, "wall/ideal")
		})
	}
}

// heapInUse is HeapInuse as runtime/metrics gives it without stopping the
// world: the heap's object bytes and its unused (fragmented) bytes.
var heapSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}

func heapInUse() uint64 {
	s := make([]metrics.Sample, len(heapSamples))
	copy(s, heapSamples)
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// peakSampler records the largest heap in use, sampled every millisecond.
func peakSampler() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapInUse())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak, heapInUse())
	}
}

// BenchmarkPeakMemory reports the peak heap in use while collecting 1,000
// repositories (no latency), the fake server's answers included (they are
// built per request and short-lived), the heap before the collection, and
// the heap the result holds after a GC.
func BenchmarkPeakMemory(b *testing.B) {
	org := newOrg(b, *memRepos, *memPRs)
	for _, name := range collectorNames {
		b.Run(fmt.Sprintf("%s/repos=%d/prs=%d", name, *memRepos, *memPRs), func(b *testing.B) {
			_, gh := serve(b, org, benchorg.Options{RateLimit: unlimited}, clientOpts{})
			var peak, base, live uint64
			for b.Loop() {
				runtime.GC()
				base = max(base, heapInUse())
				stop := peakSampler()
				res := mustCollect(b, name, org, gh)
				peak = max(peak, stop())
				runtime.GC()
				live = max(live, heapInUse())
				runtime.KeepAlive(res)
			}
			const mib = 1 << 20
			b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
			b.ReportMetric(float64(base)/mib, "base-heap-MiB")
			// The result's facts, live after a GC: what the collection holds.
			b.ReportMetric(float64(live)/mib, "result-heap-MiB")
		})
	}
}

// BenchmarkPeakMemoryRecorded is BenchmarkPeakMemory through the whole
// pipeline, as a scheduled run does it: collect, then sign the evidence and
// its raw facts and write them to a file store. Signing holds the facts,
// their canonical JSON and the envelope at once, so this is the heap a
// deployment must allow for.
func BenchmarkPeakMemoryRecorded(b *testing.B) {
	org := newOrg(b, *memRepos, *memPRs)
	for _, name := range collectorNames {
		b.Run(fmt.Sprintf("%s/repos=%d/prs=%d", name, *memRepos, *memPRs), func(b *testing.B) {
			_, gh := serve(b, org, benchorg.Options{RateLimit: unlimited}, clientOpts{})
			var peak, base uint64
			for b.Loop() {
				runner, _, _ := collectortest.Pipeline(b)
				runtime.GC()
				base = max(base, heapInUse())
				stop := peakSampler()
				c := info(b, name).New(collectors.Deps{GitHub: gh, Now: func() time.Time { return collectedAt(org) }})
				req := collectors.Request{
					Scope:  collectors.Scope{Orgs: []string{org.Config.Org}},
					Window: schedules.Window{Start: org.Config.Start, End: org.End},
					Policy: c.NewPolicy(),
				}
				out, err := runner.Run(context.Background(), c, req)
				peak = max(peak, stop())
				if err != nil || out.CollectErr != nil {
					b.Fatalf("%s: %v %v", name, err, out.CollectErr)
				}
			}
			const mib = 1 << 20
			b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
			b.ReportMetric(float64(base)/mib, "base-heap-MiB")
		})
	}
}
