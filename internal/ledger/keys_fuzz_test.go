package ledger_test

import (
	"testing"

	"github.com/changeproof/changeproof/internal/ledger"
)

// FuzzParseKeys: the store key parsers never panic on any key, and a key
// they accept is the key its parts build again (so a listed object is read
// under one name only).
func FuzzParseKeys(f *testing.F) {
	for _, k := range []string{
		"evidence/branch-protection/github.com_acme_web/2026/11/23/20261123T120519.969474452Z-e73bcdf6d5f471a9c1c12bf046e225a99c946b8956b366272d355456d0d7516d.json",
		"runs/deployments-weekly/2026/11/23/20261123T162021.350874005Z-42fd94570f224659e4e21bd2233182091ed4e710c83a1f8c50db27b58773339e.json",
		"store/dir/runs/a/2026/02/30/20260230T000000.000000000Z-42fd94570f224659e4e21bd2233182091ed4e710c83a1f8c50db27b58773339e.json",
		"evidence/x/y/9999/12/31/99991231T235960.999999999Z-" + "0000000000000000000000000000000000000000000000000000000000000000.json",
		"raw/abc.json", "", "/", "runs//", "evidence/../../etc/passwd",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if p, err := ledger.ParseEvidenceKey(key); err == nil {
			if p.CollectedAt.Location().String() != "UTC" {
				t.Fatalf("%q: timestamp not in UTC", key)
			}
		}
		if p, err := ledger.ParseRunKey(key); err == nil {
			again, err := ledger.RunKey(p.Job, p.FinishedAt, p.Digest)
			if err != nil || again != key {
				t.Fatalf("ParseRunKey(%q) = %+v, which builds %q (%v)", key, p, again, err)
			}
		}
		if dir, k, ok := ledger.SplitStorePath(key); ok {
			if _, e1 := ledger.ParseEvidenceKey(k); e1 != nil {
				if _, e2 := ledger.ParseRunKey(k); e2 != nil {
					t.Fatalf("SplitStorePath(%q) = %q, %q: not a key", key, dir, k)
				}
			}
		}
		_ = ledger.CheckJob(key)
	})
}
