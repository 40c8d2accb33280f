// Package ledgertest reads what a test's commands stored: the run records
// of a job in a file store, verified with the key that signed them.
package ledgertest

import (
	"context"
	"testing"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// Runs returns the verified run records of job in the file store at dir,
// oldest first, signed by the private key in keyFile; it fails the test on
// any error.
func Runs(t testing.TB, dir, keyFile, job string) []ledger.RunEntry {
	t.Helper()
	st, err := file.Open(context.Background(), "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := evidence.LoadPrivateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := (&ledger.Ledger{Store: st, Signer: signer}).Runs(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}
