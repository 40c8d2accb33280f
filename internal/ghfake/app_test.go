package ghfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

const (
	testAppID        = 123
	testInstallation = 456
	testAppToken     = "ghs_FAKEinstallationTOKEN0123456789"
)

// appKeys are two RSA keys: the App's and a stranger's.
var appKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	return gen(), gen()
})

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// appServer serves a repository route as installation testInstallation of
// App testAppID, on a fixed clock.
func appServer(t *testing.T, opts ...Option) (*Server, string, *fakeClock) {
	t.Helper()
	key, _ := appKeys()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	fx := &Fixture{Routes: []Route{{Path: "/repos/acme/api", Body: json.RawMessage(`{"id": 1, "full_name": "acme/api"}`)}}}
	opts = append([]Option{WithApp(testAppID, testInstallation, &key.PublicKey, testAppToken), WithClock(clock.Now)}, opts...)
	s := New(fx, opts...)
	return s, serve(t, s), clock
}

// signJWT signs claims with key (RS256).
func signJWT(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goodClaims are what ghinstallation sends at now.
func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(90 * time.Second).Unix(), "iss": "123"}
}

// do sends a request with an Authorization header (none when auth is "").
func do(t *testing.T, method, url, auth string) (*http.Response, string) {
	t.Helper()
	if auth == "" {
		return request(t, method, url, nil)
	}
	return request(t, method, url, nil, "Authorization", auth)
}

func message(t *testing.T, body string) string {
	t.Helper()
	var m struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return m.Message
}

const tokensPath = "app/installations/456/access_tokens"

func TestAppTokenExchange(t *testing.T) {
	key, _ := appKeys()
	s, base, clock := appServer(t)
	repo := base + "repos/acme/api"

	// No token has been issued yet: the token is not accepted.
	if resp, body := do(t, http.MethodGet, repo, "Bearer "+testAppToken); resp.StatusCode != http.StatusUnauthorized || message(t, body) != "Bad credentials" {
		t.Fatalf("before the exchange: %d %s, want 401 Bad credentials", resp.StatusCode, body)
	}

	jwtStr := signJWT(t, key, goodClaims(clock.Now()))
	resp, body := do(t, http.MethodPost, base+tokensPath, "Bearer "+jwtStr)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("exchange: %d %s, want 201", resp.StatusCode, body)
	}
	var got struct {
		Token               string            `json:"token"`
		ExpiresAt           string            `json:"expires_at"`
		Permissions         map[string]string `json:"permissions"`
		RepositorySelection string            `json:"repository_selection"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("exchange body %s: %v", body, err)
	}
	if got.Token != testAppToken {
		t.Errorf("token = %q, want %q", got.Token, testAppToken)
	}
	if want := "2026-03-01T13:00:00Z"; got.ExpiresAt != want {
		t.Errorf("expires_at = %q, want %q", got.ExpiresAt, want)
	}
	if got.Permissions["contents"] != "read" || got.Permissions["pull_requests"] != "read" || got.Permissions["metadata"] != "read" {
		t.Errorf("permissions = %v, want contents, pull_requests and metadata read", got.Permissions)
	}
	if got.RepositorySelection != "all" {
		t.Errorf("repository_selection = %q, want all", got.RepositorySelection)
	}

	for _, auth := range []string{"Bearer " + testAppToken, "token " + testAppToken} {
		if resp, body := do(t, http.MethodGet, repo, auth); resp.StatusCode != http.StatusOK || !strings.Contains(body, "acme/api") {
			t.Errorf("GET with %q: %d %s, want 200 and the repository", strings.Fields(auth)[0], resp.StatusCode, body)
		}
	}
	for name, auth := range map[string]string{"none": "", "the JWT": "Bearer " + jwtStr, "another token": "Bearer ghs_other"} {
		if resp, _ := do(t, http.MethodGet, repo, auth); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET with %s: %d, want 401", name, resp.StatusCode)
		}
	}
	if n := s.RequestsByPath()["/"+tokensPath]; n != 1 {
		t.Errorf("access_tokens requests counted = %d, want 1", n)
	}

	// The token expires an hour after it was issued; a new exchange renews it.
	clock.Add(time.Hour)
	if resp, _ := do(t, http.MethodGet, repo, "Bearer "+testAppToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET with an expired token: %d, want 401", resp.StatusCode)
	}
	// The old JWT has expired too.
	if resp, _ := do(t, http.MethodPost, base+tokensPath, "Bearer "+jwtStr); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("exchange with an expired JWT: %d, want 401", resp.StatusCode)
	}
	if resp, body := do(t, http.MethodPost, base+tokensPath, "Bearer "+signJWT(t, key, goodClaims(clock.Now()))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("second exchange: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, repo, "Bearer "+testAppToken); resp.StatusCode != http.StatusOK {
		t.Errorf("GET with the renewed token: %d, want 200", resp.StatusCode)
	}
	if n := s.RequestsByPath()["/"+tokensPath]; n != 3 {
		t.Errorf("access_tokens requests counted = %d, want 3", n)
	}
}

func TestAppJWTChecks(t *testing.T) {
	key, stranger := appKeys()
	_, base, clock := appServer(t)
	now := clock.Now()
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := goodClaims(now)
		change(c)
		return c
	}
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, goodClaims(now)).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, goodClaims(now)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	good := "Bearer " + signJWT(t, key, goodClaims(now))

	cases := []struct {
		name, path, auth string
		status           int
		msg              string
	}{
		{"valid", tokensPath, good, http.StatusCreated, ""},
		{"iss as a number", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["iss"] = 123 })), http.StatusCreated, ""},
		{"iat 60s ahead", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["iat"] = now.Add(60 * time.Second).Unix() })), http.StatusCreated, ""},
		{"exp 10 minutes ahead", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["exp"] = now.Add(10 * time.Minute).Unix() })), http.StatusCreated, ""},
		{"wrong installation", "app/installations/999/access_tokens", good, http.StatusNotFound, "Not Found"},
		{"signed by another key", tokensPath, "Bearer " + signJWT(t, stranger, goodClaims(now)), http.StatusUnauthorized, msgBadJWT},
		{"another key and wrong installation", "app/installations/999/access_tokens", "Bearer " + signJWT(t, stranger, goodClaims(now)), http.StatusUnauthorized, msgBadJWT},
		{"HS256", tokensPath, "Bearer " + hs256, http.StatusUnauthorized, msgBadJWT},
		{"alg none", tokensPath, "Bearer " + none, http.StatusUnauthorized, msgBadJWT},
		{"another app", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["iss"] = "124" })), http.StatusUnauthorized, msgBadJWT},
		{"another app as a number", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["iss"] = 124 })), http.StatusUnauthorized, msgBadJWT},
		{"no iss", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { delete(c, "iss") })), http.StatusUnauthorized, msgBadJWT},
		{"expired", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["exp"] = now.Unix() })), http.StatusUnauthorized, msgBadJWT},
		{"exp too far ahead", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["exp"] = now.Add(10*time.Minute + time.Second).Unix() })), http.StatusUnauthorized, msgBadJWT},
		{"exp not an integer", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["exp"] = float64(now.Unix()) + 60.5 })), http.StatusUnauthorized, msgBadJWT},
		{"no exp", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { delete(c, "exp") })), http.StatusUnauthorized, msgBadJWT},
		{"iat in the future", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { c["iat"] = now.Add(61 * time.Second).Unix() })), http.StatusUnauthorized, msgBadJWT},
		{"no iat", tokensPath, "Bearer " + signJWT(t, key, with(func(c jwt.MapClaims) { delete(c, "iat") })), http.StatusUnauthorized, msgBadJWT},
		{"not a JWT", tokensPath, "Bearer not.a.jwt", http.StatusUnauthorized, msgBadJWT},
		{"token scheme", tokensPath, "token " + strings.TrimPrefix(good, "Bearer "), http.StatusUnauthorized, msgBadJWT},
		{"no credentials", tokensPath, "", http.StatusUnauthorized, msgBadJWT},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, base+tc.path, tc.auth)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == http.StatusCreated {
				if !strings.Contains(body, testAppToken) {
					t.Errorf("201 body %s carries no token", body)
				}
				return
			}
			if strings.Contains(body, testAppToken) {
				t.Errorf("refusal %s carries the token", body)
			}
			if got := message(t, body); got != tc.msg {
				t.Errorf("message %q, want %q", got, tc.msg)
			}
		})
	}

	// Only POST exchanges a JWT: a GET of the route is an ordinary request,
	// which the JWT does not authorize.
	if resp, body := do(t, http.MethodGet, base+tokensPath, good); resp.StatusCode == http.StatusCreated || strings.Contains(body, testAppToken) {
		t.Errorf("GET access_tokens: %d %s, want no token", resp.StatusCode, body)
	}
}

func TestAppAndTokenBothAccepted(t *testing.T) {
	_, base, _ := appServer(t, WithToken("ghp_personal"))
	if resp, body := do(t, http.MethodGet, base+"repos/acme/api", "Bearer ghp_personal"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET with the WithToken token: %d %s, want 200", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, base+"repos/acme/api", "Bearer "+testAppToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET with the installation token before any exchange: %d, want 401", resp.StatusCode)
	}
}

func TestWithAppIncompleteIsLeftOut(t *testing.T) {
	key, _ := appKeys()
	fx := &Fixture{Routes: []Route{{Path: "/repos/acme/api", Body: json.RawMessage(`{"id": 1}`)}}}
	for name, opt := range map[string]Option{
		"nil key":     WithApp(testAppID, testInstallation, nil, testAppToken),
		"empty token": WithApp(testAppID, testInstallation, &key.PublicKey, ""),
	} {
		t.Run(name, func(t *testing.T) {
			base := serve(t, New(fx, opt))
			jwtStr := signJWT(t, key, goodClaims(time.Now()))
			if resp, body := do(t, http.MethodPost, base+tokensPath, "Bearer "+jwtStr); resp.StatusCode != http.StatusNotFound {
				t.Errorf("exchange: %d %s, want 404 (no App)", resp.StatusCode, body)
			}
			if resp, _ := do(t, http.MethodGet, base+"repos/acme/api", ""); resp.StatusCode != http.StatusOK {
				t.Errorf("GET without credentials: %d, want 200 (no token required)", resp.StatusCode)
			}
		})
	}
}

func TestAppTokenPath(t *testing.T) {
	for path, want := range map[string]string{
		"/app/installations/456/access_tokens":          "456",
		"/app/installations/456/access_tokens/x":        "",
		"/app/installations//access_tokens":             "",
		"/app/installations/1/2/access_tokens":          "",
		"/repos/acme/app/installations/1/access_tokens": "",
	} {
		id, ok := appTokenPath(path)
		if id != want || ok != (want != "") {
			t.Errorf("appTokenPath(%q) = %q, %t; want %q", path, id, ok, want)
		}
	}
}
