// Package config reads changeproof's config file strictly: an unknown key, a
// wrong type or a bad value is an error that names the file, line and column.
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/changeproof/changeproof/evidence/controls"
)

// Config is the content of a config file (changeproof.yaml).
type Config struct {
	// Store is the evidence store URL (default file://evidence).
	Store string `yaml:"store"`
	// Key is the path of the Ed25519 signing key (PKCS#8 PEM, mode 0600).
	Key string `yaml:"key"`
	// GitHub configures the GitHub source.
	GitHub GitHub `yaml:"github"`
	// Controls extends or overrides the embedded controls catalog.
	Controls controls.Override `yaml:"controls"`
	// Policies holds a policy section per collector name; each collector
	// decodes its own section strictly (see DecodePolicy).
	Policies ast.Node `yaml:"policies"`

	path string
}

// GitHub configures the GitHub REST API.
type GitHub struct {
	// APIURL is the REST API root (GitHub Enterprise Server:
	// https://HOST/api/v3).
	APIURL string `yaml:"api_url"`
	// TokenEnv names the environment variable holding the token (default
	// GITHUB_TOKEN). The token itself never goes in the file.
	TokenEnv string `yaml:"token_env"`
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
	c.path = path
	if n := c.Policies; n != nil && n.Type() != ast.MappingType && n.Type() != ast.MappingValueType && n.Type() != ast.NullType {
		pos := n.GetToken().Position
		return nil, fmt.Errorf("%s:%d:%d: policies: want a mapping of collector name to policy", path, pos.Line, pos.Column)
	}
	if c.GitHub.TokenEnv != "" && !envNameRE.MatchString(c.GitHub.TokenEnv) {
		return nil, fmt.Errorf("%s: github.token_env %q is not an environment variable name (the token itself never goes in the file)", path, c.GitHub.TokenEnv)
	}
	return &c, nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

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
