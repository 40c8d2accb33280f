package bundle

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors/cistatus"
	"github.com/changeproof/changeproof/collectors/deployments"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
)

// Kinds of population rows.
const (
	KindPullRequest = "pull_request"
	KindDirectPush  = "direct_push"
	KindDeployment  = "deployment"
)

// PopulationHeader is the first line of population.csv.
var PopulationHeader = []string{"change", "kind", "repo", "ref", "title", "author", "approvers",
	"checks", "deployments", "at", "status", "verdict", "reasons", "window_start", "window_end", "evidence"}

// Change is one row of population.csv: a change that reached a branch (a
// merged pull request or a direct push) or a production deployment, as the
// evidence judged it.
type Change struct {
	// ID is the finding's target, unique in the population:
	// github.com/acme/api#12, github.com/acme/api@0123abcd…, or a
	// deployment's target.
	ID   string
	Kind string
	Repo string
	// Ref is the pull request number (#12) or the commit SHA.
	Ref    string
	Title  string
	Author string
	// Approvers are the approvals that counted (pull requests).
	Approvers []string
	// Checks are "name=result" for each check (at the merge, for pull
	// requests; the latest, for pushes with ci-status evidence).
	Checks []string
	// Deployments are the production deployments that shipped the change,
	// or, for a deployment, the changes it shipped.
	Deployments []string
	// At is when the change merged, was committed, or was deployed.
	At      time.Time
	Status  evidence.Status
	Verdict string
	// Reasons are the finding's summary and each unmet rule.
	Reasons  string
	Window   [2]time.Time
	Evidence string
}

// source is one verified envelope the population is drawn from.
type source struct {
	key string
	st  *evidence.Statement
}

// Population derives the population of a bundle from its verified
// evidence: every change merge-activity judged and every production
// deployment the deployments collector judged, once each (a change seen by
// several collections takes the latest), in order of time, then id.
func Population(srcs []source) []Change {
	byID := map[string]Change{}
	latest := map[string]time.Time{}
	commitChecks := map[string][]string{} // repo@sha → ci-status checks
	put := func(c Change, at time.Time) {
		if prev, ok := latest[c.ID]; ok && prev.After(at) {
			return
		}
		byID[c.ID], latest[c.ID] = c, at
	}
	for _, s := range srcs {
		p := &s.st.Predicate
		for _, f := range p.Findings {
			base := Change{ID: f.Target, Status: f.Status, Verdict: f.Verdict, Reasons: reasons(f),
				Window: [2]time.Time{p.Window.Start, p.Window.End}, Evidence: s.key}
			switch p.Collector.Name {
			case "merge-activity":
				if c, ok := changeRow(base, f.Details); ok {
					put(c, p.CollectedAt)
				}
			case "deployments":
				if c, ok := deploymentRow(base, f.Details); ok {
					put(c, p.CollectedAt)
				}
			case "ci-status":
				var d cistatus.CommitDetails
				if json.Unmarshal(f.Details, &d) == nil && d.SHA != "" {
					var checks []string
					for _, c := range d.Checks {
						checks = append(checks, c.Name+"="+cmp.Or(c.Conclusion, c.Status))
					}
					commitChecks[strings.ToLower(d.Repo)+"@"+d.SHA] = checks
				}
			}
		}
	}
	// Join: each change lists the deployments that shipped it.
	for _, c := range byID {
		if c.Kind != KindDeployment {
			continue
		}
		for _, ch := range c.Deployments {
			if x, ok := byID[ch]; ok && x.Kind != KindDeployment {
				x.Deployments = append(x.Deployments, c.ID)
				byID[ch] = x
			}
		}
	}
	out := make([]Change, 0, len(byID))
	for _, c := range byID {
		if c.Kind == KindDirectPush && len(c.Checks) == 0 {
			c.Checks = commitChecks[strings.ToLower(c.Repo)+"@"+c.Ref]
		}
		slices.Sort(c.Deployments)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID))
	})
	return out
}

func changeRow(c Change, details json.RawMessage) (Change, bool) {
	var head struct {
		Number *int    `json:"number"`
		Pusher *string `json:"pusher"`
	}
	if len(details) == 0 || json.Unmarshal(details, &head) != nil {
		return c, false
	}
	switch {
	case head.Number != nil:
		var d mergeactivity.PullDetails
		if json.Unmarshal(details, &d) != nil {
			return c, false
		}
		c.Kind, c.Repo, c.Ref, c.Title, c.Author, c.At = KindPullRequest, d.Repo, fmt.Sprintf("#%d", d.Number), d.Title, d.Author, d.MergedAt
		c.Approvers = d.Approvers
		for _, ch := range d.Checks {
			c.Checks = append(c.Checks, ch.Name+"="+ch.AtMerge)
		}
	case head.Pusher != nil:
		var d mergeactivity.PushDetails
		if json.Unmarshal(details, &d) != nil {
			return c, false
		}
		c.Kind, c.Repo, c.Ref, c.Title, c.Author = KindDirectPush, d.Repo, d.SHA, firstLine(d.Message), cmp.Or(d.Pusher, d.Author)
		if d.CommittedAt != nil {
			c.At = *d.CommittedAt
		}
	default:
		return c, false
	}
	return c, true
}

func deploymentRow(c Change, details json.RawMessage) (Change, bool) {
	var d deployments.Details
	if len(details) == 0 || json.Unmarshal(details, &d) != nil || d.Source == "" {
		return c, false
	}
	c.Kind, c.Repo, c.Ref, c.Title, c.Author, c.At = KindDeployment, d.Name, d.ID, d.Environment+": "+firstLine(d.Message), d.Creator, d.CreatedAt
	for _, code := range d.Code {
		if code.Change != "" {
			c.Deployments = append(c.Deployments, code.Change)
		}
	}
	return c, true
}

func reasons(f evidence.Finding) string {
	parts := []string{f.Summary}
	for _, c := range f.Checks {
		if c.Status != evidence.StatusPass {
			parts = append(parts, fmt.Sprintf("%s: %s (%s)", c.Rule, c.Status, c.Detail))
		}
	}
	return strings.Join(parts, "; ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// WritePopulation writes the population as CSV (RFC 4180, a header line).
func WritePopulation(w io.Writer, pop []Change) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(PopulationHeader); err != nil {
		return err
	}
	for _, c := range pop {
		at := ""
		if !c.At.IsZero() {
			at = c.At.UTC().Format(time.RFC3339)
		}
		row := []string{c.ID, c.Kind, c.Repo, c.Ref, c.Title, c.Author,
			strings.Join(c.Approvers, " "), strings.Join(c.Checks, " "), strings.Join(c.Deployments, " "),
			at, string(c.Status), c.Verdict, c.Reasons,
			c.Window[0].UTC().Format(time.RFC3339), c.Window[1].UTC().Format(time.RFC3339), c.Evidence}
		for i := range row {
			row[i] = neutralise(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// neutralise keeps a cell from being read as a formula by a spreadsheet
// (CSV injection): titles, check names, branch and user names come from
// whoever opened the pull request or wrote the workflow.
func neutralise(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// PopulationCSV renders the population as WritePopulation does.
func PopulationCSV(pop []Change) ([]byte, error) {
	var b bytes.Buffer
	if err := WritePopulation(&b, pop); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
