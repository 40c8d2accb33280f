// Package ledger appends signed evidence to a store as hash chains and
// verifies what a store holds.
//
// Key layout (docs/evidence.md):
//
//	evidence/<collector>/<scope-slug>/<YYYY>/<MM>/<DD>/<collected-at>-<sha256>.json   DSSE envelope
//	raw/<sha256>.json                                                                 raw facts (the subject)
//	keys/<keyid>.pub                                                                  signing public key
//
// <collected-at> is the UTC collection time, 20060102T150405.000000000Z, so
// keys sort in collection order; <sha256> is the digest of the envelope file
// itself, so a file's name commits to its content.
package ledger

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/changeproof/changeproof/evidence"
)

const (
	// EvidencePrefix holds the DSSE envelopes.
	EvidencePrefix = "evidence/"
	// RawPrefix holds the raw facts objects, content-addressed.
	RawPrefix = "raw/"
	// KeysPrefix holds the public keys that signed the evidence.
	KeysPrefix = "keys/"

	timeLayout   = "20060102T150405.000000000Z"
	maxSlugBytes = 120
)

var slugUnsafe = regexp.MustCompile(`[^a-z0-9._@+-]+`)

// ScopeSlug turns a scope into one key segment: lower case, characters other
// than [a-z0-9._@+-] replaced by '_', long scopes shortened with a hash. Two
// scopes may share a slug; the predicate's scope is authoritative.
func ScopeSlug(scope string) string {
	s := slugUnsafe.ReplaceAllString(strings.ToLower(scope), "_")
	s = strings.Trim(s, ".")
	if s == "" {
		s = "_"
	}
	if len(s) > maxSlugBytes {
		s = s[:maxSlugBytes-17] + "-" + evidence.Digest([]byte(scope))[:16]
	}
	return s
}

// ChainPrefix is the key prefix of one collector's chain for a scope.
func ChainPrefix(collector, scope string) string {
	return EvidencePrefix + collector + "/" + ScopeSlug(scope) + "/"
}

// EvidenceKey is where an envelope is stored.
func EvidenceKey(collector, scope string, collectedAt time.Time, envelopeDigest string) string {
	t := collectedAt.UTC()
	return fmt.Sprintf("%s%04d/%02d/%02d/%s-%s.json", ChainPrefix(collector, scope),
		t.Year(), int(t.Month()), t.Day(), t.Format(timeLayout), envelopeDigest)
}

// RawKey is where the raw facts with this digest are stored.
func RawKey(digest string) string { return RawPrefix + digest + ".json" }

// PublicKeyKey is where a signing public key is stored.
func PublicKeyKey(keyID string) string { return KeysPrefix + keyID + ".pub" }

var evidenceKeyRE = regexp.MustCompile(`^evidence/([a-z0-9-]+)/([^/]+)/(\d{4})/(\d{2})/(\d{2})/(\d{8}T\d{6}\.\d{9}Z)-([0-9a-f]{64})\.json$`)

// ParsedKey is an evidence key taken apart.
type ParsedKey struct {
	Collector   string
	Slug        string
	CollectedAt time.Time
	Digest      string
}

// ParseEvidenceKey takes an evidence key apart, checking its date folders
// agree with its timestamp.
func ParseEvidenceKey(key string) (ParsedKey, error) {
	m := evidenceKeyRE.FindStringSubmatch(key)
	if m == nil {
		return ParsedKey{}, fmt.Errorf("not an evidence key (want evidence/<collector>/<scope>/YYYY/MM/DD/<time>-<sha256>.json)")
	}
	t, err := time.Parse(timeLayout, m[6])
	if err != nil {
		return ParsedKey{}, fmt.Errorf("bad timestamp %q in key", m[6])
	}
	if want := t.Format("2006/01/02"); want != m[3]+"/"+m[4]+"/"+m[5] {
		return ParsedKey{}, fmt.Errorf("date folders %s/%s/%s disagree with timestamp %s", m[3], m[4], m[5], m[6])
	}
	return ParsedKey{Collector: m[1], Slug: m[2], CollectedAt: t, Digest: m[7]}, nil
}
