package gqlfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The GitHub types the fake implements, each field resolved from the REST
// payloads (rest.go) the way GitHub's GraphQL API presents the same data.

// repo is a Repository: the owner and name it was asked by, and GET
// /repos/{owner}/{name}.
type repo struct {
	owner, name string
	data        restRepo
}

// base is the REST path of the repository.
func (rp *repo) base() string {
	return "/repos/" + url.PathEscape(rp.owner) + "/" + url.PathEscape(rp.name)
}

type pull struct {
	repo *repo
	p    *restPull
}

type review struct {
	pull *pull
	r    *restReview
}

type prCommit struct {
	pull *pull
	c    *restCommit
}

// commit is a Commit: its oid, and its REST payload once read (a pull
// request's commits carry it; a merge or review commit is read from GET
// commits/{sha} only if a field needs more than the oid).
type commit struct {
	repo *repo
	sha  string
	data *restCommit
}

type gitActor struct {
	git  *restGitActor
	user *restUser
}

type actor struct{ u *restUser }

type suite struct {
	id   int64 // 0: runs without a check suite, grouped by app
	app  *restApp
	runs []*restCheckRun
}

type status struct {
	state    string
	contexts []restStatusContext
}

func init() {
	define[struct{}]("Query").
		field("repository", queryRepository, "owner", "name", "followRenames")

	define[*repo]("Repository").
		value("name", func(rp *repo) any { return rp.data.Name }).
		value("nameWithOwner", func(rp *repo) any { return rp.data.FullName }).
		value("databaseId", func(rp *repo) any { return rp.data.ID }).
		value("isArchived", func(rp *repo) any { return rp.data.Archived }).
		value("isPrivate", func(rp *repo) any { return rp.data.Private }).
		value("url", func(rp *repo) any { return rp.data.HTMLURL }).
		conn("pullRequests", checkIssueOrder, repositoryPullRequests, "states", "orderBy", "baseRefName", "headRefName")

	define[*pull]("PullRequest").
		value("number", func(p *pull) any { return p.p.Number }).
		value("databaseId", func(p *pull) any { return p.p.ID }).
		value("title", func(p *pull) any { return p.p.Title }).
		value("body", func(p *pull) any { return deref(p.p.Body) }).
		value("url", func(p *pull) any { return p.p.HTMLURL }).
		value("state", func(p *pull) any { return pullState(p.p) }).
		value("merged", func(p *pull) any { return p.p.MergedAt != nil }).
		value("isDraft", func(p *pull) any { return p.p.Draft }).
		value("createdAt", func(p *pull) any { return p.p.CreatedAt }).
		value("updatedAt", func(p *pull) any { return p.p.UpdatedAt }).
		value("closedAt", func(p *pull) any { return nullable(p.p.ClosedAt) }).
		value("mergedAt", func(p *pull) any { return nullable(p.p.MergedAt) }).
		value("baseRefName", func(p *pull) any { return p.p.Base.Ref }).
		value("headRefName", func(p *pull) any { return p.p.Head.Ref }).
		value("headRefOid", func(p *pull) any { return p.p.Head.SHA }).
		value("author", func(p *pull) any { return actorOf(p.p.User) }).
		value("mergeCommit", func(p *pull) any {
			// REST keeps the test merge of an unmerged pull request in
			// merge_commit_sha; GraphQL's mergeCommit is only a merge's.
			if p.p.MergedAt == nil || p.p.MergeCommitSHA == nil || *p.p.MergeCommitSHA == "" {
				return nil
			}
			return node{"Commit", &commit{repo: p.repo, sha: *p.p.MergeCommitSHA}}
		}).
		field("mergedBy", pullMergedBy).
		conn("labels", nil, func(_ *request, p *pull, _ args) ([]any, error) {
			out := make([]any, len(p.p.Labels))
			for i := range p.p.Labels {
				out[i] = node{"Label", &p.p.Labels[i]}
			}
			return out, nil
		}).
		conn("reviews", nil, pullReviews).
		connTotal("commits", nil, pullCommits)

	define[*restLabel]("Label").
		value("name", func(l *restLabel) any { return l.Name }).
		value("color", func(l *restLabel) any { return l.Color }).
		value("description", func(l *restLabel) any { return nullable(l.Description) })

	for _, t := range []string{"User", "Bot", "Organization"} {
		define[actor](t).
			value("login", func(a actor) any { return actorLogin(a.u) }).
			value("databaseId", func(a actor) any { return a.u.ID }).
			value("url", func(a actor) any { return a.u.HTMLURL })
	}

	define[*review]("PullRequestReview").
		value("databaseId", func(rv *review) any { return rv.r.ID }).
		value("fullDatabaseId", func(rv *review) any { return strconv.FormatInt(rv.r.ID, 10) }).
		value("state", func(rv *review) any { return rv.r.State }).
		value("body", func(rv *review) any { return rv.r.Body }).
		value("url", func(rv *review) any { return rv.r.HTMLURL }).
		value("submittedAt", func(rv *review) any { return nullable(rv.r.SubmittedAt) }).
		value("author", func(rv *review) any { return actorOf(rv.r.User) }).
		value("commit", func(rv *review) any {
			if rv.r.CommitID == "" {
				return nil
			}
			return node{"Commit", &commit{repo: rv.pull.repo, sha: rv.r.CommitID}}
		})

	define[*prCommit]("PullRequestCommit").
		value("commit", func(pc *prCommit) any { return node{"Commit", &commit{repo: pc.pull.repo, sha: pc.c.SHA, data: pc.c}} }).
		value("url", func(pc *prCommit) any { return pc.pull.p.HTMLURL + "/commits/" + pc.c.SHA })

	define[*commit]("Commit").
		value("oid", func(c *commit) any { return c.sha }).
		value("abbreviatedOid", func(c *commit) any { return c.sha[:min(7, len(c.sha))] }).
		field("message", commitField(func(c *restCommit) any { return c.Commit.Message })).
		field("messageHeadline", commitField(func(c *restCommit) any {
			head, _, _ := strings.Cut(c.Commit.Message, "\n")
			return head
		})).
		field("url", commitField(func(c *restCommit) any { return c.HTMLURL })).
		field("committedDate", commitField(func(c *restCommit) any { return gitDate(c.Commit.Committer) })).
		field("authoredDate", commitField(func(c *restCommit) any { return gitDate(c.Commit.Author) })).
		field("author", commitField(func(c *restCommit) any { return gitActorOf(c.Commit.Author, c.Author) })).
		field("committer", commitField(func(c *restCommit) any { return gitActorOf(c.Commit.Committer, c.Committer) })).
		conn("checkSuites", nil, commitCheckSuites).
		field("status", commitStatus)

	define[gitActor]("GitActor").
		value("name", func(g gitActor) any { return g.git.Name }).
		value("email", func(g gitActor) any { return g.git.Email }).
		value("date", func(g gitActor) any { return nullable(g.git.Date) }).
		value("user", func(g gitActor) any {
			// GitActor.user is a User: a bot or organisation account is
			// none.
			if g.user == nil || g.user.Type != "User" {
				return nil
			}
			return node{"User", actor{g.user}}
		})

	define[*suite]("CheckSuite").
		value("databaseId", func(s *suite) any {
			if s.id == 0 {
				return nil
			}
			return s.id
		}).
		value("app", func(s *suite) any {
			if s.app == nil {
				return nil
			}
			return node{"App", s.app}
		}).
		conn("checkRuns", checkRunFilter, suiteCheckRuns, "filterBy")

	define[*restApp]("App").
		value("databaseId", func(a *restApp) any { return a.ID }).
		value("slug", func(a *restApp) any { return a.Slug }).
		value("name", func(a *restApp) any { return a.Name })

	define[*restCheckRun]("CheckRun").
		value("databaseId", func(c *restCheckRun) any { return c.ID }).
		value("name", func(c *restCheckRun) any { return c.Name }).
		value("status", func(c *restCheckRun) any { return strings.ToUpper(c.Status) }).
		value("conclusion", func(c *restCheckRun) any {
			if c.Conclusion == nil || *c.Conclusion == "" {
				return nil
			}
			return strings.ToUpper(*c.Conclusion)
		}).
		value("startedAt", func(c *restCheckRun) any { return nullable(c.StartedAt) }).
		value("completedAt", func(c *restCheckRun) any { return nullable(c.CompletedAt) }).
		value("detailsUrl", func(c *restCheckRun) any { return nullable(c.DetailsURL) }).
		value("url", func(c *restCheckRun) any { return c.HTMLURL })

	define[*status]("Status").
		value("state", func(s *status) any { return strings.ToUpper(s.state) }).
		value("contexts", func(s *status) any {
			out := make([]any, len(s.contexts))
			for i := range s.contexts {
				out[i] = node{"StatusContext", &s.contexts[i]}
			}
			return out
		})

	define[*restStatusContext]("StatusContext").
		value("context", func(c *restStatusContext) any { return c.Context }).
		value("state", func(c *restStatusContext) any { return strings.ToUpper(c.State) }).
		value("createdAt", func(c *restStatusContext) any { return c.CreatedAt }).
		value("description", func(c *restStatusContext) any { return nullable(c.Description) }).
		value("targetUrl", func(c *restStatusContext) any { return nullable(c.TargetURL) })
}

// deref is *s, or "" for nil (a String! GitHub gives as "").
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nullable is *s, or null.
func nullable(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func gitDate(g *restGitActor) any {
	if g == nil {
		return nil
	}
	return nullable(g.Date)
}

func pullState(p *restPull) string {
	switch {
	case p.MergedAt != nil:
		return "MERGED"
	case p.State == "open":
		return "OPEN"
	}
	return "CLOSED"
}

// actorOf is an Actor from a REST account: a Bot, an Organization or a
// User by its type; null for none.
func actorOf(u *restUser) any {
	if u == nil {
		return nil
	}
	switch u.Type {
	case "Bot":
		return node{"Bot", actor{u}}
	case "Organization":
		return node{"Organization", actor{u}}
	}
	return node{"User", actor{u}}
}

// actorLogin is the GraphQL login: a bot's without REST's "[bot]" suffix
// (REST dependabot[bot] is GraphQL's dependabot).
func actorLogin(u *restUser) string {
	if u.Type == "Bot" {
		return strings.TrimSuffix(u.Login, "[bot]")
	}
	return u.Login
}

func gitActorOf(g *restGitActor, u *restUser) any {
	if g == nil {
		return nil
	}
	return node{"GitActor", gitActor{git: g, user: u}}
}

func queryRepository(r *request, _ struct{}, a args) (any, error) {
	owner, _ := strArg(a, "owner")
	name, _ := strArg(a, "name")
	rp := &repo{owner: owner, name: name}
	data, err := getJSON[restRepo](r, rp.base(), nil, fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name))
	if err != nil {
		return nil, err
	}
	rp.data = data
	return node{"Repository", rp}, nil
}

// checkIssueOrder refuses an order the fake does not implement.
func checkIssueOrder(a args) error {
	o, ok := objArg(a, "orderBy")
	if !ok {
		return nil
	}
	if f, _ := o["field"].(string); f != "" && f != "CREATED_AT" && f != "UPDATED_AT" {
		return notImplemented(fmt.Sprintf("gqlfake does not implement IssueOrder.field %s", f))
	}
	return nil
}

// repositoryPullRequests lists the pull requests (every page of GET pulls,
// state closed, or all when OPEN ones are wanted), filters them by state
// and branch and orders them (default CREATED_AT ASC; ties by number in
// the same direction).
func repositoryPullRequests(r *request, rp *repo, a args) ([]any, error) {
	states, hasStates := listArg(a, "states")
	wantOpen := !hasStates || len(states) == 0 || slices.Contains(states, "OPEN")
	state := "closed"
	if wantOpen {
		state = "all"
	}
	q := url.Values{"state": {state}, "sort": {"updated"}, "direction": {"desc"}}
	l, err := listAll[*restPull](r, rp.base()+"/pulls", q, "", "")
	if err != nil {
		return nil, err
	}
	base, hasBase := strArg(a, "baseRefName")
	head, hasHead := strArg(a, "headRefName")
	type keyed struct {
		p *restPull
		t time.Time
	}
	field, desc := "CREATED_AT", false
	if o, ok := objArg(a, "orderBy"); ok {
		field, _ = o["field"].(string)
		d, _ := o["direction"].(string)
		desc = d == "DESC"
	}
	var ps []keyed
	for _, p := range l.items {
		if p == nil ||
			(hasStates && len(states) > 0 && !slices.Contains(states, pullState(p))) ||
			(hasBase && p.Base.Ref != base) || (hasHead && p.Head.Ref != head) {
			continue
		}
		s := p.CreatedAt
		if field == "UPDATED_AT" {
			s = p.UpdatedAt
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, &upstreamError{what: describe(rp.base()+"/pulls", q), err: fmt.Errorf("pull request #%d: %w", p.Number, err)}
		}
		ps = append(ps, keyed{p, t})
	}
	slices.SortStableFunc(ps, func(x, y keyed) int {
		c := cmp.Or(x.t.Compare(y.t), cmp.Compare(x.p.Number, y.p.Number))
		if desc {
			return -c
		}
		return c
	})
	out := make([]any, len(ps))
	for i, k := range ps {
		out[i] = node{"PullRequest", &pull{repo: rp, p: k.p}}
	}
	return out, nil
}

func (p *pull) path(sub string) string {
	return fmt.Sprintf("%s/pulls/%d%s", p.repo.base(), p.p.Number, sub)
}

// notFoundIn is the message of a REST 404 on a pull request's listing.
func (p *pull) notFoundIn(what string) string {
	return fmt.Sprintf("Could not resolve the %s of pull request #%d of %s/%s: the REST API answered 404 Not Found.", what, p.p.Number, p.repo.owner, p.repo.name)
}

// pullMergedBy reads merged_by from GET pulls/{number}, which only the
// single pull request carries; never for an unmerged one.
func pullMergedBy(r *request, p *pull, _ args) (any, error) {
	if p.p.MergedAt == nil {
		return nil, nil
	}
	full, err := getJSON[*restPull](r, p.path(""), nil, fmt.Sprintf("Could not resolve to a PullRequest with the number of %d.", p.p.Number))
	if err != nil {
		return nil, err
	}
	return actorOf(full.MergedBy), nil
}

func pullReviews(r *request, p *pull, _ args) ([]any, error) {
	l, err := listAll[*restReview](r, p.path("/reviews"), nil, "", p.notFoundIn("reviews"))
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(l.items))
	for _, rv := range l.items {
		if rv != nil {
			out = append(out, node{"PullRequestReview", &review{pull: p, r: rv}})
		}
	}
	return out, nil
}

// pullCommits lists a pull request's commits. GitHub lists at most 250
// of them, but totalCount is the pull request's true count: GET
// pulls/{number}'s commits (read once per query, as mergedBy reads it).
func pullCommits(r *request, p *pull, _ args) ([]any, int, error) {
	l, err := listAll[*restCommit](r, p.path("/commits"), nil, "", p.notFoundIn("commits"))
	if err != nil {
		return nil, 0, err
	}
	out := make([]any, 0, len(l.items))
	for _, c := range l.items {
		if c != nil {
			out = append(out, node{"PullRequestCommit", &prCommit{pull: p, c: c}})
		}
	}
	total := len(out)
	if full, err := getJSON[*restPull](r, p.path(""), nil, ""); err == nil && full != nil && full.Commits != nil {
		total = max(total, *full.Commits)
	}
	return out, total, nil
}

// commitField resolves a field from the commit's REST payload, reading GET
// commits/{sha} if the commit came without it.
func commitField(f func(*restCommit) any) func(*request, *commit, args) (any, error) {
	return func(r *request, c *commit, _ args) (any, error) {
		if c.data == nil {
			data, err := getJSON[*restCommit](r, c.repo.base()+"/commits/"+url.PathEscape(c.sha), nil,
				fmt.Sprintf("Could not resolve to a Commit with the oid %s.", c.sha))
			if err != nil {
				return nil, err
			}
			c.data = data
		}
		return f(c.data), nil
	}
}

// checkRuns is every check run of the commit: every page of GET
// commits/{sha}/check-runs?filter=all.
func (c *commit) checkRuns(r *request) ([]*restCheckRun, error) {
	l, err := listAll[*restCheckRun](r, c.repo.base()+"/commits/"+url.PathEscape(c.sha)+"/check-runs",
		url.Values{"filter": {"all"}}, "check_runs",
		fmt.Sprintf("Could not resolve the check runs of commit %s: the REST API answered 404 Not Found.", c.sha))
	return l.items, err
}

// commitCheckSuites groups the commit's check runs into suites by
// check_suite.id, in order of first appearance; runs without a suite make
// one suite per app (by slug).
func commitCheckSuites(r *request, c *commit, _ args) ([]any, error) {
	runs, err := c.checkRuns(r)
	if err != nil {
		return nil, err
	}
	var suites []*suite
	byID := map[int64]*suite{}
	byApp := map[string]*suite{}
	for _, run := range runs {
		if run == nil {
			continue
		}
		var s *suite
		if run.CheckSuite != nil && run.CheckSuite.ID != 0 {
			if s = byID[run.CheckSuite.ID]; s == nil {
				s = &suite{id: run.CheckSuite.ID, app: run.App}
				byID[s.id] = s
				suites = append(suites, s)
			}
		} else {
			slug := ""
			if run.App != nil {
				slug = run.App.Slug
			}
			if s = byApp[slug]; s == nil {
				s = &suite{app: run.App}
				byApp[slug] = s
				suites = append(suites, s)
			}
		}
		s.runs = append(s.runs, run)
	}
	out := make([]any, len(suites))
	for i, s := range suites {
		out[i] = node{"CheckSuite", s}
	}
	return out, nil
}

// checkRunFilter accepts the filters the fake implements: checkType and
// checkName.
func checkRunFilter(a args) error {
	f, ok := objArg(a, "filterBy")
	if !ok {
		return nil
	}
	return onlyKeys("CheckRunFilter", f, "checkType", "checkName")
}

// suiteCheckRuns are the suite's runs, all (checkType ALL) or, by default
// (LATEST), the newest of each name (latest started_at, then highest id),
// in the REST listing's order.
func suiteCheckRuns(_ *request, s *suite, a args) ([]any, error) {
	checkType, name, hasName := "LATEST", "", false
	if f, ok := objArg(a, "filterBy"); ok {
		if t, ok := f["checkType"].(string); ok {
			checkType = t
		}
		name, hasName = f["checkName"].(string)
	}
	latest := map[string]*restCheckRun{}
	if checkType != "ALL" {
		for _, run := range s.runs {
			if cur := latest[run.Name]; cur == nil || newer(run, cur) {
				latest[run.Name] = run
			}
		}
	}
	var out []any
	for _, run := range s.runs {
		if (hasName && run.Name != name) || (checkType != "ALL" && latest[run.Name] != run) {
			continue
		}
		out = append(out, node{"CheckRun", run})
	}
	return out, nil
}

// newer reports whether run a started after b (ties: the higher id).
func newer(a, b *restCheckRun) bool {
	ta, tb := deref(a.StartedAt), deref(b.StartedAt)
	if pa, err := time.Parse(time.RFC3339, ta); err == nil {
		if pb, err := time.Parse(time.RFC3339, tb); err == nil && !pa.Equal(pb) {
			return pa.After(pb)
		}
	}
	if ta != tb {
		return ta > tb
	}
	return a.ID > b.ID
}

// commitStatus is the combined status (every page of GET
// commits/{sha}/status): null when it has no statuses, as GitHub's
// Commit.status is.
func commitStatus(r *request, c *commit, _ args) (any, error) {
	l, err := listAll[restStatusContext](r, c.repo.base()+"/commits/"+url.PathEscape(c.sha)+"/status", nil, "statuses",
		fmt.Sprintf("Could not resolve the status of commit %s: the REST API answered 404 Not Found.", c.sha))
	if err != nil {
		return nil, err
	}
	if len(l.items) == 0 {
		return nil, nil
	}
	s := &status{contexts: l.items}
	if err := json.Unmarshal(l.first["state"], &s.state); err != nil {
		return nil, &upstreamError{what: describe(c.repo.base()+"/commits/"+c.sha+"/status", nil), err: fmt.Errorf("state: %w", err)}
	}
	return node{"Status", s}, nil
}
