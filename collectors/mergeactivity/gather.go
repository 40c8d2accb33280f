package mergeactivity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/githubapi"
)

const (
	// perPage is the page size asked for everywhere: GitHub's maximum.
	perPage = 100
	// maxListingPages bounds a population listing against a Link header
	// that never ends (a million pull requests).
	maxListingPages = 10000
	// maxSourcePages bounds the pages of one change's reviews, commits or
	// checks.
	maxSourcePages = 100
)

// gatherer reads from GitHub. Safe for concurrent use.
type gatherer struct {
	gh *githubapi.Client
}

// userJSON is a GitHub account in a payload.
type userJSON struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

func (u *userJSON) actor() Actor {
	if u == nil {
		return Actor{}
	}
	return Actor{Login: u.Login, Type: u.Type}
}

// pullItem is what the collection reads of a pull request payload (a
// listing item or the pull request itself).
type pullItem struct {
	raw json.RawMessage
	// node, graph and restReason are set for an item of the GraphQL
	// listing: the node as received, decoded, and why its facts must still
	// be read over REST ("" when the node holds them all).
	node       json.RawMessage
	graph      *gqlPull
	restReason string
	Number     int         `json:"number"`
	State      string      `json:"state"`
	Title      string      `json:"title"`
	User       *userJSON   `json:"user"`
	UpdatedAt  *time.Time  `json:"updated_at"`
	MergedAt   *time.Time  `json:"merged_at"`
	MergeSHA   *string     `json:"merge_commit_sha"`
	MergedBy   *userJSON   `json:"merged_by"`
	Commits    *int        `json:"commits"`
	Labels     []labelJSON `json:"labels"`
	Head       struct {
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

func (p pullItem) labels() []string {
	out := make([]string, 0, len(p.Labels))
	for _, l := range p.Labels {
		out = append(out, l.Name)
	}
	return out
}

func (p pullItem) hasLabel(name string) bool {
	return name != "" && slices.ContainsFunc(p.Labels, func(l labelJSON) bool { return strings.EqualFold(l.Name, name) })
}

type labelJSON struct {
	Name string `json:"name"`
}

// parsePullItems parses a page of pull requests, keeping each item's bytes.
func parsePullItems(body []byte) ([]pullItem, error) {
	return parseItems(body, func(it *pullItem, r json.RawMessage) error {
		if it.Number <= 0 {
			return errors.New("no pull request number")
		}
		it.raw = r
		return nil
	})
}

// parseItems parses a JSON array page item by item; check validates each
// item and keeps its raw bytes.
func parseItems[T any](body []byte, check func(*T, json.RawMessage) error) ([]T, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, err
	}
	items := make([]T, 0, len(raws))
	for i, r := range raws {
		var it T
		if err := json.Unmarshal(r, &it); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if err := check(&it, r); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		items = append(items, it)
	}
	return items, nil
}

// listPulls lists the repository's closed pull requests, most recently
// updated first, and stops paging at the first page holding one last updated
// before needed returns false for: every pull request merged later was
// updated later, so the rest cannot matter.
func (g *gatherer) listPulls(ctx context.Context, owner, name string, needed func(updated time.Time) bool) (*Listing, []pullItem, error) {
	params := map[string]string{"state": "closed", "sort": "updated", "direction": "desc", "per_page": strconv.Itoa(perPage)}
	l := &Listing{Query: githubapi.Query{Endpoint: fmt.Sprintf("GET /repos/%s/%s/pulls", owner, name), Params: params}}
	base := collectors.PathQuery(fmt.Sprintf("repos/%s/%s/pulls", esc(owner), esc(name)), params)
	var out []pullItem
	for page := 1; ; {
		call, resp, err := g.gh.GetRaw(ctx, collectors.WithPage(base, page))
		if err != nil {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("listing pull requests of %s/%s (page %d): %w", owner, name, page, err)}
		}
		l.Pages++
		items, err := parsePullItems(call.Body)
		if err != nil {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("parsing pull requests of %s/%s (page %d): %w", owner, name, page, err)}
		}
		l.Items += len(items)
		out = append(out, items...)
		for _, it := range items {
			if it.UpdatedAt == nil {
				return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("parsing pull requests of %s/%s (page %d): #%d has no updated_at", owner, name, page, it.Number)}
			}
		}
		if i := slices.IndexFunc(items, func(it pullItem) bool { return !needed(*it.UpdatedAt) }); i >= 0 {
			l.Stop = fmt.Sprintf("stopped after page %d: #%d was last updated at %s, before the look-back start; the pull requests after it were updated earlier",
				page, items[i].Number, items[i].UpdatedAt.UTC().Format(time.RFC3339))
			return l, out, nil
		}
		next := resp.NextPage
		if next == 0 {
			l.Stop = fmt.Sprintf("last page (%d)", page)
			return l, out, nil
		}
		if next <= page || l.Pages >= maxListingPages {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("listing pull requests of %s/%s: pagination does not end (next page %d after page %d)", owner, name, next, page)}
		}
		page = next
	}
}

// commitItem is what the collection reads of a commit payload.
type commitItem struct {
	raw    json.RawMessage
	SHA    string `json:"sha"`
	Commit struct {
		Message   string    `json:"message"`
		Author    *gitActor `json:"author"`
		Committer *gitActor `json:"committer"`
	} `json:"commit"`
	Author    *userJSON `json:"author"`
	Committer *userJSON `json:"committer"`
}

type gitActor struct {
	Date *time.Time `json:"date"`
}

func (c commitItem) committedAt() *time.Time {
	if c.Commit.Committer == nil || c.Commit.Committer.Date == nil {
		return nil
	}
	t := c.Commit.Committer.Date.UTC()
	return &t
}

func parseCommitItems(body []byte) ([]commitItem, error) {
	return parseItems(body, func(it *commitItem, r json.RawMessage) error {
		if it.SHA == "" {
			return errors.New("no sha")
		}
		it.raw = r
		return nil
	})
}

// listCommits lists the commits on branch dated in the window, every page.
func (g *gatherer) listCommits(ctx context.Context, owner, name, branch string, since, until time.Time) (Listing, []commitItem, error) {
	params := map[string]string{
		"sha": branch, "since": since.UTC().Format(time.RFC3339), "until": until.UTC().Format(time.RFC3339),
		"per_page": strconv.Itoa(perPage),
	}
	l := Listing{Query: githubapi.Query{Endpoint: fmt.Sprintf("GET /repos/%s/%s/commits", owner, name), Params: params}}
	base := collectors.PathQuery(fmt.Sprintf("repos/%s/%s/commits", esc(owner), esc(name)), params)
	var out []commitItem
	for page := 1; ; {
		call, resp, err := g.gh.GetRaw(ctx, collectors.WithPage(base, page))
		if err != nil {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("listing commits of %s/%s@%s (page %d): %w", owner, name, branch, page, err)}
		}
		l.Pages++
		items, err := parseCommitItems(call.Body)
		if err != nil {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("parsing commits of %s/%s@%s (page %d): %w", owner, name, branch, page, err)}
		}
		l.Items += len(items)
		out = append(out, items...)
		next := resp.NextPage
		if next == 0 {
			l.Stop = fmt.Sprintf("last page (%d)", page)
			return l, out, nil
		}
		if next <= page || l.Pages >= maxListingPages {
			return l, nil, &collectors.ListError{Call: call, Err: fmt.Errorf("listing commits of %s/%s@%s: pagination does not end (next page %d after page %d)", owner, name, branch, next, page)}
		}
		page = next
	}
}

// readPull reads one merged pull request's own facts: the pull request (for
// merged_by), its reviews and commits, and the check runs and combined
// status of its merged head. A call GitHub withholds (403, 404) leaves that
// source unknown. A call that fails otherwise (after retries) makes the
// change's facts incomplete (ch.Error), but the other sources are still
// read and judged: a failure they establish is not lost to the one that
// could not be read.
func (g *gatherer) readPull(ctx context.Context, owner, name string, ch *ChangeFacts, item pullItem) {
	var errs []string
	failed := func(err error) { errs = append(errs, strings.ReplaceAll(err.Error(), "\n", "; ")) }
	defer func() {
		if len(errs) > 0 {
			ch.Error = strings.Join(errs, "; ")
			ch.Listed = item.raw
		}
	}()
	base := fmt.Sprintf("repos/%s/%s/pulls/%d", esc(owner), esc(name), item.Number)
	call, _, err := g.gh.GetRaw(ctx, base)
	ch.Pull = &call
	if err != nil {
		if ctx.Err() != nil {
			failed(err)
			return
		}
		if !githubapi.Withheld(call, err) {
			failed(fmt.Errorf("reading pull request %s/%s#%d: %w", owner, name, item.Number, err))
		}
		// The listing item stands in for the pull request.
		ch.Listed = item.raw
	}
	head := item.Head.SHA
	if head == "" {
		failed(fmt.Errorf("pull request %s/%s#%d: the listing gives no head sha", owner, name, item.Number))
		return
	}
	reads := []struct {
		dst  **Source
		path string
		what string
	}{
		{&ch.Reviews, base + "/reviews?per_page=100", "reviews"},
		{&ch.Commits, base + "/commits?per_page=100", "commits"},
		{&ch.CheckRuns, fmt.Sprintf("repos/%s/%s/commits/%s/check-runs?filter=all&per_page=100", esc(owner), esc(name), esc(head)), "check runs of the merged head"},
		{&ch.Status, fmt.Sprintf("repos/%s/%s/commits/%s/status?per_page=100", esc(owner), esc(name), esc(head)), "combined status of the merged head"},
	}
	for _, r := range reads {
		src, err := collectors.ReadSource(ctx, g.gh, r.path, maxSourcePages)
		*r.dst = src
		if err != nil {
			failed(fmt.Errorf("reading %s of %s/%s#%d: %w", r.what, owner, name, item.Number, err))
			if ctx.Err() != nil {
				return
			}
		}
	}
	view, err := pullView(item, ch)
	if err != nil {
		failed(fmt.Errorf("pull request %s/%s#%d: %w", owner, name, item.Number, err))
		return
	}
	ch.PR = view
}

// commitPulls asks GitHub which pull requests brought a commit, and returns
// those merged into branch. For a commit on the default branch GitHub
// returns the merged pull request that introduced it; on another branch,
// the merged and open pull requests containing it.
func (g *gatherer) commitPulls(ctx context.Context, owner, name, branch, sha string) (*Source, map[int]time.Time, error) {
	path := fmt.Sprintf("repos/%s/%s/commits/%s/pulls?per_page=100", esc(owner), esc(name), esc(sha))
	src, err := collectors.ReadSource(ctx, g.gh, path, maxSourcePages)
	if err != nil || src.Status != SourceRead {
		return src, nil, err
	}
	merged := map[int]time.Time{}
	for i, call := range src.Pages {
		items, err := parsePullItems(call.Body)
		if err != nil {
			src.Status = SourceError
			return src, nil, fmt.Errorf("parsing the pull requests of commit %s in %s/%s (page %d): %w", sha, owner, name, i+1, err)
		}
		for _, it := range items {
			if it.MergedAt != nil && it.Base.Ref == branch {
				merged[it.Number] = it.MergedAt.UTC()
			}
		}
	}
	return src, merged, nil
}

func esc(s string) string { return url.PathEscape(s) }

func itoa(n int) string { return strconv.Itoa(n) }

// shortSHA is the first 12 characters of a sha.
func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
