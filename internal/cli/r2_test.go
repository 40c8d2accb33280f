package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/internal/versitygw"
)

const testAccount = "0123456789abcdef0123456789abcdef"

// r2Locks is the Cloudflare API's R2 bucket-lock endpoint for one bucket,
// in Cloudflare's envelope, keeping what is PUT.
type r2Locks struct {
	bucket string
	mu     sync.Mutex
	config string
}

func (f *r2Locks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+testCFToken {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}`)
		return
	}
	if r.URL.Path != "/client/v4/accounts/"+testAccount+"/r2/buckets/"+f.bucket+"/lock" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"success":false,"errors":[{"code":10006,"message":"The specified bucket does not exist."}],"messages":[],"result":null}`)
		return
	}
	if r.Method == http.MethodPut {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		f.config = body.String()
		fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":{}}`)
		return
	}
	fmt.Fprintf(w, `{"success":true,"errors":[],"messages":[],"result":%s}`, f.config)
}

// TestR2StoreFromTheCommandLine: an r2:// store without a lock rule is
// refused; storage lock adds one; collect then writes evidence recording
// the rule, and verify reads it back.
func TestR2StoreFromTheCommandLine(t *testing.T) {
	srv := versitygw.Start(t, versitygw.WithRegion("auto"))
	srv.CreateBucket(t, "evidence", false)
	e := &s3Env{srv: srv}
	e.setAWSEnv(t)
	e.env = newEnv(t)
	e.spool = e.dir + "/spool"
	locks := &r2Locks{bucket: "evidence", config: `{"rules":[]}`}
	hs := httptest.NewServer(locks)
	t.Cleanup(hs.Close)
	cf := hs.URL + "/client/v4"
	store := "r2://" + testAccount + "/evidence/changeproof?endpoint=" + srv.Endpoint

	r := e.collectTo(t, store, "--cloudflare-api-url", cf)
	if r.code != 2 || !strings.Contains(r.stderr, "storage lock") {
		t.Fatalf("collect to an R2 bucket without a lock rule: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := e.versions(t, "evidence", ""); len(got) != 0 {
		t.Fatalf("refusing the bucket wrote %v", got)
	}
	if r := run(t, "storage", "check", "--store", store, "--cloudflare-api-url", cf); r.code != 2 {
		t.Fatalf("storage check without a rule: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}

	r = run(t, "storage", "lock", "--store", store, "--retention", "1095d", "--cloudflare-api-url", cf)
	if r.code != 0 || !strings.Contains(r.stdout, `prefix "changeproof/"`) {
		t.Fatalf("storage lock: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(locks.config, `"enabled":true`) || !strings.Contains(locks.config, `"maxAgeSeconds":94608000`) {
		t.Fatalf("the rule PUT to Cloudflare: %s", locks.config)
	}
	r = run(t, "storage", "check", "--store", store, "--cloudflare-api-url", cf)
	if r.code != 0 || !strings.Contains(r.stdout, "r2-bucket-lock") || !strings.Contains(strings.ToLower(r.stdout), "admin") {
		t.Fatalf("storage check with the rule: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}

	r = e.collectTo(t, store, "--cloudflare-api-url", cf)
	if r.code != 0 {
		t.Fatalf("collect to a locked R2 bucket: exit %d: %s", r.code, r.stderr)
	}
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	st := storageOf(t, e, "evidence", out.Evidence)
	lock, _ := st["lock"].(map[string]any)
	rule, _ := lock["rule"].(map[string]any)
	if st["worm"] != true || lock["kind"] != "r2-bucket-lock" || rule["prefix"] != "changeproof/" || rule["maxAgeSeconds"] != float64(94608000) {
		t.Fatalf("the evidence records its storage as %v", st)
	}
	// An auditor verifies with read access only: no Cloudflare token.
	v := runEnv(t, map[string]string{}, "verify", store, "--pubkey", e.pub)
	if v.code != 0 {
		t.Fatalf("verify r2://: exit %d: %s %s", v.code, v.stdout, v.stderr)
	}
	assertNoToken(t, e.spool, r.stdout, r.stderr, v.stdout, v.stderr)
}
