package githubapi

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// App identifies a GitHub App installation to authenticate as.
//
// The client signs a JWT (RS256, with the App's private key) and exchanges
// it for an installation token, which it renews shortly before the hour it
// is valid for runs out. ghinstallation dates the JWT and judges the token's
// expiry by the system clock (time.Now), not by Options.Now: GitHub checks
// the JWT's dates against its own clock, so a host clock far off makes the
// exchange fail with 401.
type App struct {
	// AppID is the App's numeric ID (its settings page shows it; not the
	// client ID).
	AppID int64
	// InstallationID is the numeric ID of the App's installation on the
	// organization or account to read.
	InstallationID int64
	// PrivateKeyFile is the App's private key (PEM). It must be a regular file, mode 0600 or
	// stricter (refused if group or others can read it), owned by the current user.
	PrivateKeyFile string
}

// ErrInstallationToken is wrapped by the error of a request that could not
// be sent because no installation token could be obtained.
var ErrInstallationToken = errors.New("getting an installation token")

// maxKeyFile bounds what is read of a key file: a 4096-bit RSA key in PEM is
// about 3 KiB.
const maxKeyFile = 64 << 10

// getuid is the current user, replaced by tests of the ownership check.
var getuid = os.Getuid

// LoadAppKey reads and checks a GitHub App private key file: a regular
// file, owned by the current user, that neither group nor others may access,
// holding an unencrypted RSA key in PEM (PKCS#1 "RSA PRIVATE KEY", as GitHub
// downloads it, or PKCS#8 "PRIVATE KEY"). It returns the file's content.
// Errors name the file and never include key material.
func LoadAppKey(path string) ([]byte, error) {
	data, _, err := loadAppKey(path)
	return data, err
}

// loadAppKey is LoadAppKey, also returning the parsed key.
func loadAppKey(path string) ([]byte, *rsa.PrivateKey, error) {
	what := "GitHub App private key " + path
	if path == "" {
		return nil, nil, errors.New("GitHub App private key: no file named")
	}
	// Refuse what is not a regular file before opening it (opening a FIFO
	// would block), then check the open file, so the mode checked is the
	// mode of the file read.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, pathErr(err))
	}
	if err := checkKeyFile(what, path, fi); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, pathErr(err))
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, pathErr(err))
	}
	if err := checkKeyFile(what, path, fi); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", what, pathErr(err))
	}
	if len(data) > maxKeyFile {
		return nil, nil, fmt.Errorf("%s is larger than %d KiB: not a private key file", what, maxKeyFile>>10)
	}
	key, err := parseAppKey(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %w", what, err)
	}
	return data, key, nil
}

// pathErr drops the path an *fs.PathError repeats (the caller names the
// file), keeping the cause for errors.Is.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkKeyFile checks a key file's type, owner and mode.
func checkKeyFile(what, path string, fi fs.FileInfo) error {
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a key file", what)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", what, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int64(st.Uid) != int64(getuid()) {
		return fmt.Errorf("%s belongs to user %d, not to this user (%d); a private key must be the running user's own", what, st.Uid, getuid())
	}
	perm := fi.Mode().Perm()
	switch {
	case perm&0o044 != 0:
		return fmt.Errorf("%s has mode %04o: it is readable by group or others; chmod 600 %s", what, perm, path)
	case perm&0o077 != 0:
		return fmt.Errorf("%s has mode %04o: group or others may change it; chmod 600 %s", what, perm, path)
	}
	return nil
}

// parseAppKey finds the private key block of a PEM file and parses it as an
// RSA key. Its errors follow the file's name and never quote the data.
func parseAppKey(data []byte) (*rsa.PrivateKey, error) {
	var types []string
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			types = append(types, block.Type)
			continue
		}
		return parseKeyBlock(block)
	}
	if len(types) == 0 {
		return nil, errors.New(`is not PEM: want the .pem file GitHub downloads (an "RSA PRIVATE KEY" block)`)
	}
	return nil, fmt.Errorf(`holds no private key (PEM blocks: %s); want "RSA PRIVATE KEY" or "PRIVATE KEY"`, strings.Join(types, ", "))
}

func parseKeyBlock(block *pem.Block) (*rsa.PrivateKey, error) {
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("is encrypted with a passphrase; store it unencrypted (as GitHub downloads it) in a file only this user can read")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("is not a valid PKCS#1 RSA key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("is not a valid PKCS#8 key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return nil, errors.New("is an Ed25519 key; a GitHub App key is RSA")
		case *ecdsa.PrivateKey:
			return nil, errors.New("is an ECDSA key; a GitHub App key is RSA")
		default:
			return nil, fmt.Errorf("is a %T; a GitHub App key is RSA", k)
		}
	case "EC PRIVATE KEY":
		return nil, errors.New("is an EC key; a GitHub App key is RSA")
	default:
		return nil, fmt.Errorf(`holds a %q block; want "RSA PRIVATE KEY" (PKCS#1, as GitHub downloads it) or "PRIVATE KEY" (PKCS#8)`, block.Type)
	}
}

// appTransport authenticates every request as a GitHub App installation.
// It sits outside the retrying, counting transport (next), and so does the
// token exchange: both are retried, counted and bound by the redirect
// rules.
type appTransport struct {
	app    App
	next   http.RoundTripper
	tokens *ghinstallation.Transport
	// exchange is the access_tokens URL, for error messages.
	exchange string
}

// newAppTransport loads the App's key and builds the transport for the API
// root base.
func newAppTransport(app App, base *url.URL, next http.RoundTripper) (*appTransport, error) {
	if app.AppID <= 0 {
		return nil, fmt.Errorf("GitHub App: app ID %d: want the App's positive numeric ID", app.AppID)
	}
	if app.InstallationID <= 0 {
		return nil, fmt.Errorf("GitHub App %d: installation ID %d: want the installation's positive numeric ID", app.AppID, app.InstallationID)
	}
	_, key, err := loadAppKey(app.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	apps := ghinstallation.NewAppsTransportFromPrivateKey(next, app.AppID, key)
	tokens := ghinstallation.NewFromAppsTransport(apps, app.InstallationID)
	// ghinstallation appends "/app/installations/..." to BaseURL after
	// trimming trailing slashes; the API root keeps GHES's /api/v3.
	tokens.BaseURL = strings.TrimSuffix(base.String(), "/")
	return &appTransport{
		app:      app,
		next:     next,
		tokens:   tokens,
		exchange: fmt.Sprintf("%s/app/installations/%d/access_tokens", tokens.BaseURL, app.InstallationID),
	}, nil
}

// RoundTrip sends r with the installation token, obtaining or renewing the
// token first when needed.
func (t *appTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.tokens.Token(r.Context())
	if err == nil && tok == "" {
		err = errors.New("GitHub answered without a token")
	}
	if err != nil {
		// A RoundTripper closes the body, even on error.
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, t.tokenError(err)
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+tok)
	return t.next.RoundTrip(r2)
}

// tokenError turns a failed exchange into one line naming the App and the
// installation. ghinstallation's error keeps the exchange's response, and
// through it the request carrying the JWT: it is not wrapped, only its
// status and GitHub's message are kept, and the response body is closed.
func (t *appTransport) tokenError(err error) error {
	prefix := fmt.Sprintf("GitHub App %d installation %d", t.app.AppID, t.app.InstallationID)
	var he *ghinstallation.HTTPError
	if !errors.As(err, &he) {
		// A token response that does not decode: ghinstallation wraps the
		// decoding error in its own words.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return fmt.Errorf("%s: %w: %w", prefix, ErrInstallationToken, err)
	}
	var status, msg string
	if resp := he.Response; resp != nil {
		status = resp.Status
		if resp.Body != nil {
			msg = githubMessage(resp.Body)
			_ = resp.Body.Close()
		}
	}
	if he.RootCause != nil {
		return fmt.Errorf("%s: %w: %w", prefix, ErrInstallationToken, he.RootCause)
	}
	if msg != "" {
		status += ": " + msg
	}
	return fmt.Errorf("%s: %w: POST %s: %s%s", prefix, ErrInstallationToken, t.exchange, status, tokenHint(he.Response))
}

// githubMessage returns the "message" of a GitHub error body, on one line
// and shortened; "" if the body is not one.
func githubMessage(body io.Reader) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&e) != nil {
		return ""
	}
	msg := strings.Join(strings.Fields(e.Message), " ")
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}

// tokenHint says what a failed exchange's status usually means.
func tokenHint(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return " (is the app ID right, the key the App's current private key, and the clock of this host right?)"
	case http.StatusNotFound:
		return " (is the installation ID right, and the App installed there?)"
	}
	return ""
}
