package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
)

// readmeOpenSSLSteps returns the shell block between the openssl-verify
// markers of the README: the steps an auditor runs, exactly as documented.
func readmeOpenSSLSteps(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	begin := strings.Index(s, "<!-- openssl-verify:begin -->")
	end := strings.Index(s, "<!-- openssl-verify:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md has no openssl-verify block")
	}
	block := s[begin:end]
	open := strings.Index(block, "```sh\n")
	closing := strings.LastIndex(block, "```")
	if open < 0 || closing <= open {
		t.Fatal("the openssl-verify block has no ```sh fence")
	}
	return block[open+len("```sh\n") : closing]
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (make tools installs it): %v", name, err)
		}
		t.Skipf("%s not installed; run `make tools` (in CI this test fails instead)", name)
	}
}

func runSteps(t *testing.T, steps, envelope, pub, store string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", steps)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "ENVELOPE="+envelope, "PUBKEY="+pub, "STORE="+store)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestREADMEOpenSSLStepsVerifyRealEvidence(t *testing.T) {
	requireTool(t, "openssl")
	requireTool(t, "bash")
	steps := readmeOpenSSLSteps(t)
	e := newEnv(t)
	if r := e.collect(t); r.code != 0 {
		t.Fatalf("collect: %+v", r)
	}
	envelope := envelopes(t, e.store)[0]

	out, err := runSteps(t, steps, envelope, e.pub, e.store)
	if err != nil {
		t.Fatalf("the README's openssl steps failed on genuine evidence: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Signature Verified Successfully") || !strings.Contains(out, "raw facts match the signed subject") ||
		!strings.Contains(out, `"scope":"github.com/acme"`) || !strings.Contains(out, `"status":"fail"`) {
		t.Fatalf("unexpected output:\n%s", out)
	}

	// The same steps must reject a tampered envelope: one byte of the payload.
	data, _ := os.ReadFile(envelope)
	i := strings.Index(string(data), `"payload": "`) + len(`"payload": "`) + 100
	if data[i] == 'A' {
		data[i] = 'B'
	} else {
		data[i] = 'A'
	}
	// Named after its own digest, so step 0 passes and the signature fails.
	tampered := filepath.Join(t.TempDir(), "x-"+evidence.Digest(data)+".json")
	os.WriteFile(tampered, data, 0o644)
	out, err = runSteps(t, steps, tampered, e.pub, e.store)
	if err == nil || strings.Contains(out, "Signature Verified Successfully") || !strings.Contains(out, "Signature Verification Failure") {
		t.Fatalf("the README's steps accepted a tampered envelope:\n%s", out)
	}

	// A genuine envelope with a forged payload under a duplicate key, which
	// jq or Python would read instead of the signed one, fails step 0.
	genuine, _ := os.ReadFile(envelope)
	confused := strings.Replace(string(genuine), `"payload": "`, `"p\u0061yload": "e30=", "payload": "`, 1)
	confusedPath := filepath.Join(t.TempDir(), "x-"+evidence.Digest([]byte(confused))+".json")
	os.WriteFile(confusedPath, []byte(confused), 0o644)
	if out, err := runSteps(t, steps, confusedPath, e.pub, e.store); err == nil {
		t.Fatalf("the README's steps accepted an envelope with a duplicate payload key:\n%s", out)
	}

	// A genuine envelope under another envelope's name fails step 0.
	renamed := filepath.Join(t.TempDir(), "x-"+strings.Repeat("0", 64)+".json")
	os.WriteFile(renamed, genuine, 0o644)
	if out, err := runSteps(t, steps, renamed, e.pub, e.store); err == nil {
		t.Fatalf("the README's steps accepted an envelope whose name is not its digest:\n%s", out)
	}

	// And a modified raw facts object fails step 4.
	rawDir := filepath.Join(e.store, "raw")
	entries, _ := os.ReadDir(rawDir)
	copyStore := t.TempDir()
	os.MkdirAll(filepath.Join(copyStore, "raw"), 0o755)
	for _, en := range entries {
		b, _ := os.ReadFile(filepath.Join(rawDir, en.Name()))
		b = append(b, ' ')
		os.WriteFile(filepath.Join(copyStore, "raw", en.Name()), b, 0o644)
	}
	out, err = runSteps(t, steps, envelope, e.pub, copyStore)
	if err == nil || strings.Contains(out, "raw facts match") {
		t.Fatalf("the README's steps accepted modified raw facts:\n%s", out)
	}
}
