// Package coveragepage renders a coverage.Report as one self-contained HTML
// page: inline CSS, no script, no external resource, so it reads the same
// served by `changeproof serve`, opened from an auditor's bundle offline, or
// printed to PDF.
//
// The page shows, per control, its status and how many of its expected
// windows verified evidence covers; per job, a timeline of its windows
// coloured by status (gaps hatched, each linked to the list of gaps with
// their reasons) and its freshness; then every exception and every
// verification problem.
//
// Elements tests and scrapers may rely on: #summary, #verdict, #controls,
// #jobs, #exceptions, #problems; each control row
// tr.control#control-<framework>-<id>[data-control][data-status]; each job
// section.job#job-<name>[data-job][data-status][data-stale]; each timeline
// block .timeline .win[data-status][data-start][data-end] (its title and
// aria-label say what it is; a gap links to its entry in the gap list);
// each gap li.gap#job-<name>-gap-<n>[data-status]; each exception
// tr.exception[data-status][data-job]; each problem tr.problem.
package coveragepage

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/coverage"
)

// DefaultTitle is the page title when Options.Title is empty.
const DefaultTitle = "Change-management evidence coverage"

// Options adjust the page.
type Options struct {
	// Title is the page's heading; DefaultTitle when empty.
	Title string
	// Subtitle is a line under the title (an organisation, an audit).
	Subtitle string
	// EvidenceURL, when set, turns each evidence and run key into a link
	// to what it returns (the server's download URL, a file in a bundle).
	EvidenceURL func(key string) string
}

// maxBlocks is the number of windows above which a timeline merges
// consecutive windows of the same status into one block, so that a job
// running every minute still makes a page a browser can draw.
const maxBlocks = 400

// timeLayout formats every time on the page; all are UTC.
const timeLayout = "2006-01-02 15:04 UTC"

//go:embed page.html.tmpl
var pageTemplate string

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"label": func(s coverage.WindowStatus) string { return Label(s) },
	"evidenceLabel": func(s evidence.Status) string {
		if s == "" {
			return "No windows expected"
		}
		return Label(coverage.WindowStatus(s))
	},
}).Parse(pageTemplate))

// Render writes the page for rep to w.
func Render(w io.Writer, rep *coverage.Report, opts Options) error {
	if rep == nil {
		return fmt.Errorf("coverage page: no report")
	}
	if err := tmpl.Execute(w, build(rep, opts)); err != nil {
		return fmt.Errorf("rendering the coverage page: %w", err)
	}
	return nil
}

// Label is how the page names a window status.
func Label(s coverage.WindowStatus) string {
	switch s {
	case coverage.WindowPass:
		return "Pass"
	case coverage.WindowFail:
		return "Fail"
	case coverage.WindowNotVerifiable:
		return "Not verifiable"
	case coverage.WindowError:
		return "Error"
	case coverage.WindowMissed:
		return "Missed"
	case coverage.WindowFailed:
		return "Run failed"
	case coverage.WindowMissing:
		return "Missing"
	case coverage.WindowUnverifiable:
		return "Unverifiable"
	}
	return string(s)
}

// describe says what a window status means, for the legend and tooltips.
func describe(s coverage.WindowStatus) string {
	switch s {
	case coverage.WindowPass:
		return "covered by verified evidence; every finding passed"
	case coverage.WindowFail:
		return "covered by verified evidence with failing findings"
	case coverage.WindowNotVerifiable:
		return "covered by verified evidence with findings that could not be checked"
	case coverage.WindowError:
		return "covered by verified evidence of a collection that failed or was partial"
	case coverage.WindowMissed:
		return "gap: a signed run record says the window was not collected"
	case coverage.WindowFailed:
		return "gap: the run for this window failed and no later run covered it"
	case coverage.WindowMissing:
		return "gap: no run record accounts for the window"
	case coverage.WindowUnverifiable:
		return "gap: the run record or its evidence does not verify"
	}
	return ""
}

type view struct {
	Title, Subtitle string
	Rep             *coverage.Report
	Store           string
	From, To        string
	Generated       string
	Banner          banner
	Cards           []card
	Legend          []legendItem
	Controls        []controlView
	Jobs            []jobView
	Exceptions      []exceptionView
	Problems        []coverage.Problem
}

type banner struct {
	Class, Text string
}

type card struct {
	ID, Label, Value, Note, Class string
}

type legendItem struct {
	Status      coverage.WindowStatus
	Label, Text string
	Gap         bool
}

type count struct {
	Status coverage.WindowStatus
	Label  string
	N      int
}

type controlView struct {
	HTMLID, Framework, ID, Title string
	Status                       string
	RawStatus                    evidence.Status
	Covered, Expected            int
	Percent                      string
	RatioWidth                   float64
	Jobs                         []jobLink
	Counts                       []count
}

type jobLink struct{ Name, HTMLID string }

type jobView struct {
	HTMLID, Name, Collector, Schedule, TimeZone string
	Status                                      string
	RawStatus                                   evidence.Status
	Controls                                    []string
	Covered, Expected                           int
	Percent                                     string
	RatioWidth                                  float64
	Counts                                      []count
	Blocks                                      []block
	Merged                                      bool
	AxisStart, AxisEnd                          string
	Gaps                                        []gapView
	Fresh                                       freshView
}

type block struct {
	Status     coverage.WindowStatus
	Gap        bool
	Grow       float64
	Start, End string
	Title      string
	Href       string
}

type gapView struct {
	HTMLID     string
	Status     coverage.WindowStatus
	Label      string
	Start, End string
	Windows    int
	Reason     string
}

type freshView struct {
	Last  string
	Age   string
	Stale bool
	Never bool
}

type exceptionView struct {
	Job      string
	JobID    string
	Controls string
	Window   string
	Evidence string
	Link     string
	Target   string
	Status   evidence.Status
	Label    string
	Verdict  string
	Summary  string
}

func build(rep *coverage.Report, opts Options) *view {
	v := &view{
		Title:     opts.Title,
		Subtitle:  opts.Subtitle,
		Rep:       rep,
		Store:     rep.Store,
		From:      fmtTime(rep.Period.From),
		To:        fmtTime(rep.Period.To),
		Generated: fmtTime(rep.GeneratedAt),
		Problems:  rep.Problems,
	}
	if v.Title == "" {
		v.Title = DefaultTitle
	}
	for _, s := range coverage.WindowStatuses {
		v.Legend = append(v.Legend, legendItem{Status: s, Label: Label(s), Text: describe(s), Gap: !s.Covered()})
	}
	jobIDs := map[string]string{}
	for _, j := range rep.Jobs {
		jobIDs[j.Name] = "job-" + slug(j.Name)
	}
	passing, withWindows := 0, 0
	for _, c := range rep.Controls {
		cv := controlView{
			HTMLID:    "control-" + slug(c.Framework+"-"+c.ID),
			Framework: c.Framework, ID: c.ID, Title: c.Title,
			Status: string(c.Status), RawStatus: c.Status,
			Covered: c.Covered, Expected: c.Expected,
			Percent: percent(c.Ratio), RatioWidth: width(c.Ratio),
			Counts: counts(c.Counts),
		}
		if cv.Status == "" {
			cv.Status = "none"
		} else {
			withWindows++
			if c.Status == evidence.StatusPass {
				passing++
			}
		}
		for _, j := range c.Jobs {
			cv.Jobs = append(cv.Jobs, jobLink{Name: j, HTMLID: jobIDs[j]})
		}
		v.Controls = append(v.Controls, cv)
	}
	expected, covered, gaps, gapWindows, stale := 0, 0, 0, 0, 0
	for _, j := range rep.Jobs {
		jv := buildJob(j, jobIDs[j.Name], rep.GeneratedAt, opts)
		expected += j.Expected
		covered += j.Covered
		gaps += len(j.Gaps)
		for _, g := range j.Gaps {
			gapWindows += g.Windows
		}
		if j.Freshness.Stale {
			stale++
		}
		v.Jobs = append(v.Jobs, jv)
	}
	for _, e := range rep.Exceptions {
		ev := exceptionView{
			Job: e.Job, JobID: jobIDs[e.Job], Controls: strings.Join(e.Controls, ", "),
			Window:   fmtTime(e.Window.From) + " – " + fmtTime(e.Window.To),
			Evidence: e.Evidence, Target: e.Target, Status: e.Status,
			Label: Label(coverage.WindowStatus(e.Status)), Verdict: e.Verdict, Summary: e.Summary,
		}
		if opts.EvidenceURL != nil && e.Evidence != "" {
			ev.Link = opts.EvidenceURL(e.Evidence)
		}
		v.Exceptions = append(v.Exceptions, ev)
	}

	v.Cards = []card{
		{ID: "card-controls", Label: "Controls passing", Value: fmt.Sprintf("%d / %d", passing, withWindows), Note: "every expected window covered and passed", Class: okClass(passing == withWindows)},
		{ID: "card-windows", Label: "Windows covered", Value: fmt.Sprintf("%d / %d", covered, expected), Note: percent(ratio(covered, expected)) + " of the expected windows", Class: okClass(covered == expected)},
		{ID: "card-gaps", Label: "Gaps", Value: strconv.Itoa(gaps), Note: fmt.Sprintf("%d window(s) without verified evidence", gapWindows), Class: okClass(gaps == 0)},
		{ID: "card-exceptions", Label: "Exceptions", Value: strconv.Itoa(len(rep.Exceptions)), Note: "findings that did not pass", Class: warnClass(len(rep.Exceptions) == 0)},
		{ID: "card-problems", Label: "Verification problems", Value: strconv.Itoa(len(rep.Problems)), Note: "files that do not verify", Class: okClass(len(rep.Problems) == 0)},
	}
	if stale > 0 {
		v.Cards = append(v.Cards, card{ID: "card-stale", Label: "Jobs behind schedule", Value: strconv.Itoa(stale), Note: "newest window not yet covered", Class: "bad"})
	}
	switch {
	case len(rep.Problems) > 0:
		v.Banner = banner{"bad", fmt.Sprintf("%d verification problem(s): some stored files do not verify. The evidence they carry is not counted.", len(rep.Problems))}
	case expected == 0:
		v.Banner = banner{"warn", "No window was expected in this period: nothing to show yet."}
	case gaps > 0:
		v.Banner = banner{"bad", fmt.Sprintf("%d gap(s): %d of %d expected window(s) have no verified evidence.", gaps, gapWindows, expected)}
	case passing < withWindows:
		v.Banner = banner{"warn", fmt.Sprintf("Every expected window is covered by verified evidence; %d exception(s) to review.", len(rep.Exceptions))}
	default:
		v.Banner = banner{"ok", "Every expected window is covered by verified evidence, and every finding passed."}
	}
	return v
}

func buildJob(j coverage.Job, id string, now time.Time, opts Options) jobView {
	jv := jobView{
		HTMLID: id, Name: j.Name, Collector: j.Collector, Schedule: j.Schedule, TimeZone: j.TimeZone,
		Status: string(j.Status), RawStatus: j.Status,
		Controls: j.Controls, Covered: j.Covered, Expected: j.Expected,
		Percent: percent(j.Ratio), RatioWidth: width(j.Ratio), Counts: counts(j.Counts),
	}
	if jv.Status == "" {
		jv.Status = "none"
	}
	gapIndex := func(t time.Time) string {
		for i, g := range j.Gaps {
			if !t.Before(g.Start) && t.Before(g.End) {
				return fmt.Sprintf("#%s-gap-%d", id, i+1)
			}
		}
		return ""
	}
	for i, g := range j.Gaps {
		jv.Gaps = append(jv.Gaps, gapView{
			HTMLID: fmt.Sprintf("%s-gap-%d", id, i+1), Status: g.Status, Label: Label(g.Status),
			Start: fmtTime(g.Start), End: fmtTime(g.End), Windows: g.Windows, Reason: g.Reason,
		})
	}
	if n := len(j.Windows); n > 0 {
		jv.AxisStart, jv.AxisEnd = fmtTime(j.Windows[0].Start), fmtTime(j.Windows[n-1].End)
	}
	jv.Merged = len(j.Windows) > maxBlocks
	for i := 0; i < len(j.Windows); {
		w := j.Windows[i]
		k := i + 1
		if jv.Merged {
			for k < len(j.Windows) && j.Windows[k].Status == w.Status && j.Windows[k].Start.Equal(j.Windows[k-1].End) {
				k++
			}
		}
		last := j.Windows[k-1]
		b := block{
			Status: w.Status, Gap: !w.Status.Covered(),
			Grow:  max(last.End.Sub(w.Start).Seconds(), 1),
			Start: w.Start.UTC().Format(time.RFC3339), End: last.End.UTC().Format(time.RFC3339),
		}
		span := fmtTime(w.Start) + " – " + fmtTime(last.End)
		if k-i > 1 {
			span = fmt.Sprintf("%s (%d windows)", span, k-i)
		}
		title := Label(w.Status) + ": " + span
		if b.Gap {
			title = "Gap, " + title
			reason := w.Reason
			if reason == "" {
				reason = describe(w.Status)
			}
			title += ": " + reason
			b.Href = gapIndex(w.Start)
		} else if len(w.Evidence) > 0 {
			title += fmt.Sprintf(" (%d evidence envelope(s))", len(w.Evidence))
		}
		b.Title = title
		jv.Blocks = append(jv.Blocks, b)
		i = k
	}
	f := j.Freshness
	jv.Fresh = freshView{Stale: f.Stale, Never: f.LastCoveredEnd.IsZero()}
	if !jv.Fresh.Never {
		jv.Fresh.Last = fmtTime(f.LastCoveredEnd)
		age := time.Duration(f.AgeSeconds) * time.Second
		if f.AgeSeconds < 0 {
			age = now.Sub(f.LastCoveredEnd)
		}
		jv.Fresh.Age = humanDuration(age)
	}
	return jv
}

func counts(m map[coverage.WindowStatus]int) []count {
	var out []count
	for _, s := range coverage.WindowStatuses {
		if n := m[s]; n > 0 {
			out = append(out, count{Status: s, Label: Label(s), N: n})
		}
	}
	return out
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// percent prints a ratio as a percentage, never rounding a shortfall up to
// 100%.
func percent(r float64) string {
	p := r * 100
	if p >= 100 {
		return "100%"
	}
	s := strconv.FormatFloat(float64(int(p*10))/10, 'f', -1, 64)
	return s + "%"
}

func width(r float64) float64 {
	return float64(int(min(max(r, 0), 1)*1000)) / 10
}

func okClass(ok bool) string {
	if ok {
		return "ok"
	}
	return "bad"
}

func warnClass(ok bool) string {
	if ok {
		return "ok"
	}
	return "warn"
}

// humanDuration prints an age as days, hours and minutes.
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	d = d.Truncate(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 && days == 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	return strings.Join(parts, " ")
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// slug makes an HTML id part from a name.
func slug(s string) string {
	return strings.Trim(unsafeID.ReplaceAllString(s, "_"), "_")
}
