package evidence_test

import (
	"context"
	"testing"
)

// BenchmarkSign measures signing a realistic statement into an envelope.
func BenchmarkSign(b *testing.B) {
	_, priv := newKey(b)
	s := newSigner(b, priv)
	st := fullStatement(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "envelopes/s")
}

// BenchmarkVerify measures verifying one envelope (signature, statement,
// judgement consistency).
func BenchmarkVerify(b *testing.B) {
	pub, priv := newKey(b)
	env, err := newSigner(b, priv).Sign(context.Background(), fullStatement(b))
	if err != nil {
		b.Fatal(err)
	}
	v := newVerifier(b, pub)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(env)))
	for b.Loop() {
		if _, err := v.Verify(ctx, env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "envelopes/s")
}
