package evidence

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// ed25519Key adapts an Ed25519 key to dsse.SignerVerifier. priv is nil for a
// verify-only key.
type ed25519Key struct {
	priv  ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
}

var _ dsse.SignerVerifier = (*ed25519Key)(nil)

func (k *ed25519Key) Sign(_ context.Context, data []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, errors.New("verify-only key cannot sign")
	}
	return ed25519.Sign(k.priv, data), nil
}

func (k *ed25519Key) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(k.pub, data, sig) {
		return errors.New("ed25519 signature does not match")
	}
	return nil
}

func (k *ed25519Key) KeyID() (string, error)   { return k.keyID, nil }
func (k *ed25519Key) Public() crypto.PublicKey { return k.pub }

// Signer signs statements into DSSE envelopes.
type Signer struct {
	key *ed25519Key
	env *dsse.EnvelopeSigner
}

// NewSigner returns a Signer for an Ed25519 private key.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	// Check the length first: Public panics on a short key.
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("invalid Ed25519 private key")
	}
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("invalid Ed25519 private key")
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	k := &ed25519Key{priv: priv, pub: pub, keyID: id}
	es, err := dsse.NewEnvelopeSigner(k)
	if err != nil {
		return nil, fmt.Errorf("dsse signer: %w", err)
	}
	return &Signer{key: k, env: es}, nil
}

// KeyID returns the signing key's id (sha256 of its SPKI encoding).
func (s *Signer) KeyID() string { return s.key.keyID }

// PublicKeyPEM returns the SPKI PEM of the signing key.
func (s *Signer) PublicKeyPEM() ([]byte, error) { return EncodePublicKey(s.key.pub) }

// Sign serialises the statement and signs it. It returns the envelope as
// stored (indented JSON with a trailing newline).
func (s *Signer) Sign(ctx context.Context, st *Statement) ([]byte, error) {
	// The subject digest covers the raw facts byte for byte, but encoding/json
	// rewrites a RawMessage (compacts it, escapes <, > and &). Refuse raw facts
	// it would change rather than sign evidence that Verify rejects.
	if !marshalsAsIs(st.Predicate.RawFacts) {
		return nil, errors.New("encoding statement: raw facts must be JSON as json.Marshal writes it (compact, HTML-escaped): the signed copy would not match their digest")
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	return s.signPayload(ctx, payload)
}

// maxRawFactsDepth is the deepest nesting of raw facts whose statement
// encoding/json still decodes: its limit is 10,000, and the statement and
// its predicate add two levels.
const maxRawFactsDepth = 10000 - 2

// marshalsAsIs reports whether the raw facts come back byte for byte from
// the signed statement: json.Marshal writes them, as a RawMessage,
// unchanged (valid JSON, no whitespace outside strings, none of the
// characters it escapes for HTML: <, >, &, U+2028, U+2029), and the
// statement holding them is not nested deeper than encoding/json decodes.
// It scans instead of marshalling and decoding a copy: raw facts can be
// hundreds of megabytes (FuzzMarshalsAsIs holds it to the first part,
// TestRawFactsDepth to the second).
func marshalsAsIs(raw []byte) bool {
	if !json.Valid(raw) {
		return false
	}
	inString, escaped, depth := false, false, 0
	for i, c := range raw {
		if !inString && (c == '{' || c == '[') {
			if depth++; depth > maxRawFactsDepth {
				return false
			}
		} else if !inString && (c == '}' || c == ']') {
			depth--
		}
		switch {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && (raw[i+2] == 0xA8 || raw[i+2] == 0xA9):
			return false
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// signPayload signs a serialised in-toto statement of any predicate type
// into the envelope as stored.
func (s *Signer) signPayload(ctx context.Context, payload []byte) ([]byte, error) {
	env, err := s.env.SignPayload(ctx, PayloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("signing statement: %w", err)
	}
	return encodeEnvelope(env)
}

// Digest is the lowercase hex sha256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
