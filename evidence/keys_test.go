package evidence_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
)

// genKeyFiles runs GenerateKeyFiles in a fresh directory.
func genKeyFiles(t *testing.T) (dir, priv, pub, keyID string) {
	t.Helper()
	dir = t.TempDir()
	priv = filepath.Join(dir, "signing.key")
	pub = filepath.Join(dir, "signing.pub")
	id, err := evidence.GenerateKeyFiles(priv, pub)
	if err != nil {
		t.Fatalf("GenerateKeyFiles: %v", err)
	}
	return dir, priv, pub, id
}

// pemBlock decodes the single PEM block of a file and fails on trailing data.
func pemBlock(t *testing.T, path string) *pem.Block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s is not PEM:\n%s", path, data)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s has data after its PEM block: %q", path, rest)
	}
	return block
}

// assertNoKeyMaterial fails when msg contains any part of the PEM body in
// pemData (each base64 line, and the DER in hex).
func assertNoKeyMaterial(t *testing.T, msg string, pemData []byte) {
	t.Helper()
	for _, line := range strings.Split(string(pemData), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "-----") {
			continue
		}
		// Any 12-character run of the base64 body is key material.
		for i := 0; i+12 <= len(line); i += 6 {
			if strings.Contains(msg, line[i:i+12]) {
				t.Errorf("error message contains key material %q: %s", line[i:i+12], msg)
				return
			}
		}
	}
	if block, _ := pem.Decode(pemData); block != nil {
		h := hex.EncodeToString(block.Bytes)
		for i := 0; i+24 <= len(h); i += 24 {
			if strings.Contains(strings.ToLower(msg), h[i:i+24]) {
				t.Errorf("error message contains key material in hex: %s", msg)
				return
			}
		}
	}
}

func TestGenerateKeyFilesFormatsAndModes(t *testing.T) {
	_, privPath, pubPath, id := genKeyFiles(t)

	fi, err := os.Stat(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("private key mode = %04o, want 0600", got)
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("private key is not a regular file: %v", fi.Mode())
	}

	privBlock := pemBlock(t, privPath)
	if privBlock.Type != "PRIVATE KEY" {
		t.Errorf("private key PEM type = %q, want PRIVATE KEY (PKCS#8)", privBlock.Type)
	}
	if len(privBlock.Headers) != 0 {
		t.Errorf("private key PEM has headers: %v", privBlock.Headers)
	}
	k, err := x509.ParsePKCS8PrivateKey(privBlock.Bytes)
	if err != nil {
		t.Fatalf("private key is not PKCS#8: %v", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("private key is a %T, want ed25519.PrivateKey", k)
	}

	pubBlock := pemBlock(t, pubPath)
	if pubBlock.Type != "PUBLIC KEY" {
		t.Errorf("public key PEM type = %q, want PUBLIC KEY (SPKI)", pubBlock.Type)
	}
	pk, err := x509.ParsePKIXPublicKey(pubBlock.Bytes)
	if err != nil {
		t.Fatalf("public key is not SPKI: %v", err)
	}
	pub, ok := pk.(ed25519.PublicKey)
	if !ok {
		t.Fatalf("public key is a %T, want ed25519.PublicKey", pk)
	}
	if !pub.Equal(priv.Public()) {
		t.Error("public key file does not hold the private key's public half")
	}
	if pfi, err := os.Stat(pubPath); err != nil {
		t.Fatal(err)
	} else if got := pfi.Mode().Perm(); got != 0o644 {
		t.Errorf("public key mode = %04o, want 0644 (as documented)", got)
	}

	wantID := sha256.Sum256(pubBlock.Bytes)
	if id != hex.EncodeToString(wantID[:]) {
		t.Errorf("returned key id %s, want sha256 of the SPKI DER %x", id, wantID)
	}

	// The files load back through the package's own loaders.
	lpriv, err := evidence.LoadPrivateKey(privPath)
	if err != nil {
		t.Fatalf("LoadPrivateKey of a fresh key: %v", err)
	}
	if !lpriv.Equal(priv) {
		t.Error("LoadPrivateKey returned a different key")
	}
	lpub, err := evidence.LoadPublicKey(pubPath)
	if err != nil {
		t.Fatalf("LoadPublicKey of a fresh key: %v", err)
	}
	if !lpub.Equal(pub) {
		t.Error("LoadPublicKey returned a different key")
	}
}

func TestGenerateKeyFilesIsRandom(t *testing.T) {
	// Two generations give two different keys (the key is random).
	_, _, _, id1 := genKeyFiles(t)
	_, _, _, id2 := genKeyFiles(t)
	if id1 == id2 {
		t.Fatalf("two generated keys have the same id %s", id1)
	}
}

func TestGenerateKeyFilesRefusesOverwrite(t *testing.T) {
	const existing = "do not overwrite me\n"
	for _, which := range []string{"private", "public"} {
		t.Run(which, func(t *testing.T) {
			dir := t.TempDir()
			privPath := filepath.Join(dir, "k.key")
			pubPath := filepath.Join(dir, "k.pub")
			target, other := privPath, pubPath
			if which == "public" {
				target, other = pubPath, privPath
			}
			if err := os.WriteFile(target, []byte(existing), 0o600); err != nil {
				t.Fatal(err)
			}
			id, err := evidence.GenerateKeyFiles(privPath, pubPath)
			if err == nil {
				t.Fatalf("GenerateKeyFiles overwrote an existing %s key (id %s)", which, id)
			}
			if !strings.Contains(err.Error(), target) {
				t.Errorf("error does not name the existing path %s: %v", target, err)
			}
			got, rerr := os.ReadFile(target)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if string(got) != existing {
				t.Errorf("existing %s key file changed to %q", which, got)
			}
			if _, serr := os.Lstat(other); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("GenerateKeyFiles left %s behind after refusing (stat: %v)", other, serr)
			}
		})
	}
}

func TestGenerateKeyFilesRefusesSymlinkAtPath(t *testing.T) {
	// A dangling symlink at the private key path must not be followed: the
	// key would land wherever the link points.
	dir := t.TempDir()
	privPath := filepath.Join(dir, "k.key")
	elsewhere := filepath.Join(dir, "elsewhere")
	if err := os.Symlink(elsewhere, privPath); err != nil {
		t.Skipf("symlinks unsupported: %v", err)
	}
	if _, err := evidence.GenerateKeyFiles(privPath, filepath.Join(dir, "k.pub")); err == nil {
		t.Fatal("GenerateKeyFiles wrote through a symlink")
	}
	if _, err := os.Lstat(elsewhere); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("key written to the symlink target (stat: %v)", err)
	}
}

func TestGenerateKeyFilesLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	privPath := filepath.Join(dir, "k.key")
	pubPath := filepath.Join(dir, "missing-dir", "k.pub") // cannot be created
	if _, err := evidence.GenerateKeyFiles(privPath, pubPath); err == nil {
		t.Fatal("GenerateKeyFiles succeeded with an uncreatable public key path")
	}
	if _, err := os.Lstat(privPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("private key left behind after the public key failed (stat: %v)", err)
	}
}

func TestGenerateKeyFilesSamePathForBoth(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	if _, err := evidence.GenerateKeyFiles(p, p); err == nil {
		t.Fatal("GenerateKeyFiles wrote both keys to one path")
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was left at %s (stat: %v)", p, err)
	}
}

func writeKeyFile(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // exact, whatever the umask
		t.Fatal(err)
	}
	return p
}

func ed25519PEM(t *testing.T) ([]byte, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), priv
}

func TestLoadPrivateKeyPermissions(t *testing.T) {
	data, priv := ed25519PEM(t)
	for _, mode := range []os.FileMode{0o640, 0o644, 0o604, 0o660, 0o606, 0o610, 0o601, 0o777} {
		p := writeKeyFile(t, "k.key", data, mode)
		_, err := evidence.LoadPrivateKey(p)
		if err == nil {
			t.Errorf("mode %04o: key accepted, want ErrKeyPermissions", mode)
			continue
		}
		if !errors.Is(err, evidence.ErrKeyPermissions) {
			t.Errorf("mode %04o: error %v is not ErrKeyPermissions", mode, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, p) {
			t.Errorf("mode %04o: error does not name the path %s: %s", mode, p, msg)
		}
		if !strings.Contains(msg, "chmod 600") {
			t.Errorf("mode %04o: error does not say chmod 600: %s", mode, msg)
		}
		assertNoKeyMaterial(t, msg, data)
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		p := writeKeyFile(t, "k.key", data, mode)
		got, err := evidence.LoadPrivateKey(p)
		if err != nil {
			t.Errorf("mode %04o: %v, want the key accepted", mode, err)
			continue
		}
		if !got.Equal(priv) {
			t.Errorf("mode %04o: loaded a different key", mode)
		}
	}
}

func TestLoadPrivateKeyRefusesBadFiles(t *testing.T) {
	goodPEM, _ := ed25519PEM(t)
	goodBlock, _ := pem.Decode(goodPEM)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})

	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // test only
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})

	// The right DER under the wrong PEM type.
	wrongType := pem.EncodeToMemory(&pem.Block{Type: "ED25519 PRIVATE KEY", Bytes: goodBlock.Bytes})
	// A public key where the private key belongs.
	pubDER, err := x509.MarshalPKIXPublicKey(ecKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	// PKCS#8 PEM type with garbage inside (a truncated DER).
	truncated := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: goodBlock.Bytes[:len(goodBlock.Bytes)-5]})

	cases := []struct {
		name    string
		data    []byte
		wantSub []string
	}{
		{"not PEM", []byte("this is not a key\n"), []string{"PEM"}},
		{"empty", nil, []string{"PEM"}},
		{"base64 without armour", []byte(strings.Join(strings.Split(string(goodPEM), "\n")[1:3], "\n")), []string{"PEM"}},
		{"wrong PEM type", wrongType, []string{"PEM", "PRIVATE KEY"}},
		{"public key", pubPEM, []string{"PEM", "PRIVATE KEY"}},
		{"truncated PKCS#8", truncated, []string{"PKCS#8"}},
		{"ECDSA PKCS#8", ecPEM, []string{"Ed25519", "ecdsa"}},
		{"RSA PKCS#8", rsaPEM, []string{"Ed25519", "rsa"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeKeyFile(t, "k.key", c.data, 0o600)
			k, err := evidence.LoadPrivateKey(p)
			if err == nil {
				t.Fatalf("accepted (%d-byte key)", len(k))
			}
			msg := err.Error()
			if !strings.Contains(msg, p) {
				t.Errorf("error does not name the path %s: %s", p, msg)
			}
			for _, s := range c.wantSub {
				if !strings.Contains(msg, s) {
					t.Errorf("error does not mention %q: %s", s, msg)
				}
			}
			if errors.Is(err, evidence.ErrKeyPermissions) {
				t.Errorf("a 0600 file reported as a permission problem: %s", msg)
			}
			assertNoKeyMaterial(t, msg, c.data)
			assertNoKeyMaterial(t, msg, goodPEM)
		})
	}
}

func TestLoadPrivateKeyMissingAndDirectory(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.key")
	_, err := evidence.LoadPrivateKey(missing)
	if err == nil {
		t.Fatal("missing key file accepted")
	}
	if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "keygen") {
		t.Errorf("missing-file error must name the path and mention keygen: %v", err)
	}

	sub := filepath.Join(dir, "keydir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = evidence.LoadPrivateKey(sub)
	if err == nil {
		t.Fatal("directory accepted as a key file")
	}
	if !strings.Contains(err.Error(), sub) || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory error must name the path and say it is a directory: %v", err)
	}
}

func TestLoadAndParsePublicKey(t *testing.T) {
	_, _, pubPath, id := genKeyFiles(t)
	pub, err := evidence.LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := evidence.KeyID(pub); got != id {
		t.Errorf("KeyID(loaded public key) = %s, GenerateKeyFiles said %s", got, id)
	}

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, err := evidence.EncodePublicKey(ecKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	privPEM, _ := ed25519PEM(t)
	for name, data := range map[string][]byte{
		"ECDSA public key": ecPub,
		"private key":      privPEM,
		"garbage":          []byte("garbage"),
	} {
		if _, err := evidence.ParsePublicKey(data); err == nil {
			t.Errorf("ParsePublicKey accepted %s", name)
		}
	}
	missing := filepath.Join(t.TempDir(), "x.pub")
	if _, err := evidence.LoadPublicKey(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadPublicKey of a missing file: %v, want an error naming the path", err)
	}
}

func TestKeyIDIsSHA256OfSPKI(t *testing.T) {
	_, _, pubPath, id := genKeyFiles(t)
	pub, err := evidence.LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	want := hex.EncodeToString(sum[:])
	got, err := evidence.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || id != want {
		t.Fatalf("KeyID = %s (GenerateKeyFiles said %s), want %s", got, id, want)
	}
	if len(got) != 64 || strings.ToLower(got) != got {
		t.Errorf("KeyID %q is not 64 lowercase hex characters", got)
	}
	// A known vector: the RFC 8032 test 1 public key.
	rfc, _ := hex.DecodeString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	rfcDER, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(rfc))
	if err != nil {
		t.Fatal(err)
	}
	// SPKI of an Ed25519 key is a fixed 12-byte prefix and the 32-byte key.
	prefix, _ := hex.DecodeString("302a300506032b6570032100")
	if !bytes.Equal(rfcDER, append(prefix, rfc...)) {
		t.Fatalf("unexpected SPKI encoding %x", rfcDER)
	}
	rsum := sha256.Sum256(rfcDER)
	if got, _ := evidence.KeyID(ed25519.PublicKey(rfc)); got != hex.EncodeToString(rsum[:]) {
		t.Errorf("KeyID(RFC 8032 key) = %s, want %x", got, rsum)
	}
	if _, err := evidence.KeyID(struct{}{}); err == nil {
		t.Error("KeyID accepted a value that is not a public key")
	}

	// The id an operator computes with openssl.
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is not on PATH; in CI this check must run")
		}
		t.Skip("openssl not on PATH; skipping the openssl cross-check")
	}
	derPath := filepath.Join(t.TempDir(), "pub.der")
	if out, err := exec.Command(openssl, "pkey", "-pubin", "-in", pubPath, "-outform", "DER", "-out", derPath).CombinedOutput(); err != nil {
		t.Fatalf("openssl pkey: %v\n%s", err, out)
	}
	out, err := exec.Command(openssl, "dgst", "-sha256", "-r", derPath).Output()
	if err != nil {
		t.Fatalf("openssl dgst: %v", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		t.Fatalf("openssl dgst printed nothing")
	}
	if fields[0] != got {
		t.Errorf("KeyID = %s, openssl pkey -pubin -outform DER | sha256 = %s", got, fields[0])
	}
}
