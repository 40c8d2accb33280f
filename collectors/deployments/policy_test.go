package deployments

import (
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/secret"
)

// decode decodes a policy section as the config does: strictly, onto the
// defaults.
func decode(t *testing.T, src string) (*Policy, error) {
	t.Helper()
	p := NewPolicy()
	err := yaml.UnmarshalWithOptions([]byte(src), p, yaml.Strict())
	return p, err
}

// TestSampleConfigIsTheDefault: sample.yaml lists every key with its
// default.
func TestSampleConfigIsTheDefault(t *testing.T) {
	var doc map[string]yaml.MapSlice
	if err := yaml.Unmarshal([]byte(SampleConfig), &doc); err != nil {
		t.Fatal(err)
	}
	section, err := yaml.Marshal(doc[Name])
	if err != nil {
		t.Fatal(err)
	}
	var p Policy
	if err := yaml.UnmarshalWithOptions(section, &p, yaml.Strict()); err != nil {
		t.Fatalf("sample.yaml does not decode strictly: %v", err)
	}
	if want := DefaultPolicy(); !reflect.DeepEqual(p, want) {
		t.Errorf("sample.yaml holds\n%+v\nthe defaults are\n%+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("the default policy is invalid: %v", err)
	}
	for _, key := range []string{"production_environments", "require_non_production_first", "non_production_lookback", "untraced",
		"github", "enabled", "environments", "cloudflare", "account_id", "workers", "pages", "workers_tag_is_commit", "pages_upload_commit_is_commit",
		"review", "min_approvals", "emergency_grace"} {
		if !strings.Contains(SampleConfig, key+":") {
			t.Errorf("sample.yaml lacks %s", key)
		}
	}
}

func TestPolicyDecodesOntoDefaults(t *testing.T) {
	p, err := decode(t, `
require_non_production_first: true
cloudflare:
  account_id: 0123456789abcdef0123456789abcdef
  workers:
    - {script: payments-api, repo: acme/payments}
    - {script: payments-api-staging, repo: acme/payments, production: false}
  pages:
    - {project: web}
review:
  emergency_grace: 48h
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if !p.GitHub.Enabled || len(p.ProductionEnvironments) != 2 || p.Untraced != UntracedNotVerifiable {
		t.Errorf("defaults lost: %+v", p)
	}
	if p.Review.MinApprovals != 1 || !p.Review.RequireCI || p.Review.EmergencyGrace.String() != "2d" {
		t.Errorf("review: merge-activity's defaults lost or override ignored: %+v", p.Review)
	}
	if !p.Cloudflare.Workers[0].production() || p.Cloudflare.Workers[1].production() {
		t.Errorf("production flags: %+v", p.Cloudflare.Workers)
	}
}

func TestPolicyErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"colour: blue", `unknown field "colour"`},
		{"cloudflare: {acount_id: x}", `unknown field "acount_id"`},
		{"review: {min_aprovals: 2}", `unknown field "min_aprovals"`},
		{"cloudflare: {workers: [{script: api, repo: acme/api}]}", "cloudflare.account_id is missing"},
		{"cloudflare: {account_id: ABC, pages: [{project: web}]}", "32 lower-case hexadecimal"},
		{"cloudflare: {account_id: 0123456789abcdef0123456789abcdef}", "no workers or pages are listed"},
		{"cloudflare: {account_id: 0123456789abcdef0123456789abcdef, workers: [{script: api}]}", "cloudflare.workers[0].repo is missing"},
		{"cloudflare: {account_id: 0123456789abcdef0123456789abcdef, workers: [{script: api, repo: nope}]}", "want OWNER/NAME"},
		{"cloudflare: {account_id: 0123456789abcdef0123456789abcdef, workers: [{script: 'a b', repo: acme/api}]}", "Worker script name"},
		{"cloudflare: {account_id: 0123456789abcdef0123456789abcdef, workers: [{script: a, repo: acme/a}, {script: a, repo: acme/a}]}", "listed twice"},
		{"cloudflare: {account_id: 0123456789abcdef0123456789abcdef, pages: [{project: Web_Site}]}", "Pages project name"},
		{"cloudflare: {account_id: 0123456789abcdef0123456789abcdef, pages: [{project: web, repo: x}]}", "cloudflare.pages[0].repo"},
		{"untraced: pass", `untraced is "pass"`},
		{"production_environments: []", "production_environments is empty"},
		{"production_environments: ['']", "production_environments[0] is empty"},
		{"github: {environments: ['']}", "github.environments[0] is empty"},
		{"github: {environments: [production, staging]}", `leaves out production environment "prod" (production_environments)`},
		{"production_environments: [live]\ngithub: {environments: [production]}", `leaves out production environment "live"`},
		{"require_non_production_first: true\nnon_production_lookback: 200d", "non_production_lookback is 200d"},
		{"non_production_lookback: soon", "is not a duration"},
		{"github: {enabled: false}", "no source"},
		{"review: {min_approvals: 0}", "review: min_approvals is 0"},
	} {
		p, err := decode(t, tc.src)
		if err == nil {
			err = p.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.src, err, tc.want)
		}
	}
}

// TestEnvironmentFilterNamingEveryProductionEnvironmentIsValid: the check
// is case-insensitive, and non-production environments may be added.
func TestEnvironmentFilterNamingEveryProductionEnvironmentIsValid(t *testing.T) {
	p, err := decode(t, "production_environments: [production, prod]\ngithub: {environments: [Production, PROD, staging]}")
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		t.Errorf("a filter naming every production environment: %v", err)
	}
}

func TestCollectorValidate(t *testing.T) {
	withToken, err := cfapi.New(cfapi.Options{Token: secret.New(cfToken)})
	if err != nil {
		t.Fatal(err)
	}
	noToken, _ := cfapi.New(cfapi.Options{})
	cfOnlyPolicy := func() *Policy {
		p := samplePolicy()
		p.GitHub.Enabled = false
		return p
	}
	for _, tc := range []struct {
		name string
		cf   *cfapi.Client
		req  collectors.Request
		want string
	}{
		{"no scope with GitHub", withToken, collectors.Request{Window: week(), Policy: NewPolicy()}, "no scope"},
		{"branch", withToken, collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}, Branches: []string{"main"}}, Window: week(), Policy: NewPolicy()}, "--branch does not apply"},
		{"no window", withToken, collectors.Request{Scope: repos(api), Policy: NewPolicy()}, "window"},
		{"wrong policy", withToken, collectors.Request{Scope: repos(api), Window: week(), Policy: struct{}{}}, "want *deployments.Policy"},
		{"no Cloudflare client", nil, collectors.Request{Scope: repos(api), Window: week(), Policy: samplePolicy()}, "CLOUDFLARE_API_TOKEN"},
		{"no Cloudflare token", noToken, collectors.Request{Scope: repos(api), Window: week(), Policy: samplePolicy()}, "CLOUDFLARE_API_TOKEN"},
		{"bad repo in scope", withToken, collectors.Request{Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "-x", Name: "y"}}}, Window: week(), Policy: cfOnlyPolicy()}, "--repo"},
	} {
		c := New(collectors.Deps{Cloudflare: tc.cf})
		err := c.Validate(tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// Cloudflare only: no scope needed.
	c := New(collectors.Deps{Cloudflare: withToken})
	if err := c.Validate(collectors.Request{Window: week(), Policy: cfOnlyPolicy()}); err != nil {
		t.Errorf("Cloudflare-only policy without scope: %v", err)
	}
	if c.Name() != "deployments" || c.Version() != "1.2.0" || Info().Name != Name || Info().New == nil {
		t.Error("name, version or info")
	}
	if _, ok := c.NewPolicy().(*Policy); !ok {
		t.Error("NewPolicy is not a *Policy")
	}
}
