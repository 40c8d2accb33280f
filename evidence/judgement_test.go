package evidence_test

import (
	"context"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
)

// A signed statement must not claim a better status than its findings give,
// nor counts that disagree with them: Verify refuses such statements even
// when the signature is good.
func TestVerifyRejectsInconsistentJudgement(t *testing.T) {
	pub, priv := newKey(t)
	signer, ver := newSigner(t, priv), newVerifier(t, pub)
	cases := []struct {
		name   string
		mutate func(*evidence.Predicate)
		want   string
	}{
		{"pass over failing findings", func(p *evidence.Predicate) { p.Status = evidence.StatusPass }, "disagrees with its findings"},
		{"not_verifiable over failing findings", func(p *evidence.Predicate) { p.Status = evidence.StatusNotVerifiable }, "disagrees with its findings"},
		{"counts hide a failure", func(p *evidence.Predicate) { p.Counts[evidence.StatusFail] = 0 }, "counts"},
		{"counts miss a status", func(p *evidence.Predicate) { delete(p.Counts, evidence.StatusError) }, "counts"},
		{"error without reason", func(p *evidence.Predicate) { p.Status, p.Reason = evidence.StatusError, "" }, "no reason"},
		{"unknown finding status", func(p *evidence.Predicate) { p.Findings[0].Status = "ok" }, "unknown status"},
		{"finding passes over a failing check", func(p *evidence.Predicate) {
			p.Findings[1].Status = evidence.StatusPass
			p.Status, p.Counts = evidence.Overall(p.Findings), evidence.CountByStatus(p.Findings)
		}, "although its checks give"},
		{"unknown check status", func(p *evidence.Predicate) { p.Findings[0].Checks[0].Status = "passed" }, "unknown status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := fullStatement(t)
			c.mutate(&st.Predicate)
			env, err := signer.Sign(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ver.Verify(context.Background(), env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want containing %q", err, c.want)
			}
		})
	}
	// An error status with a reason may stand over any findings (a partial
	// collection keeps what it judged).
	st := fullStatement(t)
	st.Predicate.Status, st.Predicate.Reason = evidence.StatusError, "incomplete: acme/x: 502"
	env, err := signer.Sign(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ver.Verify(context.Background(), env); err != nil {
		t.Fatalf("error status with reason refused: %v", err)
	}
}
