package coveragepage_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/coveragepage"
)

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

// sampleReport is a hand-built report: a daily job with one missing
// window and one failing window, a control and one problem.
func sampleReport() *coverage.Report {
	var ws []coverage.Window
	counts := map[coverage.WindowStatus]int{}
	for d := 1; d <= 5; d++ {
		w := coverage.Window{Start: day(d), End: day(d + 1), Status: coverage.WindowPass, Run: "runs/bp-daily/x.json", Evidence: []string{"evidence/branch-protection/acme/x.json"}}
		switch d {
		case 3:
			w = coverage.Window{Start: day(d), End: day(d + 1), Status: coverage.WindowMissing, Reason: "no run record accounts for the window"}
		case 4:
			w.Status = coverage.WindowFail
		}
		counts[w.Status]++
		ws = append(ws, w)
	}
	for _, s := range coverage.WindowStatuses {
		counts[s] += 0
	}
	return &coverage.Report{
		SchemaVersion: coverage.SchemaVersion,
		Store:         "file:///srv/evidence",
		Period:        coverage.Period{From: day(1), To: day(6)},
		GeneratedAt:   day(6).Add(time.Hour),
		Controls: []coverage.Control{{
			Framework: "SOC 2", ID: "CC8.1", Title: "Change management", Jobs: []string{"bp-daily"},
			Expected: 5, Covered: 4, Ratio: 0.8, Status: evidence.StatusNotVerifiable, Counts: counts,
		}},
		Jobs: []coverage.Job{{
			Name: "bp-daily", Collector: "branch-protection", Schedule: "@daily", TimeZone: "UTC", Controls: []string{"CC8.1"},
			Expected: 5, Covered: 4, Ratio: 0.8, Counts: counts, Windows: ws,
			Gaps:      []coverage.Gap{{Start: day(3), End: day(4), Status: coverage.WindowMissing, Windows: 1, Reason: "no run record accounts for the window"}},
			Freshness: coverage.Freshness{LastCoveredEnd: day(6), AgeSeconds: 3600},
		}},
		Exceptions: []coverage.Exception{{
			Job: "bp-daily", Controls: []string{"CC8.1"}, Window: coverage.Period{From: day(4), To: day(5)},
			Evidence: "evidence/branch-protection/acme/x.json", Target: "github.com/acme/api@main",
			Status: evidence.StatusFail, Summary: "<script>alert(1)</script> requires 0 approvals, want 1",
		}},
		Problems: []coverage.Problem{{Key: "runs/bp-daily/2026/11/02/y.json", Reason: "signature does not verify"}},
	}
}

func render(t *testing.T, rep *coverage.Report, opts coveragepage.Options) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := coveragepage.Render(&buf, rep, opts); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), doc
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// find returns every element for which match is true, in document order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestThePageShowsTheGapTheExceptionAndTheProblem(t *testing.T) {
	out, doc := render(t, sampleReport(), coveragepage.Options{
		Subtitle:    "Acme Corp, SOC 2 Type II",
		EvidenceURL: func(k string) string { return "api/v1/evidence/" + k },
	})

	wins := find(doc, func(n *html.Node) bool { return hasClass(n, "win") })
	if len(wins) != 5 {
		t.Fatalf("%d timeline blocks, want one per window (5)", len(wins))
	}
	var statuses []string
	for _, w := range wins {
		statuses = append(statuses, attr(w, "data-status"))
	}
	if got := strings.Join(statuses, ","); got != "pass,pass,missing,fail,pass" {
		t.Fatalf("timeline statuses = %s", got)
	}
	missing := wins[2]
	if title := attr(missing, "title"); !strings.Contains(title, "Gap") || !strings.Contains(title, "2026-11-03 00:00 UTC – 2026-11-04 00:00 UTC") || !strings.Contains(title, "no run record accounts for the window") {
		t.Errorf("missing window title = %q", title)
	}
	if attr(missing, "data-start") != "2026-11-03T00:00:00Z" || attr(missing, "href") != "#job-bp-daily-gap-1" {
		t.Errorf("missing window: start %q href %q", attr(missing, "data-start"), attr(missing, "href"))
	}
	gaps := find(doc, func(n *html.Node) bool { return n.Data == "li" && hasClass(n, "gap") })
	if len(gaps) != 1 || attr(gaps[0], "id") != "job-bp-daily-gap-1" || attr(gaps[0], "data-status") != "missing" ||
		text(gaps[0]) != "Missing: 2026-11-03 00:00 UTC – 2026-11-04 00:00 UTC (1 window)no run record accounts for the window" {
		t.Fatalf("gap list = %d, %q", len(gaps), text(gaps[0]))
	}

	controls := find(doc, func(n *html.Node) bool { return hasClass(n, "control") })
	if len(controls) != 1 || attr(controls[0], "data-control") != "CC8.1" || attr(controls[0], "data-status") != "not_verifiable" ||
		!strings.Contains(text(controls[0]), "4 / 5") || !strings.Contains(text(controls[0]), "80%") {
		t.Fatalf("control row: %q", text(controls[0]))
	}

	exc := find(doc, func(n *html.Node) bool { return hasClass(n, "exception") })
	if len(exc) != 1 || attr(exc[0], "data-status") != "fail" || !strings.Contains(text(exc[0]), "<script>alert(1)</script> requires 0 approvals") {
		t.Fatalf("exceptions: %v", exc)
	}
	links := find(exc[0], func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "api/") })
	if len(links) != 1 || attr(links[0], "href") != "api/v1/evidence/evidence/branch-protection/acme/x.json" {
		t.Errorf("evidence link: %v", links)
	}
	probs := find(doc, func(n *html.Node) bool { return hasClass(n, "problem") })
	if len(probs) != 1 || !strings.Contains(text(probs[0]), "signature does not verify") {
		t.Fatalf("problems: %v", probs)
	}
	if v := find(doc, func(n *html.Node) bool { return attr(n, "id") == "verdict" }); len(v) != 1 || !hasClass(v[0], "bad") {
		t.Errorf("verdict banner: %v", v)
	}

	// Self-contained: no script (the summary's tag is escaped text), no
	// external resource.
	if s := find(doc, func(n *html.Node) bool {
		return n.Data == "script" || n.Data == "link" || n.Data == "img" || n.Data == "iframe"
	}); len(s) > 0 {
		t.Errorf("the page has a %s element", s[0].Data)
	}
	for _, n := range find(doc, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if (a.Key == "href" || a.Key == "src" || a.Key == "action") && strings.Contains(a.Val, "://") {
				t.Errorf("<%s %s=%q> leaves the page", n.Data, a.Key, a.Val)
			}
		}
	}
	for _, bad := range []string{"@import", "url("} {
		if strings.Contains(out, bad) {
			t.Errorf("the page's style loads something: %q", bad)
		}
	}
	for _, want := range []string{"Acme Corp, SOC 2 Type II", coveragepage.DefaultTitle, "file:///srv/evidence", "2026-11-01 00:00 UTC – 2026-11-06 00:00 UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestLongTimelinesMergeWindowsOfOneStatus(t *testing.T) {
	rep := sampleReport()
	j := &rep.Jobs[0]
	j.Windows = nil
	start := day(1)
	for i := range 2000 {
		w := coverage.Window{Start: start.Add(time.Duration(i) * time.Minute), End: start.Add(time.Duration(i+1) * time.Minute), Status: coverage.WindowPass}
		if i >= 1000 && i < 1010 {
			w.Status = coverage.WindowMissing
		}
		j.Windows = append(j.Windows, w)
	}
	_, doc := render(t, rep, coveragepage.Options{})
	wins := find(doc, func(n *html.Node) bool { return hasClass(n, "win") })
	if len(wins) != 3 {
		t.Fatalf("%d blocks for pass, missing, pass, want 3", len(wins))
	}
	if title := attr(wins[1], "title"); attr(wins[1], "data-status") != "missing" || !strings.Contains(title, "(10 windows)") || attr(wins[1], "data-start") != "2026-11-01T16:40:00Z" || attr(wins[1], "data-end") != "2026-11-01T16:50:00Z" {
		t.Fatalf("merged gap block: %q %v", title, wins[1].Attr)
	}
}

func TestAnEmptyReportStillRenders(t *testing.T) {
	rep := &coverage.Report{SchemaVersion: coverage.SchemaVersion, Store: "file:///x", Period: coverage.Period{From: day(1), To: day(2)}, GeneratedAt: day(2)}
	out, _ := render(t, rep, coveragepage.Options{Title: "Empty"})
	for _, want := range []string{"<title>Empty", "No window was expected in this period", "No exceptions", "No verification problems"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if err := coveragepage.Render(&bytes.Buffer{}, nil, coveragepage.Options{}); err == nil {
		t.Error("a nil report rendered")
	}
}

func TestRatiosAreNeverRoundedUpToFull(t *testing.T) {
	rep := sampleReport()
	rep.Controls[0].Covered, rep.Controls[0].Expected, rep.Controls[0].Ratio = 9999, 10000, 0.9999
	_, doc := render(t, rep, coveragepage.Options{})
	r := find(doc, func(n *html.Node) bool { return hasClass(n, "ratio") })
	if len(r) == 0 || text(r[0]) != "99.9%" {
		t.Fatalf("ratio %v", r)
	}
}
