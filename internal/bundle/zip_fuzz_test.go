package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/bundle"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
)

// FuzzOpenAndVerify: no zip, however crafted (bad central directory,
// overlapping or duplicate entries, unsafe paths, bad compression, a
// manifest or envelope edited), makes OpenArchive or Verify panic; a
// bundle that verifies clean has a signed manifest and every file it lists.
func FuzzOpenAndVerify(f *testing.F) {
	b := coveragetest.New(f)
	for d := range 2 {
		b.Write(coveragetest.Run{Job: "merge-activity-daily", Collector: "merge-activity", Schedule: "@daily", TimeZone: "UTC",
			Window: dayWindow(d), Status: evidence.RunSuccess, Controls: []evidence.Control{cc81},
			Findings: []evidence.Finding{{Target: "github.com/acme/api#1", Status: evidence.StatusPass, Summary: "approved"}}})
	}
	var out bytes.Buffer
	if _, err := bundle.Build(context.Background(), &out, bundle.Options{Store: b.Store, Signer: b.Ledger.Signer,
		Period: dayWindow(0), Now: created, Producer: evidence.Producer{Name: "changeproof", Version: "test"}, Report: simpleReport}); err != nil {
		f.Fatal(err)
	}
	good := out.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	var small bytes.Buffer
	zw := zip.NewWriter(&small)
	for _, name := range []string{"manifest.json", "../evil", "evidence/x.json", "evidence/x.json"} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		_, _ = w.Write([]byte(`{"payloadType":"application/vnd.in-toto+json"}`))
	}
	_ = zw.Close()
	f.Add(small.Bytes())
	v := b.Verifier
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := bundle.OpenArchive(bytes.NewReader(data), int64(len(data)), "fuzz.zip")
		if err != nil {
			return
		}
		for _, name := range a.Files() {
			_, _ = a.Read(name)
		}
		rep, err := bundle.Verify(context.Background(), a, v)
		if err != nil || !rep.OK() {
			return
		}
		if rep.Manifest == nil || !a.Has("manifest.json") {
			t.Fatal("a bundle verified clean without a manifest")
		}
	})
}
