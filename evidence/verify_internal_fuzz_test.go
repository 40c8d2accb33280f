package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// FuzzParseCanonical holds the fast envelope reader to the decoder it
// stands in for: whatever parseCanonical accepts, decodeEnvelope (a strict
// JSON decode, then a re-encoding that must give the same bytes) accepts
// with the same fields; and a canonical envelope with a plain key id is
// never left to the slow path.
func FuzzParseCanonical(f *testing.F) {
	good := string(canonicalFor("cGF5bG9hZA==", "0123abcd", "c2ln"))
	f.Add([]byte(good))
	f.Add([]byte(strings.Replace(good, "0123abcd", `01\u0041`, 1)))
	f.Add([]byte(strings.Replace(good, "0123abcd", `a<b`, 1)))
	f.Add([]byte(strings.Replace(good, "cGF5bG9hZA==", `cGF5bG9hZA\u003d=`, 1)))
	f.Add([]byte(strings.Replace(good, "cGF5bG9hZA==", "cGF5bG9hZB==", 1)))
	f.Add([]byte(strings.Replace(good, "c2ln", "c2lu", 1)))
	f.Add([]byte(good + " "))
	f.Add([]byte(strings.Replace(good, `"keyid": "0123abcd"`, `"keyid": ""`, 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseCanonical(b)
		slow, err := decodeEnvelope(b)
		if ok {
			if err != nil {
				t.Fatalf("parseCanonical accepted what decodeEnvelope rejects (%v):\n%q", err, b)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("parseCanonical read %+v, decodeEnvelope %+v", fast, slow)
			}
			return
		}
		if err == nil && plainKeyID(slow.Signatures[0].KeyID) {
			t.Fatalf("a canonical envelope with a plain key id was left to the slow path:\n%q", b)
		}
	})
}

func plainKeyID(s string) bool {
	for i := range len(s) {
		if !isPlainJSONChar(s[i]) {
			return false
		}
	}
	return true
}

func canonicalFor(payload, keyID, sig string) []byte {
	return []byte(canonHead + payload + canonKeyID + keyID + canonSig + sig + canonTail)
}

// FuzzCanonicalB64: for strings of base64 characters, canonicalB64 says yes
// exactly when strict decoding succeeds and re-encoding gives the string.
func FuzzCanonicalB64(f *testing.F) {
	f.Add("")
	f.Add("QQ==")
	f.Add("QR==")
	f.Add("QUI=")
	f.Add("QUJD")
	f.Add("Q===")
	f.Add("QQ")
	f.Add(strings.Repeat("QUJD", 255) + "QQ==" + "QUJD") // padding where the reader's pieces end
	f.Add(strings.Repeat("QUJD", 300) + "QQ==")
	f.Fuzz(func(t *testing.T, s string) {
		for i := range len(s) {
			if !isB64Char(s[i]) {
				return
			}
		}
		dec, err := base64.StdEncoding.Strict().DecodeString(s)
		want := err == nil && base64.StdEncoding.EncodeToString(dec) == s
		if got := canonicalB64([]byte(s)); got != want {
			t.Fatalf("canonicalB64(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestParseCanonicalReadsWhatSignWrites: every envelope Sign writes takes
// the fast path (or the speed-up is lost without a test failing).
func TestParseCanonicalReadsWhatSignWrites(t *testing.T) {
	for _, seed := range [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)} {
		env := signedFixture(t, seed)
		got, ok := parseCanonical(env)
		if !ok {
			t.Fatalf("parseCanonical rejected an envelope Sign wrote:\n%s", env)
		}
		want, err := decodeEnvelope(env)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("parseCanonical read %+v, decodeEnvelope %+v (%v)", got, want, err)
		}
	}
}

func signedFixture(t *testing.T, seed []byte) []byte {
	t.Helper()
	s, err := NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"repos":[]}`)
	st := &Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: "raw/x.json", Digest: map[string]string{"sha256": Digest(raw)}}},
		PredicateType: PredicateType,
		Predicate: Predicate{
			Status:   StatusPass,
			Counts:   CountByStatus(nil),
			RawFacts: raw,
			Previous: Previous{First: true},
		},
	}
	env, err := s.Sign(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// FuzzMarshalsAsIs holds marshalsAsIs to its definition: the raw facts,
// marshalled inside a statement's predicate and decoded again, come back
// unchanged.
func FuzzMarshalsAsIs(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"a": 1}`, ` {"a":1}`, `{"a":"<b>"}`, `{"a":"\u003cb\u003e"}`, `{"a":"x\u2028y"}`,
		"{\"a\":\"x\u2028y\"}", `{"a":"\"\\"}`, `[1,2,"a b"]`, `[1, 2]`, `"&"`, `null`, ``, `{`, `{"a":"\t"}`,
		`{"a":"é"}`, "\"\xff\"", `1e400`, `{"a":[{"b":null}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		type wrapper struct {
			Predicate struct {
				RawFacts json.RawMessage `json:"rawFacts"`
			} `json:"predicate"`
		}
		var in, back wrapper
		in.Predicate.RawFacts = raw
		out, err := json.Marshal(in)
		want := err == nil && json.Unmarshal(out, &back) == nil && bytes.Equal(back.Predicate.RawFacts, raw)
		if got := marshalsAsIs(raw); got != want {
			t.Fatalf("marshalsAsIs(%q) = %v, but the statement gives %q (%v)", raw, got, out, err)
		}
	})
}

// TestWriteCanonical: the one-allocation envelope writer gives exactly what
// json.MarshalIndent gives, and declines what it cannot write.
func TestWriteCanonical(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{`{}`, `{"a":"` + strings.Repeat("x", 70000) + `"}`, "{\"b\":\"\xff\"}"} {
		env, err := s.env.SignPayload(context.Background(), PayloadType, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.MarshalIndent(env, "", "  ")
		want = append(want, '\n')
		got, ok := writeCanonical(env)
		if !ok || !bytes.Equal(got, want) || cap(got) != len(got) {
			t.Errorf("payload %.20q: writeCanonical %v, %d bytes (cap %d), want %d bytes equal to MarshalIndent's", payload, ok, len(got), cap(got), len(want))
		}
	}
	env, _ := s.env.SignPayload(context.Background(), PayloadType, []byte(`{}`))
	for name, mutate := range map[string]func(e *dsse.Envelope){
		"payload type": func(e *dsse.Envelope) { e.PayloadType = "text/plain" },
		"two sigs":     func(e *dsse.Envelope) { e.Signatures = append(e.Signatures, e.Signatures[0]) },
		"key id <":     func(e *dsse.Envelope) { e.Signatures[0].KeyID = "a<b" },
		"payload \"":   func(e *dsse.Envelope) { e.Payload = `a"b` },
	} {
		e := *env
		e.Signatures = append([]dsse.Signature(nil), env.Signatures...)
		mutate(&e)
		if _, ok := writeCanonical(&e); ok {
			t.Errorf("%s: written as canonical", name)
		}
		out, err := encodeEnvelope(&e)
		want, _ := json.MarshalIndent(&e, "", "  ")
		if err != nil || !bytes.Equal(out, append(want, '\n')) {
			t.Errorf("%s: encodeEnvelope is not MarshalIndent's: %v", name, err)
		}
	}
}
