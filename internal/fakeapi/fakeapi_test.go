package fakeapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/fakeapi/fakeapitest"
)

type stub struct{ n int }

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.n++
	_, _ = io.WriteString(w, "ok")
}
func (s *stub) URL(root string) string { return root + "/api/" }
func (s *stub) Requests() int          { return s.n }

func command(t *testing.T, gotToken *string) Command {
	return Command{Program: "xfake", API: "X", RoutesFile: "routes.json", DefaultBasePath: "/api/", MaxPerPage: 100,
		Build: func(fixture string, s Settings) (Server, int, error) {
			if fixture == "missing" {
				return nil, 0, errors.New("loading fixture: missing/routes.json: no such file")
			}
			if gotToken != nil {
				*gotToken = s.Token
			}
			return &stub{}, 3, nil
		}}
}

func TestUsageErrors(t *testing.T) {
	c := command(t, nil)
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{nil, "--fixture is required", 2},
		{[]string{"--fixture", "x", "extra"}, "unexpected arguments", 2},
		{[]string{"--fixture", "x", "--log-level", "loud"}, "--log-level", 2},
		{[]string{"--bogus"}, "flag provided but not defined", 2},
		{[]string{"--fixture", "missing"}, "routes.json", 1},
		{[]string{"--fixture", "x", "--token-env", "NOT_SET_ANYWHERE_42"}, "NOT_SET_ANYWHERE_42", 1},
	} {
		var stderr bytes.Buffer
		if code := c.Run(context.Background(), tc.args, &stderr, func(string) string { return "" }); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run %v = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
	if code := c.Run(context.Background(), []string{"-h"}, io.Discard, os.Getenv); code != 0 {
		t.Errorf("-h exits %d", code)
	}
}

func TestRunServesWritesURLAndStops(t *testing.T) {
	var token string
	c := command(t, &token)
	p := fakeapitest.Start(t, c.Run, []string{"--fixture", "x", "--token-env", "T"}, map[string]string{"T": "secret-123"})
	if !strings.HasPrefix(p.URL, "http://127.0.0.1:") || !strings.HasSuffix(p.URL, "/api/") {
		t.Fatalf("URL file holds %q", p.URL)
	}
	resp, err := http.Get(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	logs := p.Stop(t)
	if token != "secret-123" {
		t.Errorf("the token from --token-env was not passed on: %q", token)
	}
	if strings.Contains(logs, "secret-123") || !strings.Contains(logs, "requests=1") {
		t.Errorf("log: %s", logs)
	}
}
