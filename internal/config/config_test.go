package config

import (
	"strings"
	"testing"
)

type testPolicy struct {
	MinApprovals int  `yaml:"min_approvals"`
	Strict       bool `yaml:"strict"`
}

func TestParseStrict(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown top key", "store: file://x\nstroe: y\n", "c.yaml:2:1: unknown field \"stroe\""},
		{"unknown nested key", "github:\n  api_url: https://x\n  tokn: y\n", "c.yaml:3:3: unknown field \"tokn\""},
		{"wrong type", "github: 5\n", "c.yaml:1:"},
		{"token in file", "github:\n  token_env: ghp_abc-123\n", "token_env \"ghp_abc-123\" is not an environment variable name"},
		{"policies not a map", "policies: [1, 2]\n", "want a mapping"},
		{"bad control override", "controls:\n  collectors:\n    branch-protection: 7\n", "c.yaml:3:"},
		{"cloudflare token in file", "cloudflare:\n  token_env: abc-123\n", "c.yaml:2:14: cloudflare.token_env \"abc-123\" is not an environment variable name"},
		{"bad account id", "cloudflare:\n  account_id: acme\n", "c.yaml:2:15: cloudflare.account_id \"acme\": want the 32-hex-digit account id"},
		{"bad retention", "storage:\n  retention: forever\n", "c.yaml:2:14: storage.retention \"forever\": want a positive duration"},
		{"zero retention", "storage:\n  retention: 0d\n", "storage.retention \"0d\": days must be"},
		{"bad lock mode", "storage:\n  lock_mode: strict\n", "c.yaml:2:14: storage.lock_mode \"strict\": want compliance or governance"},
		{"unknown storage key", "storage:\n  retentoin: 7d\n", "c.yaml:2:3: unknown field \"retentoin\""},
		{"zero concurrency", "github:\n  concurrency: 0\n", "c.yaml:2:16: github.concurrency 0: want 1 to 64 requests in flight at once"},
		{"too much concurrency", "github:\n  concurrency: 65\n", "c.yaml:2:16: github.concurrency 65: want 1 to 64"},
		{"concurrency not a number", "github:\n  concurrency: many\n", "c.yaml:2:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseGitHubConcurrencyAndCache(t *testing.T) {
	c, err := Parse("/etc/changeproof/c.yaml", []byte("github:\n  concurrency: 16\n  cache_dir: cache/http\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHub.Concurrency == nil || *c.GitHub.Concurrency != 16 || c.GitHub.CacheDir != "/etc/changeproof/cache/http" {
		t.Errorf("github = %+v, want concurrency 16 and the cache beside the config", c.GitHub)
	}
	c, err = Parse("/etc/changeproof/c.yaml", []byte("github:\n  cache_dir: off\n"))
	if err != nil || c.GitHub.CacheDir != CacheOff || c.GitHub.Concurrency != nil {
		t.Errorf("cache_dir off: %+v, %v", c.GitHub, err)
	}
}

func TestParseStorageAndCloudflare(t *testing.T) {
	src := "store: s3://evidence/prod?region=eu-west-1\nstorage:\n  retention: 2555d\n  lock_mode: governance\n  legal_hold: true\n  spool: /var/lib/changeproof/spool\ncloudflare:\n  account_id: 0123456789abcdef0123456789abcdef\n  token_env: CF_TOKEN\n"
	c, err := Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Retention != "2555d" || c.Storage.LockMode != "governance" || !c.Storage.LegalHold || c.Storage.Spool != "/var/lib/changeproof/spool" {
		t.Errorf("storage = %+v", c.Storage)
	}
	if c.Cloudflare.AccountID != "0123456789abcdef0123456789abcdef" || c.Cloudflare.TokenEnv != "CF_TOKEN" {
		t.Errorf("cloudflare = %+v", c.Cloudflare)
	}
}

func TestDecodePolicy(t *testing.T) {
	c, err := Parse("c.yaml", []byte("policies:\n  bp:\n    min_approvals: 2\n  other:\n    bogus: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := testPolicy{MinApprovals: 1, Strict: true}
	if err := c.DecodePolicy("bp", &p); err != nil {
		t.Fatal(err)
	}
	if p.MinApprovals != 2 || !p.Strict {
		t.Fatalf("override lost defaults or value: %+v", p)
	}
	var q testPolicy
	err = c.DecodePolicy("other", &q)
	if err == nil || !strings.Contains(err.Error(), "c.yaml:5:5:") || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v, want position of bogus", err)
	}
	untouched := testPolicy{MinApprovals: 3}
	if err := c.DecodePolicy("absent", &untouched); err != nil || untouched.MinApprovals != 3 {
		t.Fatalf("absent section changed policy: %+v %v", untouched, err)
	}
	err = c.CheckPolicies(func(n string) bool { return n == "bp" })
	if err == nil || !strings.Contains(err.Error(), `unknown collector "other"`) || !strings.Contains(err.Error(), "c.yaml:4:3") {
		t.Fatalf("err = %v", err)
	}
}
