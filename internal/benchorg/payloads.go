package benchorg

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// templates holds one item of each payload, verbatim from
// testdata/github/sample-org (GitHub's documented shapes); the generator
// sets the fields the collectors read and leaves the rest as GitHub would
// send it, so bodies keep their real size.
//
//go:embed templates/*.json
var templates embed.FS

var (
	tmplOnce sync.Once
	tmplText map[string]string
)

// obj is a fresh copy of template name with the sample organisation's
// repository paths replaced by repo's.
func (o *Org) obj(name, repo string) map[string]any {
	tmplOnce.Do(func() {
		tmplText = map[string]string{}
		entries, err := templates.ReadDir("templates")
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		for _, e := range entries {
			b, err := templates.ReadFile("templates/" + e.Name())
			if err != nil {
				panic(err)
			}
			tmplText[strings.TrimSuffix(e.Name(), ".json")] = string(b)
		}
	})
	text, ok := tmplText[name]
	if !ok {
		panic("benchorg: no template " + name) // programming error
	}
	full := o.Config.Org + "/" + repo
	text = strings.NewReplacer("acme/payments", full, "acme/web", full, "acme:", o.Config.Org+":").Replace(text)
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		panic("benchorg: template " + name + ": " + err.Error()) // embedded: tested
	}
	return m
}

// set sets a dotted path of nested objects.
func set(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (o *Org) user(login string) map[string]any {
	u := o.obj("review", "x")["user"].(map[string]any)
	id := int64(10000)
	for _, c := range login {
		id = id*31 + int64(c)
	}
	id %= 100_000_000
	for k, v := range u {
		if s, ok := v.(string); ok {
			u[k] = strings.ReplaceAll(s, "bob", login)
		}
	}
	u["login"], u["id"], u["node_id"] = login, id, fmt.Sprintf("U_%d", id)
	if strings.HasSuffix(login, "[bot]") {
		u["type"] = "Bot"
	}
	return u
}

func (o *Org) repoObj(r *Repo) map[string]any {
	m := o.obj("repo", r.Name)
	m["id"], m["node_id"], m["name"], m["full_name"] = r.ID, fmt.Sprintf("R_%d", r.ID), r.Name, o.Config.Org+"/"+r.Name
	m["default_branch"], m["archived"], m["disabled"] = "main", false, false
	owner := o.user(o.Config.Org)
	owner["type"] = "Organization"
	m["owner"] = owner
	return m
}

func (o *Org) pullObj(r *Repo, p *PR, full bool) map[string]any {
	m := o.obj("pull", r.Name)
	base := fmt.Sprintf("https://api.github.com/repos/%s/%s/pulls/%d", o.Config.Org, r.Name, p.Number)
	m["url"], m["id"], m["node_id"] = base, r.ID*100_000+int64(p.Number), fmt.Sprintf("PR_%d_%d", r.ID, p.Number)
	m["number"], m["state"], m["title"] = p.Number, "closed", fmt.Sprintf("Change %d of %s", p.Number, r.Name)
	m["user"] = o.user(p.Author)
	m["created_at"], m["updated_at"], m["closed_at"], m["merged_at"] = ts(p.CreatedAt), ts(p.MergedAt), ts(p.MergedAt), ts(p.MergedAt)
	m["merge_commit_sha"], m["labels"] = p.MergeSHA, []any{}
	set(m, "head.sha", p.HeadSHA)
	set(m, "head.ref", fmt.Sprintf("topic-%d", p.Number))
	set(m, "head.label", fmt.Sprintf("%s:topic-%d", o.Config.Org, p.Number))
	set(m, "base.ref", "main")
	set(m, "base.label", o.Config.Org+":main")
	if !full {
		for _, k := range []string{"merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments",
			"review_comments", "maintainer_can_modify", "commits", "additions", "deletions", "changed_files"} {
			delete(m, k)
		}
		return m
	}
	m["merged"], m["merged_by"], m["commits"] = true, o.user(p.MergedBy), 1
	return m
}

func (o *Org) reviewObj(r *Repo, p *PR) map[string]any {
	m := o.obj("review", r.Name)
	id := r.ID*100_000 + int64(p.Number)
	m["id"], m["node_id"], m["user"], m["state"] = id, fmt.Sprintf("PRR_%d", id), o.user(p.Reviewer), "APPROVED"
	m["body"], m["submitted_at"], m["commit_id"] = "Looks good to me.", ts(p.MergedAt.Add(-30*time.Minute)), p.HeadSHA
	url := fmt.Sprintf("https://github.com/%s/%s/pull/%d#pullrequestreview-%d", o.Config.Org, r.Name, p.Number, id)
	m["html_url"] = url
	m["pull_request_url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s/pulls/%d", o.Config.Org, r.Name, p.Number)
	set(m, "_links.html.href", url)
	set(m, "_links.pull_request.href", m["pull_request_url"])
	return m
}

// commitObj is a commit as the commit listings and GET commits/{sha} give it.
func (o *Org) commitObj(r *Repo, sha, author, committer, msg string, when time.Time, parent string) map[string]any {
	m := o.obj("commit", r.Name)
	url := fmt.Sprintf("https://api.github.com/repos/%s/%s/commits/%s", o.Config.Org, r.Name, sha)
	m["sha"], m["url"], m["node_id"] = sha, url, "C_"+sha[:14]
	m["html_url"] = fmt.Sprintf("https://github.com/%s/%s/commit/%s", o.Config.Org, r.Name, sha)
	m["comments_url"] = url + "/comments"
	set(m, "commit.message", msg)
	set(m, "commit.author", map[string]any{"name": author, "email": author + "@example.com", "date": ts(when)})
	set(m, "commit.committer", map[string]any{"name": committer, "email": committer + "@example.com", "date": ts(when)})
	m["author"], m["committer"] = o.user(author), o.user(committer)
	m["parents"] = []any{map[string]any{"sha": parent, "url": fmt.Sprintf("https://api.github.com/repos/%s/%s/commits/%s", o.Config.Org, r.Name, parent)}}
	return m
}

func (o *Org) prCommit(r *Repo, p *PR) map[string]any {
	return o.commitObj(r, p.HeadSHA, p.Author, p.Author, fmt.Sprintf("Implement change %d", p.Number), p.MergedAt.Add(-2*time.Hour), sha(o.Config.Seed, r.Name, p.Number, "base"))
}

func (o *Org) mergeCommit(r *Repo, j int) map[string]any {
	p := &r.PRs[j]
	parent := sha(o.Config.Seed, r.Name, -1, "root")
	if j > 0 {
		parent = r.PRs[j-1].MergeSHA
	}
	c := o.commitObj(r, p.MergeSHA, p.Author, "web-flow", fmt.Sprintf("Change %d of %s (#%d)", p.Number, r.Name, p.Number), p.MergedAt, parent)
	c["parents"] = append(c["parents"].([]any), map[string]any{"sha": p.HeadSHA})
	return c
}

// checkRuns is GET commits/{sha}/check-runs: one successful check run.
func (o *Org) checkRuns(r *Repo, sha string, at time.Time, id int64) map[string]any {
	m := o.obj("check-runs", r.Name)
	run := m["check_runs"].([]any)[0].(map[string]any)
	run["id"], run["node_id"], run["head_sha"] = id, fmt.Sprintf("CR_%d", id), sha
	run["status"], run["conclusion"], run["name"] = "completed", "success", "ci/build"
	run["started_at"], run["completed_at"] = ts(at.Add(time.Minute)), ts(at.Add(6*time.Minute))
	run["url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s/check-runs/%d", o.Config.Org, r.Name, id)
	m["total_count"] = 1
	return m
}

// status is GET commits/{sha}/status: one successful status.
func (o *Org) status(r *Repo, sha string, at time.Time, id int64) map[string]any {
	m := o.obj("status", r.Name)
	m["sha"], m["state"], m["total_count"] = sha, "success", 1
	m["url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s/commits/%s/status", o.Config.Org, r.Name, sha)
	m["commit_url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s/commits/%s", o.Config.Org, r.Name, sha)
	st := m["statuses"].([]any)[0].(map[string]any)
	st["id"], st["node_id"], st["state"], st["context"] = id, fmt.Sprintf("SC_%d", id), "success", "lint"
	st["created_at"], st["updated_at"] = ts(at.Add(2*time.Minute)), ts(at.Add(2*time.Minute))
	st["url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s/statuses/%s", o.Config.Org, r.Name, sha)
	return m
}

func (o *Org) workflowRun(r *Repo, p *PR) map[string]any {
	m := o.obj("workflow-runs", r.Name)["workflow_runs"].([]any)[0].(map[string]any)
	created := p.MergedAt.Add(time.Minute)
	m["id"], m["node_id"], m["run_number"], m["run_attempt"] = p.RunID, fmt.Sprintf("WFR_%d", p.RunID), p.Number, 1
	m["head_sha"], m["head_branch"], m["event"] = p.MergeSHA, "main", "push"
	m["status"], m["conclusion"] = "completed", "success"
	m["created_at"], m["run_started_at"], m["updated_at"] = ts(created), ts(created), ts(created.Add(10*time.Minute))
	m["display_title"] = fmt.Sprintf("Change %d of %s (#%d)", p.Number, r.Name, p.Number)
	set(m, "head_commit.id", p.MergeSHA)
	set(m, "head_commit.timestamp", ts(p.MergedAt))
	m["actor"], m["triggering_actor"] = o.user(p.Author), o.user(p.Author)
	for k, v := range m {
		if s, ok := v.(string); ok && strings.Contains(s, "/actions/runs/4110") {
			m[k] = strings.ReplaceAll(s, "/actions/runs/4110", fmt.Sprintf("/actions/runs/%d", p.RunID))
		}
	}
	return m
}

func (o *Org) deploymentObj(r *Repo, d *Deployment) map[string]any {
	m := o.obj("deployment", r.Name)
	url := fmt.Sprintf("https://api.github.com/repos/%s/%s/deployments/%d", o.Config.Org, r.Name, d.ID)
	m["id"], m["node_id"], m["url"], m["statuses_url"] = d.ID, fmt.Sprintf("DE_%d", d.ID), url, url+"/statuses"
	m["sha"], m["ref"], m["environment"], m["original_environment"] = d.SHA, "main", "production", "production"
	m["production_environment"], m["transient_environment"] = true, false
	m["description"] = fmt.Sprintf("Deploy #%d", r.PRs[d.PR].Number)
	m["created_at"], m["updated_at"] = ts(d.CreatedAt), ts(d.CreatedAt)
	m["creator"] = o.user("github-actions[bot]")
	return m
}

func (o *Org) deploymentStatus(r *Repo, d *Deployment) map[string]any {
	m := o.obj("deployment-status", r.Name)
	id := d.ID*10 + 1
	url := fmt.Sprintf("https://api.github.com/repos/%s/%s/deployments/%d", o.Config.Org, r.Name, d.ID)
	m["id"], m["node_id"], m["url"], m["deployment_url"] = id, fmt.Sprintf("DES_%d", id), fmt.Sprintf("%s/statuses/%d", url, id), url
	m["state"], m["environment"], m["description"] = "success", "production", "Deployment finished successfully."
	m["created_at"], m["updated_at"] = ts(d.CreatedAt.Add(3*time.Minute)), ts(d.CreatedAt.Add(3*time.Minute))
	m["creator"] = o.user("github-actions[bot]")
	return m
}

// compare is GET compare/main...{sha} for a merge commit j of the default
// branch: behind by the merges after it.
func (o *Org) compare(r *Repo, j int) map[string]any {
	m := o.obj("compare", r.Name)
	p := &r.PRs[j]
	head := r.PRs[len(r.PRs)-1]
	url := fmt.Sprintf("https://api.github.com/repos/%s/%s/compare/main...%s", o.Config.Org, r.Name, p.MergeSHA)
	m["url"] = url
	m["html_url"] = strings.Replace(url, "api.github.com/repos", "github.com", 1)
	m["permalink_url"] = fmt.Sprintf("https://github.com/%s/%s/compare/%s:%s...%s:%s", o.Config.Org, r.Name, o.Config.Org, head.MergeSHA[:7], o.Config.Org, p.MergeSHA[:7])
	m["diff_url"], m["patch_url"] = m["html_url"].(string)+".diff", m["html_url"].(string)+".patch"
	m["base_commit"] = o.mergeCommit(r, len(r.PRs)-1)
	m["merge_base_commit"] = o.mergeCommit(r, j)
	behind := len(r.PRs) - 1 - j
	m["status"], m["ahead_by"], m["behind_by"], m["total_commits"] = "behind", 0, behind, 0
	if behind == 0 {
		m["status"] = "identical"
	}
	m["commits"], m["files"] = []any{}, []any{}
	return m
}

func (o *Org) protection(r *Repo) map[string]any {
	m := o.obj("protection", r.Name)
	return m
}

// rulesOf are the repository ruleset's rules.
func rulesOf() []map[string]any {
	return []map[string]any{
		{"type": "deletion"},
		{"type": "non_fast_forward"},
		{"type": "pull_request", "parameters": map[string]any{
			"required_approving_review_count": 1, "dismiss_stale_reviews_on_push": true, "require_code_owner_review": false,
			"require_last_push_approval": false, "required_review_thread_resolution": false,
		}},
		{"type": "required_status_checks", "parameters": map[string]any{
			"strict_required_status_checks_policy": true,
			"required_status_checks":               []any{map[string]any{"context": "ci/build"}},
		}},
	}
}

// rules is GET rules/branches/main: the ruleset's rules, each naming it.
func (o *Org) rules(r *Repo) []any {
	var out []any
	for _, rule := range rulesOf() {
		m := o.obj("rule", r.Name)
		m["ruleset_source_type"], m["ruleset_source"], m["ruleset_id"] = "Repository", o.Config.Org+"/"+r.Name, r.RulesetID
		for k, v := range rule {
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

func (o *Org) ruleset(r *Repo) map[string]any {
	m := o.obj("ruleset", r.Name)
	m["id"], m["name"], m["node_id"] = r.RulesetID, "main protection", fmt.Sprintf("RRS_%d", r.RulesetID)
	m["source_type"], m["source"], m["enforcement"] = "Repository", o.Config.Org+"/"+r.Name, "active"
	var rules []any
	for _, rule := range rulesOf() {
		rules = append(rules, rule)
	}
	m["rules"] = rules
	set(m, "_links.self.href", fmt.Sprintf("https://api.github.com/repos/%s/%s/rulesets/%d", o.Config.Org, r.Name, r.RulesetID))
	set(m, "_links.html.href", fmt.Sprintf("https://github.com/%s/%s/rules/%d", o.Config.Org, r.Name, r.RulesetID))
	return m
}
