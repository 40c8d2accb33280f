package deployments

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// Builders of API payloads in their documented shapes: GitHub's published
// examples (deployment, deployment-status, commit-comparison, commit,
// pull-request-simple, pull-request-review, check-run, combined status) and
// Cloudflare's API reference (Workers deployments, versions, Workers Builds
// builds by version, Pages projects and deployments).

type obj = map[string]any

func body(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// fakeSHA is a stable commit id for a name.
func fakeSHA(name string) string {
	h := sha1.Sum([]byte(name))
	return hex.EncodeToString(h[:])
}

// fakeUUID is a stable UUID for a name.
func fakeUUID(name string) string {
	h := fakeSHA("uuid/" + name)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func fakeID(name string) int64 {
	var n int64
	for _, b := range fakeSHA("id/" + name)[:7] {
		n = n*16 + int64(strings.IndexRune("0123456789abcdef", b))
	}
	return 1_000_000_000 + n
}

// at is a time in the demo week: at("16T12:00") is 2026-11-16T12:00:00Z.
func at(s string) string {
	if len(s) == len("16T12:00") {
		return "2026-11-" + s + ":00Z"
	}
	return s
}

func plusMinutes(ts string, m int) string {
	t := mustTime(ts).Add(time.Duration(m) * time.Minute)
	return t.Format(time.RFC3339)
}

// ---- GitHub ----

func ghUserJSON(login string) obj {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return obj{
		"login": login, "id": fakeID("user/" + login), "node_id": "U_" + fakeSHA(login)[:8],
		"avatar_url": "https://github.com/images/error/" + login + "_happy.gif", "gravatar_id": "",
		"url": "https://api.github.com/users/" + login, "html_url": "https://github.com/" + login,
		"type": typ, "site_admin": false,
	}
}

func ghDeploymentJSON(repo string, id int64, sha, ref, env, creator, created string) obj {
	api := "https://api.github.com/repos/" + repo
	return obj{
		"url": fmt.Sprintf("%s/deployments/%d", api, id), "id": id, "node_id": fmt.Sprintf("DE_%d", id),
		"sha": sha, "ref": ref, "task": "deploy", "payload": obj{}, "original_environment": env,
		"environment": env, "description": "deploy " + sha[:7], "creator": ghUserJSON(creator),
		"created_at": at(created), "updated_at": at(created),
		"statuses_url": fmt.Sprintf("%s/deployments/%d/statuses", api, id), "repository_url": api,
		"transient_environment": false, "production_environment": env == "production",
	}
}

// ghStatuses are a deployment's statuses, newest first: in_progress, then
// the final state.
func ghStatuses(repo string, id int64, env, final, created string) []obj {
	api := "https://api.github.com/repos/" + repo
	st := func(n int64, state, ts string) obj {
		return obj{
			"url": fmt.Sprintf("%s/deployments/%d/statuses/%d", api, id, n), "id": n, "node_id": fmt.Sprintf("DES_%d", n),
			"state": state, "creator": ghUserJSON("github-actions[bot]"), "description": state, "environment": env,
			"target_url": "https://ci.acme.example/deploy", "created_at": ts, "updated_at": ts,
			"deployment_url": fmt.Sprintf("%s/deployments/%d", api, id), "repository_url": api,
			"environment_url": "https://" + env + ".acme.example", "log_url": "https://ci.acme.example/deploy",
		}
	}
	return []obj{st(id*10+2, final, plusMinutes(at(created), 5)), st(id*10+1, "in_progress", plusMinutes(at(created), 1))}
}

func ghDeploymentRoutes(repo string, deps []obj, finals map[int64]string) []ghfake.Route {
	rs := []ghfake.Route{{Path: "/repos/" + repo + "/deployments", Body: body(deps)}}
	for _, d := range deps {
		id := d["id"].(int64)
		if final, ok := finals[id]; ok {
			rs = append(rs, ghfake.Route{Path: fmt.Sprintf("/repos/%s/deployments/%d/statuses", repo, id),
				Body: body(ghStatuses(repo, id, d["environment"].(string), final, d["created_at"].(string)))})
		}
	}
	return rs
}

func ghCommit(repo, sha, author, committer, date, message string) obj {
	api := "https://api.github.com/repos/" + repo
	return obj{
		"url": api + "/commits/" + sha, "sha": sha, "node_id": "C_" + sha[:12],
		"html_url": "https://github.com/" + repo + "/commit/" + sha, "comments_url": api + "/commits/" + sha + "/comments",
		"commit": obj{
			"url":       api + "/git/commits/" + sha,
			"author":    obj{"name": author, "email": author + "@example.com", "date": at(date)},
			"committer": obj{"name": committer, "email": committer + "@example.com", "date": at(date)},
			"message":   message, "tree": obj{"url": api + "/git/trees/" + fakeSHA("tree"+sha), "sha": fakeSHA("tree" + sha)},
			"comment_count": 0, "verification": obj{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil},
		},
		"author": ghUserJSON(author), "committer": ghUserJSON(committer),
		"parents": []obj{{"url": api + "/commits/" + fakeSHA("parent"+sha), "html_url": "https://github.com/" + repo + "/commit/" + fakeSHA("parent"+sha), "sha": fakeSHA("parent" + sha)}},
	}
}

func ghCompare(repo, base, sha, status string, ahead, behind int) obj {
	head := ghCommit(repo, fakeSHA(repo+"/head"), "alice", "web-flow", "22T18:00", "main's head")
	var commits []obj
	for i := range ahead {
		commits = append(commits, ghCommit(repo, fakeSHA(fmt.Sprintf("%s/ahead/%d", sha, i)), "dave", "dave", "21T10:00", "on another branch"))
	}
	if commits == nil {
		commits = []obj{}
	}
	return obj{
		"url":           "https://api.github.com/repos/" + repo + "/compare/" + base + "..." + sha,
		"html_url":      "https://github.com/" + repo + "/compare/" + base + "..." + sha,
		"permalink_url": "https://github.com/" + repo + "/compare/acme:" + head["sha"].(string)[:7] + "...acme:" + sha[:7],
		"diff_url":      "https://github.com/" + repo + "/compare/" + base + "..." + sha + ".diff",
		"patch_url":     "https://github.com/" + repo + "/compare/" + base + "..." + sha + ".patch",
		"base_commit":   head, "merge_base_commit": ghCommit(repo, sha, "alice", "web-flow", "15T10:00", "merge base"),
		"status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
		"commits": commits, "files": []obj{},
	}
}

func compareRoute(repo, base, sha, status string, ahead, behind int) ghfake.Route {
	return ghfake.Route{Path: "/repos/" + repo + "/compare/" + base + "..." + sha, Body: body(ghCompare(repo, base, sha, status, ahead, behind))}
}

func repoRoute(repo, branch string) ghfake.Route {
	owner, name, _ := strings.Cut(repo, "/")
	return ghfake.Route{Path: "/repos/" + repo, Body: body(obj{
		"id": fakeID("repo/" + repo), "node_id": "R_" + fakeSHA(repo)[:10], "name": name, "full_name": repo,
		"private": true, "owner": ghUserJSON(owner), "html_url": "https://github.com/" + repo,
		"default_branch": branch, "archived": false, "visibility": "private",
	})}
}

// directPushRoutes trace sha as a commit pushed to the branch without a
// pull request: GitHub associates none with it.
func directPushRoutes(repo, sha, pusher, date string) []ghfake.Route {
	c := ghCommit(repo, sha, pusher, pusher, date, "chore(release): ship it")
	c["stats"] = obj{"total": 2, "additions": 1, "deletions": 1}
	c["files"] = []obj{{"sha": fakeSHA("file" + sha), "filename": "VERSION", "status": "modified", "additions": 1, "deletions": 1, "changes": 2}}
	return []ghfake.Route{
		{Path: "/repos/" + repo + "/commits/" + sha + "/pulls", Body: body([]obj{})},
		{Path: "/repos/" + repo + "/commits/" + sha, Body: body(c)},
	}
}

// approvedPullRoutes trace sha to pull request n merged into main with it,
// approved by bob on its head, with a green check.
func approvedPullRoutes(repo string, n int, sha, merged string) []ghfake.Route {
	head := fakeSHA(fmt.Sprintf("%s#%d/head", repo, n))
	api := "https://api.github.com/repos/" + repo
	pr := obj{
		"url": fmt.Sprintf("%s/pulls/%d", api, n), "id": fakeID(fmt.Sprintf("pr/%s/%d", repo, n)), "number": n,
		"state": "closed", "title": fmt.Sprintf("Change %d", n), "user": ghUserJSON("alice"), "labels": []obj{},
		"created_at": plusMinutes(at(merged), -300), "updated_at": at(merged), "closed_at": at(merged), "merged_at": at(merged),
		"merge_commit_sha": sha, "head": obj{"ref": fmt.Sprintf("topic-%d", n), "sha": head}, "base": obj{"ref": "main", "sha": fakeSHA(repo + "/base")},
	}
	full := obj{}
	for k, v := range pr {
		full[k] = v
	}
	full["merged_by"], full["commits"] = ghUserJSON("alice"), 1
	return []ghfake.Route{
		{Path: "/repos/" + repo + "/commits/" + sha + "/pulls", Body: body([]obj{pr})},
		{Path: fmt.Sprintf("/repos/%s/pulls/%d", repo, n), Body: body(full)},
		{Path: fmt.Sprintf("/repos/%s/pulls/%d/reviews", repo, n), Body: body([]obj{{
			"id": fakeID(fmt.Sprintf("review/%s/%d", repo, n)), "user": ghUserJSON("bob"), "body": "LGTM", "state": "APPROVED",
			"submitted_at": plusMinutes(at(merged), -30), "commit_id": head, "author_association": "MEMBER"}})},
		{Path: fmt.Sprintf("/repos/%s/pulls/%d/commits", repo, n), Body: body([]obj{ghCommit(repo, head, "alice", "alice", plusMinutes(at(merged), -120), "the change")})},
		{Path: "/repos/" + repo + "/commits/" + head + "/check-runs", Query: map[string]string{"filter": "all"}, Body: body(obj{
			"total_count": 1, "check_runs": []obj{{"id": fakeID("run/" + head), "name": "ci/test", "head_sha": head, "status": "completed",
				"conclusion": "success", "started_at": plusMinutes(at(merged), -60), "completed_at": plusMinutes(at(merged), -50)}}})},
		{Path: "/repos/" + repo + "/commits/" + head + "/status", Body: body(obj{"state": "pending", "statuses": []obj{}, "sha": head, "total_count": 0})},
	}
}

func ghForbidden(path string) ghfake.Route {
	return ghfake.Route{Path: path, Status: 403, Body: body(obj{"message": "Resource not accessible by personal access token",
		"documentation_url": "https://docs.github.com/rest", "status": "403"})}
}

// ---- Cloudflare ----

const cfAcct = "/accounts/" + acct

type share struct {
	version string
	percent float64
}

func cfWorkerDeployment(id, created, source, author string, versions []share, triggeredBy, message string) obj {
	vs := []obj{}
	for _, v := range versions {
		vs = append(vs, obj{"percentage": v.percent, "version_id": v.version})
	}
	ann := obj{"workers/triggered_by": triggeredBy}
	if message != "" {
		ann["workers/message"] = message
	}
	return obj{"id": id, "created_on": at(created), "source": source, "strategy": "percentage",
		"author_email": author, "annotations": ann, "versions": vs}
}

func cfVersion(id string, number int, source, author, created string, ann obj) obj {
	if ann == nil {
		ann = obj{"workers/triggered_by": "upload"}
	}
	return obj{"id": id, "number": number, "metadata": obj{"author_email": author, "author_id": fakeSHA(author)[:32],
		"created_on": at(created), "modified_on": at(created), "source": source, "hasPreview": false}, "annotations": ann}
}

func cfBuild(versionID, sha, repo string) obj {
	owner, name, _ := strings.Cut(repo, "/")
	return obj{"build_uuid": fakeUUID("build/" + versionID), "build_outcome": "success", "created_on": "2026-11-16T09:00:00Z",
		"build_trigger_metadata": obj{"author": "ci@acme.example", "branch": "main", "build_trigger_source": "push",
			"commit_hash": sha, "commit_message": "the change", "provider_account_name": owner, "provider_type": "github",
			"repo_name": name, "build_command": "npm run build", "deploy_command": "npx wrangler deploy", "root_directory": "/"}}
}

// cfWorkerRoutes serves a script's deployments and versions, the
// deployments ending with the script's first deployment, from before the
// window (2026-11-01), so the listing shows it is complete for the window.
func cfWorkerRoutes(script string, deps, versions []obj) []cffake.Route {
	first := cfWorkerDeployment(fakeUUID(script+"/first"), "01T10:00", "wrangler", "ci@acme.example",
		[]share{{fakeUUID(script + "/first-version"), 100}}, "deployment", "")
	return cfWorkerListing(script, append(slices.Clone(deps), first), versions)
}

// cfWorkerListing serves a script's deployments as given, in one answer
// (Cloudflare does not paginate them), and its versions paginated.
func cfWorkerListing(script string, deps, versions []obj) []cffake.Route {
	base := cfAcct + "/workers/scripts/" + script
	return []cffake.Route{
		{Path: base + "/deployments", Result: body(obj{"deployments": deps}), Unpaged: true},
		{Path: base + "/versions", Result: body(obj{"items": versions}), Items: "items"},
	}
}

func cfBuildsRoute(builds map[string]obj) cffake.Route {
	var ids []string
	for id := range builds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return cffake.Route{Path: cfAcct + "/builds/builds", Query: map[string]string{"version_ids": strings.Join(ids, ",")},
		Result: body(obj{"builds": builds})}
}

func cfPagesProject(name, owner, repo string) obj {
	p := obj{"id": fakeUUID("project/" + name), "name": name, "subdomain": name + ".pages.dev", "domains": []string{name + ".pages.dev"},
		"created_on": "2025-01-01T00:00:00Z", "production_branch": "main",
		"build_config": obj{"build_command": "npm run build", "destination_dir": "dist", "root_dir": "", "web_analytics_tag": nil, "web_analytics_token": nil}}
	if repo != "" {
		p["source"] = obj{"type": "github", "config": obj{"owner": owner, "repo_name": repo, "production_branch": "main",
			"pr_comments_enabled": true, "deployments_enabled": true, "production_deployments_enabled": true}}
	}
	return p
}

func cfPagesDeployment(project, id, env, created, sha, branch, trigger, stage, status string, dirty bool) obj {
	meta := obj{"branch": branch, "commit_hash": sha, "commit_message": "the change", "commit_dirty": dirty}
	return obj{"id": id, "short_id": id[:8], "project_id": fakeUUID("project/" + project), "project_name": project,
		"environment": env, "url": "https://" + id[:8] + "." + project + ".pages.dev", "created_on": at(created), "modified_on": at(created),
		"latest_stage":       obj{"name": stage, "started_on": at(created), "ended_on": plusMinutes(at(created), 3), "status": status},
		"deployment_trigger": obj{"type": trigger, "metadata": meta},
		"stages":             []obj{{"name": stage, "started_on": at(created), "ended_on": plusMinutes(at(created), 3), "status": status}},
		"is_skipped":         false, "production_branch": "main"}
}

func cfPagesRoutes(project string, proj obj, deps []obj) []cffake.Route {
	base := cfAcct + "/pages/projects/" + project
	return []cffake.Route{{Path: base, Result: body(proj)}, {Path: base + "/deployments", Result: body(deps)}}
}
