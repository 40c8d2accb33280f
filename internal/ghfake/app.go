package ghfake

import (
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"

	"github.com/changeproof/changeproof/internal/fakeapi"
)

const (
	// AppTokenLifetime is how long an installation token lives, as on
	// GitHub.
	AppTokenLifetime = time.Hour
	// maxJWTLifetime is how far in the future GitHub accepts a JWT's exp.
	maxJWTLifetime = 10 * time.Minute
	// maxIssuedAhead is how far in the future the fake accepts a JWT's iat
	// (clock drift).
	maxIssuedAhead = 60 * time.Second
	// msgBadJWT is GitHub's message for a JWT it refuses.
	msgBadJWT = "A JSON web token could not be decoded"
)

// appPermissions are the permissions the fake grants an installation: what
// changeproof's collectors read.
var appPermissions = map[string]string{
	"actions":        "read",
	"administration": "read",
	"checks":         "read",
	"contents":       "read",
	"deployments":    "read",
	"metadata":       "read",
	"pull_requests":  "read",
	"statuses":       "read",
}

// app is a GitHub App installation the fake issues tokens for.
type app struct {
	appID, installationID int64
	pub                   *rsa.PublicKey
	token                 string

	mu      sync.Mutex
	expires time.Time // of the token last issued; zero: none issued yet
}

// WithApp makes the server a GitHub App's: it answers
// POST /app/installations/{id}/access_tokens (under the base path) for an
// "Authorization: Bearer JWT" whose JWT verifies RS256 with pub, has iss
// appID (a string or a number), an integer exp in the next 10 minutes and an
// integer iat at most 60s ahead of the server's clock. A refused JWT gets
// 401 "A JSON web token could not be decoded"; another installation than
// installationID gets 404 (JWT checked first). Success is 201 with token, an
// expires_at one hour later, permissions and repository_selection, as
// GitHub documents. Every other route then requires that token, as
// WithToken does, until it expires (a token set with WithToken is still
// accepted too). A nil key or an empty token leaves the option out.
func WithApp(appID, installationID int64, pub *rsa.PublicKey, token string) Option {
	return func(s *Server) {
		if pub != nil && token != "" {
			s.app = &app{appID: appID, installationID: installationID, pub: pub, token: token}
		}
	}
}

// appTokenPath reports whether apiPath is an installation's access_tokens
// route, and the installation it names.
func appTokenPath(apiPath string) (installation string, ok bool) {
	rest, ok := strings.CutPrefix(apiPath, "/app/installations/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/access_tokens")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// serveAppToken answers a POST to an access_tokens route when the server is
// an App's; handled is false for any other request.
func (s *Server) serveAppToken(w http.ResponseWriter, r *http.Request, apiPath string) (status int, handled bool) {
	if s.app == nil || r.Method != http.MethodPost {
		return 0, false
	}
	id, ok := appTokenPath(apiPath)
	if !ok {
		return 0, false
	}
	now := s.now()
	jwtStr, ok := fakeapi.Credentials(r, "Bearer")
	if !ok {
		s.core.Log.Debug("app JWT refused", "reason", "no bearer credentials")
		return writeMessage(w, http.StatusUnauthorized, msgBadJWT), true
	}
	if err := s.app.verifyJWT(jwtStr, now); err != nil {
		s.core.Log.Debug("app JWT refused", "reason", err)
		return writeMessage(w, http.StatusUnauthorized, msgBadJWT), true
	}
	if id != strconv.FormatInt(s.app.installationID, 10) {
		return writeMessage(w, http.StatusNotFound, "Not Found"), true
	}
	expires := now.Add(AppTokenLifetime).UTC().Truncate(time.Second)
	s.app.mu.Lock()
	s.app.expires = expires
	s.app.mu.Unlock()
	// A struct of strings and a map of strings always encodes.
	body, _ := json.Marshal(struct {
		Token               string            `json:"token"`
		ExpiresAt           string            `json:"expires_at"`
		Permissions         map[string]string `json:"permissions"`
		RepositorySelection string            `json:"repository_selection"`
	}{s.app.token, expires.Format(time.RFC3339), appPermissions, "all"})
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
	return http.StatusCreated, true
}

// verifyJWT checks an App JWT the way GitHub does.
func (a *app) verifyJWT(raw string, now time.Time) error {
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return a.pub, nil }); err != nil {
		return err
	}
	switch iss := claims["iss"].(type) {
	case string:
		if iss != strconv.FormatInt(a.appID, 10) {
			return fmt.Errorf("iss %q is not app %d", iss, a.appID)
		}
	case json.Number:
		if n, err := iss.Int64(); err != nil || n != a.appID {
			return fmt.Errorf("iss %s is not app %d", iss, a.appID)
		}
	default:
		return errors.New("no iss")
	}
	exp, err := unixClaim(claims, "exp")
	if err != nil {
		return err
	}
	if !exp.After(now) {
		return fmt.Errorf("exp %s has passed", exp)
	}
	if exp.After(now.Add(maxJWTLifetime)) {
		return fmt.Errorf("exp %s is more than %s ahead", exp, maxJWTLifetime)
	}
	iat, err := unixClaim(claims, "iat")
	if err != nil {
		return err
	}
	if iat.After(now.Add(maxIssuedAhead)) {
		return fmt.Errorf("iat %s is in the future", iat)
	}
	return nil
}

// unixClaim reads an integer NumericDate claim.
func unixClaim(claims jwt.MapClaims, name string) (time.Time, error) {
	n, ok := claims[name].(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("no numeric %s", name)
	}
	secs, err := n.Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %s is not an integer", name, n)
	}
	return time.Unix(secs, 0), nil
}

// acceptsToken reports whether tok is the installation token and one has
// been issued that has not expired at now.
func (a *app) acceptsToken(tok string, now time.Time) bool {
	a.mu.Lock()
	expires := a.expires
	a.mu.Unlock()
	return !expires.IsZero() && now.Before(expires) && subtle.ConstantTimeCompare([]byte(tok), []byte(a.token)) == 1
}
