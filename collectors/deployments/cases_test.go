package deployments

import (
	"fmt"
	"slices"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// tcase is a golden case: a fake GitHub and a fake Cloudflare, what to
// collect, and (in testdata/<name>/expected.json) what comes out. Its
// fixture is written to testdata/<name>/fixture.json (and the files it
// names) by `go test -run TestCasesUpToDate -update`.
type tcase struct {
	Name        string
	Description string
	Scope       collectors.Scope
	// Policy is JSON decoded onto the default policy.
	Policy       string
	GHMaxPerPage int
	CFMaxPerPage int
	GitHub       []ghfake.Route
	Cloudflare   []cffake.Route
	// Files are body files the routes name (malformed bodies).
	Files map[string]string
}

const (
	api         = "acme/api"
	cheapReview = `"review": {"allowed_pushers": ["release-bot[bot]"]}`
	cfOnly      = `"github": {"enabled": false}, "cloudflare": {"account_id": "` + acct + `", `
)

// release is a commit release-bot[bot] pushed to main: it passes under
// cheapReview, as an allowed direct push, at the cost of two requests.
func release(repo, name string) (string, []ghfake.Route) {
	sha := fakeSHA(repo + "/release/" + name)
	return sha, append(directPushRoutes(repo, sha, "release-bot[bot]", "15T09:00"), compareRoute(repo, "main", sha, "behind", 0, 3))
}

func goldenCases() []tcase {
	var cases []tcase
	add := func(c tcase) { cases = append(cases, c) }

	// ---- GitHub Deployments ----
	{
		x, routes := release(api, "x")
		var deps []obj
		finals := map[int64]string{}
		for i := 4; i >= 0; i-- { // newest first, as GitHub lists them
			d := ghDeploymentJSON(api, fakeID(fmt.Sprintf("prod/%d", i)), x, "main", "production", "github-actions[bot]", fmt.Sprintf("22T1%d:00", i))
			deps = append(deps, d)
			finals[d["id"].(int64)] = "success"
		}
		for i := range 135 {
			deps = append(deps, ghDeploymentJSON(api, fakeID(fmt.Sprintf("staging/%d", i)), fakeSHA(fmt.Sprintf("pr/%d", i)), "main", "staging",
				"github-actions[bot]", plusMinutes(at("16T00:10"), (134-i)*60)))
		}
		deps = append(deps, ghDeploymentJSON(api, fakeID("old"), x, "main", "production", "github-actions[bot]", "14T10:00"))
		add(tcase{Name: "github-listing-over-100", Description: "141 deployments listed over 2 pages of 100; the 135 staging ones are not judged; the 5 production ones deploy an allowed direct push",
			Scope: repos(api), Policy: "{" + cheapReview + "}",
			GitHub: append(append(ghDeploymentRoutes(api, deps, finals), repoRoute(api, "main")), routes...)})
	}
	{
		x, routes := release(api, "x")
		deps := []obj{
			ghDeploymentJSON(api, 9001, x, "main", "production", "github-actions[bot]", "23T05:00"),
			ghDeploymentJSON(api, 9002, x, "main", "production", "github-actions[bot]", "20T10:00"),
			ghDeploymentJSON(api, 9003, x, "main", "production", "github-actions[bot]", "18T10:00"),
			ghDeploymentJSON(api, 9004, x, "main", "production", "github-actions[bot]", "15T10:00"),
			ghDeploymentJSON(api, 9005, x, "main", "production", "github-actions[bot]", "10T10:00"),
			ghDeploymentJSON(api, 9006, x, "main", "production", "github-actions[bot]", "05T10:00"),
		}
		rs := ghDeploymentRoutes(api, deps, map[int64]string{9002: "success", 9003: "failure"})
		rs[0].Query = map[string]string{"environment": "production"}
		add(tcase{Name: "github-environment-filter-early-stop", Description: "github.environments lists production (the only production environment) only; pages of 2; paging stops on page 2, at the first deployment before the window; a failed deployment of an allowed change passes",
			Scope: repos(api), Policy: `{"production_environments": ["production"], "github": {"enabled": true, "environments": ["production"]}, ` + cheapReview + "}", GHMaxPerPage: 2,
			GitHub: append(append(rs, repoRoute(api, "main")), routes...)})
	}
	add(tcase{Name: "github-environment-filter-quiet", Description: "github.environments lists production and staging: a repository with only staging deployments passes no_deployments, and the finding names the filter",
		Scope: repos(api), Policy: `{"production_environments": ["production"], "github": {"enabled": true, "environments": ["production", "staging"]}}`,
		GitHub: []ghfake.Route{
			{Path: "/repos/" + api + "/deployments", Query: map[string]string{"environment": "production"}, Body: body([]obj{})},
			{Path: "/repos/" + api + "/deployments", Query: map[string]string{"environment": "staging"}, Body: body([]obj{
				ghDeploymentJSON(api, 8001, fakeSHA("staging/only"), "main", "staging", "github-actions[bot]", "18T10:00")})},
		}})
	add(tcase{Name: "github-null-deployments", Description: "a deployments listing answering null (not an array) fails the collection: it is no empty population",
		Scope: repos(api), GitHub: []ghfake.Route{{Path: "/repos/" + api + "/deployments", File: "deployments-null.json"}},
		Files: map[string]string{"deployments-null.json": "null"}})
	add(tcase{Name: "github-withheld-403", Description: "the token may not list one repository's deployments: not_verifiable naming the permission, and the result is incomplete; the other repository has none",
		Scope:  repos(api, "acme/web"),
		GitHub: []ghfake.Route{ghForbidden("/repos/" + api + "/deployments"), {Path: "/repos/acme/web/deployments", Body: body([]obj{})}}})
	{
		x, routes := release(api, "x")
		deps := []obj{
			ghDeploymentJSON(api, 7003, x, "main", "production", "github-actions[bot]", "20T10:00"),
			ghDeploymentJSON(api, 7002, x, "main", "production", "github-actions[bot]", "19T10:00"),
			ghDeploymentJSON(api, 7001, x, "main", "production", "github-actions[bot]", "18T10:00"),
		}
		rs := ghDeploymentRoutes(api, deps, map[int64]string{7002: "in_progress"})
		rs = append(rs, ghForbidden("/repos/"+api+"/deployments/7001/statuses"), ghfake.Route{Path: "/repos/" + api + "/deployments/7003/statuses", Body: body([]obj{})})
		add(tcase{Name: "github-statuses-unreadable-or-missing", Description: "statuses the token may not read: not_verifiable naming Deployments: read; still in progress, or no status at all: judged on the commit (approved), the summary saying the outcome is unknown",
			Scope: repos(api), Policy: "{" + cheapReview + "}", GitHub: append(append(rs, repoRoute(api, "main")), routes...)})
	}
	{
		a, b, c := fakeSHA("unknown/a"), fakeSHA("unknown/b"), fakeSHA("unknown/c")
		deps := []obj{
			ghDeploymentJSON(api, 6003, c, "main", "production", "dave", "20T10:00"),
			ghDeploymentJSON(api, 6002, b, "topic", "production", "dave", "19T10:00"),
			ghDeploymentJSON(api, 6001, a, "main", "production", "dave", "18T10:00"),
		}
		rs := ghDeploymentRoutes(api, deps, map[int64]string{6001: "success", 6002: "success", 6003: "success"})
		rs = append(rs, repoRoute(api, "main"),
			ghfake.Route{Path: "/repos/" + api + "/compare/main..." + a, Status: 404, Body: body(obj{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/commits/commits#compare-two-commits", "status": "404"})},
			ghfake.Route{Path: "/repos/" + api + "/compare/main..." + b, Status: 422, Body: body(obj{"message": "No common ancestor between main and " + b + ".", "documentation_url": "https://docs.github.com/rest/commits/commits#compare-two-commits", "status": "422"})},
			ghForbidden("/repos/"+api+"/compare/main..."+c))
		add(tcase{Name: "compare-unknown-or-unreadable", Description: "a commit GitHub does not know (404, 422 on compare) fails as unknown_commit; a comparison the token may not read is not_verifiable",
			Scope: repos(api), GitHub: rs})
	}
	{
		x := fakeSHA("trace/withheld")
		deps := []obj{ghDeploymentJSON(api, 5001, x, "main", "production", "dave", "18T10:00")}
		rs := append(ghDeploymentRoutes(api, deps, map[int64]string{5001: "success"}), repoRoute(api, "main"),
			compareRoute(api, "main", x, "behind", 0, 2), ghForbidden("/repos/"+api+"/commits/"+x+"/pulls"))
		add(tcase{Name: "trace-withheld", Description: "GitHub will not say which pull request brought the commit (403): the change is unknown, not_verifiable", Scope: repos(api), GitHub: rs})
	}
	{
		a, b := fakeSHA("broken/compare"), fakeSHA("broken/trace")
		deps := []obj{
			ghDeploymentJSON(api, 5102, b, "main", "production", "dave", "19T10:00"),
			ghDeploymentJSON(api, 5101, a, "main", "production", "dave", "18T10:00"),
		}
		rs := append(ghDeploymentRoutes(api, deps, map[int64]string{5101: "success", 5102: "success"}), repoRoute(api, "main"),
			ghfake.Route{Path: "/repos/" + api + "/compare/main..." + a, Status: 500, Body: body(obj{"message": "Server Error"})},
			compareRoute(api, "main", b, "behind", 0, 1),
			ghfake.Route{Path: "/repos/" + api + "/commits/" + b + "/pulls", Status: 500, Body: body(obj{"message": "Server Error"})})
		add(tcase{Name: "compare-and-trace-server-errors", Description: "a comparison or a trace that fails after retries makes that deployment not_verifiable, naming the failure, and the result incomplete; the rest is still judged",
			Scope: repos(api), GitHub: rs})
	}
	{
		merged := fakeSHA("pr/42/merge")
		push := fakeSHA("push/mallory")
		deps := []obj{
			ghDeploymentJSON(api, 4002, push, "main", "production", "mallory", "19T10:00"),
			ghDeploymentJSON(api, 4001, merged, "main", "production", "github-actions[bot]", "18T12:00"),
		}
		rs := append(ghDeploymentRoutes(api, deps, map[int64]string{4001: "success", 4002: "success"}), repoRoute(api, "main"),
			compareRoute(api, "main", merged, "behind", 0, 4), compareRoute(api, "main", push, "identical", 0, 0))
		rs = append(rs, approvedPullRoutes(api, 42, merged, "18T11:00")...)
		rs = append(rs, directPushRoutes(api, push, "mallory", "19T09:30")...)
		add(tcase{Name: "approved-pull-and-direct-push", Description: "a merge commit of an approved pull request passes; a direct push by someone not in allowed_pushers fails as unreviewed (merge-activity's direct_push)",
			Scope: repos(api), GitHub: rs})
	}
	{
		merged := fakeSHA("pr/77/merge")
		push := fakeSHA("push/early")
		deps := []obj{
			ghDeploymentJSON(api, 4104, merged, "main", "production", "github-actions[bot]", "19T12:00"),
			ghDeploymentJSON(api, 4103, merged, "main", "production", "github-actions[bot]", "18T12:00"),
			ghDeploymentJSON(api, 4102, merged, "topic-77", "production", "dave", "18T11:00"),
			ghDeploymentJSON(api, 4101, push, "main", "production", "release-bot[bot]", "18T10:00"),
		}
		rs := append(ghDeploymentRoutes(api, deps, map[int64]string{4101: "success", 4102: "success", 4103: "success", 4104: "success"}), repoRoute(api, "main"),
			compareRoute(api, "main", merged, "behind", 0, 4), compareRoute(api, "main", push, "behind", 0, 2))
		rs = append(rs, approvedPullRoutes(api, 77, merged, "18T12:00")...)
		rs = append(rs, directPushRoutes(api, push, "release-bot[bot]", "19T09:00")...)
		add(tcase{Name: "deployed-before-merge", Description: "an approved pull request's commit deployed an hour before it was merged fails deployed_before_merge (at the merge time, and after, it passes); a direct push deployed before its commit date fails too: compare and trace at collection time alone do not show when the code landed",
			Scope: repos(api), Policy: "{" + cheapReview + "}", GitHub: rs})
	}
	{
		x := fakeSHA("other/branch")
		deps := []obj{ghDeploymentJSON(api, 3001, x, "hotfix/payout", "production", "dave", "18T10:00")}
		rs := append(ghDeploymentRoutes(api, deps, map[int64]string{3001: "success"}), repoRoute(api, "main"), compareRoute(api, "main", x, "ahead", 2, 0))
		add(tcase{Name: "deployed-from-another-branch", Description: "a commit ahead of main (on a hotfix branch) fails: deployed from another branch", Scope: repos(api), GitHub: rs})
	}
	add(tcase{Name: "github-malformed-json-error", Description: "a deployments listing that is not JSON fails the collection with an error naming the request, never a panic",
		Scope: repos(api), GitHub: []ghfake.Route{{Path: "/repos/" + api + "/deployments", File: "deployments-broken.json"}},
		Files: map[string]string{"deployments-broken.json": `[{"id": 1, "sha": "abc", "created_at": "2026-11-18T`}})
	add(tcase{Name: "github-server-error-after-retries", Description: "a listing that answers 502 after every retry fails the collection",
		Scope: repos(api), GitHub: []ghfake.Route{{Path: "/repos/" + api + "/deployments", Status: 502, Body: body(obj{"message": "Server Error"})}}})
	{
		x, routes := release(api, "x")
		d1 := ghDeploymentJSON(api, 2101, x, "main", "staging", "github-actions[bot]", "12T10:00")
		p1 := ghDeploymentJSON(api, 2102, x, "main", "production", "github-actions[bot]", "16T10:00")
		y, yr := release(api, "y")
		d2 := ghDeploymentJSON(api, 2103, y, "main", "staging", "github-actions[bot]", "17T10:00")
		p2 := ghDeploymentJSON(api, 2104, y, "main", "production", "github-actions[bot]", "18T10:00")
		z, zr := release(api, "z")
		p3 := ghDeploymentJSON(api, 2105, z, "main", "production", "github-actions[bot]", "19T10:00")
		d3 := ghDeploymentJSON(api, 2106, z, "main", "staging", "github-actions[bot]", "20T10:00")
		w, wr := release(api, "w")
		d4 := ghDeploymentJSON(api, 2107, w, "main", "staging", "github-actions[bot]", "20T11:00")
		p4 := ghDeploymentJSON(api, 2108, w, "main", "production", "github-actions[bot]", "21T10:00")
		old := ghDeploymentJSON(api, 2100, x, "main", "staging", "github-actions[bot]", "01T10:00")
		deps := []obj{p4, d4, d3, p3, p2, d2, p1, d1, old}
		rs := ghDeploymentRoutes(api, deps, map[int64]string{2101: "success", 2102: "success", 2103: "failure", 2104: "success",
			2105: "success", 2106: "success", 2107: "in_progress", 2108: "success"})
		rs = append(append(append(append(append(rs, repoRoute(api, "main")), routes...), yr...), zr...), wr...)
		add(tcase{Name: "proven-in-non-production-first", Description: "require_non_production_first: staging before production, found in the look-back (pass); staging failed (fail); staging only after (fail); staging still running (not_verifiable)",
			Scope: repos(api), Policy: `{"require_non_production_first": true, "non_production_lookback": "7d", ` + cheapReview + "}", GitHub: rs})
	}

	// ---- Cloudflare Workers ----
	{
		x, routes := release(api, "x")
		var versions []obj
		var needed string
		for i := range 250 {
			id := fakeUUID(fmt.Sprintf("v/%d", i))
			src := "wrangler"
			if i == 230 {
				src, needed = "workersci", id
			}
			versions = append(versions, cfVersion(id, 250-i, src, "ci@acme.example", plusMinutes(at("22T00:00"), -i*30), nil))
		}
		deps := []obj{
			cfWorkerDeployment(fakeUUID("d/1"), "18T10:00", "wrangler", "ci@acme.example", []share{{needed, 100}}, "deployment", "deploy"),
			cfWorkerDeployment(fakeUUID("d/0"), "10T10:00", "wrangler", "ci@acme.example", []share{{fakeUUID("v/249"), 100}}, "deployment", ""),
		}
		cf := append(cfWorkerRoutes("api", deps, versions), cfBuildsRoute(map[string]obj{needed: cfBuild(needed, x, api)}))
		add(tcase{Name: "workers-versions-paginated", Description: "the deployed version is item 231 of 250 versions: the listing is read to page 3 of 100 and stops once every needed version is found; Workers Builds names its commit",
			Policy: "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}, ` + cheapReview + "}",
			GitHub: append(routes, repoRoute(api, "main")), Cloudflare: cf})
	}
	{
		x, routes := release(api, "x")
		v := []string{fakeUUID("p/v4"), fakeUUID("p/v3"), fakeUUID("p/v2"), fakeUUID("p/v1")}
		versions := []obj{
			cfVersion(v[0], 4, "workersci", "ci@acme.example", "21T09:00", nil), cfVersion(v[1], 3, "workersci", "ci@acme.example", "19T09:00", nil),
			cfVersion(v[2], 2, "workersci", "ci@acme.example", "17T09:00", nil), cfVersion(v[3], 1, "workersci", "ci@acme.example", "09T09:00", nil),
		}
		deps := []obj{
			cfWorkerDeployment(fakeUUID("p/d5"), "21T10:00", "wrangler", "ci@acme.example", []share{{v[0], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("p/d4"), "19T10:00", "wrangler", "ci@acme.example", []share{{v[1], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("p/d3"), "17T10:00", "wrangler", "ci@acme.example", []share{{v[2], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("p/d2"), "09T10:00", "wrangler", "ci@acme.example", []share{{v[3], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("p/d1"), "05T10:00", "wrangler", "ci@acme.example", []share{{v[3], 100}}, "deployment", ""),
		}
		builds := map[string]obj{v[0]: cfBuild(v[0], x, api), v[1]: cfBuild(v[1], x, api), v[2]: cfBuild(v[2], x, api)}
		// api-late was collected long after the window: Cloudflare's answer
		// holds only its most recent deployments, all in the window.
		lv := fakeUUID("late/v")
		late := cfWorkerListing("api-late", []obj{
			cfWorkerDeployment(fakeUUID("late/d2"), "22T10:00", "wrangler", "ci@acme.example", []share{{lv, 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("late/d1"), "20T10:00", "wrangler", "ci@acme.example", []share{{lv, 100}}, "deployment", ""),
		}, []obj{cfVersion(lv, 1, "workersci", "ci@acme.example", "20T09:00", nil)})
		cf := append(append(cfWorkerListing("api", deps, versions), late...), cfBuildsRoute(builds), cfBuildsRoute(map[string]obj{lv: cfBuild(lv, x, api)}))
		add(tcase{Name: "workers-deployments-not-paginated", Description: "Cloudflare does not paginate a Worker's deployments: each listing is one request without page or per_page (pages of 2 apply to versions only); api's answer reaches back before the window, so it is complete; api-late's holds only deployments of the window: they are judged, the script is not_verifiable naming the oldest deployment seen, and the result incomplete",
			Policy: "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}, {"script": "api-late", "repo": "` + api + `"}]}, ` + cheapReview + "}", CFMaxPerPage: 2,
			GitHub: append(routes, repoRoute(api, "main")), Cloudflare: cf})
	}
	add(tcase{Name: "cloudflare-null-deployments", Description: `a Workers deployments answer {"deployments": null} fails the collection: it is no empty population`,
		Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}}`,
		Cloudflare: []cffake.Route{{Path: cfAcct + "/workers/scripts/api/deployments", Result: body(obj{"deployments": nil}), Unpaged: true}}})
	{
		v := []string{fakeUUID("fork/v"), fakeUUID("gitlab/v")}
		gl := cfBuild(v[1], fakeSHA("gitlab/commit"), api)
		gl["build_trigger_metadata"].(obj)["provider_type"] = "gitlab"
		rs := cfWorkerRoutes("api", []obj{
			cfWorkerDeployment(fakeUUID("fork/d2"), "19T10:00", "wrangler", "ci@acme.example", []share{{v[1], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("fork/d1"), "18T10:00", "wrangler", "ci@acme.example", []share{{v[0], 100}}, "deployment", ""),
		}, []obj{cfVersion(v[1], 2, "workersci", "ci@acme.example", "19T09:00", nil), cfVersion(v[0], 1, "workersci", "ci@acme.example", "18T09:00", nil)})
		rs = append(rs, cfBuildsRoute(map[string]obj{v[0]: cfBuild(v[0], fakeSHA("fork/commit"), "mallory/api-fork"), v[1]: gl}))
		add(tcase{Name: "workers-builds-other-repository", Description: "a Workers Builds build from another GitHub repository than the policy's fails other_repository (no longer silently traced there); one from a GitLab repository is not_verifiable; neither is traced (no GitHub request)",
			Policy: "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}}`, Cloudflare: rs})
	}
	untraced := func(name, policy, desc string) tcase {
		v := []string{fakeUUID(name + "/wrangler"), fakeUUID(name + "/api"), fakeUUID(name + "/terraform")}
		versions := []obj{
			cfVersion(v[0], 3, "wrangler", "alice@acme.example", "20T09:00", obj{"workers/triggered_by": "upload", "workers/tag": "v2.0.0"}),
			cfVersion(v[1], 2, "api", "deploy@acme.example", "19T09:00", nil),
			cfVersion(v[2], 1, "terraform", "tf@acme.example", "18T09:00", nil),
		}
		deps := []obj{
			cfWorkerDeployment(fakeUUID(name+"/d3"), "20T10:00", "wrangler", "alice@acme.example", []share{{v[0], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID(name+"/d2"), "19T10:00", "api", "deploy@acme.example", []share{{v[1], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID(name+"/d1"), "18T10:00", "terraform", "tf@acme.example", []share{{v[2], 100}}, "deployment", ""),
		}
		return tcase{Name: name, Description: desc,
			Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}` + policy + "}",
			Cloudflare: cfWorkerRoutes("api", deps, versions)}
	}
	add(untraced("workers-untraced-not-verifiable", "", "versions uploaded by wrangler, the API and Terraform name no commit: not_verifiable (untraced), no GitHub request"))
	add(untraced("workers-untraced-fail", `, "untraced": "fail"`, "the same under untraced: fail"))
	{
		x, routes := release(api, "x")
		v := []string{fakeUUID("tag/sha"), fakeUUID("tag/semver")}
		versions := []obj{
			cfVersion(v[0], 2, "wrangler", "ci@acme.example", "20T09:00", obj{"workers/triggered_by": "upload", "workers/tag": x}),
			cfVersion(v[1], 1, "wrangler", "ci@acme.example", "19T09:00", obj{"workers/triggered_by": "upload", "workers/tag": "v1.4.2"}),
		}
		deps := []obj{
			cfWorkerDeployment(fakeUUID("tag/d2"), "20T10:00", "wrangler", "ci@acme.example", []share{{v[0], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("tag/d1"), "19T10:00", "wrangler", "ci@acme.example", []share{{v[1], 100}}, "deployment", ""),
		}
		add(tcase{Name: "workers-tag-is-commit", Description: "workers_tag_is_commit: a version tagged with a full commit SHA is traced through it; a semver tag is no commit",
			Policy: "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}], "workers_tag_is_commit": true}, ` + cheapReview + "}",
			GitHub: append(routes, repoRoute(api, "main")), Cloudflare: cfWorkerRoutes("api", deps, versions)})
	}
	{
		v := fakeUUID("builds/v")
		rs := cfWorkerRoutes("api", []obj{cfWorkerDeployment(fakeUUID("builds/d"), "18T10:00", "wrangler", "ci@acme.example", []share{{v, 100}}, "deployment", "")},
			[]obj{cfVersion(v, 1, "workersci", "ci@acme.example", "18T09:00", nil)})
		rs = append(rs, cffake.Route{Path: cfAcct + "/builds/builds", Status: 403, Errors: []cffake.Message{{Code: 10000, Message: "Authentication error"}}})
		add(tcase{Name: "workers-builds-withheld", Description: "the token may not read Workers Builds: the commit of a workersci version is unknown, not_verifiable naming Workers CI Read",
			Policy: "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}}`, Cloudflare: rs})
	}
	add(tcase{Name: "workers-withheld-403", Description: "the token may not list a script's deployments: not_verifiable and incomplete",
		Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}}`,
		Cloudflare: []cffake.Route{{Path: cfAcct + "/workers/scripts/api/deployments", Status: 403, Errors: []cffake.Message{{Code: 10000, Message: "Authentication error"}}}}})
	{
		x, routes := release(api, "x")
		v := []string{fakeUUID("edit/ci"), fakeUUID("edit/quick"), fakeUUID("edit/play")}
		versions := []obj{
			cfVersion(v[2], 3, "playground", "mallory@acme.example", "19T09:00", nil),
			cfVersion(v[1], 2, "quick_editor", "mallory@acme.example", "18T09:00", nil),
			cfVersion(v[0], 1, "workersci", "ci@acme.example", "17T09:00", nil),
		}
		deps := []obj{
			cfWorkerDeployment(fakeUUID("edit/d5"), "21T10:00", "wrangler", "bob@acme.example", []share{{v[0], 100}}, "rollback", "back to the reviewed version"),
			cfWorkerDeployment(fakeUUID("edit/d4"), "20T10:00", "dash", "mallory@acme.example", []share{{v[1], 100}}, "rollback", ""),
			cfWorkerDeployment(fakeUUID("edit/d3"), "19T10:00", "dash", "mallory@acme.example", []share{{v[2], 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("edit/d2"), "18T10:00", "dash", "mallory@acme.example", []share{{v[1], 50}, {v[0], 50}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("edit/d1"), "17T10:00", "wrangler", "ci@acme.example", []share{{v[0], 100}}, "deployment", ""),
		}
		add(tcase{Name: "workers-interactive-edits-and-rollbacks", Description: "quick editor and playground versions fail (also half of a split, and as a rollback target); a rollback to the reviewed version passes as rollback",
			Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}, ` + cheapReview + "}",
			GitHub:     append(routes, repoRoute(api, "main")),
			Cloudflare: append(cfWorkerRoutes("api", deps, versions), cfBuildsRoute(map[string]obj{v[0]: cfBuild(v[0], x, api)}))})
	}
	{
		x, xr := release(api, "x")
		y, yr := release(api, "y")
		s, p1, p2 := fakeUUID("np/staging-v"), fakeUUID("np/prod-v1"), fakeUUID("np/prod-v2")
		staging := cfWorkerRoutes("api-staging", []obj{cfWorkerDeployment(fakeUUID("np/sd"), "18T10:00", "wrangler", "ci@acme.example", []share{{s, 100}}, "deployment", "")},
			[]obj{cfVersion(s, 1, "workersci", "ci@acme.example", "18T09:00", nil)})
		prod := cfWorkerRoutes("api", []obj{
			cfWorkerDeployment(fakeUUID("np/pd2"), "20T10:00", "wrangler", "ci@acme.example", []share{{p2, 100}}, "deployment", ""),
			cfWorkerDeployment(fakeUUID("np/pd1"), "19T10:00", "wrangler", "ci@acme.example", []share{{p1, 100}}, "deployment", ""),
		}, []obj{cfVersion(p2, 2, "workersci", "ci@acme.example", "20T09:00", nil), cfVersion(p1, 1, "workersci", "ci@acme.example", "19T09:00", nil)})
		cf := append(append(staging, prod...), cfBuildsRoute(map[string]obj{s: cfBuild(s, x, api)}), cfBuildsRoute(map[string]obj{p1: cfBuild(p1, x, api), p2: cfBuild(p2, y, api)}))
		add(tcase{Name: "workers-non-production-script-proves", Description: "require_non_production_first with a staging Worker (production: false): the commit it ran first passes; one it never ran fails; the staging script itself is not judged",
			Policy: `{"require_non_production_first": true, ` + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}, {"script": "api-staging", "repo": "` + api + `", "production": false}]}, ` + cheapReview + "}",
			GitHub: append(append(xr, yr...), repoRoute(api, "main")), Cloudflare: cf})
	}
	add(tcase{Name: "mapped-repo-unreadable", Description: "the repository a Worker maps to cannot be read (404): not_verifiable naming Metadata: read",
		Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "acme/ghost"}]}}`,
		GitHub:     []ghfake.Route{{Path: "/repos/acme/ghost", Status: 404, Body: body(obj{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository", "status": "404"})}},
		Cloudflare: append(cfWorkerRoutes("api", []obj{cfWorkerDeployment(fakeUUID("ghost/d"), "18T10:00", "wrangler", "ci@acme.example", []share{{fakeUUID("ghost/v"), 100}}, "deployment", "")}, []obj{cfVersion(fakeUUID("ghost/v"), 1, "workersci", "ci@acme.example", "18T09:00", nil)}), cfBuildsRoute(map[string]obj{fakeUUID("ghost/v"): cfBuild(fakeUUID("ghost/v"), fakeSHA("ghost"), "acme/ghost")}))})

	// ---- Cloudflare Pages ----
	{
		x, routes := release("acme/site", "x")
		var deps []obj
		for i := range 60 {
			id := fakeUUID(fmt.Sprintf("pages/%d", i))
			created := plusMinutes(at("22T20:00"), -i*180)
			switch {
			case i%20 == 3 || i == 55:
				deps = append(deps, cfPagesDeployment("site", id, "production", created, x, "main", "github:push", "deploy", "success", false))
			default:
				deps = append(deps, cfPagesDeployment("site", id, "preview", created, fakeSHA(fmt.Sprintf("preview/%d", i)), fmt.Sprintf("topic-%d", i), "github:push", "deploy", "success", false))
			}
		}
		add(tcase{Name: "pages-paginated", Description: "60 deployments in pages of 25 (result_info): paging stops on page 3 at the first one before the window; the 3 production ones are judged, the previews are not",
			Policy: "{" + cfOnly + `"pages": [{"project": "site"}]}, ` + cheapReview + "}",
			GitHub: append(routes, repoRoute("acme/site", "main")), Cloudflare: cfPagesRoutes("site", cfPagesProject("site", "acme", "site"), deps)})
	}
	{
		x, routes := release("acme/site", "x")
		deps := []obj{
			cfPagesDeployment("site", fakeUUID("pd/4"), "production", "20T10:00", x, "main", "github:push", "build", "canceled", false),
			cfPagesDeployment("site", fakeUUID("pd/3"), "production", "19T10:00", "", "", "ad_hoc", "deploy", "success", false),
			cfPagesDeployment("site", fakeUUID("pd/2"), "production", "18T10:00", x, "main", "ad_hoc", "deploy", "success", true),
			cfPagesDeployment("site", fakeUUID("pd/1"), "production", "17T10:00", x, "main", "github:push", "deploy", "active", false),
		}
		add(tcase{Name: "pages-dirty-untraced-cancelled", Description: "a direct upload from a dirty working tree fails; one naming no commit is untraced; a cancelled build of an allowed commit passes as failed_deployment; one still deploying is judged",
			Policy: "{" + cfOnly + `"pages": [{"project": "site"}]}, ` + cheapReview + "}",
			GitHub: append(routes, repoRoute("acme/site", "main")), Cloudflare: cfPagesRoutes("site", cfPagesProject("site", "acme", "site"), deps)})
	}
	{
		x, routes := release(api, "x")
		landing := cfPagesRoutes("landing", cfPagesProject("landing", "", ""), []obj{cfPagesDeployment("landing", fakeUUID("l/1"), "production", "18T10:00", x, "main", "ad_hoc", "deploy", "success", false)})
		docs := cfPagesRoutes("docs", cfPagesProject("docs", "", ""), []obj{cfPagesDeployment("docs", fakeUUID("dc/1"), "production", "18T11:00", x, "main", "ad_hoc", "deploy", "success", false)})
		add(tcase{Name: "pages-direct-upload-repository", Description: "direct uploads (ad_hoc) name the commit their uploader chose (wrangler pages deploy --commit-hash): untraced, not_verifiable, with or without the repository in the policy; nothing is read from GitHub",
			Policy:     "{" + cfOnly + `"pages": [{"project": "landing"}, {"project": "docs", "repo": "` + api + `"}]}, ` + cheapReview + "}",
			Cloudflare: append(slices.Clone(landing), docs...)})
		add(tcase{Name: "pages-upload-commit-is-commit", Description: "under pages_upload_commit_is_commit a direct upload's commit_hash is its commit: without repo in the policy (the project names none) not_verifiable; with it traced",
			Policy: "{" + cfOnly + `"pages": [{"project": "landing"}, {"project": "docs", "repo": "` + api + `"}], "pages_upload_commit_is_commit": true}, ` + cheapReview + "}",
			GitHub: append(routes, repoRoute(api, "main")), Cloudflare: append(slices.Clone(landing), docs...)})
	}
	{
		x, xr := release("acme/site", "x")
		y, yr := release("acme/site", "y")
		yc := compareRoute("acme/site", "main", y, "behind", 0, 3)
		yc.Path = "/repos/acme/site/compare/main..." + y[:10]
		gh := ghDeploymentRoutes("acme/site", []obj{ghDeploymentJSON("acme/site", 9101, x, "main", "production", "github-actions[bot]", "18T10:00")}, map[int64]string{9101: "success"})
		gh = append(append(append(gh, xr...), yr[:2]...), yc, repoRoute("acme/site", "main"))
		deps := []obj{
			cfPagesDeployment("site", fakeUUID("short/2"), "production", "19T10:00", y[:10], "main", "github:push", "deploy", "success", false),
			cfPagesDeployment("site", fakeUUID("short/1"), "production", "18T10:05", x[:12], "main", "github:push", "deploy", "success", false),
		}
		add(tcase{Name: "short-and-full-sha", Description: "one commit deployed under its full SHA (GitHub) and abbreviated (Pages) is compared and traced once; an abbreviated commit deployed alone is compared abbreviated and traced under the full SHA the compare gives",
			Scope: repos("acme/site"), Policy: `{"cloudflare": {"account_id": "` + acct + `", "pages": [{"project": "site"}]}, ` + cheapReview + "}",
			GitHub: gh, Cloudflare: cfPagesRoutes("site", cfPagesProject("site", "acme", "site"), deps)})
	}
	add(tcase{Name: "pages-project-404", Description: "a project Cloudflare does not show (404): not_verifiable and incomplete",
		Policy:     "{" + cfOnly + `"pages": [{"project": "site"}]}}`,
		Cloudflare: []cffake.Route{{Path: cfAcct + "/pages/projects/site", Status: 404, Errors: []cffake.Message{{Code: 8000007, Message: "Project not found. The specified project name does not match any of your existing projects."}}}}})

	// ---- Cloudflare failures ----
	add(tcase{Name: "cloudflare-error-envelope", Description: `an error envelope ("success": false, errors [{code, message}]) fails the collection with an error naming the endpoint and the code`,
		Policy: "{" + cfOnly + `"pages": [{"project": "site"}]}}`,
		Cloudflare: []cffake.Route{{Path: cfAcct + "/pages/projects/site", Result: body(cfPagesProject("site", "acme", "site"))},
			{Path: cfAcct + "/pages/projects/site/deployments", Status: 400, Errors: []cffake.Message{{Code: 8000024, Message: "Invalid list options provided. Review the `per_page` and `page` values."}}}}})
	add(tcase{Name: "cloudflare-success-false", Description: `a 200 whose envelope says "success": false is an error, not an empty result`,
		Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}}`,
		Cloudflare: []cffake.Route{{Path: cfAcct + "/workers/scripts/api/deployments", Raw: true, File: "success-false.json"}},
		Files:      map[string]string{"success-false.json": `{"result": null, "success": false, "errors": [{"code": 10013, "message": "workers.api.error.unknown"}], "messages": []}`}})
	add(tcase{Name: "cloudflare-malformed-json", Description: "a body that is not JSON fails the collection with an error naming the endpoint, never a panic",
		Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}}`,
		Cloudflare: []cffake.Route{{Path: cfAcct + "/workers/scripts/api/deployments", Raw: true, File: "broken.json"}},
		Files:      map[string]string{"broken.json": `{"result": {"deployments": [{"id": "`}})
	add(tcase{Name: "cloudflare-server-error-after-retries", Description: "503 after every retry fails the collection",
		Policy:     "{" + cfOnly + `"workers": [{"script": "api", "repo": "` + api + `"}]}}`,
		Cloudflare: []cffake.Route{{Path: cfAcct + "/workers/scripts/api/deployments", Status: 503}}})
	return cases
}
