package mergeactivity

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/internal/githubapi"
)

// PullsQuery is the one GraphQL query the collector sends: a page of a
// repository's merged pull requests, most recently updated first, each
// with its labels, reviews, commits, and the check runs and commit
// statuses of its head. One answer carries what the REST API gives in five
// calls per pull request.
//
//go:embed pulls.graphql
var PullsQuery string

// PullsQuerySHA256 is the sha256 of PullsQuery, recorded in every GraphQL
// listing's query so an auditor knows exactly what was asked.
var PullsQuerySHA256 = func() string {
	h := sha256.Sum256([]byte(PullsQuery))
	return hex.EncodeToString(h[:])
}()

const (
	// pullsQueryName is the query's operation name.
	pullsQueryName = "MergedPullRequests"
	// graphQLPage is how many pull requests one query asks for. Each brings
	// up to 100 labels, reviews and commits and 25 check suites of 100 runs,
	// well inside GitHub's 500,000-node limit; smaller pages keep each
	// answer quick, which GitHub's 10-second query timeout asks for.
	graphQLPage = 25
)

// gqlPage is one answer to PullsQuery.
type gqlPage struct {
	Data *struct {
		Repository *struct {
			PullRequests *struct {
				PageInfo struct {
					HasNextPage bool    `json:"hasNextPage"`
					EndCursor   *string `json:"endCursor"`
				} `json:"pageInfo"`
				Nodes []json.RawMessage `json:"nodes"`
			} `json:"pullRequests"`
		} `json:"repository"`
	} `json:"data"`
}

// gqlActor is an Actor as GraphQL gives it.
type gqlActor struct {
	Typename string `json:"__typename"`
	Login    string `json:"login"`
}

// user is the account as REST names it: GraphQL gives a bot's login
// without the "[bot]" REST (and every finding) shows.
func (a *gqlActor) user() *userJSON {
	if a == nil {
		return nil
	}
	u := &userJSON{Login: a.Login, Type: a.Typename}
	if a.Typename == "Bot" && !strings.HasSuffix(a.Login, "[bot]") {
		u.Login += "[bot]"
	}
	return u
}

type gqlConn[T any] struct {
	TotalCount int `json:"totalCount"`
	PageInfo   *struct {
		HasNextPage bool `json:"hasNextPage"`
	} `json:"pageInfo"`
	Nodes []*T `json:"nodes"`
}

// complete reports whether the first page held every node: no next page,
// a total no larger than the nodes, and no null node.
func (c *gqlConn[T]) complete() bool {
	if c == nil || c.PageInfo == nil || c.PageInfo.HasNextPage || c.TotalCount > len(c.Nodes) {
		return false
	}
	return !slices.Contains(c.Nodes, nil)
}

type gqlGitActor struct {
	User *struct {
		Login string `json:"login"`
	} `json:"user"`
}

func (a *gqlGitActor) login() string {
	if a == nil || a.User == nil {
		return ""
	}
	return a.User.Login
}

type gqlReview struct {
	FullDatabaseID string     `json:"fullDatabaseId"`
	State          string     `json:"state"`
	SubmittedAt    *time.Time `json:"submittedAt"`
	Author         *gqlActor  `json:"author"`
	Commit         *struct {
		Oid string `json:"oid"`
	} `json:"commit"`
}

type gqlPullCommit struct {
	Commit struct {
		Oid       string       `json:"oid"`
		Author    *gqlGitActor `json:"author"`
		Committer *gqlGitActor `json:"committer"`
	} `json:"commit"`
}

// gqlPull is a node of PullsQuery's answer.
type gqlPull struct {
	Number      int        `json:"number"`
	Title       string     `json:"title"`
	UpdatedAt   *time.Time `json:"updatedAt"`
	MergedAt    *time.Time `json:"mergedAt"`
	BaseRefName string     `json:"baseRefName"`
	HeadRefOid  string     `json:"headRefOid"`
	Author      *gqlActor  `json:"author"`
	MergedBy    *gqlActor  `json:"mergedBy"`
	MergeCommit *struct {
		Oid string `json:"oid"`
	} `json:"mergeCommit"`
	Labels *gqlConn[struct {
		Name string `json:"name"`
	}] `json:"labels"`
	Reviews    *gqlConn[gqlReview]     `json:"reviews"`
	Commits    *gqlConn[gqlPullCommit] `json:"commits"`
	HeadCommit *gqlConn[struct {
		Commit struct {
			Oid         string `json:"oid"`
			CheckSuites *gqlConn[struct {
				CheckRuns *gqlConn[struct {
					Name        string     `json:"name"`
					Status      string     `json:"status"`
					Conclusion  *string    `json:"conclusion"`
					StartedAt   *time.Time `json:"startedAt"`
					CompletedAt *time.Time `json:"completedAt"`
				}] `json:"checkRuns"`
			}] `json:"checkSuites"`
			Status *struct {
				Contexts []struct {
					Context   string     `json:"context"`
					State     string     `json:"state"`
					CreatedAt *time.Time `json:"createdAt"`
				} `json:"contexts"`
			} `json:"status"`
		} `json:"commit"`
	}] `json:"headCommit"`
}

// item is the pull request as the REST listing would give it.
func (n *gqlPull) item(raw json.RawMessage) pullItem {
	it := pullItem{Number: n.Number, State: "closed", Title: n.Title, User: n.Author.user(),
		UpdatedAt: n.UpdatedAt, MergedAt: n.MergedAt, MergedBy: n.MergedBy.user(), node: raw, graph: n}
	if n.MergeCommit != nil {
		sha := n.MergeCommit.Oid
		it.MergeSHA = &sha
	}
	if n.Commits != nil {
		total := n.Commits.TotalCount
		it.Commits = &total
	}
	if n.Labels != nil {
		for _, l := range n.Labels.Nodes {
			it.Labels = append(it.Labels, labelJSON{Name: l.Name})
		}
	}
	it.Head.SHA, it.Base.Ref = n.HeadRefOid, n.BaseRefName
	return it
}

// incomplete says what of the node did not fit its first page (or is
// missing), so the pull request must be read over REST; "" when the node
// holds every fact.
func (n *gqlPull) incomplete() string {
	var parts []string
	over := func(name string, ok bool) {
		if !ok {
			parts = append(parts, name)
		}
	}
	over("labels", n.Labels.complete())
	over("reviews", n.Reviews.complete() && !slices.ContainsFunc(n.Reviews.Nodes, func(r *gqlReview) bool {
		_, err := strconv.ParseInt(r.FullDatabaseID, 10, 64)
		return err != nil
	}))
	over("commits", n.Commits.complete() && !slices.ContainsFunc(n.Commits.Nodes, func(c *gqlPullCommit) bool { return c.Commit.Oid == "" }))
	switch {
	case n.HeadCommit == nil || len(n.HeadCommit.Nodes) != 1 || n.HeadCommit.Nodes[0] == nil:
		parts = append(parts, "the head commit")
	case n.HeadCommit.Nodes[0].Commit.Oid != n.HeadRefOid:
		parts = append(parts, "the head commit (the last commit is not the head)")
	default:
		suites := n.HeadCommit.Nodes[0].Commit.CheckSuites
		ok := suites.complete()
		if ok {
			for _, s := range suites.Nodes {
				ok = ok && s.CheckRuns.complete()
			}
		}
		over("check suites and runs", ok)
	}
	if len(parts) == 0 {
		return ""
	}
	return "GraphQL gave only part of " + strings.Join(parts, ", ")
}

// view normalises a complete node as pullView does the REST sources.
func (n *gqlPull) view() (*PullView, error) {
	if n.MergedAt == nil {
		return nil, fmt.Errorf("not merged (mergedAt is null)")
	}
	v := &PullView{Title: n.Title, Author: n.Author.user().actor(), MergedAt: n.MergedAt.UTC(), HeadSHA: n.HeadRefOid,
		Labels: []string{}, Commits: []CommitRef{}, Reviews: []Review{}, Checks: []CheckResult{}, Unread: []Unread{}}
	if n.MergedBy != nil {
		a := n.MergedBy.user().actor()
		v.MergedBy = &a
	}
	if n.MergeCommit != nil {
		v.MergeSHA = n.MergeCommit.Oid
	}
	for _, l := range n.Labels.Nodes {
		v.Labels = append(v.Labels, l.Name)
	}
	total := n.Commits.TotalCount
	v.CommitCount = &total
	for _, c := range n.Commits.Nodes {
		v.Commits = append(v.Commits, CommitRef{SHA: c.Commit.Oid, Author: c.Commit.Author.login(), Committer: c.Commit.Committer.login()})
	}
	for _, r := range n.Reviews.Nodes {
		id, _ := strconv.ParseInt(r.FullDatabaseID, 10, 64) // checked by incomplete
		rv := Review{ID: id, Reviewer: r.Author.user().actor(), State: strings.ToUpper(r.State), SubmittedAt: utcPtr(r.SubmittedAt)}
		if r.Commit != nil {
			rv.CommitID = r.Commit.Oid
		}
		v.Reviews = append(v.Reviews, rv)
	}
	sortReviews(v.Reviews)
	head := n.HeadCommit.Nodes[0].Commit
	var runs, statuses []CheckResult
	for _, s := range head.CheckSuites.Nodes {
		for _, r := range s.CheckRuns.Nodes {
			// GraphQL's check run id is an Int, which GitHub's ids have
			// outgrown: the view has none (REST's only broke ties).
			cr := CheckResult{Name: r.Name, Kind: KindCheckRun, Status: strings.ToLower(r.Status),
				StartedAt: utcPtr(r.StartedAt), CompletedAt: utcPtr(r.CompletedAt)}
			if r.Conclusion != nil {
				cr.Conclusion = strings.ToLower(*r.Conclusion)
			}
			runs = append(runs, cr)
		}
	}
	if head.Status != nil {
		for _, s := range head.Status.Contexts {
			// GraphQL gives no updatedAt: a status is never updated, a new
			// one is created, so its creation is its completion.
			cr := CheckResult{Name: s.Context, Kind: KindStatus, Status: "completed", Conclusion: strings.ToLower(s.State),
				StartedAt: utcPtr(s.CreatedAt), CompletedAt: utcPtr(s.CreatedAt)}
			if cr.Conclusion == "pending" || cr.Conclusion == "expected" {
				cr.Status, cr.CompletedAt = "pending", nil
			}
			statuses = append(statuses, cr)
		}
	}
	sortChecks(runs)
	sortChecks(statuses)
	v.Checks = append(append(v.Checks, runs...), statuses...)
	return v, nil
}

// listPullsGraphQL lists the repository's merged pull requests over
// GraphQL, most recently updated first, and stops as listPulls does. A
// node GraphQL could not give whole (an error inside it, or more reviews,
// commits or checks than its first page) comes back with restReason set:
// its facts are read over REST. An error means the listing could not be
// had over GraphQL at all; the caller lists over REST instead.
func (g *gatherer) listPullsGraphQL(ctx context.Context, owner, name string, needed func(updated time.Time) bool) (*Listing, []pullItem, error) {
	params := map[string]string{"owner": owner, "name": name, "first": strconv.Itoa(graphQLPage), "query_sha256": PullsQuerySHA256}
	l := &Listing{Query: githubapi.Query{Endpoint: "POST /graphql " + pullsQueryName, Params: params}}
	var out []pullItem
	var after any
	for page := 1; ; page++ {
		vars := map[string]any{"owner": owner, "name": name, "first": graphQLPage, "after": after}
		call, err := g.gh.PostGraphQL(ctx, pullsQueryName, PullsQuery, vars)
		nodeErrs := map[int]string{}
		if ge, ok := githubapi.IsGraphQLError(err); ok {
			for _, e := range ge.Errors {
				i, ok := nodeIndex(e.Path)
				if ok && classifying[fmt.Sprint(e.Path[4])] {
					// What puts the pull request in the population (or
					// not) is unknown: the listing is.
					ok = false
				}
				if !ok {
					return l, nil, fmt.Errorf("listing merged pull requests of %s/%s over GraphQL (page %d): %w", owner, name, page, err)
				}
				nodeErrs[i] = strings.TrimSpace(nodeErrs[i] + " " + (&githubapi.GraphQLError{Errors: []githubapi.GraphQLErrorItem{e}}).Error())
			}
		} else if err != nil {
			return l, nil, fmt.Errorf("listing merged pull requests of %s/%s over GraphQL (page %d): %w", owner, name, page, err)
		}
		items, more, cursor, err := parseGraphQLPage(call.Body, nodeErrs)
		if err != nil {
			return l, nil, fmt.Errorf("parsing merged pull requests of %s/%s over GraphQL (page %d): %w", owner, name, page, err)
		}
		l.Pages++
		l.Items += len(items)
		out = append(out, items...)
		if i := slices.IndexFunc(items, func(it pullItem) bool { return !needed(*it.UpdatedAt) }); i >= 0 {
			l.Stop = fmt.Sprintf("stopped after page %d: #%d was last updated at %s, before the look-back start; the pull requests after it were updated earlier",
				page, items[i].Number, items[i].UpdatedAt.UTC().Format(time.RFC3339))
			return l, out, nil
		}
		if !more {
			l.Stop = fmt.Sprintf("last page (%d)", page)
			return l, out, nil
		}
		if cursor == "" || cursor == after || l.Pages >= maxListingPages {
			return l, nil, fmt.Errorf("listing merged pull requests of %s/%s over GraphQL: pagination does not end (page %d)", owner, name, page)
		}
		after = cursor
	}
}

// parseGraphQLPage parses one answer to PullsQuery: its pull requests,
// each with why it must be read over REST (nodeErrs: the GraphQL errors
// inside nodes, by index), whether another page follows and its cursor.
func parseGraphQLPage(body []byte, nodeErrs map[int]string) (items []pullItem, more bool, cursor string, err error) {
	var ans gqlPage
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, false, "", err
	}
	if ans.Data == nil || ans.Data.Repository == nil || ans.Data.Repository.PullRequests == nil {
		return nil, false, "", errors.New("no repository.pullRequests in the answer")
	}
	conn := ans.Data.Repository.PullRequests
	for i := range nodeErrs {
		if i >= len(conn.Nodes) {
			return nil, false, "", fmt.Errorf("an error names node %d of %d", i, len(conn.Nodes))
		}
	}
	items = make([]pullItem, 0, len(conn.Nodes))
	for i, raw := range conn.Nodes {
		n := new(gqlPull)
		if err := json.Unmarshal(raw, n); err != nil {
			return nil, false, "", fmt.Errorf("node %d: %w", i, err)
		}
		if n.Number <= 0 || n.UpdatedAt == nil || n.MergedAt == nil || n.BaseRefName == "" {
			return nil, false, "", fmt.Errorf("node %d: no number, updatedAt, mergedAt or baseRefName", i)
		}
		if !n.Labels.complete() {
			// An emergency label beyond the first page would decide
			// whether the pull request is re-examined.
			return nil, false, "", fmt.Errorf("node %d (#%d): more labels than the first page", i, n.Number)
		}
		it := n.item(raw)
		it.restReason = nodeErrs[i]
		if it.restReason == "" {
			it.restReason = n.incomplete()
		}
		items = append(items, it)
	}
	if conn.PageInfo.EndCursor != nil {
		cursor = *conn.PageInfo.EndCursor
	}
	return items, conn.PageInfo.HasNextPage, cursor, nil
}

// classifying are the fields of a node that decide whether its pull
// request is in the population, re-examined, or neither: an error in one
// of them leaves the listing unknown, not just the pull request.
var classifying = map[string]bool{
	"number": true, "updatedAt": true, "mergedAt": true, "baseRefName": true,
	"labels": true, "mergeCommit": true, "headRefOid": true,
}

// nodeIndex is the pull request an error path points into:
// repository.pullRequests.nodes.N...
func nodeIndex(path []any) (int, bool) {
	if len(path) < 5 || path[0] != "repository" || path[1] != "pullRequests" || path[2] != "nodes" {
		return 0, false
	}
	f, ok := path[3].(float64)
	if !ok || f < 0 || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

// fromGraph takes a pull request's facts from its complete GraphQL node.
func fromGraph(ch *ChangeFacts, item pullItem) {
	view, err := item.graph.view()
	if err != nil {
		ch.Error = fmt.Sprintf("pull request %s#%d: %v", ch.Repo, ch.Number, err)
		return
	}
	ch.PR = view
}
