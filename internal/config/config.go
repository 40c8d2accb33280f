// Package config reads changeproof's config file strictly: an unknown key, a
// wrong type or a bad value is an error that names the file, line and column.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/schedules"
)

// Config is the content of a config file (changeproof.yaml).
type Config struct {
	// Store is the evidence store URL (default file://evidence).
	Store string `yaml:"store"`
	// Storage holds the store's retention and lock settings.
	Storage Storage `yaml:"storage"`
	// Key is the path of the Ed25519 signing key (PKCS#8 PEM, mode 0600).
	Key string `yaml:"key"`
	// GitHub configures the GitHub source.
	GitHub GitHub `yaml:"github"`
	// Cloudflare configures the Cloudflare source (deployments of Workers
	// and Pages) and the R2 bucket-lock checks.
	Cloudflare Cloudflare `yaml:"cloudflare"`
	// Controls extends or overrides the embedded controls catalog.
	Controls controls.Override `yaml:"controls"`
	// Policies holds a policy section per collector name; each collector
	// decodes its own section strictly (see DecodePolicy).
	Policies ast.Node `yaml:"policies"`
	// Scheduler configures `changeproof run`: the metrics listener, the
	// catch-up limit and the default time zone of jobs.
	Scheduler Scheduler `yaml:"scheduler"`
	// Jobs are the scheduled collections (see jobs.go).
	Jobs []Job `yaml:"jobs"`

	path string
	data []byte
	file *ast.File
}

// GitHub configures the GitHub REST API.
type GitHub struct {
	// APIURL is the REST API root (GitHub Enterprise Server:
	// https://HOST/api/v3).
	APIURL string `yaml:"api_url"`
	// TokenEnv names the environment variable holding the token (default
	// GITHUB_TOKEN). The token itself never goes in the file.
	TokenEnv string `yaml:"token_env"`
	// App authenticates as a GitHub App installation instead of a token.
	App *GitHubApp `yaml:"app"`
	// Concurrency is how many requests are in flight at once, across every
	// repository and collector (1 to 64; default 8).
	Concurrency *int `yaml:"concurrency"`
	// GraphQL lets collectors read over the GraphQL API where it takes
	// fewer requests (merge activity: one query per 25 pull requests
	// instead of five REST calls each); default true. Set false for a
	// GitHub Enterprise Server without it, or to keep to REST.
	GraphQL *bool `yaml:"graphql"`
	// CacheDir keeps answers for conditional requests (default
	// $XDG_CACHE_HOME/changeproof/http); "off" disables the cache.
	CacheDir string `yaml:"cache_dir"`
}

// CacheOff is the github.cache_dir value that disables the cache.
const CacheOff = "off"

// GitHub concurrency bounds (github.concurrency).
const (
	MinConcurrency = 1
	MaxConcurrency = 64
)

// GitHubApp identifies a GitHub App installation to authenticate as.
type GitHubApp struct {
	// ID is the App's numeric id (its settings page: "App ID").
	ID int64 `yaml:"id"`
	// InstallationID is the installation of the App on the organisation.
	InstallationID int64 `yaml:"installation_id"`
	// PrivateKeyFile is the App's private key (PEM), mode 0600.
	PrivateKeyFile string `yaml:"private_key_file"`
}

// Storage configures how evidence is kept in an S3 or R2 store.
type Storage struct {
	// Retention is how long each object stays locked: a duration such as
	// 1095d (the default) or 26280h.
	Retention string `yaml:"retention"`
	// LockMode is the S3 Object Lock mode: compliance (default) or
	// governance.
	LockMode string `yaml:"lock_mode"`
	// LegalHold also places a legal hold on every object (S3).
	LegalHold bool `yaml:"legal_hold"`
	// AllowUnlocked writes to a bucket without Object Lock (or R2 lock
	// rule); every evidence object then records that it was not WORM.
	AllowUnlocked bool `yaml:"allow_unlocked"`
	// Spool is the directory holding evidence a store could not take yet
	// (default $XDG_STATE_HOME/changeproof/spool).
	Spool string `yaml:"spool"`
}

// Cloudflare configures the Cloudflare API.
type Cloudflare struct {
	// APIURL is the API root (default https://api.cloudflare.com/client/v4).
	APIURL string `yaml:"api_url"`
	// TokenEnv names the environment variable holding the API token
	// (default CLOUDFLARE_API_TOKEN). The token never goes in the file.
	TokenEnv string `yaml:"token_env"`
	// AccountID is the Cloudflare account holding the Workers, Pages
	// projects and R2 buckets.
	AccountID string `yaml:"account_id"`
}

// Path is the file the config was read from.
func (c *Config) Path() string { return c.path }

// Load reads and strictly decodes a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist", path)
		}
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes config data; path is used in error messages.
func Parse(path string, data []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict()); err != nil {
		return nil, Error(path, err)
	}
	c.path, c.data = path, data
	if n := c.Policies; n != nil && n.Type() != ast.MappingType && n.Type() != ast.MappingValueType && n.Type() != ast.NullType {
		pos := n.GetToken().Position
		return nil, fmt.Errorf("%s:%d:%d: policies: want a mapping of collector name to policy", path, pos.Line, pos.Column)
	}
	if err := c.check(data); err != nil {
		return nil, err
	}
	c.resolvePaths()
	return &c, nil
}

// resolvePaths makes the file paths the config names relative to the
// config file's directory (as Prometheus does), so a config means the same
// whatever directory changeproof is started from.
func (c *Config) resolvePaths() {
	dir := filepath.Dir(c.path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.Key = rel(c.Key)
	c.Storage.Spool = rel(c.Storage.Spool)
	if a := c.GitHub.App; a != nil {
		a.PrivateKeyFile = rel(a.PrivateKeyFile)
	}
	if c.GitHub.CacheDir != CacheOff {
		c.GitHub.CacheDir = rel(c.GitHub.CacheDir)
	}
	if path, ok := strings.CutPrefix(c.Store, "file://"); ok {
		c.Store = "file://" + rel(path)
	} else if c.Store != "" && !strings.Contains(c.Store, "://") {
		c.Store = rel(c.Store)
	}
}

// check validates values the YAML types cannot, naming file, line and key.
func (c *Config) check(data []byte) error {
	at := c.At
	for _, key := range []string{"github.token_env", "cloudflare.token_env"} {
		env := c.GitHub.TokenEnv
		if key == "cloudflare.token_env" {
			env = c.Cloudflare.TokenEnv
		}
		if env != "" && !envNameRE.MatchString(env) {
			return fmt.Errorf("%s %q is not an environment variable name (the token itself never goes in the file)", at(key), env)
		}
	}
	if id := c.Cloudflare.AccountID; id != "" && !accountIDRE.MatchString(id) {
		return fmt.Errorf("%s %q: want the 32-hex-digit account id", at("cloudflare.account_id"), id)
	}
	if r := c.Storage.Retention; r != "" {
		if _, err := schedules.ParseDuration(r); err != nil {
			return fmt.Errorf("%s %w", at("storage.retention"), err)
		}
	}
	switch c.Storage.LockMode {
	case "", "compliance", "governance":
	default:
		return fmt.Errorf("%s %q: want compliance or governance", at("storage.lock_mode"), c.Storage.LockMode)
	}
	if a := c.GitHub.App; a != nil {
		switch {
		case a.ID <= 0:
			return fmt.Errorf("%s: want the App's numeric id", at("github.app.id"))
		case a.InstallationID <= 0:
			return fmt.Errorf("%s: want the numeric id of the App's installation", at("github.app.installation_id"))
		case a.PrivateKeyFile == "":
			return fmt.Errorf("%s: want the path of the App's private key (PEM, mode 0600)", at("github.app.private_key_file"))
		}
	}
	if n := c.GitHub.Concurrency; n != nil && (*n < MinConcurrency || *n > MaxConcurrency) {
		return fmt.Errorf("%s %d: want %d to %d requests in flight at once", at("github.concurrency"), *n, MinConcurrency, MaxConcurrency)
	}
	if err := c.checkScheduler(); err != nil {
		return err
	}
	return c.checkJobs()
}

// At renders a YAML path below the root ("jobs[2].schedule") as
// "FILE:LINE:COL: jobs[2].schedule" when the file has the key, and as
// "FILE: jobs[2].schedule" when it does not (a default was used).
func (c *Config) At(key string) string {
	if c.file == nil && c.data != nil {
		c.file, _ = parser.ParseBytes(c.data, 0)
	}
	// A key the file lacks is placed at its nearest parent that it has.
	for at := key; at != "" && c.file != nil; at = parentPath(at) {
		if p, err := yaml.PathString("$." + at); err == nil {
			if n, err := p.FilterFile(c.file); err == nil && n != nil {
				pos := n.GetToken().Position
				return fmt.Sprintf("%s:%d:%d: %s", c.path, pos.Line, pos.Column, key)
			}
		}
	}
	return orPath(c.path) + ": " + key
}

// parentPath drops the last element of a YAML path: "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" -> "".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func orPath(p string) string {
	if p == "" {
		return "config"
	}
	return p
}

// SHA256 is the digest of the file's bytes, recorded in run records so an
// auditor can tell which configuration ran a job.
func (c *Config) SHA256() string {
	sum := sha256.Sum256(c.data)
	return hex.EncodeToString(sum[:])
}

var (
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	accountIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// DecodePolicy decodes the policy section for a collector into dst (which
// holds the defaults). A missing section leaves dst unchanged.
func (c *Config) DecodePolicy(collector string, dst any) error {
	for _, mv := range c.policySections() {
		if mv.Key.String() != collector {
			continue
		}
		if err := yaml.NodeToValue(mv.Value, dst, yaml.Strict()); err != nil {
			return Error(c.path, fmt.Errorf("policies.%s: %w", collector, err))
		}
	}
	return nil
}

// CheckPolicies fails for a policy section naming no known collector.
func (c *Config) CheckPolicies(known func(string) bool) error {
	for _, mv := range c.policySections() {
		if name := mv.Key.String(); !known(name) {
			pos := mv.Key.GetToken().Position
			return fmt.Errorf("%s:%d:%d: policies: unknown collector %q", c.path, pos.Line, pos.Column, name)
		}
	}
	return nil
}

func (c *Config) policySections() []*ast.MappingValueNode {
	switch n := c.Policies.(type) {
	case *ast.MappingNode:
		return n.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}
	}
	return nil
}

var posRE = regexp.MustCompile(`\[(\d+):(\d+)\]\s*(.*)`)

// Error turns a YAML error into one line, "FILE:LINE:COL: message".
func Error(path string, err error) error {
	first := strings.SplitN(err.Error(), "\n", 2)[0]
	if m := posRE.FindStringSubmatch(first); m != nil {
		prefix := strings.TrimSpace(first[:strings.Index(first, "[")])
		msg := m[3]
		if prefix != "" {
			msg = strings.TrimSuffix(prefix, ":") + ": " + msg
		}
		return fmt.Errorf("%s:%s:%s: %s", path, m[1], m[2], msg)
	}
	return fmt.Errorf("%s: %s", path, first)
}
