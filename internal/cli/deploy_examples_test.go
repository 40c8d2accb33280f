package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// The changeproof command lines of the deployment examples (systemd,
// GitHub Actions) use flags the command line has: each is run with --help
// appended, which parses every flag first and fails on an unknown one.
func TestDeployExamplesUseRealFlags(t *testing.T) {
	deploy := filepath.Join("..", "..", "deploy")
	var lines []string
	unit, err := os.ReadFile(filepath.Join(deploy, "systemd", "changeproof.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(unit), "\n") {
		if cmd, ok := strings.CutPrefix(l, "ExecStart=/usr/local/bin/changeproof "); ok {
			lines = append(lines, cmd)
		}
	}
	wf, err := os.ReadFile(filepath.Join(deploy, "github-actions", "changeproof.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var workflow struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(wf, &workflow); err != nil {
		t.Fatalf("the GitHub Actions example is not YAML: %v", err)
	}
	for _, j := range workflow.Jobs {
		for _, s := range j.Steps {
			if cmd, ok := strings.CutPrefix(strings.TrimSpace(s.Run), "changeproof "); ok {
				lines = append(lines, cmd)
			}
		}
	}
	if len(lines) < 2 {
		t.Fatalf("found %d changeproof command lines in the examples, want the systemd and workflow ones", len(lines))
	}
	word := regexp.MustCompile(`"[^"]*"|\S+`)
	for _, l := range lines {
		args := word.FindAllString(strings.Join(strings.Fields(l), " "), -1)
		for i, a := range args {
			args[i] = strings.Trim(a, `"`)
		}
		if r := run(t, append(args, "--help")...); r.code != 0 {
			t.Errorf("changeproof %s: %s", l, r.stderr)
		}
	}
}
