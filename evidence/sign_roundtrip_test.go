package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// rawFactsStatement is a minimal statement around raw facts.
func rawFactsStatement(raw []byte) *Statement {
	return &Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: "raw/x.json", Digest: map[string]string{"sha256": Digest(raw)}}},
		PredicateType: PredicateType,
		Predicate: Predicate{
			Status:   Overall(nil),
			Counts:   CountByStatus(nil),
			RawFacts: raw,
			Previous: Previous{First: true},
		},
	}
}

// roundTrips is what marshalsAsIs stands for: the statement, marshalled
// and decoded again, gives back its raw facts byte for byte.
func roundTrips(st *Statement) bool {
	payload, err := json.Marshal(st)
	if err != nil {
		return false
	}
	var back struct {
		Predicate struct {
			RawFacts json.RawMessage `json:"rawFacts"`
		} `json:"predicate"`
	}
	return json.Unmarshal(payload, &back) == nil && bytes.Equal(back.Predicate.RawFacts, st.Predicate.RawFacts)
}

// FuzzSignRoundTrip: whatever raw facts Sign accepts, Verify accepts the
// envelope and gives them back unchanged; Sign refuses exactly what would
// not round-trip.
func FuzzSignRoundTrip(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a": 1}`, `"\u2028"`, "\"\u2028\"", "\"\xe2\x80\"", "\"\xe2\x80\xa8", `null`, ``, `"\\"`, `"\\\""`, `[1e400]`, "\"\xff\"", `{"a":"b","a":"c"}`} {
		f.Add([]byte(s))
	}
	s, err := NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(s.key.pub)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		st := rawFactsStatement(raw)
		old := roundTrips(st)
		if got := marshalsAsIs(raw); got != old {
			t.Fatalf("marshalsAsIs(%q)=%v, old check %v", raw, got, old)
		}
		env, err := s.Sign(context.Background(), st)
		if (err == nil) != old {
			t.Fatalf("Sign(%q) err=%v, old check %v", raw, err, old)
		}
		if err != nil {
			return
		}
		// bytes as MarshalIndent would have written
		dsEnv, derr := decodeEnvelope(env)
		if derr != nil {
			t.Fatalf("decodeEnvelope rejects Sign's envelope: %v", derr)
		}
		want, _ := json.MarshalIndent(dsEnv, "", "  ")
		if !bytes.Equal(append(want, '\n'), env) {
			t.Fatalf("Sign's envelope differs from MarshalIndent's")
		}
		if _, ok := parseCanonical(env); !ok {
			t.Fatalf("fast path rejects Sign's envelope")
		}
		ver, err := v.Verify(context.Background(), env)
		if err != nil {
			t.Fatalf("Verify rejects Sign(%q): %v", raw, err)
		}
		if !bytes.Equal(ver.Statement.Predicate.RawFacts, raw) {
			t.Fatalf("raw facts changed: %q -> %q", raw, ver.Statement.Predicate.RawFacts)
		}
	})
}

// FuzzWriteCanonical: for any envelope writeCanonical takes, its bytes are
// json.MarshalIndent's, and encodeEnvelope always writes MarshalIndent's.
func FuzzWriteCanonical(f *testing.F) {
	f.Add(PayloadType, "", "", "")
	f.Add(PayloadType, "e30=", "abc", "c2ln")
	f.Add(PayloadType, "e30=", "a\x7fb", "c2ln")
	f.Add(PayloadType, "e30=", "a/b+c=", "c2ln")
	f.Add(PayloadType, "====", "a b", "+/+/")
	f.Add(PayloadType, "e30=", "\u00e9", "c2ln")
	f.Fuzz(func(t *testing.T, pt, payload, keyID, sig string) {
		for _, env := range []*dsse.Envelope{
			{PayloadType: pt, Payload: payload, Signatures: []dsse.Signature{{KeyID: keyID, Sig: sig}}},
			{PayloadType: PayloadType, Payload: payload, Signatures: []dsse.Signature{{KeyID: keyID, Sig: sig}}},
		} {
			want, _ := json.MarshalIndent(env, "", "  ")
			want = append(want, '\n')
			got, ok := writeCanonical(env)
			if ok && !bytes.Equal(got, want) {
				t.Fatalf("writeCanonical(%+v) = %q, MarshalIndent %q", env, got, want)
			}
			enc, err := encodeEnvelope(env)
			if err != nil || !bytes.Equal(enc, want) {
				t.Fatalf("encodeEnvelope differs: %v", err)
			}
		}
	})
}

// TestMarshalsAsIsExhaustive compares marshalsAsIs with json.Marshal's
// identity on every string of up to four tricky tokens (split U+2028,
// invalid UTF-8, escapes, whitespace), bare and inside strings and arrays.
func TestMarshalsAsIsExhaustive(t *testing.T) {
	toks := []string{"{", "}", "[", "]", "\"", ":", ",", "\\", " ", "\n", "<", "&", "u", "0", "1", "-", "e", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80", "\xa8", "\xff", "\u2027", "/", "n", "\t"}
	n := 0
	var rec func(prefix []byte, depth int)
	rec = func(prefix []byte, depth int) {
		out, err := json.Marshal(json.RawMessage(prefix))
		want := err == nil && bytes.Equal(out, prefix)
		if got := marshalsAsIs(prefix); got != want {
			t.Fatalf("marshalsAsIs(%q)=%v want %v (%q)", prefix, got, want, out)
		}
		n++
		if depth == 0 {
			return
		}
		for _, tk := range toks {
			rec(append(append([]byte(nil), prefix...), tk...), depth-1)
		}
	}
	// wrap in strings and arrays too
	for _, wrap := range []string{"", "\"", "[\""} {
		rec([]byte(wrap), 4)
	}
	t.Logf("%d inputs", n)
}

// TestRawFactsDepth: raw facts nested deeper than the statement can be
// decoded at (encoding/json stops at 10,000 levels; the statement adds
// two) are refused, exactly where the round trip fails.
func TestRawFactsDepth(t *testing.T) {
	for _, d := range []int{9997, 9998, 9999, 10000, 20000} {
		raw := []byte(strings.Repeat("[", d) + strings.Repeat("]", d))
		want := roundTrips(rawFactsStatement(raw))
		if got := marshalsAsIs(raw); got != want {
			t.Errorf("depth %d: marshalsAsIs %v, round trip %v", d, got, want)
		}
		if want != (d <= maxRawFactsDepth) {
			t.Errorf("depth %d: round trip %v; the limit is %d", d, want, maxRawFactsDepth)
		}
	}
}

// TestSignDeepRawFactsVerifies: raw facts nested 9,999 or 10,000 deep
// are valid JSON and marshal as is, but inside the statement the payload
// passes encoding/json's nesting limit, so Sign refuses them rather than
// write an envelope Verify rejects; 9,998 levels are signed and verify.
func TestSignDeepRawFactsVerifies(t *testing.T) {
	s, err := NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(s.key.pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []int{9998, 9999, 10000} {
		raw := []byte(strings.Repeat("[", d) + strings.Repeat("]", d))
		env, err := s.Sign(context.Background(), rawFactsStatement(raw))
		if (err == nil) != (d <= maxRawFactsDepth) {
			t.Errorf("depth %d: Sign error %v", d, err)
		}
		if err != nil {
			continue
		}
		if _, err := v.Verify(context.Background(), env); err != nil {
			t.Errorf("depth %d: Sign succeeded but Verify rejects its envelope: %v", d, err)
		}
	}
}
