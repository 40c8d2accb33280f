package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// Verifier checks envelopes against a set of trusted public keys.
type Verifier struct {
	env *dsse.EnvelopeVerifier
}

// NewVerifier trusts the given Ed25519 public keys.
func NewVerifier(pubs ...ed25519.PublicKey) (*Verifier, error) {
	if len(pubs) == 0 {
		return nil, errors.New("no public key to verify with")
	}
	vs := make([]dsse.Verifier, 0, len(pubs))
	seen := map[string]bool{}
	for _, p := range pubs {
		// ed25519.Verify panics on a key of the wrong length.
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("invalid Ed25519 public key (%d bytes)", len(p))
		}
		id, err := KeyID(p)
		if err != nil {
			return nil, err
		}
		if seen[id] {
			continue // the same key given twice
		}
		seen[id] = true
		vs = append(vs, &ed25519Key{pub: p, keyID: id})
	}
	ev, err := dsse.NewEnvelopeVerifier(vs...)
	if err != nil {
		return nil, fmt.Errorf("dsse verifier: %w", err)
	}
	return &Verifier{env: ev}, nil
}

// Verified is an envelope whose signature and statement checked out.
type Verified struct {
	Statement Statement
	// KeyID is the id of the trusted key whose signature was accepted.
	KeyID string
	// RawFactsSHA256 is the subject digest of the raw facts object.
	RawFactsSHA256 string
	// RawFactsName is the subject name (the raw facts object's key).
	RawFactsName string
}

// Verify checks an envelope as stored: a signature by a trusted key over the
// DSSE pre-authentication encoding, the payload type, the statement and
// predicate types, and that the embedded raw facts hash to the subject digest.
// It does not check that the raw facts object exists in a store: callers with
// a store do that with RawFactsName and RawFactsSHA256.
func (v *Verifier) Verify(ctx context.Context, envelope []byte) (*Verified, error) {
	payload, keyID, err := v.open(ctx, envelope)
	if err != nil {
		return nil, err
	}
	// One decoding of the payload; the types are checked before anything
	// else is, and a payload that does not decode as evidence is first
	// checked for being another kind of statement, so that its error says
	// so (a run record is never read as evidence).
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		if terr := checkTypes(payload, PredicateType); terr != nil {
			return nil, terr
		}
		return nil, fmt.Errorf("statement: %w", err)
	}
	if err := checkTypeNames(st.Type, st.PredicateType, PredicateType); err != nil {
		return nil, err
	}
	if len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] == "" {
		return nil, errors.New("statement must have exactly one subject with a sha256 digest (the raw facts object)")
	}
	sub := st.Subject[0]
	if got := Digest(st.Predicate.RawFacts); got != sub.Digest["sha256"] {
		return nil, fmt.Errorf("embedded raw facts hash to %s but the subject says %s", got, sub.Digest["sha256"])
	}
	if err := checkJudgement(&st.Predicate); err != nil {
		return nil, err
	}
	if err := checkPrevious(st.Predicate.Previous); err != nil {
		return nil, err
	}
	return &Verified{
		Statement:      st,
		KeyID:          keyID,
		RawFactsSHA256: sub.Digest["sha256"],
		RawFactsName:   sub.Name,
	}, nil
}

// open checks an envelope as stored — one DSSE envelope in exactly the bytes
// changeproof writes, of the in-toto payload type, with one signature by a
// trusted key over the DSSE pre-authentication encoding — and returns its
// payload and the id of the key whose signature was accepted. Evidence and
// run records share it; what the payload must say is theirs to check.
func (v *Verifier) open(ctx context.Context, envelope []byte) ([]byte, string, error) {
	env, ok := parseCanonical(envelope)
	if !ok {
		// Not in the shape changeproof writes (or a shape parseCanonical
		// does not read, such as an escaped key id): decode it to name
		// what is wrong, or to accept it if it is canonical after all.
		var err error
		if env, err = decodeEnvelope(envelope); err != nil {
			return nil, "", err
		}
	}
	accepted, payload, err := v.env.VerifyAndDecode(ctx, env)
	if err != nil {
		return nil, "", fmt.Errorf("signature: %w", err)
	}
	if len(accepted) == 0 {
		return nil, "", errors.New("signature: no signature by a trusted key")
	}
	// The key id is not signed, and a blank one makes DSSE try every key:
	// the envelope must name the key that signed it, as Sign writes it, so
	// no second, byte-different file verifies for one statement.
	if env.Signatures[0].KeyID != accepted[0].KeyID {
		return nil, "", fmt.Errorf("signature: the envelope names key %q, but key %s signed it", env.Signatures[0].KeyID, accepted[0].KeyID)
	}
	return payload, accepted[0].KeyID, nil
}

// decodeEnvelope decodes a stored envelope strictly and checks that it is
// canonical: the bytes encodeEnvelope writes for it, of the in-toto payload
// type.
func decodeEnvelope(envelope []byte) (*dsse.Envelope, error) {
	var env dsse.Envelope
	dec := json.NewDecoder(bytes.NewReader(envelope))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	// The stored envelope is one JSON value: bytes after it are tampering.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a DSSE envelope: data after the envelope's JSON object")
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("payload type %q, want %q", env.PayloadType, PayloadType)
	}
	if err := checkCanonical(&env, envelope); err != nil {
		return nil, err
	}
	return &env, nil
}

// The bytes encodeEnvelope writes for an envelope with one signature, around
// its payload, key id and signature.
const (
	canonHead   = "{\n  \"payloadType\": \"" + PayloadType + "\",\n  \"payload\": \""
	canonKeyID  = "\",\n  \"signatures\": [\n    {\n      \"keyid\": \""
	canonSig    = "\",\n      \"sig\": \""
	canonTail   = "\"\n    }\n  ]\n}\n"
	b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
)

// parseCanonical reads an envelope in exactly the bytes encodeEnvelope
// writes, without a JSON decoder: the fixed text around three strings, each
// of characters that JSON writes unescaped, and the payload and signature
// in canonical padded base64. It accepts nothing decodeEnvelope rejects
// (FuzzParseCanonical holds it to that); when it returns false the caller
// falls back to decodeEnvelope, which names the problem.
func parseCanonical(b []byte) (*dsse.Envelope, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(canonHead))
	if !ok {
		return nil, false
	}
	payload, rest, ok := cutString(rest, canonKeyID, isB64Char)
	if !ok || !canonicalB64(payload) {
		return nil, false
	}
	keyID, rest, ok := cutString(rest, canonSig, isPlainJSONChar)
	if !ok {
		return nil, false
	}
	sig, rest, ok := cutString(rest, canonTail, isB64Char)
	if !ok || len(rest) != 0 || !canonicalB64(sig) {
		return nil, false
	}
	return &dsse.Envelope{
		PayloadType: PayloadType,
		Payload:     string(payload),
		Signatures:  []dsse.Signature{{KeyID: string(keyID), Sig: string(sig)}},
	}, true
}

// writeCanonical writes the bytes json.MarshalIndent gives for an
// envelope of changeproof's payload type with one signature whose strings
// JSON writes unescaped, in one allocation: the payload is most of an
// envelope, and indenting a marshalled copy holds it three times over.
// ok is false for any other envelope (TestWriteCanonical holds the two
// equal).
func writeCanonical(env *dsse.Envelope) (out []byte, ok bool) {
	if env.PayloadType != PayloadType || len(env.Signatures) != 1 {
		return nil, false
	}
	sig := env.Signatures[0]
	for _, s := range []struct {
		v  string
		ok func(byte) bool
	}{{env.Payload, isB64Char}, {sig.KeyID, isPlainJSONChar}, {sig.Sig, isB64Char}} {
		for i := range len(s.v) {
			if !s.ok(s.v[i]) {
				return nil, false
			}
		}
	}
	out = make([]byte, 0, len(canonHead)+len(env.Payload)+len(canonKeyID)+len(sig.KeyID)+len(canonSig)+len(sig.Sig)+len(canonTail))
	out = append(out, canonHead...)
	out = append(out, env.Payload...)
	out = append(out, canonKeyID...)
	out = append(out, sig.KeyID...)
	out = append(out, canonSig...)
	out = append(out, sig.Sig...)
	return append(out, canonTail...), true
}

// cutString splits b at the closing quote of a string whose every byte
// satisfies ok, and checks that the text after the quote begins with next
// (which starts with the quote).
func cutString(b []byte, next string, ok func(byte) bool) (s, rest []byte, found bool) {
	i := bytes.IndexByte(b, '"')
	if i < 0 {
		return nil, nil, false
	}
	for _, c := range b[:i] {
		if !ok(c) {
			return nil, nil, false
		}
	}
	rest, found = bytes.CutPrefix(b[i:], []byte(next))
	return b[:i], rest, found
}

var b64Chars = func() (t [256]bool) {
	for i := range len(b64Alphabet) {
		t[b64Alphabet[i]] = true
	}
	return t
}()

func isB64Char(c byte) bool { return b64Chars[c] }

// isPlainJSONChar reports whether json.Marshal writes c as itself inside a
// string: printable ASCII but the quote, the backslash and the characters it
// escapes for HTML.
func isPlainJSONChar(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// canonicalB64 reports whether s, of base64 alphabet characters only, is
// standard padded base64 as the encoder writes it: strict decoding (padding
// present, zero padding bits) accepts exactly one spelling of each byte
// string once line breaks, which it would skip, are excluded.
func canonicalB64(s []byte) bool {
	if len(s)%4 != 0 {
		return false
	}
	// Decode in pieces of whole quanta into a buffer on the stack: only
	// validity matters here, and padding may only end the last piece.
	var buf [768]byte
	for len(s) > 0 {
		n := min(len(s), 1024)
		if n < len(s) && s[n-1] == '=' {
			return false // padding before the end
		}
		if _, err := strictB64.Decode(buf[:], s[:n]); err != nil {
			return false
		}
		s = s[n:]
	}
	return true
}

var strictB64 = base64.StdEncoding.Strict()

// checkTypes checks a signed payload's statement and predicate types before
// its predicate is decoded, so evidence is never read as a run record nor a
// run record as evidence.
func checkTypes(payload []byte, predicateType string) error {
	var head struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	return checkTypeNames(head.Type, head.PredicateType, predicateType)
}

// checkTypeNames checks a decoded statement's type and predicate type.
func checkTypeNames(typ, predicateType, want string) error {
	if typ != StatementType {
		return fmt.Errorf("statement type %q, want %q", typ, StatementType)
	}
	if predicateType != want {
		return fmt.Errorf("predicate type %q, want %q", predicateType, want)
	}
	return nil
}

// checkPrevious checks that a chain link names its predecessor or says it
// starts the chain.
func checkPrevious(p Previous) error {
	if !p.First && p.SHA256 == "" {
		return errors.New("predicate.previous names neither a previous envelope nor the start of a chain")
	}
	return nil
}

// Decode extracts the statement from an envelope WITHOUT checking its
// signature. Use it only to find things (the head of a chain); never to trust.
func Decode(envelope []byte) (*Statement, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("envelope payload: %w", err)
	}
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return &st, nil
}

// checkJudgement checks that the predicate's overall status and counts are
// the ones its findings give, so a statement cannot claim "pass" over failing
// findings. An error status may override the findings (a failed or partial
// collection) but then must say why.
func checkJudgement(p *Predicate) error {
	if !p.Status.Valid() {
		return fmt.Errorf("predicate status %q is not a known status", p.Status)
	}
	for i, f := range p.Findings {
		if !f.Status.Valid() {
			return fmt.Errorf("finding %d (%s) has unknown status %q", i, f.Target, f.Status)
		}
		worst := StatusPass
		for _, c := range f.Checks {
			if !c.Status.Valid() {
				return fmt.Errorf("finding %s, check %s has unknown status %q", f.Target, c.Rule, c.Status)
			}
			worst = Worse(worst, c.Status)
		}
		if Worse(f.Status, worst) != f.Status {
			return fmt.Errorf("finding %s is %q although its checks give %q", f.Target, f.Status, worst)
		}
	}
	want := Overall(p.Findings)
	switch {
	case p.Status == StatusError:
		if p.Reason == "" {
			return errors.New("predicate status is error but gives no reason")
		}
	case p.Status != want:
		return fmt.Errorf("predicate status %q disagrees with its findings, which give %q", p.Status, want)
	}
	counts := CountByStatus(p.Findings)
	for _, s := range Statuses {
		if p.Counts[s] != counts[s] {
			return fmt.Errorf("predicate counts %v disagree with its findings, which give %v", p.Counts, counts)
		}
	}
	if len(p.Counts) != len(Statuses) {
		return fmt.Errorf("predicate counts %v must list exactly the four statuses", p.Counts)
	}
	return nil
}

// checkCanonical accepts only the exact bytes Signer.Sign writes. Go's JSON
// decoder matches keys case-insensitively, lets the last of duplicate keys
// win and unescapes keys; other readers (jq, Python, the openssl steps) do
// not. Without this check one file could verify here while showing another
// payload to them.
func checkCanonical(env *dsse.Envelope, stored []byte) error {
	if len(env.Signatures) != 1 {
		return fmt.Errorf("envelope has %d signatures; changeproof writes exactly one", len(env.Signatures))
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil || base64.StdEncoding.EncodeToString(payload) != env.Payload {
		return errors.New("not a canonical envelope: payload is not standard padded base64")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(env.Signatures[0].Sig)
	if err != nil || base64.StdEncoding.EncodeToString(sig) != env.Signatures[0].Sig {
		return errors.New("not a canonical envelope: signature is not standard padded base64")
	}
	want, err := encodeEnvelope(env)
	if err != nil {
		return err
	}
	if !bytes.Equal(want, stored) {
		return errors.New("not a canonical envelope: its bytes differ from what changeproof writes (reordered, duplicated, re-cased or re-spaced fields)")
	}
	return nil
}

// encodeEnvelope is the one serialisation of an envelope that is stored.
func encodeEnvelope(env *dsse.Envelope) ([]byte, error) {
	if out, ok := writeCanonical(env); ok {
		return out, nil
	}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding envelope: %w", err)
	}
	return append(out, '\n'), nil
}
