package cli_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Without a token, serve answers only requests addressed to an IP address
// or localhost: a web page the compliance owner visits could otherwise
// DNS-rebind its own name to 127.0.0.1 and read the coverage report and
// every evidence object with script from its own origin.
func TestServeRefusesDNSNamesWithoutAToken(t *testing.T) {
	st := newServeStore(t)
	srv := startServe(t, nil, "--config", st.config)
	for _, p := range []string{"/api/v1/evidence/" + st.envelope, "/api/v1/coverage"} {
		req, err := http.NewRequest("GET", srv.base+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "rebind.attacker.example:9465" // what the browser sends after rebinding
		req.Header.Set("Origin", "http://rebind.attacker.example:9465")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest || strings.Contains(string(body), "payload") || strings.Contains(string(body), "jobs") {
			t.Errorf("GET %s with Host %s answered %d (%d bytes)", p, req.Host, resp.StatusCode, len(body))
		}
	}
	for _, host := range []string{"localhost:9465", "127.0.0.1:9465", "[::1]:9465"} {
		req, _ := http.NewRequest("GET", srv.base+"/api/v1/coverage", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("Host %s answered %d", host, resp.StatusCode)
		}
	}
}
