package evidence_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/schedules"
)

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func newSigner(t testing.TB, priv ed25519.PrivateKey) *evidence.Signer {
	t.Helper()
	s, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newVerifier(t testing.TB, pubs ...ed25519.PublicKey) *evidence.Verifier {
	t.Helper()
	v, err := evidence.NewVerifier(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testRawFacts are raw facts as the pipeline makes them: json.Marshal of the
// collector's facts (compact, HTML-escaped).
func testRawFacts(t testing.TB) []byte {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"repos": []map[string]any{
			{"name": "acme/api", "branch": "main", "protection": map[string]any{"required_reviews": 2, "enforce_admins": true}},
			{"name": "acme/web", "branch": "main", "protection": nil},
		},
		"note": "title with <html> & unicode é \u2028",
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// fullStatement is a statement with every field set; its subject names the
// raw facts by digest.
func fullStatement(t testing.TB) *evidence.Statement {
	t.Helper()
	raw := testRawFacts(t)
	findings := []evidence.Finding{
		{
			Target: "github.com/acme/api@main", Status: evidence.StatusPass, Summary: "protected",
			Checks: []evidence.Check{{Rule: "reviews", Status: evidence.StatusPass, Detail: "2 reviews required"}},
		},
		{
			Target: "github.com/acme/web@main", Status: evidence.StatusFail, Summary: "unprotected",
			Checks: []evidence.Check{{Rule: "reviews", Status: evidence.StatusFail, Detail: "no protection", Fix: "enable branch protection"}},
		},
		{Target: "github.com/acme/secret@main", Status: evidence.StatusNotVerifiable, Summary: "token may not read settings"},
	}
	d := evidence.Digest(raw)
	return &evidence.Statement{
		Type: evidence.StatementType,
		Subject: []evidence.Subject{{
			Name:      "raw/" + d + ".json",
			Digest:    map[string]string{"sha256": d},
			MediaType: evidence.RawFactsMediaType,
		}},
		PredicateType: evidence.PredicateType,
		Predicate: evidence.Predicate{
			Collector: evidence.CollectorInfo{Name: "github-branch-protection", Version: "1.2.3"},
			Controls:  []evidence.Control{{Framework: "soc2", ID: "CC8.1", Title: "Change management"}},
			Scope:     "github.com/acme",
			Targets:   []string{"github.com/acme/api", "github.com/acme/web", "github.com/acme/secret"},
			Window: schedules.Window{
				Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
				End:   time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC),
			},
			CollectedAt: time.Date(2025, 3, 2, 0, 5, 7, 123456789, time.UTC),
			Status:      evidence.Overall(findings),
			Reason:      "one repository could not be read",
			Counts:      evidence.CountByStatus(findings),
			Findings:    findings,
			Policy:      json.RawMessage(`{"minReviews":2,"requireAdmins":true}`),
			RawFacts:    raw,
			Previous:    evidence.Previous{Key: "evidence/github/acme/2025-03-01.json", SHA256: evidence.Digest([]byte("previous envelope"))},
			Producer:    evidence.Producer{Name: "changeproof", Version: "0.9.0"},
		},
	}
}

// rawEnvelope mirrors the DSSE envelope JSON independently of the dsse package.
type rawEnvelope struct {
	PayloadType string         `json:"payloadType"`
	Payload     string         `json:"payload"`
	Signatures  []rawSignature `json:"signatures"`
}

type rawSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// pae is the DSSE v1 pre-authentication encoding, written from the spec:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body.
func pae(payloadType string, body []byte) []byte {
	return []byte("DSSEv1 " + strconv.Itoa(len(payloadType)) + " " + payloadType + " " + strconv.Itoa(len(body)) + " " + string(body))
}

// handEnvelope builds an envelope by hand: signed (over PAE) by priv with the
// given key id.
func handEnvelope(t testing.TB, priv ed25519.PrivateKey, keyID, payloadType string, body []byte) []byte {
	t.Helper()
	sig := ed25519.Sign(priv, pae(payloadType, body))
	return marshalEnvelope(t, rawEnvelope{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(body),
		Signatures:  []rawSignature{{KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(sig)}},
	})
}

// marshalEnvelope writes an envelope the way changeproof stores one
// (indented, trailing newline): Verify accepts only that form.
func marshalEnvelope(t testing.TB, e any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func keyID(t testing.TB, pub ed25519.PublicKey) string {
	t.Helper()
	id, err := evidence.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	signer := newSigner(t, priv)
	st := fullStatement(t)
	want := *st // Sign must not modify its argument either

	env, err := signer.Sign(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*st, want) {
		t.Error("Sign modified the statement it was given")
	}
	if !bytes.HasSuffix(env, []byte("}\n")) {
		t.Errorf("stored envelope does not end with a newline: %q", env[max(0, len(env)-10):])
	}

	id := keyID(t, pub)
	if signer.KeyID() != id {
		t.Errorf("Signer.KeyID() = %s, want %s", signer.KeyID(), id)
	}
	if pemPub, err := signer.PublicKeyPEM(); err != nil {
		t.Error(err)
	} else if p, err := evidence.ParsePublicKey(pemPub); err != nil || !p.Equal(pub) {
		t.Errorf("Signer.PublicKeyPEM does not hold the signing key's public half (%v)", err)
	}

	// The envelope as a DSSE reader outside this package sees it.
	var raw rawEnvelope
	dec := json.NewDecoder(bytes.NewReader(env))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("envelope is not a DSSE envelope: %v", err)
	}
	if raw.PayloadType != "application/vnd.in-toto+json" {
		t.Errorf("payloadType = %q", raw.PayloadType)
	}
	if len(raw.Signatures) != 1 {
		t.Fatalf("%d signatures, want 1", len(raw.Signatures))
	}
	if raw.Signatures[0].KeyID != id {
		t.Errorf("signatures[0].keyid = %q, want %q", raw.Signatures[0].KeyID, id)
	}
	body, err := base64.StdEncoding.DecodeString(raw.Payload)
	if err != nil {
		t.Fatalf("payload is not standard base64: %v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(raw.Signatures[0].Sig)
	if err != nil {
		t.Fatalf("signature is not standard base64: %v", err)
	}
	if !ed25519.Verify(pub, pae(raw.PayloadType, body), sig) {
		t.Error("signature does not verify over the DSSE PAE computed independently")
	}
	var generic map[string]any
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatalf("payload is not JSON: %v", err)
	}
	if generic["_type"] != "https://in-toto.io/Statement/v1" || generic["predicateType"] != "https://changeproof.dev/evidence/v1" {
		t.Errorf("payload _type/predicateType = %v / %v", generic["_type"], generic["predicateType"])
	}

	got, err := newVerifier(t, pub).Verify(ctx, env)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !reflect.DeepEqual(got.Statement, want) {
		gj, _ := json.MarshalIndent(got.Statement, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("verified statement differs:\n got %s\nwant %s", gj, wj)
	}
	if got.KeyID != id {
		t.Errorf("Verified.KeyID = %s, want %s", got.KeyID, id)
	}
	if got.RawFactsSHA256 != evidence.Digest(st.Predicate.RawFacts) {
		t.Errorf("Verified.RawFactsSHA256 = %s, want %s", got.RawFactsSHA256, evidence.Digest(st.Predicate.RawFacts))
	}
	if got.RawFactsName != st.Subject[0].Name {
		t.Errorf("Verified.RawFactsName = %s, want %s", got.RawFactsName, st.Subject[0].Name)
	}
	if !bytes.Equal(got.Statement.Predicate.RawFacts, st.Predicate.RawFacts) {
		t.Error("raw facts not preserved byte for byte")
	}

	// Decode gives the same statement without checking anything.
	dst, err := evidence.Decode(env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*dst, want) {
		t.Error("Decode returned a different statement")
	}
}

func TestVerifierTrustsAnyOfItsKeys(t *testing.T) {
	ctx := context.Background()
	pub1, _ := newKey(t)
	pub2, priv2 := newKey(t)
	env, err := newSigner(t, priv2).Sign(ctx, fullStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := newVerifier(t, pub1, pub2).Verify(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyID != keyID(t, pub2) {
		t.Errorf("KeyID = %s, want the second key's %s", got.KeyID, keyID(t, pub2))
	}
	if _, err := evidence.NewVerifier(); err == nil {
		t.Error("NewVerifier with no key succeeded")
	}
	// Malformed keys are errors, not panics.
	for _, n := range []int{0, 10, ed25519.SeedSize, ed25519.PrivateKeySize + 1} {
		if _, err := evidence.NewSigner(ed25519.PrivateKey(make([]byte, n))); err == nil {
			t.Errorf("NewSigner accepted a %d-byte private key", n)
		}
	}
	for _, n := range []int{0, 10, ed25519.PublicKeySize + 1} {
		if _, err := evidence.NewVerifier(pub1, ed25519.PublicKey(make([]byte, n))); err == nil {
			t.Errorf("NewVerifier accepted a %d-byte public key", n)
		}
	}
}

// TestVerifyAcceptsPAE: a signature made by hand over exactly
// "DSSEv1 <len(type)> <type> <len(body)> <body>" is accepted.
func TestVerifyAcceptsPAE(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	body := mustMarshal(t, fullStatement(t))
	want := fmt.Sprintf("DSSEv1 %d %s %d %s", len(evidence.PayloadType), evidence.PayloadType, len(body), body)
	if got := string(pae(evidence.PayloadType, body)); got != want {
		t.Fatalf("test PAE helper is wrong:\n%q\n%q", got, want)
	}
	if !strings.HasPrefix(want, "DSSEv1 28 application/vnd.in-toto+json ") {
		t.Fatalf("PAE prefix %q", want[:40])
	}
	id := keyID(t, pub)
	got, err := newVerifier(t, pub).Verify(ctx, handEnvelope(t, priv, id, evidence.PayloadType, body))
	if err != nil {
		t.Fatalf("keyid %q: hand-made PAE signature rejected: %v", id, err)
	}
	if got.Statement.Predicate.Scope != "github.com/acme" {
		t.Errorf("keyid %q: wrong statement %+v", id, got.Statement)
	}
	// The key id is not signed, and an empty one makes DSSE try every key:
	// the same signature under a blank key id would be a second,
	// byte-different file for one statement. It is refused.
	if _, err := newVerifier(t, pub).Verify(ctx, handEnvelope(t, priv, "", evidence.PayloadType, body)); err == nil || !strings.Contains(err.Error(), "names key") {
		t.Errorf("an envelope with a blank key id verified (err %v)", err)
	}
}

// TestVerifyRejectsSignatureOverRawPayload proves the signature is checked
// over the PAE and not over the payload alone.
func TestVerifyRejectsSignatureOverRawPayload(t *testing.T) {
	pub, priv := newKey(t)
	body := mustMarshal(t, fullStatement(t))
	sig := ed25519.Sign(priv, body)
	env := marshalEnvelope(t, rawEnvelope{
		PayloadType: evidence.PayloadType,
		Payload:     base64.StdEncoding.EncodeToString(body),
		Signatures:  []rawSignature{{KeyID: keyID(t, pub), Sig: base64.StdEncoding.EncodeToString(sig)}},
	})
	if _, err := newVerifier(t, pub).Verify(context.Background(), env); err == nil {
		t.Fatal("a signature over the raw payload (not the DSSE PAE) was accepted")
	}
	// Other wrong constructions are rejected too.
	for name, msg := range map[string][]byte{
		"PAE without the DSSEv1 prefix":  []byte(fmt.Sprintf("%d %s %d %s", len(evidence.PayloadType), evidence.PayloadType, len(body), body)),
		"PAE with the wrong body length": []byte(fmt.Sprintf("DSSEv1 %d %s %d %s", len(evidence.PayloadType), evidence.PayloadType, len(body)+1, body)),
		"base64 payload instead of body": pae(evidence.PayloadType, []byte(base64.StdEncoding.EncodeToString(body))),
	} {
		sig := ed25519.Sign(priv, msg)
		env := marshalEnvelope(t, rawEnvelope{
			PayloadType: evidence.PayloadType,
			Payload:     base64.StdEncoding.EncodeToString(body),
			Signatures:  []rawSignature{{KeyID: keyID(t, pub), Sig: base64.StdEncoding.EncodeToString(sig)}},
		})
		if _, err := newVerifier(t, pub).Verify(context.Background(), env); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestVerifyRejectsWrongKey(t *testing.T) {
	ctx := context.Background()
	_, priv := newKey(t)
	other, otherPriv := newKey(t)
	env, err := newSigner(t, priv).Sign(ctx, fullStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(t, other).Verify(ctx, env); err == nil {
		t.Fatal("envelope signed by an untrusted key verified")
	}
	// An untrusted signer claiming the trusted key's id, and one with no id.
	body := mustMarshal(t, fullStatement(t))
	trusted, _ := newKey(t)
	for _, id := range []string{keyID(t, trusted), ""} {
		env := handEnvelope(t, otherPriv, id, evidence.PayloadType, body)
		if _, err := newVerifier(t, trusted).Verify(ctx, env); err == nil {
			t.Errorf("keyid %q: signature by an untrusted key accepted", id)
		}
	}
}

func TestVerifyRejectsZeroSignatures(t *testing.T) {
	pub, _ := newKey(t)
	body := mustMarshal(t, fullStatement(t))
	for name, sigs := range map[string][]rawSignature{"empty": {}, "null": nil} {
		env := marshalEnvelope(t, rawEnvelope{PayloadType: evidence.PayloadType, Payload: base64.StdEncoding.EncodeToString(body), Signatures: sigs})
		if _, err := newVerifier(t, pub).Verify(context.Background(), env); err == nil {
			t.Errorf("%s signatures: accepted", name)
		}
	}
	// Also with the signatures key missing altogether.
	env := marshalEnvelope(t, map[string]string{"payloadType": evidence.PayloadType, "payload": base64.StdEncoding.EncodeToString(body)})
	if _, err := newVerifier(t, pub).Verify(context.Background(), env); err == nil {
		t.Error("envelope without signatures accepted")
	}
}

func TestVerifyRejectsWrongPayloadType(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	body := mustMarshal(t, fullStatement(t))
	for _, pt := range []string{"application/json", "application/vnd.in-toto+JSON", "", "application/vnd.in-toto+json "} {
		// Properly signed (PAE over that payload type) by the trusted key.
		env := handEnvelope(t, priv, keyID(t, pub), pt, body)
		_, err := newVerifier(t, pub).Verify(ctx, env)
		if err == nil {
			t.Errorf("payloadType %q accepted", pt)
		} else if !strings.Contains(err.Error(), "payload type") {
			t.Errorf("payloadType %q: error does not name the payload type: %v", pt, err)
		}
	}
	// Signed as in-toto, then the envelope's payloadType edited: the
	// signature no longer matches, whatever the check order.
	env := handEnvelope(t, priv, keyID(t, pub), "application/json", body)
	var e rawEnvelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	e.PayloadType = evidence.PayloadType
	if _, err := newVerifier(t, pub).Verify(ctx, marshalEnvelope(t, e)); err == nil {
		t.Error("envelope with an edited payloadType accepted")
	}
}

func TestVerifyRejectsBadStatements(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	signer := newSigner(t, priv)
	verifier := newVerifier(t, pub)

	cases := []struct {
		name    string
		edit    func(*evidence.Statement)
		wantSub []string
	}{
		{"wrong _type", func(s *evidence.Statement) { s.Type = "https://in-toto.io/Statement/v0.1" }, []string{"statement type", "v0.1"}},
		{"empty _type", func(s *evidence.Statement) { s.Type = "" }, []string{"statement type"}},
		{"wrong predicateType", func(s *evidence.Statement) { s.PredicateType = "https://slsa.dev/provenance/v1" }, []string{"predicate type", "slsa.dev"}},
		{"raw facts do not match subject", func(s *evidence.Statement) { s.Subject[0].Digest["sha256"] = evidence.Digest([]byte("other")) }, []string{"raw facts", evidence.Digest([]byte("other"))}},
		{"raw facts edited", func(s *evidence.Statement) { s.Predicate.RawFacts = json.RawMessage(`{"repos":[]}`) }, []string{"raw facts"}},
		{"uppercase subject digest", func(s *evidence.Statement) {
			s.Subject[0].Digest["sha256"] = strings.ToUpper(s.Subject[0].Digest["sha256"])
		}, []string{"raw facts"}},
		{"no subject", func(s *evidence.Statement) { s.Subject = nil }, []string{"subject"}},
		{"two subjects", func(s *evidence.Statement) { s.Subject = append(s.Subject, s.Subject[0]) }, []string{"subject"}},
		{"subject without sha256", func(s *evidence.Statement) { s.Subject[0].Digest = map[string]string{"sha512": "00"} }, []string{"sha256"}},
		{"previous names nothing", func(s *evidence.Statement) { s.Predicate.Previous = evidence.Previous{} }, []string{"previous"}},
		{"previous with key only", func(s *evidence.Statement) { s.Predicate.Previous = evidence.Previous{Key: "evidence/x.json"} }, []string{"previous"}},
		{"unknown status", func(s *evidence.Statement) { s.Predicate.Status = "passed" }, []string{"status", "passed"}},
		{"empty status", func(s *evidence.Statement) { s.Predicate.Status = "" }, []string{"status"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := fullStatement(t)
			c.edit(st)
			env, err := signer.Sign(ctx, st)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			_, err = verifier.Verify(ctx, env)
			if err == nil {
				t.Fatal("Verify accepted the statement")
			}
			for _, s := range c.wantSub {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q: %v", s, err)
				}
			}
		})
	}

	// The first envelope of a chain names no previous digest and is valid.
	st := fullStatement(t)
	st.Predicate.Previous = evidence.Previous{First: true}
	env, err := signer.Sign(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(ctx, env); err != nil {
		t.Errorf("first envelope of a chain rejected: %v", err)
	}
}

func TestVerifyRejectsUnknownEnvelopeFields(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	env, err := newSigner(t, priv).Sign(ctx, fullStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	verifier := newVerifier(t, pub)
	if _, err := verifier.Verify(ctx, env); err != nil {
		t.Fatalf("unedited envelope rejected: %v", err)
	}
	var top map[string]any
	if err := json.Unmarshal(env, &top); err != nil {
		t.Fatal(err)
	}
	edits := map[string]func(m map[string]any){
		"top-level field": func(m map[string]any) { m["comment"] = "hello" },
		"signature field": func(m map[string]any) {
			m["signatures"].([]any)[0].(map[string]any)["cert"] = "x"
		},
	}
	for name, edit := range edits {
		var m map[string]any
		if err := json.Unmarshal(env, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if _, err := verifier.Verify(ctx, mustMarshal(t, m)); err == nil {
			t.Errorf("%s: envelope with an unknown field accepted", name)
		}
	}

	// Not an envelope at all.
	for _, junk := range []string{"", "null", "[]", "{", `"x"`, "{}"} {
		if _, err := verifier.Verify(ctx, []byte(junk)); err == nil {
			t.Errorf("%q accepted as an envelope", junk)
		}
	}
}

// TestVerifyRejectsTrailingData: the stored envelope is exactly one JSON
// value. Bytes appended to a signed envelope are tampering.
func TestVerifyRejectsTrailingData(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	env, err := newSigner(t, priv).Sign(ctx, fullStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	verifier := newVerifier(t, pub)
	for _, tail := range []string{"x", "{}", `{"payloadType":"evil"}`, "\n// comment", "null"} {
		tampered := append(bytes.Clone(env), tail...)
		if _, err := verifier.Verify(ctx, tampered); err == nil {
			t.Errorf("envelope followed by %q accepted", tail)
		}
	}
	// Even whitespace is a change: only the bytes changeproof wrote verify,
	// so the file's name (its sha256) and its content cannot diverge.
	if _, err := verifier.Verify(ctx, append([]byte("\n  "), append(bytes.Clone(env), " \r\n\t"...)...)); err == nil {
		t.Errorf("envelope with added whitespace accepted")
	}
}

// TestVerifyRejectsKeyConfusion: Go's JSON decoder matches keys
// case-insensitively, lets the last duplicate win and unescapes keys, while
// jq, Python and the openssl steps read the first, exactly spelled key. An
// envelope that carries a forged payload under such a key must not verify.
func TestVerifyRejectsKeyConfusion(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	signer := newSigner(t, priv)
	genuine := fullStatement(t)
	env, err := signer.Sign(ctx, genuine)
	if err != nil {
		t.Fatal(err)
	}
	var e rawEnvelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	forged := base64.StdEncoding.EncodeToString([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicate":{"status":"pass"}}`))
	sigJSON, _ := json.Marshal(e.Signatures)
	variants := map[string]string{
		"escaped duplicate":         `{"payloadType":"` + e.PayloadType + `","payload":"` + e.Payload + `","p\u0061yload":"` + forged + `","PAYLOAD":"` + e.Payload + `","signatures":` + string(sigJSON) + "}\n",
		"case duplicate":            `{"payloadType":"` + e.PayloadType + `","payload":"` + forged + `","Payload":"` + e.Payload + `","signatures":` + string(sigJSON) + "}\n",
		"escaped newline in base64": strings.Replace(string(env), e.Payload, e.Payload[:40]+`\n`+e.Payload[40:], 1),
		"unpadded base64":           strings.Replace(string(env), e.Sig(), base64.RawStdEncoding.EncodeToString(mustDecode(t, e.Sig())), 1),
		"two signatures":            strings.Replace(string(env), `"signatures": [`, `"signatures": [`+string(sigJSON[1:len(sigJSON)-1])+",", 1),
	}
	verifier := newVerifier(t, pub)
	for name, v := range variants {
		if v == string(env) {
			t.Fatalf("%s: test setup produced the genuine envelope", name)
		}
		if _, err := verifier.Verify(ctx, []byte(v)); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e rawEnvelope) Sig() string { return e.Signatures[0].Sig }

// TestSignPreservesRawFactsOrRefuses: whatever raw facts Sign accepts (with a
// subject digest of exactly those bytes) must come out of Verify unchanged.
// Raw facts are hashed byte for byte, so raw facts that the JSON encoding
// would rewrite (indentation, unescaped <, >, &, U+2028) must be refused by
// Sign rather than signed into evidence that Verify rejects.
func TestSignPreservesRawFactsOrRefuses(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	signer := newSigner(t, priv)
	verifier := newVerifier(t, pub)

	var unescaped bytes.Buffer
	enc := json.NewEncoder(&unescaped)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string{"title": "a < b && c > d"}); err != nil {
		t.Fatal(err)
	}
	indented, err := json.MarshalIndent(map[string]any{"a": 1, "b": []int{1, 2}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		raw         []byte
		mustSucceed bool
	}{
		"json.Marshal output":        {testRawFacts(t), true},
		"compact, escaped by hand":   {[]byte(`{"t":"a \u003c b"}`), true},
		"array":                      {[]byte(`[1,2,3]`), true},
		"indented":                   {indented, false},
		"unescaped HTML, newline":    {unescaped.Bytes(), false},
		"unescaped HTML, no newline": {bytes.TrimSpace(unescaped.Bytes()), false},
		"leading space":              {[]byte(` {"a":1}`), false},
		"raw U+2028":                 {[]byte("{\"a\":\"x\u2028y\"}"), false},
		"empty":                      {nil, false},
		"not JSON":                   {[]byte(`{"a":`), false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			st := fullStatement(t)
			st.Predicate.RawFacts = c.raw
			st.Subject[0].Digest["sha256"] = evidence.Digest(c.raw)
			env, err := signer.Sign(ctx, st)
			if err != nil {
				if c.mustSucceed {
					t.Fatalf("Sign: %v", err)
				}
				return // refused: fine, nothing unverifiable was made
			}
			got, err := verifier.Verify(ctx, env)
			if err != nil {
				t.Fatalf("Sign produced an envelope that Verify rejects: %v", err)
			}
			if !bytes.Equal(got.Statement.Predicate.RawFacts, c.raw) {
				t.Errorf("raw facts changed in signing:\n got %q\nwant %q", got.Statement.Predicate.RawFacts, c.raw)
			}
		})
	}
}

// semantics is what an envelope means: the decoded fields that the signature
// and the trust decision depend on.
type semantics struct {
	payloadType string
	payload     []byte
	keyIDs      []string
	sigs        [][]byte
}

// b64 decodes as DSSE allows: standard base64, else URL-safe base64.
func b64(s string) ([]byte, bool) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	if b, err := base64.URLEncoding.DecodeString(s); err == nil {
		return b, true
	}
	return nil, false
}

// envelopeSemantics parses env strictly (one JSON value, no unknown fields)
// and decodes it. ok is false when env is not a well-formed envelope.
func envelopeSemantics(env []byte) (semantics, bool) {
	var e rawEnvelope
	dec := json.NewDecoder(bytes.NewReader(env))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return semantics{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return semantics{}, false
	}
	s := semantics{payloadType: e.PayloadType}
	var ok bool
	if s.payload, ok = b64(e.Payload); !ok {
		return semantics{}, false
	}
	for _, sig := range e.Signatures {
		b, ok := b64(sig.Sig)
		if !ok {
			return semantics{}, false
		}
		s.keyIDs = append(s.keyIDs, sig.KeyID)
		s.sigs = append(s.sigs, b)
	}
	return s, true
}

// TestVerifyDetectsTampering flips bytes at every position of a signed
// envelope, two ways per position. Each mutation is classified by what it
// changes once decoded:
//   - not a well-formed envelope any more, or any change to the payload type,
//     the decoded payload bytes, the key id or the decoded signature bytes:
//     Verify MUST fail;
//   - no decoded change (whitespace, a field name's letter case, which Go's
//     JSON matches case-insensitively, or base64 padding bits that decode to
//     the same bytes): the signed content is intact and Verify must succeed
//     with the original statement.
func TestVerifyDetectsTampering(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	env, err := newSigner(t, priv).Sign(ctx, fullStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	verifier := newVerifier(t, pub)
	orig, ok := envelopeSemantics(env)
	if !ok {
		t.Fatal("the signed envelope itself does not parse")
	}
	want, err := verifier.Verify(ctx, env)
	if err != nil {
		t.Fatal(err)
	}

	// The regions the brief names, to prove they are covered.
	payloadStart := bytes.Index(env, []byte(`"payload": "`)) + len(`"payload": "`)
	sigStart := bytes.Index(env, []byte(`"sig": "`)) + len(`"sig": "`)
	if payloadStart < len(`"payload": "`) || sigStart < len(`"sig": "`) {
		t.Fatalf("unexpected envelope layout:\n%s", env)
	}
	payloadEnd := payloadStart + bytes.IndexByte(env[payloadStart:], '"')
	sigEnd := sigStart + bytes.IndexByte(env[sigStart:], '"')
	inRegion := func(i int) bool {
		return (i >= payloadStart && i < payloadEnd) || (i >= sigStart && i < sigEnd)
	}

	var mustFail, harmless, regionFailed int
	for i := range env {
		regionHit := false
		for _, flip := range []byte{0x01, 0x20} {
			m := bytes.Clone(env)
			m[i] ^= flip
			s, ok := envelopeSemantics(m)
			changed := !ok || s.payloadType != orig.payloadType || !bytes.Equal(s.payload, orig.payload) ||
				!reflect.DeepEqual(s.keyIDs, orig.keyIDs) || !reflect.DeepEqual(s.sigs, orig.sigs)
			got, err := verifier.Verify(ctx, m)
			if changed {
				mustFail++
				if inRegion(i) {
					regionHit = true
				}
				if err == nil {
					t.Errorf("byte %d (%q ^ %#x = %q): tampered envelope verified", i, env[i], flip, m[i])
				}
				continue
			}
			// No decoded change (a key's letter case, a padding bit): the
			// bytes differ from what was written, and readers other than Go's
			// JSON decoder may see them differently, so this fails too.
			harmless++
			if err == nil {
				t.Errorf("byte %d (%q ^ %#x = %q): non-canonical envelope verified (statement %v)", i, env[i], flip, m[i], reflect.DeepEqual(got.Statement, want.Statement))
			}
		}
		if regionHit {
			regionFailed++
		}
	}
	regionSize := (payloadEnd - payloadStart) + (sigEnd - sigStart)
	t.Logf("%d-byte envelope: %d content-changing and %d non-canonical mutations, all rejected; %d of %d payload/signature bytes had a detected mutation",
		len(env), mustFail, harmless, regionFailed, regionSize)
	// Every byte of the base64 payload and signature has at least one
	// mutation that changes the decoded bytes, except a few padding bits.
	if regionFailed < regionSize-4 {
		t.Errorf("only %d of %d payload/signature bytes were covered by a must-fail mutation", regionFailed, regionSize)
	}
	if mustFail < len(env) {
		t.Errorf("only %d must-fail mutations over %d bytes: the classification is too lenient", mustFail, len(env))
	}
}
