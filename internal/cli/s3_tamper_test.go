package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestVerifyReportsHiddenAndOverwrittenS3Objects tampers with a locked
// bucket the ways a principal with plain s3:DeleteObject and s3:PutObject
// can: a delete marker in front of the stored public key, and a newer
// version over the envelope. The locked versions are intact; verify still
// checks the envelope as written and reports both keys.
func TestVerifyReportsHiddenAndOverwrittenS3Objects(t *testing.T) {
	e := newS3Env(t)
	r := e.collectTo(t, e.url("evidence"))
	if r.code != 0 {
		t.Fatalf("collect: exit %d: %s", r.code, r.stderr)
	}
	var out collectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "verify", e.url("evidence"), "--pubkey", e.pub); r.code != 0 {
		t.Fatalf("verify before tampering: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	var pubKey string
	for k := range e.versions(t, "evidence", "changeproof/keys/") {
		pubKey = strings.TrimPrefix(k, "changeproof/")
	}
	if pubKey == "" {
		t.Fatal("no public key stored under keys/")
	}
	c := e.srv.Client()
	ctx := context.Background()
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("evidence"), Key: aws.String("changeproof/" + pubKey)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("evidence"), Key: aws.String("changeproof/" + out.Evidence),
		Body: strings.NewReader(`{"payloadType":"forged"}`)}); err != nil {
		t.Fatal(err)
	}

	r = run(t, "verify", e.url("evidence"), "--pubkey", e.pub, "--output", "json")
	if r.code != 1 {
		t.Fatalf("verify after tampering: exit %d, want 1: %s %s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		OK       bool `json:"ok"`
		Verified int  `json:"verified"`
		Problems []struct {
			Key    string `json:"key"`
			Reason string `json:"reason"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify output %q: %v", r.stdout, err)
	}
	if rep.OK || rep.Verified != 1 {
		t.Errorf("verify reports ok=%t, %d verified; want not ok, the locked envelope still verified", rep.OK, rep.Verified)
	}
	want := map[string]string{pubKey: "delete marker hides the locked version", out.Evidence: "2 versions"}
	for _, p := range rep.Problems {
		w, ok := want[p.Key]
		if !ok || !strings.Contains(p.Reason, w) {
			t.Errorf("unexpected problem %s: %s", p.Key, p.Reason)
		}
		delete(want, p.Key)
	}
	for k, w := range want {
		t.Errorf("verify did not report %s (%s)", k, w)
	}

	// The table output names them too.
	r = run(t, "verify", e.url("evidence"), "--pubkey", e.pub)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  "+pubKey+": a delete marker") || !strings.Contains(r.stdout, "FAIL  "+out.Evidence+": it has 2 versions") {
		t.Errorf("verify (table) after tampering: exit %d: %s", r.code, r.stdout)
	}
}
