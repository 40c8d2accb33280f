package githubapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/internal/syncbuf"
)

const (
	appID          = 123
	installationID = 456
	installToken   = "ghs_INSTALLATIONtoken0123456789abcdef"
	tokensEndpoint = "POST /api/v3/app/installations/456/access_tokens"
)

// rsaKeys are the App's key and a stranger's, generated once.
var rsaKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	return gen(), gen()
})

func pkcs1PEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func pkcs8PEM(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writeKey writes data to a new file in a temporary directory with mode.
func writeKey(t *testing.T, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Chmod: WriteFile's mode passes through the umask.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// headerRecorder is a base transport that records each request's
// Authorization header by "METHOD path".
type headerRecorder struct {
	mu   sync.Mutex
	auth map[string][]string
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	if h.auth == nil {
		h.auth = map[string][]string{}
	}
	k := r.Method + " " + r.URL.Path
	h.auth[k] = append(h.auth[k], r.Header.Get("Authorization"))
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (h *headerRecorder) get(k string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.auth[k]...)
}

// appFake serves /repos/acme/api as App appID's installation installationID,
// optionally behind wrap; it returns the fake and the API base URL.
func appFake(t *testing.T, wrap func(http.Handler) http.Handler) (*ghfake.Server, string) {
	t.Helper()
	key, _ := rsaKeys()
	fx := &ghfake.Fixture{Routes: []ghfake.Route{{Path: "/repos/acme/api", Body: repoItemJSON("acme", "api", "main", false, true)}}}
	srv := ghfake.New(fx, ghfake.WithApp(appID, installationID, &key.PublicKey, installToken))
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return srv, srv.URL(hs.URL)
}

func appOptions(base, keyFile string, installation int64) Options {
	return Options{
		BaseURL:      base,
		App:          &App{AppID: appID, InstallationID: installation, PrivateKeyFile: keyFile},
		RetryMax:     2,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
	}
}

// assertNoSecret fails if s holds a JWT, PEM armour or a line of the key
// file's base64 body.
func assertNoSecret(t *testing.T, s string, keyPEM []byte) {
	t.Helper()
	if strings.Contains(s, "eyJ") {
		t.Errorf("contains a JWT: %s", s)
	}
	if strings.Contains(s, "-----BEGIN") || strings.Contains(s, "-----END") {
		t.Errorf("contains PEM text: %s", s)
	}
	if strings.Contains(s, installToken) {
		t.Errorf("contains the installation token: %s", s)
	}
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(s, line) {
			t.Errorf("contains key material %q: %s", line, s)
		}
	}
}

func TestAppAuthenticatesWithInstallationToken(t *testing.T) {
	key, _ := rsaKeys()
	for name, keyPEM := range map[string][]byte{"PKCS#1": pkcs1PEM(key), "PKCS#8": pkcs8PEM(t, key)} {
		t.Run(name, func(t *testing.T) {
			srv, base := appFake(t, nil)
			rec := &headerRecorder{}
			var logs syncbuf.Buffer
			opts := appOptions(base, writeKey(t, keyPEM, 0o600), installationID)
			opts.Transport = rec
			opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c := newClient(t, opts)

			ctx := context.Background()
			for range 3 {
				if _, err := c.GetRepo(ctx, "acme", "api"); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			var failed atomic.Int32
			for range 5 {
				wg.Go(func() {
					if _, err := c.GetRepo(ctx, "acme", "api"); err != nil {
						t.Error(err)
						failed.Add(1)
					}
				})
			}
			wg.Wait()
			if failed.Load() > 0 {
				t.FailNow()
			}

			// The fake requires the installation token on the repository
			// route, so 8 successes mean it was sent; the recorder shows
			// each request's header as it left the retrying transport.
			if got := srv.RequestsByPath()["/app/installations/456/access_tokens"]; got != 1 {
				t.Errorf("fake saw %d token exchanges, want 1", got)
			}
			if got := c.Stats.ByEndpoint()[tokensEndpoint]; got != 1 {
				t.Errorf("Stats counted %d token exchanges, want 1", got)
			}
			if got := c.Stats.ByEndpoint()["GET /api/v3/repos/acme/api"]; got != 8 {
				t.Errorf("Stats counted %d repository requests, want 8", got)
			}
			exchange := rec.get("POST /api/v3/app/installations/456/access_tokens")
			if len(exchange) != 1 || !strings.HasPrefix(exchange[0], "Bearer eyJ") {
				t.Errorf("token exchange Authorization = %q, want one Bearer JWT", exchange)
			}
			for _, a := range rec.get("GET /api/v3/repos/acme/api") {
				if a != "Bearer "+installToken {
					t.Errorf("repository request Authorization = %q, want the installation token", a)
				}
			}
			if !strings.Contains(logs.String(), "access_tokens") {
				t.Fatalf("the debug log does not show the exchange, so it proves nothing:\n%s", logs.String())
			}
			assertNoSecret(t, logs.String(), keyPEM)
		})
	}
}

func TestAppTokenExchangeIsRetried(t *testing.T) {
	key, _ := rsaKeys()
	var failures atomic.Int32
	_, base := appFake(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/access_tokens") && failures.Add(1) == 1 {
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte(`{"message":"Server Error"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	c := newClient(t, appOptions(base, writeKey(t, pkcs1PEM(key), 0o600), installationID))
	if _, err := c.GetRepo(context.Background(), "acme", "api"); err != nil {
		t.Fatalf("GetRepo after a 502 on the exchange: %v", err)
	}
	if got := c.Stats.ByEndpoint()[tokensEndpoint]; got != 2 {
		t.Errorf("Stats counted %d token exchanges, want 2 (a 502, then the retry)", got)
	}
	if got := c.Stats.Retries(); got != 1 {
		t.Errorf("Stats.Retries() = %d, want 1", got)
	}
}

func TestAppTokenRefused(t *testing.T) {
	key, stranger := rsaKeys()
	cases := []struct {
		name         string
		key          []byte
		installation int64
		want         []string
	}{
		{"wrong installation", pkcs1PEM(key), 999, []string{
			"GitHub App 123 installation 999: getting an installation token: POST http://",
			"/api/v3/app/installations/999/access_tokens: 404 Not Found: Not Found (is the installation ID right",
		}},
		{"key of another App", pkcs1PEM(stranger), installationID, []string{
			"GitHub App 123 installation 456: getting an installation token: POST http://",
			"401 Unauthorized: A JSON web token could not be decoded (is the app ID right",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := appFake(t, nil)
			c := newClient(t, appOptions(base, writeKey(t, tc.key, 0o600), tc.installation))
			_, err := c.GetRepo(context.Background(), "acme", "api")
			if err == nil {
				t.Fatal("GetRepo succeeded")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nlacks %q", msg, w)
				}
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !errors.Is(err, ErrInstallationToken) {
				t.Errorf("error does not wrap ErrInstallationToken: %v", err)
			}
			// A refused exchange is not the repository's 401 or 404.
			if HTTPStatus(err) != 0 {
				t.Errorf("HTTPStatus = %d, want 0", HTTPStatus(err))
			}
			for _, s := range []string{msg, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				assertNoSecret(t, s, tc.key)
			}
			byPath := srv.RequestsByPath()
			if byPath["/repos/acme/api"] != 0 {
				t.Errorf("the repository was requested without a token")
			}
			if got := c.Stats.Retries(); got != 0 {
				t.Errorf("a 4xx exchange was retried %d times", got)
			}
		})
	}
}

func TestAppTokenExchangeUnreachable(t *testing.T) {
	key, _ := rsaKeys()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newClient(t, appOptions("http://"+addr+basePath, writeKey(t, pkcs1PEM(key), 0o600), installationID))
	_, err = c.GetRepo(context.Background(), "acme", "api")
	if err == nil {
		t.Fatal("GetRepo succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "GitHub App 123 installation 456: getting an installation token: ") {
		t.Errorf("error does not name the App and installation: %v", err)
	}
	if !errors.Is(err, ErrInstallationToken) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error does not wrap ErrInstallationToken and ECONNREFUSED: %v", err)
	}
	// The exchange went through the retrying transport.
	if got := c.Stats.ByEndpoint()[tokensEndpoint]; got != 3 {
		t.Errorf("Stats counted %d exchange attempts, want 3 (RetryMax 2)", got)
	}
}

func TestAppTokenResponseWithoutToken(t *testing.T) {
	key, _ := rsaKeys()
	f := newFakeAPI(t, respond(http.StatusCreated, `{"expires_at":"2030-01-01T00:00:00Z"}`))
	c := newClient(t, appOptions(f.url(), writeKey(t, pkcs1PEM(key), 0o600), installationID))
	_, err := c.GetRepo(context.Background(), "acme", "api")
	if err == nil || !errors.Is(err, ErrInstallationToken) || !strings.Contains(err.Error(), "without a token") {
		t.Errorf("err = %v, want an installation token error saying no token came", err)
	}
	if n := f.count(); n != 1 {
		t.Errorf("server saw %d requests, want only the exchange", n)
	}
}

func TestLoadAppKeyAccepts(t *testing.T) {
	key, _ := rsaKeys()
	for _, tc := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"PKCS#1 0600", pkcs1PEM(key), 0o600},
		{"PKCS#8 0400", pkcs8PEM(t, key), 0o400},
		{"text before the block", append([]byte("GitHub App key\n"), pkcs1PEM(key)...), 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadAppKey(writeKey(t, tc.data, tc.mode))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Error("LoadAppKey did not return the file's content")
			}
		})
	}
}

func TestLoadAppKeyRefuses(t *testing.T) {
	rsaKey, _ := rsaKeys()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	// EncryptPEMBlock is deprecated: legacy encrypted PEM is what is refused.
	encBlock, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), []byte("pw"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	good := pkcs1PEM(rsaKey)
	pemOf := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }

	cases := []struct {
		name string
		file func(t *testing.T) (string, []byte)
		want string
		is   error
	}{
		{"not found", func(t *testing.T) (string, []byte) {
			return filepath.Join(t.TempDir(), "missing.pem"), nil
		}, ": no such file or directory", fs.ErrNotExist},
		{"a directory", func(t *testing.T) (string, []byte) {
			return t.TempDir(), nil
		}, " is a directory, not a key file", nil},
		{"a FIFO", func(t *testing.T) (string, []byte) {
			p := filepath.Join(t.TempDir(), "fifo.pem")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return p, nil
		}, " is not a regular file", nil},
		{"mode 0644", keyFileCase(good, 0o644), " has mode 0644: it is readable by group or others; chmod 600 ", nil},
		{"mode 0640", keyFileCase(good, 0o640), " has mode 0640: it is readable by group or others; chmod 600 ", nil},
		{"mode 0604", keyFileCase(good, 0o604), " has mode 0604: it is readable by group or others; chmod 600 ", nil},
		{"mode 0620", keyFileCase(good, 0o620), " has mode 0620: group or others may change it; chmod 600 ", nil},
		{"not PEM", keyFileCase([]byte("ghp_this is a token, not a key\n"), 0o600), " is not PEM", nil},
		{"no private key block", keyFileCase(pemOf("CERTIFICATE", []byte{1, 2, 3}), 0o600), ` holds no private key (PEM blocks: CERTIFICATE)`, nil},
		{"Ed25519 PKCS#8", keyFileCase(pkcs8PEM(t, edKey), 0o600), " is an Ed25519 key; a GitHub App key is RSA", nil},
		{"ECDSA PKCS#8", keyFileCase(pkcs8PEM(t, ecKey), 0o600), " is an ECDSA key; a GitHub App key is RSA", nil},
		{"EC SEC1", keyFileCase(pemOf("EC PRIVATE KEY", ecDER), 0o600), " is an EC key; a GitHub App key is RSA", nil},
		{"OpenSSH", keyFileCase(pemOf("OPENSSH PRIVATE KEY", []byte("openssh-key-v1\x00")), 0o600), ` holds a "OPENSSH PRIVATE KEY" block`, nil},
		{"encrypted PKCS#1", keyFileCase(pem.EncodeToMemory(encBlock), 0o600), " is encrypted with a passphrase", nil},
		{"encrypted PKCS#8", keyFileCase(pemOf("ENCRYPTED PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), 0o600), " is encrypted with a passphrase", nil},
		{"corrupt PKCS#1", keyFileCase(pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)[:300]), 0o600), " is not a valid PKCS#1 RSA key: ", nil},
		{"corrupt PKCS#8", keyFileCase(pemOf("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}), 0o600), " is not a valid PKCS#8 key: ", nil},
		{"too large", keyFileCase(bytes.Repeat(good, 64<<10/len(good)+1), 0o600), " is larger than 64 KiB", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, data := tc.file(t)
			got, err := LoadAppKey(path)
			if err == nil {
				t.Fatal("LoadAppKey accepted it")
			}
			if got != nil {
				t.Error("LoadAppKey returned data with an error")
			}
			msg := err.Error()
			if want := "GitHub App private key " + path + tc.want; !strings.Contains(msg, want) {
				t.Errorf("error %q\nlacks %q", msg, want)
			}
			if strings.Contains(tc.want, "chmod 600") && !strings.HasSuffix(msg, "chmod 600 "+path) {
				t.Errorf("error %q does not end with the chmod command for %s", msg, path)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v: %v", tc.is, err)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			assertNoSecret(t, msg, data)
		})
	}
}

// keyFileCase writes data with mode and returns its path and data.
func keyFileCase(data []byte, mode os.FileMode) func(t *testing.T) (string, []byte) {
	return func(t *testing.T) (string, []byte) { return writeKey(t, data, mode), data }
}

func TestLoadAppKeyRefusesAnotherUsersFile(t *testing.T) {
	key, _ := rsaKeys()
	path := writeKey(t, pkcs1PEM(key), 0o600)
	me := os.Getuid()
	getuid = func() int { return me + 1 }
	t.Cleanup(func() { getuid = os.Getuid })
	_, err := LoadAppKey(path)
	want := fmt.Sprintf("GitHub App private key %s belongs to user %d, not to this user (%d)", path, me, me+1)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestNewRefusesBadAppOptions(t *testing.T) {
	key, _ := rsaKeys()
	good := writeKey(t, pkcs1PEM(key), 0o600)
	loose := writeKey(t, pkcs1PEM(key), 0o644)
	base := "http://127.0.0.1:1/api/v3/"
	withToken := appOptions(base, good, installationID)
	withToken.Token = secret.New(testToken)
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"token and App", withToken, "GitHub: both a token and a GitHub App are configured; use one"},
		{"no app ID", Options{BaseURL: base, App: &App{InstallationID: 1, PrivateKeyFile: good}}, "GitHub App: app ID 0: want the App's positive numeric ID"},
		{"negative installation", Options{BaseURL: base, App: &App{AppID: 1, InstallationID: -4, PrivateKeyFile: good}}, "GitHub App 1: installation ID -4: want the installation's positive numeric ID"},
		{"no key file", Options{BaseURL: base, App: &App{AppID: 1, InstallationID: 2}}, "GitHub App private key: no file named"},
		{"key readable by others", appOptions(base, loose, installationID), "GitHub App private key " + loose + " has mode 0644: it is readable by group or others; chmod 600 " + loose},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.opts)
			if err == nil || err.Error() != tc.want {
				t.Errorf("New: %v, %v; want error %q", c, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error contains the token: %v", err)
			}
		})
	}
}

// The exchange's JSON is what ghinstallation decodes; a sanity check that the
// fake's shape carries what the client needs.
func TestAppTokenShape(t *testing.T) {
	key, _ := rsaKeys()
	_, base := appFake(t, nil)
	c := newClient(t, appOptions(base, writeKey(t, pkcs1PEM(key), 0o600), installationID))
	if _, err := c.GetRepo(context.Background(), "acme", "api"); err != nil {
		t.Fatal(err)
	}
	at := c.Client.Client().Transport.(*appTransport)
	exp, refresh, err := at.tokens.Expiry()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("token expires in %v, want about an hour", d)
	}
	if !refresh.Before(exp) {
		t.Errorf("refresh at %v is not before expiry %v", refresh, exp)
	}
	perms, err := at.tokens.Permissions()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(perms)
	if !strings.Contains(string(b), `"contents":"read"`) {
		t.Errorf("permissions %s lack contents: read", b)
	}
}
