package deployments

import (
	"cmp"
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
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// classify decides what becomes of a listed deployment: judged (window,
// production), kept for require_non_production_first (non_production,
// lookback), or neither.
func (r *run) classify(created time.Time, production bool) (string, bool) {
	w := r.facts.Window
	switch {
	case !created.Before(w.End):
		return AfterWindow, false
	case !created.Before(w.Start):
		if production {
			return InWindow, true
		}
		return OtherEnvironment, r.p.RequireNonProductionFirst
	case !production && r.p.RequireNonProductionFirst && !created.Before(r.facts.LookbackStart):
		return InLookback, true
	}
	return BeforeWindow, false
}

// sourceResult is one source's facts, or the error that makes the
// collection's population unknown.
type sourceResult[T any] struct {
	facts T
	fatal error
}

// ---- GitHub Deployments ----

func (r *run) githubRepo(ctx context.Context, j collectors.ScopedRepo) sourceResult[RepoFacts] {
	info := j.Repo
	rf := RepoFacts{Repo: info.FullName(), DefaultBranch: info.DefaultBranch, Status: StatusRead,
		Listings: []mergeactivity.Listing{}, Listed: []Listed{}, Deployments: []GitHubDeployment{}}
	envs := r.p.GitHub.Environments
	if len(envs) == 0 {
		envs = []string{""}
	}
	var items []ghDeployment
	for _, env := range envs {
		l, its, err := listDeployments(ctx, r.c.gh, info.Owner, info.Name, env, r.facts.LookbackStart)
		rf.Listings = append(rf.Listings, l)
		if err != nil {
			var le *listError
			if errors.As(err, &le) && le.withheld {
				rf.Status, rf.Reason = StatusUnreadable, le.reason
				rf.Listed, rf.Deployments = []Listed{}, []GitHubDeployment{}
				return sourceResult[RepoFacts]{facts: rf}
			}
			return sourceResult[RepoFacts]{facts: rf, fatal: err}
		}
		items = append(items, its...)
	}
	seen := map[int64]bool{}
	var keep []ghDeployment
	for _, d := range items {
		flag := d.ProductionEnvironment != nil && *d.ProductionEnvironment
		prod := r.p.isProduction(d.Environment, flag)
		l := Listed{ID: strconv.FormatInt(d.ID, 10), Environment: d.Environment, CreatedAt: d.CreatedAt.UTC(), Production: prod}
		var needed bool
		if seen[d.ID] {
			l.Disposition = Duplicate
		} else {
			l.Disposition, needed = r.classify(*d.CreatedAt, prod)
		}
		seen[d.ID] = true
		rf.Listed = append(rf.Listed, l)
		if needed {
			keep = append(keep, d)
		}
	}
	for _, d := range keep {
		path := fmt.Sprintf("repos/%s/%s/deployments/%d/statuses?per_page=%d", esc(info.Owner), esc(info.Name), d.ID, perPage)
		src, err := collectors.ReadSource(ctx, r.c.gh, path, maxSourcePages)
		if err != nil {
			if ctx.Err() != nil {
				return sourceResult[RepoFacts]{facts: rf, fatal: ctx.Err()}
			}
			return sourceResult[RepoFacts]{facts: rf, fatal: fmt.Errorf("reading the statuses of deployment %d of %s: %w", d.ID, rf.Repo, err)}
		}
		view, err := githubView(rf.Repo, d, src, r.p, r.facts)
		if err != nil {
			return sourceResult[RepoFacts]{facts: rf, fatal: fmt.Errorf("deployment %d of %s: %w", d.ID, rf.Repo, err)}
		}
		rf.Deployments = append(rf.Deployments, GitHubDeployment{Item: d.raw, Statuses: src, View: view})
	}
	slices.SortFunc(rf.Deployments, func(a, b GitHubDeployment) int { return compareViews(a.View, b.View) })
	return sourceResult[RepoFacts]{facts: rf}
}

// ghStatus is what is read of a deployment status.
type ghStatus struct {
	ID        int64      `json:"id"`
	State     string     `json:"state"`
	Creator   *ghUser    `json:"creator"`
	CreatedAt *time.Time `json:"created_at"`
}

// githubView normalises a GitHub deployment and its statuses.
func githubView(repo string, d ghDeployment, src *mergeactivity.Source, p *Policy, f *Facts) (Deployment, error) {
	flag := d.ProductionEnvironment != nil && *d.ProductionEnvironment
	v := Deployment{
		Source: SourceGitHub, Name: repo, ID: strconv.FormatInt(d.ID, 10),
		Target:      "github.com/" + strings.ToLower(repo) + "/deployments/" + strconv.FormatInt(d.ID, 10),
		Environment: d.Environment, Production: p.isProduction(d.Environment, flag),
		CreatedAt: d.CreatedAt.UTC(), Trigger: d.Task, Ref: d.Ref,
		Code: []Code{{Repo: repo, SHA: d.SHA, Link: "the deployment's sha"}},
	}
	v.InWindow = f.Window.Contains(v.CreatedAt)
	if d.Creator != nil {
		v.Creator = d.Creator.Login
	}
	if d.Description != nil {
		v.Message = *d.Description
	}
	if src.Status != mergeactivity.SourceRead {
		last := src.Pages[len(src.Pages)-1]
		v.Outcome, v.OutcomeDetail = OutcomeUnreadable, "statuses unreadable: "+collectors.WithheldReason(last, githubapi.PermDeployments)
		return v, nil
	}
	var all []ghStatus
	for i, call := range src.Pages {
		if isNull(call.Body) {
			return v, fmt.Errorf("parsing its statuses (page %d): the answer is null, not an array", i+1)
		}
		var page []ghStatus
		if err := json.Unmarshal(call.Body, &page); err != nil {
			return v, fmt.Errorf("parsing its statuses (page %d): %w", i+1, err)
		}
		all = append(all, page...)
	}
	all = slices.DeleteFunc(all, func(s ghStatus) bool { return s.CreatedAt == nil })
	if len(all) == 0 {
		v.Outcome, v.OutcomeDetail = OutcomeUnknown, "no deployment status"
		return v, nil
	}
	latest := slices.MaxFunc(all, func(a, b ghStatus) int { return cmp.Or(a.CreatedAt.Compare(*b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	by := "an account GitHub did not name"
	if latest.Creator != nil && latest.Creator.Login != "" {
		by = latest.Creator.Login
	}
	v.OutcomeDetail = fmt.Sprintf("latest status %s by %s at %s", latest.State, by, latest.CreatedAt.UTC().Format(time.RFC3339))
	switch latest.State {
	case "success", "inactive":
		v.Outcome = OutcomeSucceeded
	case "failure", "error":
		v.Outcome = OutcomeFailed
	case "pending", "queued", "in_progress":
		v.Outcome = OutcomeInProgress
	default:
		v.Outcome = OutcomeUnknown
	}
	return v, nil
}

// ---- Cloudflare Workers ----

func (r *run) workerScript(ctx context.Context, w WorkerPolicy) sourceResult[ScriptFacts] {
	acct := r.p.Cloudflare.AccountID
	sf := ScriptFacts{Account: acct, Script: w.Script, Repo: w.Repo, Production: w.production(), Status: StatusRead, Listed: []Listed{}, Views: []Deployment{}}
	fatal := func(err error) sourceResult[ScriptFacts] {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return sourceResult[ScriptFacts]{facts: sf, fatal: err}
	}
	base := cfapi.Path("accounts", acct, "workers", "scripts", w.Script)
	// Not paginated: one answer holding the most recent deployments.
	l, raw, err := r.c.cf.List(ctx, base+"/deployments", nil, cfapi.ListOptions{Key: "deployments", Unpaged: true})
	sf.Deployments = l
	if err != nil {
		if cfapi.Withheld(err) {
			sf.Status, sf.Reason = StatusUnreadable, cloudflareWithheld(err, permWorkers)
			return sourceResult[ScriptFacts]{facts: sf}
		}
		return fatal(fmt.Errorf("listing the deployments of Worker %s: %w", w.Script, err))
	}
	deps, err := parseAll(raw, func(d *workerDeployment) error {
		if d.ID == "" || d.CreatedOn == nil {
			return errors.New("a deployment needs an id and created_on")
		}
		return nil
	})
	if err != nil {
		return fatal(fmt.Errorf("parsing the deployments of Worker %s: %w", w.Script, err))
	}
	if since, needed := r.workersSince(sf.Production); needed {
		if reach := workersReach(deps, since); reach != "" {
			l.Stop += "; " + reach
		} else {
			sf.Status = StatusPartial
			sf.Reason = workersPartial(deps, since)
			l.Stop += "; " + sf.Reason
		}
	}
	env := "production"
	if !sf.Production {
		env = "non-production"
	}
	seen := map[string]bool{}
	var keep []workerDeployment
	need := map[string]bool{}
	for _, d := range deps {
		l := Listed{ID: d.ID, Environment: env, CreatedAt: d.CreatedOn.UTC(), Production: sf.Production}
		var needed bool
		if seen[d.ID] {
			l.Disposition = Duplicate
		} else {
			l.Disposition, needed = r.classify(*d.CreatedOn, sf.Production)
		}
		seen[d.ID] = true
		sf.Listed = append(sf.Listed, l)
		if needed {
			keep = append(keep, d)
			for _, v := range d.Versions {
				need[v.VersionID] = true
			}
		}
	}

	versions := map[string]workerVersion{}
	versionsUnknown := ""
	if len(need) > 0 {
		found := map[string]bool{}
		l, raw, err := r.c.cf.List(ctx, base+"/versions", nil, cfapi.ListOptions{PerPage: workersPerPage, Key: "items",
			Continue: func(page int, items []json.RawMessage) (bool, string) {
				for _, it := range items {
					var v struct {
						ID string `json:"id"`
					}
					if json.Unmarshal(it, &v) == nil && need[v.ID] {
						found[v.ID] = true
					}
				}
				if len(found) == len(need) {
					return false, fmt.Sprintf("stopped after page %d: every version the deployments name was found", page)
				}
				return true, ""
			}})
		sf.Versions = l
		switch {
		case err != nil && cfapi.Withheld(err):
			versionsUnknown = "the versions are unreadable: " + cloudflareWithheld(err, permWorkers)
		case err != nil:
			return fatal(fmt.Errorf("listing the versions of Worker %s: %w", w.Script, err))
		default:
			vs, err := parseAll(raw, func(v *workerVersion) error {
				if v.ID == "" {
					return errors.New("a version needs an id")
				}
				return nil
			})
			if err != nil {
				return fatal(fmt.Errorf("parsing the versions of Worker %s: %w", w.Script, err))
			}
			for _, v := range vs {
				versions[v.ID] = v
			}
		}
	}

	builds, buildsUnknown, err := r.readBuilds(ctx, &sf, versions, need)
	if err != nil {
		return fatal(fmt.Errorf("reading the Workers Builds of Worker %s: %w", w.Script, err))
	}
	for _, d := range keep {
		sf.Views = append(sf.Views, workerView(acct, sf, d, versions, versionsUnknown, builds, buildsUnknown, r.facts))
	}
	slices.SortFunc(sf.Views, compareViews)
	return sourceResult[ScriptFacts]{facts: sf}
}

// workersSince is how far back a Worker's deployments listing must reach
// to hold every deployment the collection needs: the window start for a
// production script, the look-back start for a non-production one under
// require_non_production_first; nothing for a non-production one
// otherwise (none of its deployments is read).
func (r *run) workersSince(production bool) (time.Time, bool) {
	switch {
	case production:
		return r.facts.Window.Start, true
	case r.p.RequireNonProductionFirst:
		return r.facts.LookbackStart, true
	}
	return time.Time{}, false
}

// workersReach names the deployment that shows the listing reaches back
// before since (the listing is newest first, so nothing after it is
// missing), or "" when none does. An empty listing reaches: the script
// has no deployment at all.
func workersReach(deps []workerDeployment, since time.Time) string {
	if len(deps) == 0 {
		return "no deployment at all: complete"
	}
	for _, d := range deps {
		if d.CreatedOn.Before(since) {
			return fmt.Sprintf("complete back to %s: deployment %s was created at %s, before it",
				since.UTC().Format(time.RFC3339), d.ID, d.CreatedOn.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// workersPartial says why a Workers listing may be missing deployments,
// naming the oldest it holds.
func workersPartial(deps []workerDeployment, since time.Time) string {
	oldest := slices.MinFunc(deps, func(a, b workerDeployment) int { return a.CreatedOn.Compare(*b.CreatedOn) })
	return fmt.Sprintf("the deployments listing is not paginated and holds only the most recent %d deployments; the oldest, %s, was created at %s, not before %s: earlier deployments since then may be missing",
		len(deps), oldest.ID, oldest.CreatedOn.UTC().Format(time.RFC3339), since.UTC().Format(time.RFC3339))
}

// readBuilds looks up the Workers Builds builds of the needed versions that
// Workers Builds uploaded, buildsBatch at a time. A withheld lookup leaves
// their commit unknown (the reason is returned).
func (r *run) readBuilds(ctx context.Context, sf *ScriptFacts, versions map[string]workerVersion, need map[string]bool) (map[string]build, string, error) {
	var ids []string
	for id := range need {
		if v, ok := versions[id]; ok && v.Metadata.Source == "workersci" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := map[string]build{}
	path := cfapi.Path("accounts", r.p.Cloudflare.AccountID, "builds", "builds")
	for chunk := range slices.Chunk(ids, buildsBatch) {
		call, err := r.c.cf.Get(ctx, path, url.Values{"version_ids": {strings.Join(chunk, ",")}})
		sf.Builds = append(sf.Builds, call)
		if err != nil {
			if cfapi.Withheld(err) {
				return out, "the Workers Builds builds are unreadable: " + cloudflareWithheld(err, permWorkersCI), nil
			}
			return nil, "", err
		}
		var res struct {
			Builds map[string]build `json:"builds"`
		}
		if err := json.Unmarshal(call.Result, &res); err != nil {
			return nil, "", fmt.Errorf("%s: parsing the builds: %w", call.Request, err)
		}
		for id, b := range res.Builds {
			out[id] = b
		}
	}
	return out, "", nil
}

// interactive are the version sources that are edits made in Cloudflare's
// dashboard, editor or playground: code no pull request reviewed.
var interactive = []string{"dash", "quick_editor", "playground"}

// workerView normalises a Workers deployment: one Code per version, its
// commit from the Workers Builds build that uploaded it.
func workerView(acct string, sf ScriptFacts, d workerDeployment, versions map[string]workerVersion, versionsUnknown string,
	builds map[string]build, buildsUnknown string, f *Facts) Deployment {
	env := "production"
	if !sf.Production {
		env = "non-production"
	}
	v := Deployment{
		Source: SourceWorkers, Name: sf.Script, ID: d.ID,
		Target:      "cloudflare.com/" + acct + "/workers/" + sf.Script + "/deployments/" + d.ID,
		Environment: env, Production: sf.Production, CreatedAt: d.CreatedOn.UTC(),
		Creator: d.AuthorEmail, Trigger: d.Source,
		Outcome: OutcomeSucceeded, OutcomeDetail: "a Workers deployment takes effect when it is created",
		Rollback: annotation(d.Annotations, "workers/triggered_by") == "rollback",
		Message:  annotation(d.Annotations, "workers/message"),
		Code:     []Code{},
	}
	v.InWindow = f.Window.Contains(v.CreatedAt)
	for _, dv := range d.Versions {
		c := Code{Version: dv.VersionID, Percentage: dv.Percentage, Repo: sf.Repo}
		ver, ok := versions[dv.VersionID]
		switch {
		case !ok && versionsUnknown != "":
			c.Unlinked, c.LinkUnknown = versionsUnknown, true
		case !ok:
			c.Unlinked, c.LinkUnknown = "the version is not in the script's versions listing", true
		default:
			c.VersionNumber, c.Source = ver.Number, ver.Metadata.Source
			c.Tag = annotation(ver.Annotations, "workers/tag")
			b, built := builds[ver.ID]
			switch {
			case ver.Metadata.Source == "workersci" && buildsUnknown != "":
				c.Unlinked, c.LinkUnknown = buildsUnknown, true
			case ver.Metadata.Source == "workersci" && built && isCommitHash(b.Trigger.CommitHash):
				c.SHA = b.Trigger.CommitHash
				c.Link = fmt.Sprintf("Workers Builds build %s of branch %s", b.BuildUUID, b.Trigger.Branch)
				c.BuildProvider = b.Trigger.ProviderType
				if b.Trigger.ProviderAccountName != "" && b.Trigger.RepoName != "" {
					c.BuildRepo = b.Trigger.ProviderAccountName + "/" + b.Trigger.RepoName
				}
			case ver.Metadata.Source == "workersci":
				c.Unlinked = "Workers Builds has no build with a commit for the version"
			case slices.Contains(interactive, ver.Metadata.Source):
				c.Unlinked = fmt.Sprintf("the version was edited in Cloudflare (%s) by %s: no commit", ver.Metadata.Source, orUnknown(ver.Metadata.AuthorEmail))
			default:
				c.Unlinked = fmt.Sprintf("the version was uploaded by %s (%s) and names no commit", orUnknown(ver.Metadata.AuthorEmail), orUnknown(ver.Metadata.Source))
			}
		}
		v.Code = append(v.Code, c)
	}
	return v
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ---- Cloudflare Pages ----

func (r *run) pagesProject(ctx context.Context, pp PagesPolicy) sourceResult[ProjectFacts] {
	acct := r.p.Cloudflare.AccountID
	pf := ProjectFacts{Account: acct, Project: pp.Project, Status: StatusRead, Listed: []Listed{}, Views: []Deployment{}}
	fatal := func(err error) sourceResult[ProjectFacts] {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return sourceResult[ProjectFacts]{facts: pf, fatal: err}
	}
	base := cfapi.Path("accounts", acct, "pages", "projects", pp.Project)
	call, err := r.c.cf.Get(ctx, base, nil)
	pf.ProjectCall = &call
	if err != nil {
		if cfapi.Withheld(err) {
			pf.Status, pf.Reason = StatusUnreadable, cloudflareWithheld(err, permPages)
			return sourceResult[ProjectFacts]{facts: pf}
		}
		return fatal(fmt.Errorf("reading Pages project %s: %w", pp.Project, err))
	}
	var proj pagesProject
	if err := json.Unmarshal(call.Result, &proj); err != nil {
		return fatal(fmt.Errorf("%s: parsing the project: %w", call.Request, err))
	}
	switch {
	case pp.Repo != "":
		pf.Repo, pf.RepoFrom = pp.Repo, "policy"
	case proj.Source != nil && proj.Source.Type == "github" && proj.Source.Config != nil && proj.Source.Config.Owner != "" && proj.Source.Config.RepoName != "":
		pf.Repo, pf.RepoFrom = proj.Source.Config.Owner+"/"+proj.Source.Config.RepoName, "source.config"
	}

	l, raw, err := r.c.cf.List(ctx, base+"/deployments", nil, cfapi.ListOptions{PerPage: pagesPerPage,
		Continue: stopBefore(r.facts.LookbackStart, "created_on", "deployment")})
	pf.Deployments = l
	if err != nil {
		if cfapi.Withheld(err) {
			pf.Status, pf.Reason = StatusUnreadable, cloudflareWithheld(err, permPages)
			return sourceResult[ProjectFacts]{facts: pf}
		}
		return fatal(fmt.Errorf("listing the deployments of Pages project %s: %w", pp.Project, err))
	}
	deps, err := parseAll(raw, func(d *pagesDeployment) error {
		if d.ID == "" || d.CreatedOn == nil {
			return errors.New("a deployment needs an id and created_on")
		}
		return nil
	})
	if err != nil {
		return fatal(fmt.Errorf("parsing the deployments of Pages project %s: %w", pp.Project, err))
	}
	seen := map[string]bool{}
	for _, d := range deps {
		prod := d.Environment == "production"
		l := Listed{ID: d.ID, Environment: d.Environment, CreatedAt: d.CreatedOn.UTC(), Production: prod}
		var needed bool
		if seen[d.ID] {
			l.Disposition = Duplicate
		} else {
			l.Disposition, needed = r.classify(*d.CreatedOn, prod)
		}
		seen[d.ID] = true
		pf.Listed = append(pf.Listed, l)
		if needed {
			pf.Views = append(pf.Views, pagesView(acct, pf, d, r.facts))
		}
	}
	slices.SortFunc(pf.Views, compareViews)
	return sourceResult[ProjectFacts]{facts: pf}
}

// pagesGitTriggers are the Pages deployment triggers of the Git
// integration: Cloudflare checked out and built the commit it names. Any
// other trigger (ad_hoc: a direct upload) names the commit its uploader
// claims.
var pagesGitTriggers = []string{"github:push", "deploy_hook"}

// pagesView normalises a Pages deployment.
func pagesView(acct string, pf ProjectFacts, d pagesDeployment, f *Facts) Deployment {
	v := Deployment{
		Source: SourcePages, Name: pf.Project, ID: d.ID,
		Target:      "cloudflare.com/" + acct + "/pages/" + pf.Project + "/deployments/" + d.ID,
		Environment: d.Environment, Production: d.Environment == "production", CreatedAt: d.CreatedOn.UTC(),
		Trigger: d.DeploymentTrigger.Type,
	}
	v.InWindow = f.Window.Contains(v.CreatedAt)
	c := Code{Repo: pf.Repo}
	trigger := orUnknown(d.DeploymentTrigger.Type)
	if m := d.DeploymentTrigger.Metadata; m != nil {
		v.Ref, v.Message = m.Branch, m.CommitMessage
		c.Dirty = m.CommitDirty
		switch {
		case !isCommitHash(m.CommitHash):
		case slices.Contains(pagesGitTriggers, d.DeploymentTrigger.Type):
			c.SHA = m.CommitHash
			c.Link = fmt.Sprintf("deployment_trigger.metadata.commit_hash (%s: built by the Pages Git integration)", trigger)
		default:
			c.UploadCommit = m.CommitHash
			c.Unlinked = fmt.Sprintf("a direct upload (trigger %s) naming commit %s, which the uploader chose (wrangler pages deploy --commit-hash), so it is no link to the commit", trigger, short(m.CommitHash))
		}
	}
	if c.SHA == "" && c.Unlinked == "" {
		c.Unlinked = fmt.Sprintf("the deployment names no commit (trigger %s)", trigger)
	}
	v.Code = []Code{c}
	switch st := d.LatestStage; {
	case d.IsSkipped:
		v.Outcome, v.OutcomeDetail = OutcomeFailed, "skipped (is_skipped)"
	case st == nil:
		v.Outcome, v.OutcomeDetail = OutcomeUnknown, "no latest_stage"
	default:
		v.OutcomeDetail = fmt.Sprintf("latest stage %s: %s", st.Name, st.Status)
		switch {
		case st.Name == "deploy" && st.Status == "success":
			v.Outcome = OutcomeSucceeded
		case st.Status == "failure" || st.Status == "canceled":
			v.Outcome = OutcomeFailed
		default:
			v.Outcome = OutcomeInProgress
		}
	}
	return v
}

// compareViews orders deployments by time, then id.
func compareViews(a, b Deployment) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
}

// lookupRepo reads a repository for its default branch.
func lookupRepo(ctx context.Context, gh *githubapi.Client, repo string) (RepoLookup, error) {
	owner, name, _ := strings.Cut(repo, "/")
	call, _, err := gh.GetRaw(ctx, fmt.Sprintf("repos/%s/%s", esc(owner), esc(name)))
	rl := RepoLookup{Repo: repo, Call: call}
	if err != nil {
		return rl, err
	}
	var info struct {
		DefaultBranch string `json:"default_branch"`
	}
	if err := json.Unmarshal(call.Body, &info); err != nil || info.DefaultBranch == "" {
		return rl, fmt.Errorf("GET /repos/%s: no default_branch in the answer", repo)
	}
	rl.DefaultBranch = info.DefaultBranch
	return rl, nil
}
