package evidence_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
)

// fuzzKey is the key the fuzz targets trust. The seed corpora under
// testdata/fuzz hold real envelopes (the docs example, a demo store's
// evidence, run record and bundle manifest) re-signed with it.
func fuzzKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)) }

func fuzzVerifier(t testing.TB) *evidence.Verifier {
	return newVerifier(t, fuzzKey().Public().(ed25519.PublicKey))
}

// signedByFuzzKey is the independent oracle: envelope is one JSON envelope
// as changeproof writes it (re-encoding gives the same bytes) with exactly
// one signature, which is the fuzz key's Ed25519 signature over the DSSE
// PAE of its payload type and payload.
func signedByFuzzKey(envelope []byte) bool {
	var e rawEnvelope
	if err := json.Unmarshal(envelope, &e); err != nil || len(e.Signatures) != 1 {
		return false
	}
	again, err := json.MarshalIndent(e, "", "  ")
	if err != nil || !bytes.Equal(append(again, '\n'), envelope) {
		return false
	}
	body, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
	if err != nil {
		return false
	}
	return ed25519.Verify(fuzzKey().Public().(ed25519.PublicKey), pae(e.PayloadType, body), sig)
}

// FuzzVerify: no input makes Verify, VerifyRun or VerifyBundle panic, and
// none accepts an envelope that is not, byte for byte, one changeproof
// writes with the trusted key's signature.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{"", "{}", "null", `{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[]}`} {
		f.Add([]byte(s))
	}
	v := fuzzVerifier(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, envelope []byte) {
		if got, err := v.Verify(ctx, envelope); err == nil {
			if !signedByFuzzKey(envelope) {
				t.Fatalf("Verify accepted an envelope the trusted key did not sign as stored")
			}
			if evidence.Digest(got.Statement.Predicate.RawFacts) != got.RawFactsSHA256 {
				t.Fatalf("Verify accepted raw facts that do not hash to the subject digest")
			}
		}
		if _, err := v.VerifyRun(ctx, envelope); err == nil && !signedByFuzzKey(envelope) {
			t.Fatalf("VerifyRun accepted an envelope the trusted key did not sign as stored")
		}
		if _, err := v.VerifyBundle(ctx, envelope); err == nil && !signedByFuzzKey(envelope) {
			t.Fatalf("VerifyBundle accepted an envelope the trusted key did not sign as stored")
		}
	})
}

// FuzzVerifySignedPayload: any payload, properly signed with the trusted
// key, reaches the statement decoders and their checks; none panics, and
// evidence that verifies is consistent (raw facts digest, overall status
// and counts from its findings, unless an error with its reason).
func FuzzVerifySignedPayload(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://changeproof.dev/evidence/v1","predicate":null}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://changeproof.dev/evidence/v1","subject":[{"digest":{"sha256":"x"}}],"predicate":{"counts":{"pass":1e400}}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://changeproof.dev/run/v1","predicate":{"evidence":null}}`))
	priv := fuzzKey()
	pub := priv.Public().(ed25519.PublicKey)
	id := keyID(f, pub)
	v := fuzzVerifier(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, payload []byte) {
		env := handEnvelope(t, priv, id, evidence.PayloadType, payload)
		if got, err := v.Verify(ctx, env); err == nil {
			p := got.Statement.Predicate
			if evidence.Digest(p.RawFacts) != got.RawFactsSHA256 {
				t.Fatal("accepted raw facts that do not hash to the subject digest")
			}
			if p.Status != evidence.StatusError && p.Status != evidence.Overall(p.Findings) {
				t.Fatalf("accepted status %q over findings that give %q", p.Status, evidence.Overall(p.Findings))
			}
			if p.Status == evidence.StatusError && p.Reason == "" {
				t.Fatal("accepted an error status without a reason")
			}
			for s, n := range evidence.CountByStatus(p.Findings) {
				if p.Counts[s] != n {
					t.Fatalf("accepted counts %v over findings that give %v", p.Counts, evidence.CountByStatus(p.Findings))
				}
			}
		}
		_, _ = v.VerifyRun(ctx, env)
		_, _ = v.VerifyBundle(ctx, env)
	})
}

// FuzzDecode: Decode (which trusts nothing and checks no signature) never
// panics on any input.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"payload":"bnVsbA=="}`))
	f.Add([]byte(`{"payload":"-_-_"}`))
	f.Fuzz(func(t *testing.T, envelope []byte) {
		_, _ = evidence.Decode(envelope)
	})
}

// TestFuzzSeedsVerify: the re-signed seeds are valid evidence, a run record
// and a bundle manifest, so the fuzzer starts from inputs that reach every
// check.
func TestFuzzSeedsVerify(t *testing.T) {
	v := fuzzVerifier(t)
	ctx := context.Background()
	files, err := filepath.Glob("testdata/fuzz/FuzzVerify/resigned-*")
	if err != nil || len(files) < 3 {
		t.Fatalf("seed corpus missing: %v %v", files, err)
	}
	kinds := map[string]int{}
	for _, file := range files {
		env := readSeed(t, file)
		_, e1 := v.Verify(ctx, env)
		_, e2 := v.VerifyRun(ctx, env)
		_, e3 := v.VerifyBundle(ctx, env)
		switch {
		case e1 == nil:
			kinds["evidence"]++
		case e2 == nil:
			kinds["run"]++
		case e3 == nil:
			kinds["bundle"]++
		default:
			t.Errorf("%s verifies as nothing: %v; %v; %v", file, e1, e2, e3)
		}
	}
	if kinds["evidence"] == 0 || kinds["run"] == 0 || kinds["bundle"] == 0 {
		t.Errorf("seeds verified as %v: want evidence, a run record and a bundle manifest", kinds)
	}
}

// readSeed reads a one-[]byte corpus file ("go test fuzz v1").
func readSeed(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 3)
	if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("%s: not a []byte corpus file", file)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return []byte(s)
}

// BenchmarkVerifySignatureOnly measures the Ed25519 check alone over the
// PAE of the envelope BenchmarkVerify verifies: the floor under Verify's
// cost. BenchmarkVerify minus this is what the rest of verification costs.
func BenchmarkVerifySignatureOnly(b *testing.B) {
	pub, priv := newKey(b)
	env, err := newSigner(b, priv).Sign(context.Background(), fullStatement(b))
	if err != nil {
		b.Fatal(err)
	}
	var e rawEnvelope
	if err := json.Unmarshal(env, &e); err != nil {
		b.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(e.Payload)
	sig, _ := base64.StdEncoding.DecodeString(e.Sig())
	msg := pae(e.PayloadType, body)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signatures/s")
}
