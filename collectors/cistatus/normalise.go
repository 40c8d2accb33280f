package cistatus

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/githubapi"
)

type checkRunsJSON struct {
	TotalCount *int `json:"total_count"`
	CheckRuns  []struct {
		ID          int64      `json:"id"`
		Name        string     `json:"name"`
		Status      string     `json:"status"`
		Conclusion  *string    `json:"conclusion"`
		StartedAt   *time.Time `json:"started_at"`
		CompletedAt *time.Time `json:"completed_at"`
		App         *struct {
			Slug string `json:"slug"`
		} `json:"app"`
		CheckSuite *struct {
			ID int64 `json:"id"`
		} `json:"check_suite"`
	} `json:"check_runs"`
}

type combinedStatusJSON struct {
	State    *string `json:"state"`
	Statuses []struct {
		ID        int64      `json:"id"`
		Context   string     `json:"context"`
		State     string     `json:"state"`
		CreatedAt *time.Time `json:"created_at"`
		UpdatedAt *time.Time `json:"updated_at"`
	} `json:"statuses"`
}

// normaliseChecks turns a commit's check run and status pages into Checks,
// and records the sources GitHub would not show in Unread.
func normaliseChecks(c *CommitFacts) error {
	c.Checks, c.Unread = []CheckResult{}, []Unread{}
	if readable(c.CheckRuns, "check_runs", githubapi.PermChecks, &c.Unread) {
		for i, call := range c.CheckRuns.Pages {
			var page checkRunsJSON
			if err := json.Unmarshal(call.Body, &page); err != nil {
				return fmt.Errorf("parsing check runs (page %d): %w", i+1, err)
			}
			if page.TotalCount == nil {
				return fmt.Errorf("parsing check runs (page %d): no total_count: not a check run listing", i+1)
			}
			if page.CheckRuns == nil {
				// null is no empty list: what the commit ran is unknown.
				return fmt.Errorf("parsing check runs (page %d): check_runs is null or missing, not a list", i+1)
			}
			for _, r := range page.CheckRuns {
				if r.Name == "" {
					return fmt.Errorf("parsing check runs (page %d): check run %d has no name", i+1, r.ID)
				}
				cr := CheckResult{Name: r.Name, Kind: KindCheckRun, ID: r.ID, Status: r.Status,
					StartedAt: utcPtr(r.StartedAt), CompletedAt: utcPtr(r.CompletedAt)}
				if r.Conclusion != nil {
					cr.Conclusion = *r.Conclusion
				}
				if r.App != nil {
					cr.App = r.App.Slug
				}
				if r.CheckSuite != nil {
					cr.CheckSuiteID = r.CheckSuite.ID
				}
				c.Checks = append(c.Checks, cr)
			}
		}
	}
	if readable(c.Status, "status", githubapi.PermStatuses, &c.Unread) {
		for i, call := range c.Status.Pages {
			var page combinedStatusJSON
			if err := json.Unmarshal(call.Body, &page); err != nil {
				return fmt.Errorf("parsing the combined status (page %d): %w", i+1, err)
			}
			if page.State == nil {
				return fmt.Errorf("parsing the combined status (page %d): no state: not a combined status", i+1)
			}
			if page.Statuses == nil {
				return fmt.Errorf("parsing the combined status (page %d): statuses is null or missing, not a list", i+1)
			}
			for _, s := range page.Statuses {
				if s.Context == "" {
					return fmt.Errorf("parsing the combined status (page %d): status %d has no context", i+1, s.ID)
				}
				at := utcPtr(s.UpdatedAt)
				if at == nil {
					at = utcPtr(s.CreatedAt)
				}
				cr := CheckResult{Name: s.Context, Kind: KindStatus, ID: s.ID, Status: "completed", Conclusion: s.State,
					StartedAt: utcPtr(s.CreatedAt), CompletedAt: at}
				if s.State == "pending" {
					cr.Status, cr.CompletedAt = "pending", nil
				}
				c.Checks = append(c.Checks, cr)
			}
		}
	}
	sortChecks(c.Checks)
	return nil
}

// readable records a withheld source and reports whether the source can be
// parsed.
func readable(src *Source, name, perm string, unread *[]Unread) bool {
	if src == nil {
		*unread = append(*unread, Unread{Source: name, Reason: "not read"})
		return false
	}
	if src.Status != StatusRead {
		last := Call{}
		if len(src.Pages) > 0 {
			last = src.Pages[len(src.Pages)-1]
		}
		reason := collectors.WithheldReason(last, perm)
		if src.Status == StatusError {
			reason = "could not be read: " + last.Request
			if last.HTTPStatus != 0 {
				reason += fmt.Sprintf(": HTTP %d", last.HTTPStatus)
			}
		}
		*unread = append(*unread, Unread{Source: name, Reason: reason})
		return false
	}
	return true
}

// sortChecks orders checks by name and kind, then attempt: the last of a
// name and kind is its latest attempt.
func sortChecks(cs []CheckResult) {
	slices.SortStableFunc(cs, func(a, b CheckResult) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind),
			compareTimes(a.StartedAt, b.StartedAt), cmp.Compare(a.ID, b.ID))
	})
}

// sortRuns orders runs oldest first.
func sortRuns(rs []Run) {
	slices.SortStableFunc(rs, func(a, b Run) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}

// passingConclusion reports a check run or workflow run conclusion that
// counts as a success, as GitHub's required status checks treat them.
func passingConclusion(c string) bool {
	switch c {
	case "success", "neutral", "skipped":
		return true
	}
	return false
}

// passing reports a completed check that succeeded: success, neutral or
// skipped for a check run, success for a status.
func passing(c CheckResult) bool {
	if c.Kind == KindStatus {
		return c.Status == "completed" && c.Conclusion == "success"
	}
	return c.Status == "completed" && passingConclusion(c.Conclusion)
}

// compareTimes orders times, nil first.
func compareTimes(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}
