// Package ledger appends signed evidence to a store as hash chains and
// verifies what a store holds.
//
// Key layout (docs/evidence.md):
//
//	evidence/<collector>/<scope-slug>/<YYYY>/<MM>/<DD>/<collected-at>-<sha256>.json   DSSE envelope
//	raw/<sha256>.json                                                                 raw facts (the subject)
//	keys/<keyid>.pub                                                                  signing public key
//	runs/<job>/<YYYY>/<MM>/<DD>/<finished-at>-<sha256>.json                           run record (DSSE envelope)
//
// <collected-at> is the UTC collection time and <finished-at> the UTC time a
// run finished, 20060102T150405.000000000Z, so keys sort in time order;
// <sha256> is the digest of the envelope file itself, so a file's name
// commits to its content.
package ledger

import (
	"errors"
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
	// RunsPrefix holds the run records, one chain per job.
	RunsPrefix = "runs/"

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
	return ChainPrefix(collector, scope) + datedName(collectedAt, envelopeDigest)
}

// datedName is the part of a key after its chain's prefix:
// YYYY/MM/DD/<time>-<digest>.json, the date being that of t in UTC.
func datedName(t time.Time, digest string) string {
	t = t.UTC()
	return fmt.Sprintf("%04d/%02d/%02d/%s-%s.json", t.Year(), int(t.Month()), t.Day(), t.Format(timeLayout), digest)
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
	t, err := parseDated(m[3], m[4], m[5], m[6])
	if err != nil {
		return ParsedKey{}, err
	}
	return ParsedKey{Collector: m[1], Slug: m[2], CollectedAt: t, Digest: m[7]}, nil
}

// parseDated parses the timestamp of a key and checks that its date folders
// (year, month, day) agree with it.
func parseDated(year, month, day, stamp string) (time.Time, error) {
	t, err := time.Parse(timeLayout, stamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q in key", stamp)
	}
	if want := t.Format("2006/01/02"); want != year+"/"+month+"/"+day {
		return time.Time{}, fmt.Errorf("date folders %s/%s/%s disagree with timestamp %s", year, month, day, stamp)
	}
	return t, nil
}

// jobPattern is what the scheduler's config allows as a job name; a job
// name is one key segment.
const jobPattern = `[a-z0-9][a-z0-9._-]{0,62}`

var (
	jobRE    = regexp.MustCompile(`^` + jobPattern + `$`)
	digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	runKeyRE = regexp.MustCompile(`^runs/(` + jobPattern + `)/(\d{4})/(\d{2})/(\d{2})/(\d{8}T\d{6}\.\d{9}Z)-([0-9a-f]{64})\.json$`)
)

// CheckJob refuses a job name that is not ^[a-z0-9][a-z0-9._-]{0,62}$.
func CheckJob(job string) error {
	if !jobRE.MatchString(job) {
		return fmt.Errorf("job name %q: want 1 to 63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", job)
	}
	return nil
}

// RunPrefix is the key prefix of a job's run records.
func RunPrefix(job string) string { return RunsPrefix + job + "/" }

// RunKey is where a run record is stored:
// runs/<job>/YYYY/MM/DD/<finishedAt 20060102T150405.000000000Z>-<sha256>.json.
// It refuses a job name that is not a valid key segment and a digest that is
// not lowercase hex sha256.
func RunKey(job string, finishedAt time.Time, digest string) (string, error) {
	if err := CheckJob(job); err != nil {
		return "", err
	}
	if !digestRE.MatchString(digest) {
		return "", fmt.Errorf("run record digest %q is not lowercase hex sha256", digest)
	}
	return RunPrefix(job) + datedName(finishedAt, digest), nil
}

// ParsedRunKey is a run record key taken apart.
type ParsedRunKey struct {
	Job        string
	FinishedAt time.Time
	Digest     string
}

// ParseRunKey takes a run record key apart, checking its date folders agree
// with its timestamp.
func ParseRunKey(key string) (ParsedRunKey, error) {
	m := runKeyRE.FindStringSubmatch(key)
	if m == nil {
		return ParsedRunKey{}, errors.New("not a run record key (want runs/<job>/YYYY/MM/DD/<time>-<sha256>.json)")
	}
	t, err := parseDated(m[2], m[3], m[4], m[5])
	if err != nil {
		return ParsedRunKey{}, err
	}
	return ParsedRunKey{Job: m[1], FinishedAt: t, Digest: m[6]}, nil
}

// SplitStorePath splits the slash-separated path of a file inside a store
// directory into the store's directory and the file's key, when the path
// ends in an evidence key or a run record key; ok is false otherwise. Keys
// have a fixed number of segments, so a store directory (or a job) named
// "evidence" or "runs" does not confuse it.
func SplitStorePath(path string) (dir, key string, ok bool) {
	segs := strings.Split(path, "/")
	for _, n := range []int{7, 6} { // evidence keys, run record keys
		if len(segs) <= n {
			continue
		}
		key = strings.Join(segs[len(segs)-n:], "/")
		_, eerr := ParseEvidenceKey(key)
		_, rerr := ParseRunKey(key)
		if eerr == nil || rerr == nil {
			return strings.Join(segs[:len(segs)-n], "/"), key, true
		}
	}
	return "", "", false
}
