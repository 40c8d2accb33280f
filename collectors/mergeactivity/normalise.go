package mergeactivity

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// webFlow is the account GitHub commits as for changes made on github.com
// (web edits, the "Update branch" button, merges): it is never the person
// who made the change.
const webFlow = "web-flow"

// pullView normalises a merged pull request's sources. item is its listing
// item; the pull request itself, when read, supersedes it.
func pullView(item pullItem, ch *ChangeFacts) (*PullView, error) {
	pr := item
	v := &PullView{Unread: []Unread{}}
	if ch.Pull != nil && ch.Pull.Body != nil {
		if err := json.Unmarshal(ch.Pull.Body, &pr); err != nil {
			return nil, fmt.Errorf("parsing the pull request: %w", err)
		}
		if pr.MergedBy != nil {
			a := pr.MergedBy.actor()
			v.MergedBy = &a
		}
		v.CommitCount = pr.Commits
		if pr.MergedAt == nil {
			pr.MergedAt = item.MergedAt
		}
	} else if ch.Pull != nil {
		v.Unread = append(v.Unread, Unread{Source: "pull", Reason: collectors.WithheldReason(*ch.Pull, githubapi.PermPulls)})
	}
	if pr.MergedAt == nil {
		return nil, fmt.Errorf("not merged (merged_at is null)")
	}
	v.Title = pr.Title
	v.Author = pr.User.actor()
	v.MergedAt = pr.MergedAt.UTC()
	// The checks were read for the listing's head; keep the view consistent
	// with them (a merged pull request's head does not move).
	v.HeadSHA = item.Head.SHA
	if pr.MergeSHA != nil {
		v.MergeSHA = *pr.MergeSHA
	}
	v.Labels = pr.labels()

	var err error
	if v.Reviews, err = parseReviews(ch.Reviews, &v.Unread); err != nil {
		return nil, err
	}
	if v.Commits, err = parseCommitRefs(ch.Commits, &v.Unread); err != nil {
		return nil, err
	}
	runs, err := parseCheckRuns(ch.CheckRuns, &v.Unread)
	if err != nil {
		return nil, err
	}
	statuses, err := parseStatuses(ch.Status, &v.Unread)
	if err != nil {
		return nil, err
	}
	v.Checks = append(runs, statuses...)
	return v, nil
}

// unread records a withheld source and reports whether the source can be
// parsed.
func readable(src *Source, name, perm string, unread *[]Unread) bool {
	if src == nil {
		*unread = append(*unread, Unread{Source: name, Reason: "not read"})
		return false
	}
	if src.Status != SourceRead {
		last := Call{}
		if len(src.Pages) > 0 {
			last = src.Pages[len(src.Pages)-1]
		}
		reason := collectors.WithheldReason(last, perm)
		if src.Status == SourceError {
			reason = "could not be read: " + last.Request + ": " + callFailure(last)
		}
		*unread = append(*unread, Unread{Source: name, Reason: reason})
		return false
	}
	return true
}

type reviewJSON struct {
	ID          int64      `json:"id"`
	User        *userJSON  `json:"user"`
	State       string     `json:"state"`
	SubmittedAt *time.Time `json:"submitted_at"`
	CommitID    string     `json:"commit_id"`
}

func parseReviews(src *Source, unread *[]Unread) ([]Review, error) {
	out := []Review{}
	if !readable(src, "reviews", githubapi.PermPulls, unread) {
		return out, nil
	}
	for i, call := range src.Pages {
		var page []reviewJSON
		if err := json.Unmarshal(call.Body, &page); err != nil {
			return nil, fmt.Errorf("parsing reviews (page %d): %w", i+1, err)
		}
		for _, r := range page {
			rv := Review{ID: r.ID, Reviewer: r.User.actor(), State: strings.ToUpper(r.State), CommitID: r.CommitID}
			if r.SubmittedAt != nil {
				t := r.SubmittedAt.UTC()
				rv.SubmittedAt = &t
			}
			out = append(out, rv)
		}
	}
	sortReviews(out)
	return out, nil
}

// callFailure is how a failed call ended: its status and message, or the
// body that was not JSON.
func callFailure(c Call) string {
	switch {
	case c.InvalidBody != "":
		return fmt.Sprintf("HTTP %d with a body that is not JSON", c.HTTPStatus)
	case c.HTTPStatus != 0:
		return strings.TrimSpace(fmt.Sprintf("HTTP %d %s %s", c.HTTPStatus, http.StatusText(c.HTTPStatus), c.Message))
	case c.Message != "":
		return c.Message
	}
	return "no answer"
}

// sortReviews orders reviews by submission, then id. GitHub lists them in
// chronological order; sort anyway, so "latest" never depends on the order
// pages arrived in.
func sortReviews(rs []Review) {
	slices.SortStableFunc(rs, func(a, b Review) int {
		return cmp.Or(compareTimes(a.SubmittedAt, b.SubmittedAt), cmp.Compare(a.ID, b.ID))
	})
}

func parseCommitRefs(src *Source, unread *[]Unread) ([]CommitRef, error) {
	out := []CommitRef{}
	if !readable(src, "commits", githubapi.PermPulls, unread) {
		return out, nil
	}
	for i, call := range src.Pages {
		items, err := parseCommitItems(call.Body)
		if err != nil {
			return nil, fmt.Errorf("parsing commits (page %d): %w", i+1, err)
		}
		for _, c := range items {
			ref := CommitRef{SHA: c.SHA}
			if c.Author != nil {
				ref.Author = c.Author.Login
			}
			if c.Committer != nil {
				ref.Committer = c.Committer.Login
			}
			out = append(out, ref)
		}
	}
	return out, nil
}

type checkRunsJSON struct {
	TotalCount *int `json:"total_count"`
	CheckRuns  []struct {
		ID          int64      `json:"id"`
		Name        string     `json:"name"`
		Status      string     `json:"status"`
		Conclusion  *string    `json:"conclusion"`
		StartedAt   *time.Time `json:"started_at"`
		CompletedAt *time.Time `json:"completed_at"`
	} `json:"check_runs"`
}

func parseCheckRuns(src *Source, unread *[]Unread) ([]CheckResult, error) {
	out := []CheckResult{}
	if !readable(src, "check_runs", githubapi.PermChecks, unread) {
		return out, nil
	}
	for i, call := range src.Pages {
		var page checkRunsJSON
		if err := json.Unmarshal(call.Body, &page); err != nil {
			return nil, fmt.Errorf("parsing check runs (page %d): %w", i+1, err)
		}
		if page.TotalCount == nil {
			return nil, fmt.Errorf("parsing check runs (page %d): no total_count: not a check runs listing", i+1)
		}
		for _, r := range page.CheckRuns {
			cr := CheckResult{Name: r.Name, Kind: KindCheckRun, ID: r.ID, Status: r.Status,
				StartedAt: utcPtr(r.StartedAt), CompletedAt: utcPtr(r.CompletedAt)}
			if r.Conclusion != nil {
				cr.Conclusion = *r.Conclusion
			}
			out = append(out, cr)
		}
	}
	sortChecks(out)
	return out, nil
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

func parseStatuses(src *Source, unread *[]Unread) ([]CheckResult, error) {
	out := []CheckResult{}
	if !readable(src, "status", githubapi.PermStatuses, unread) {
		return out, nil
	}
	for i, call := range src.Pages {
		var page combinedStatusJSON
		if err := json.Unmarshal(call.Body, &page); err != nil {
			return nil, fmt.Errorf("parsing the combined status (page %d): %w", i+1, err)
		}
		if page.State == nil {
			return nil, fmt.Errorf("parsing the combined status (page %d): no state: not a combined status", i+1)
		}
		for _, s := range page.Statuses {
			at := utcPtr(s.UpdatedAt)
			if at == nil {
				at = utcPtr(s.CreatedAt)
			}
			cr := CheckResult{Name: s.Context, Kind: KindStatus, ID: s.ID, Status: "completed", Conclusion: s.State,
				StartedAt: utcPtr(s.CreatedAt), CompletedAt: at}
			if s.State == "pending" {
				cr.Status, cr.CompletedAt = "pending", nil
			}
			out = append(out, cr)
		}
	}
	sortChecks(out)
	return out, nil
}

func sortChecks(cs []CheckResult) {
	slices.SortStableFunc(cs, func(a, b CheckResult) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind),
			compareTimes(a.StartedAt, b.StartedAt), cmp.Compare(a.ID, b.ID))
	})
}

// pushView normalises a commit that reached the branch without a pull
// request.
func pushView(item commitItem, pulls *Source) *PushView {
	v := &PushView{
		Author: item.Author.actor(), Committer: item.Committer.actor(),
		CommittedAt: item.committedAt(), Unread: []Unread{},
	}
	v.Message, _, _ = strings.Cut(item.Commit.Message, "\n")
	v.Pusher = v.Committer.Login
	if v.Pusher == "" || v.Pusher == webFlow {
		v.Pusher = v.Author.Login
	}
	if pulls != nil && pulls.Status != SourceRead {
		readable(pulls, "commit_pulls", githubapi.PermPulls+" and "+githubapi.PermContents, &v.Unread)
	}
	return v
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

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
