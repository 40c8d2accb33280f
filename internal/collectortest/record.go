package collectortest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// Record collects req through the real pipeline into a fresh file store,
// checks that the evidence written verifies, and returns its predicate and
// the collector's result: what an auditor would get from the collection.
func Record(t testing.TB, c collectors.Collector, req collectors.Request) (evidence.Predicate, *collectors.Result) {
	t.Helper()
	if err := c.Validate(req); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ctx := context.Background()
	r, st, ver := Pipeline(t)
	out, err := r.Run(ctx, c, req)
	if err != nil {
		t.Fatalf("no evidence written: %v", err)
	}
	rep, err := ledger.Verify(ctx, st, ver, ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the evidence written does not verify: %v", rep.Problems)
	}
	return out.Entry.Statement.Predicate, out.Result
}

// Pipeline is the real pipeline over a fresh file store and signing key,
// with the store and the key's verifier.
func Pipeline(t testing.TB) (*pipeline.Runner, storage.Store, *evidence.Verifier) {
	t.Helper()
	st, err := file.Open(context.Background(), t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := evidence.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	r := &pipeline.Runner{
		Ledger:   &ledger.Ledger{Store: st, Signer: signer},
		Catalog:  controls.Default(),
		Producer: evidence.Producer{Name: "changeproof", Version: "test"},
		Now:      func() time.Time { return time.Now().UTC() },
		Logger:   slog.New(slog.DiscardHandler),
	}
	return r, st, ver
}
