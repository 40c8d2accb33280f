package cli_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// secretVolume lays out files as the kubelet lays out a Secret volume with
// fsGroup: each name a symlink into ..data, a symlink to a timestamped
// directory holding the file with mode 0440. It returns each name's path.
func secretVolume(t *testing.T, dir string, files map[string][]byte) map[string]string {
	t.Helper()
	data := filepath.Join(dir, "..2026_11_23_00_00_00.000000001")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(data, name), b, 0o440); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(data, name), 0o440); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.Symlink(filepath.Join("..data", name), p); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

func testKeys(t *testing.T) (signing, app []byte) {
	t.Helper()
	dir := t.TempDir()
	priv := filepath.Join(dir, "k")
	if _, err := evidence.GenerateKeyFiles(priv, priv+".pub"); err != nil {
		t.Fatal(err)
	}
	signing, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	app = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	return signing, app
}

// checkNoKeyMaterial fails if out holds any line of a PEM key's body.
func checkNoKeyMaterial(t *testing.T, out string, keys ...[]byte) {
	t.Helper()
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("output holds a PEM header:\n%s", out)
	}
	for _, k := range keys {
		for _, l := range strings.Split(string(k), "\n") {
			if len(l) >= 16 && !strings.HasPrefix(l, "-----") && strings.Contains(out, l[:16]) {
				t.Errorf("output holds key material %q...:\n%s", l[:16], out)
			}
		}
	}
}

func TestKeyInstallCopiesSecretVolumeKeysChangeproofAccepts(t *testing.T) {
	signing, app := testKeys(t)
	src := secretVolume(t, filepath.Join(t.TempDir(), "secret"), map[string][]byte{"signing.key": signing, "github-app.pem": app})
	// The target's parent is like an emptyDir: drwxrwxrwx.
	parent := filepath.Join(t.TempDir(), "emptydir")
	if err := os.Mkdir(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(parent, "keys")

	if _, err := evidence.LoadPrivateKey(src["signing.key"]); err == nil {
		t.Fatal("changeproof accepts the 0440 source itself; this test no longer shows why the copy is needed")
	}
	r := run(t, "key", "install", "--to", to, src["signing.key"], src["github-app.pem"])
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	checkNoKeyMaterial(t, r.stdout+r.stderr, signing, app)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], filepath.Join(to, "signing.key")) || !strings.Contains(lines[1], filepath.Join(to, "github-app.pem")) {
		t.Errorf("output %q, want one line naming each copy", r.stdout)
	}
	fi, err := os.Stat(to)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("--to created with mode %04o, want 0700", fi.Mode().Perm())
	}
	for _, n := range []string{"signing.key", "github-app.pem"} {
		fi, err := os.Lstat(filepath.Join(to, n))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %s, want a regular 0600 file", n, fi.Mode())
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() {
			t.Errorf("%s: owner %d, want %d", n, st.Uid, os.Getuid())
		}
	}
	if _, err := evidence.LoadPrivateKey(filepath.Join(to, "signing.key")); err != nil {
		t.Errorf("changeproof refuses the installed signing key: %v", err)
	}
	if _, err := githubapi.LoadAppKey(filepath.Join(to, "github-app.pem")); err != nil {
		t.Errorf("changeproof refuses the installed GitHub App key: %v", err)
	}

	// Run again (an init container rerun in the same pod): the identical
	// copies are left as they are.
	r = run(t, "key", "install", "--to", to, src["signing.key"], src["github-app.pem"])
	if r.code != 0 || strings.Count(r.stdout, "unchanged ") != 2 {
		t.Errorf("second install: exit %d, %q %q; want 0 and two unchanged lines", r.code, r.stdout, r.stderr)
	}
}

func TestKeyInstallRefuses(t *testing.T) {
	signing, app := testKeys(t)
	dir := t.TempDir()
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("signing.key", signing, 0o440)
	appKey := write("app.pem", app, 0o440)
	pub := write("signing.key.pub", []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5546d0q71DNvSw9QGR/mtgGKlix9LUCW0L6I9TXMc2k=\n-----END PUBLIC KEY-----\n"), 0o644)
	text := write("notes.txt", []byte("not a key\n"), 0o644)
	big := write("big.pem", append(append([]byte{}, signing...), make([]byte, 64<<10)...), 0o600)
	loop := filepath.Join(dir, "loop.key")
	if err := os.Symlink("loop.key", loop); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{key}, "--to is required"},
		{"no file", []string{"--to", filepath.Join(t.TempDir(), "k")}, "no key FILE given"},
		{"public key", []string{"--to", filepath.Join(t.TempDir(), "k"), key, pub}, `signing.key.pub holds no private key (PEM blocks: PUBLIC KEY)`},
		{"not PEM", []string{"--to", filepath.Join(t.TempDir(), "k"), text}, "notes.txt is not PEM"},
		{"too large", []string{"--to", filepath.Join(t.TempDir(), "k"), big}, "big.pem is larger than 64 KiB"},
		{"symlink loop", []string{"--to", filepath.Join(t.TempDir(), "k"), loop}, "loop.key: too many levels of symbolic links"},
		{"fifo", []string{"--to", filepath.Join(t.TempDir(), "k"), fifo}, "fifo.key is not a regular file"},
		{"directory", []string{"--to", filepath.Join(t.TempDir(), "k"), dir}, "is a directory"},
		{"same name twice", []string{"--to", filepath.Join(t.TempDir(), "k"), key, key}, "would both be installed as"},
		{"others may write --to", []string{"--to", open, key}, "has mode 0777: group or others may replace the keys"},
		{"--to is a file", []string{"--to", text, key}, "--to " + text},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, append([]string{"key", "install"}, c.args...)...)
			if r.code != 2 {
				t.Fatalf("exit %d (%s%s), want 2", r.code, r.stdout, r.stderr)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr %q, want one line saying %q", r.stderr, c.want)
			}
			checkNoKeyMaterial(t, r.stdout+r.stderr, signing, app)
			for i, a := range c.args {
				if a == "--to" {
					if ents, _ := os.ReadDir(c.args[i+1]); len(ents) != 0 && c.args[i+1] != text {
						t.Errorf("--to %s holds %d files after a refusal", c.args[i+1], len(ents))
					}
				}
			}
		})
	}

	t.Run("existing target", func(t *testing.T) {
		to := filepath.Join(t.TempDir(), "keys")
		if err := os.Mkdir(to, 0o700); err != nil {
			t.Fatal(err)
		}
		other := []byte("another key\n")
		if err := os.WriteFile(filepath.Join(to, "app.pem"), other, 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, "key", "install", "--to", to, key, appKey)
		if r.code != 2 || !strings.Contains(r.stderr, "already exists") {
			t.Fatalf("exit %d, stderr %q; want 2 and an existing file refused", r.code, r.stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(to, "app.pem")); string(b) != string(other) {
			t.Errorf("the existing file was changed")
		}
		if _, err := os.Lstat(filepath.Join(to, "signing.key")); !os.IsNotExist(err) {
			t.Errorf("signing.key was left behind by the failed install: %v", err)
		}
	})
}
