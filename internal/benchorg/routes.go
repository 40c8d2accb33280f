package benchorg

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/internal/ghfake"
)

// Answer is the organisation's answer to one request, before pagination.
type Answer struct {
	// Endpoint is the request's endpoint template, e.g.
	// "GET /repos/{owner}/{repo}/pulls/{number}/reviews": what request
	// counts are keyed by.
	Endpoint string
	Status   int
	// Body is the whole listing (ghfake pages it) or object.
	Body json.RawMessage
}

const docs = "https://docs.github.com/rest"

func notFound(endpoint string) Answer {
	return Answer{Endpoint: endpoint, Status: http.StatusNotFound, Body: json.RawMessage(`{"message":"Not Found","documentation_url":"` + docs + `"}`)}
}

func ok(endpoint string, v any) Answer {
	b, err := json.Marshal(v)
	if err != nil {
		panic("benchorg: " + err.Error()) // maps of JSON values: cannot fail
	}
	return Answer{Endpoint: endpoint, Status: http.StatusOK, Body: b}
}

// Answer answers a GET of apiPath (below the API root, e.g.
// "/repos/bench/svc-0001/pulls") with its query. Unknown paths are 404s.
func (o *Org) Answer(method, apiPath string, q url.Values) Answer {
	parts := strings.Split(strings.Trim(apiPath, "/"), "/")
	if method != http.MethodGet {
		return notFound(method + " " + apiPath)
	}
	if len(parts) == 3 && parts[0] == "orgs" && parts[2] == "repos" {
		const ep = "GET /orgs/{org}/repos"
		if parts[1] != o.Config.Org {
			return notFound(ep)
		}
		items := make([]any, len(o.Repos))
		for i := range o.Repos {
			items[i] = o.repoObj(&o.Repos[i])
		}
		return ok(ep, items)
	}
	if len(parts) < 3 || parts[0] != "repos" || parts[1] != o.Config.Org {
		return notFound("GET " + apiPath)
	}
	r, found := o.repoByName(parts[2])
	rest := parts[3:]
	ep := "GET /repos/{owner}/{repo}"
	if !found {
		return notFound(ep + "/" + strings.Join(rest, "/"))
	}
	return o.repoAnswer(r, rest, q)
}

func (o *Org) repoAnswer(r *Repo, rest []string, q url.Values) Answer {
	const p = "GET /repos/{owner}/{repo}"
	at := func(i int) string {
		if i < len(rest) {
			return rest[i]
		}
		return ""
	}
	switch {
	case len(rest) == 0:
		return ok(p, o.repoObj(r))
	case len(rest) == 3 && at(0) == "branches" && at(2) == "protection":
		ep := p + "/branches/{branch}/protection"
		if at(1) != "main" || r.Protection == ProtectRulesets {
			return Answer{Endpoint: ep, Status: http.StatusNotFound, Body: json.RawMessage(`{"message":"Branch not protected","documentation_url":"https://docs.github.com/rest/branches/branch-protection#get-branch-protection","status":"404"}`)}
		}
		return ok(ep, o.protection(r))
	case len(rest) == 2 && at(0) == "branches":
		ep := p + "/branches/{branch}"
		if at(1) != "main" {
			return Answer{Endpoint: ep, Status: http.StatusNotFound, Body: json.RawMessage(`{"message":"Branch not found","documentation_url":"` + docs + `"}`)}
		}
		head := r.PRs[len(r.PRs)-1]
		return ok(ep, map[string]any{"name": "main", "protected": true, "commit": o.mergeCommit(r, len(r.PRs)-1), "_links": map[string]any{"self": "", "html": ""}, "protection_url": head.MergeSHA})
	case len(rest) == 3 && at(0) == "rules" && at(1) == "branches":
		ep := p + "/rules/branches/{branch}"
		if at(2) != "main" || r.Protection == ProtectClassic {
			return ok(ep, []any{})
		}
		return ok(ep, o.rules(r))
	case len(rest) == 2 && at(0) == "rulesets":
		ep := p + "/rulesets/{id}"
		if r.RulesetID == 0 || at(1) != strconv.FormatInt(r.RulesetID, 10) {
			return notFound(ep)
		}
		return ok(ep, o.ruleset(r))
	case len(rest) == 1 && at(0) == "pulls":
		// closed, most recently updated first.
		items := make([]any, 0, len(r.PRs))
		for j := len(r.PRs) - 1; j >= 0; j-- {
			items = append(items, o.pullObj(r, &r.PRs[j], false))
		}
		return ok(p+"/pulls", items)
	case len(rest) >= 2 && at(0) == "pulls":
		n, err := strconv.Atoi(at(1))
		if err != nil || n < 1 || n > len(r.PRs) {
			return notFound(p + "/pulls/{number}")
		}
		pr := &r.PRs[n-1]
		switch {
		case len(rest) == 2:
			return ok(p+"/pulls/{number}", o.pullObj(r, pr, true))
		case len(rest) == 3 && at(2) == "reviews":
			return ok(p+"/pulls/{number}/reviews", []any{o.reviewObj(r, pr)})
		case len(rest) == 3 && at(2) == "commits":
			return ok(p+"/pulls/{number}/commits", []any{o.prCommit(r, pr)})
		}
	case len(rest) == 1 && at(0) == "commits":
		return o.commitListing(r, q)
	case len(rest) >= 2 && at(0) == "commits":
		return o.commitAnswer(r, at(1), rest[2:])
	case len(rest) == 2 && at(0) == "compare":
		ep := p + "/compare/{basehead}"
		base, head, okCut := strings.Cut(at(1), "...")
		j := r.mergeIndex(head)
		if !okCut || base != "main" || j < 0 {
			return notFound(ep)
		}
		return ok(ep, o.compare(r, j))
	case len(rest) == 2 && at(0) == "actions" && at(1) == "workflows":
		return ok(p+"/actions/workflows", o.obj("workflows", r.Name))
	case len(rest) == 2 && at(0) == "actions" && at(1) == "runs":
		return o.runListing(r, q)
	case len(rest) == 5 && at(0) == "actions" && at(1) == "runs" && at(3) == "attempts":
		return notFound(p + "/actions/runs/{id}/attempts/{n}")
	case len(rest) == 1 && at(0) == "deployments":
		ep := p + "/deployments"
		if env := q.Get("environment"); env != "" && env != "production" {
			return ok(ep, []any{})
		}
		items := make([]any, 0, len(r.Deployments))
		for k := len(r.Deployments) - 1; k >= 0; k-- {
			items = append(items, o.deploymentObj(r, &r.Deployments[k]))
		}
		return ok(ep, items)
	case len(rest) == 3 && at(0) == "deployments" && at(2) == "statuses":
		ep := p + "/deployments/{id}/statuses"
		for k := range r.Deployments {
			if strconv.FormatInt(r.Deployments[k].ID, 10) == at(1) {
				return ok(ep, []any{o.deploymentStatus(r, &r.Deployments[k])})
			}
		}
		return notFound(ep)
	}
	return notFound(p + "/" + strings.Join(rest, "/"))
}

// mergeIndex is the index of the pull request whose merge commit is sha
// (full or abbreviated to 7+ characters), or -1.
func (r *Repo) mergeIndex(sha string) int {
	if len(sha) < 7 {
		return -1
	}
	return slices.IndexFunc(r.PRs, func(p PR) bool { return strings.HasPrefix(p.MergeSHA, strings.ToLower(sha)) })
}

func (r *Repo) headIndex(sha string) int {
	if len(sha) < 7 {
		return -1
	}
	return slices.IndexFunc(r.PRs, func(p PR) bool { return strings.HasPrefix(p.HeadSHA, strings.ToLower(sha)) })
}

func timeParam(q url.Values, k string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, q.Get(k))
	return t, err == nil
}

// commitListing is GET commits?sha=main[&since&until]: the merge commits,
// newest first, filtered by committer date (both ends inclusive).
func (o *Org) commitListing(r *Repo, q url.Values) Answer {
	const ep = "GET /repos/{owner}/{repo}/commits"
	if b := q.Get("sha"); b != "" && b != "main" {
		return Answer{Endpoint: ep, Status: http.StatusNotFound, Body: json.RawMessage(`{"message":"Not Found","documentation_url":"` + docs + `"}`)}
	}
	since, hasSince := timeParam(q, "since")
	until, hasUntil := timeParam(q, "until")
	items := []any{}
	for j := len(r.PRs) - 1; j >= 0; j-- {
		t := r.PRs[j].MergedAt
		if (hasSince && t.Before(since)) || (hasUntil && t.After(until)) {
			continue
		}
		items = append(items, o.mergeCommit(r, j))
	}
	return ok(ep, items)
}

func (o *Org) commitAnswer(r *Repo, ref string, rest []string) Answer {
	const p = "GET /repos/{owner}/{repo}/commits/{ref}"
	var sha string
	var at time.Time
	var id int64
	j := -1
	switch {
	case ref == "main" && len(r.PRs) > 0:
		j = len(r.PRs) - 1
		sha, at, id = r.PRs[j].MergeSHA, r.PRs[j].MergedAt, r.PRs[j].RunID*10+1
	case r.mergeIndex(ref) >= 0:
		j = r.mergeIndex(ref)
		sha, at, id = r.PRs[j].MergeSHA, r.PRs[j].MergedAt, r.PRs[j].RunID*10+1
	case r.headIndex(ref) >= 0:
		h := r.headIndex(ref)
		sha, at, id = r.PRs[h].HeadSHA, r.PRs[h].MergedAt.Add(-time.Hour), r.PRs[h].RunID*10+2
	default:
		ep := p
		if len(rest) > 0 {
			ep += "/" + rest[0]
		}
		return Answer{Endpoint: ep, Status: http.StatusUnprocessableEntity, Body: json.RawMessage(`{"message":"No commit found for SHA: ` + ref + `","documentation_url":"` + docs + `"}`)}
	}
	switch {
	case len(rest) == 0:
		if j < 0 {
			return notFound(p)
		}
		return ok(p, o.mergeCommit(r, j))
	case len(rest) == 1 && rest[0] == "check-runs":
		return ok(p+"/check-runs", o.checkRuns(r, sha, at, id))
	case len(rest) == 1 && rest[0] == "status":
		return ok(p+"/status", o.status(r, sha, at, id))
	case len(rest) == 1 && rest[0] == "pulls":
		if j < 0 || sha != r.PRs[j].MergeSHA {
			return ok(p+"/pulls", []any{})
		}
		return ok(p+"/pulls", []any{o.pullObj(r, &r.PRs[j], false)})
	}
	return notFound(p + "/" + strings.Join(rest, "/"))
}

// runListing is GET actions/runs: by branch and created range, or by
// head_sha; one successful run per merge commit.
func (o *Org) runListing(r *Repo, q url.Values) Answer {
	const ep = "GET /repos/{owner}/{repo}/actions/runs"
	var runs []any
	var start, end time.Time
	hasRange := false
	if c := q.Get("created"); c != "" {
		a, b, _ := strings.Cut(c, "..")
		s, err1 := time.Parse(time.RFC3339, a)
		e, err2 := time.Parse(time.RFC3339, b)
		if err1 != nil || err2 != nil {
			return Answer{Endpoint: ep, Status: http.StatusUnprocessableEntity, Body: json.RawMessage(`{"message":"Validation Failed","documentation_url":"` + docs + `"}`)}
		}
		start, end, hasRange = s, e, true
	}
	for j := len(r.PRs) - 1; j >= 0; j-- {
		pr := &r.PRs[j]
		created := pr.MergedAt.Add(time.Minute)
		switch {
		case q.Get("head_sha") != "" && !strings.EqualFold(q.Get("head_sha"), pr.MergeSHA):
			continue
		case q.Get("branch") != "" && q.Get("branch") != "main":
			continue
		case hasRange && (created.Before(start) || created.After(end)):
			continue
		}
		runs = append(runs, o.workflowRun(r, pr))
	}
	if runs == nil {
		runs = []any{}
	}
	return ok(ep, map[string]any{"total_count": len(runs), "workflow_runs": runs})
}

// Paths lists every path the organisation answers with 200, with the
// query a route needs (ghfake routes match on query conditions).
func (o *Org) paths() []ghfake.Route {
	var out []ghfake.Route
	add := func(path string, q map[string]string) {
		out = append(out, ghfake.Route{Path: path, Query: q})
	}
	add("/orgs/"+o.Config.Org+"/repos", nil)
	for i := range o.Repos {
		r := &o.Repos[i]
		base := fmt.Sprintf("/repos/%s/%s", o.Config.Org, r.Name)
		add(base, nil)
		add(base+"/branches/main", nil)
		add(base+"/branches/main/protection", nil)
		add(base+"/rules/branches/main", nil)
		if r.RulesetID != 0 {
			add(fmt.Sprintf("%s/rulesets/%d", base, r.RulesetID), nil)
		}
		add(base+"/pulls", nil)
		add(base+"/commits", nil)
		add(base+"/actions/workflows", nil)
		add(base+"/actions/runs", nil)
		add(base+"/deployments", nil)
		add(base+"/commits/main/check-runs", nil)
		add(base+"/commits/main/status", nil)
		for j := range r.PRs {
			pr := &r.PRs[j]
			n := strconv.Itoa(pr.Number)
			add(base+"/pulls/"+n, nil)
			add(base+"/pulls/"+n+"/reviews", nil)
			add(base+"/pulls/"+n+"/commits", nil)
			for _, s := range []string{pr.HeadSHA, pr.MergeSHA} {
				add(base+"/commits/"+s+"/check-runs", nil)
				add(base+"/commits/"+s+"/status", nil)
			}
			add(base+"/commits/"+pr.MergeSHA, nil)
			add(base+"/commits/"+pr.MergeSHA+"/pulls", nil)
			add(base+"/compare/main..."+pr.MergeSHA, nil)
			add(base+"/actions/runs", map[string]string{"head_sha": pr.MergeSHA})
		}
		for _, d := range r.Deployments {
			add(fmt.Sprintf("%s/deployments/%d/statuses", base, d.ID), nil)
		}
	}
	return out
}

// Fixture builds the organisation as an in-memory ghfake fixture, every
// answer precomputed: for small organisations (its size grows with every
// pull request's payloads; Server answers lazily instead). Listings are
// served whole, whatever since, until or created a request asks for, so
// use it with a window covering the organisation's days.
func (o *Org) Fixture() *ghfake.Fixture {
	routes := o.paths()
	for i := range routes {
		q := url.Values{}
		for k, v := range routes[i].Query {
			q.Set(k, v)
		}
		a := o.Answer(http.MethodGet, routes[i].Path, q)
		routes[i].Status, routes[i].Body = a.Status, a.Body
	}
	return &ghfake.Fixture{Routes: routes}
}
