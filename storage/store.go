// Package storage defines where evidence lives: a create-only object store.
//
// Evidence is never overwritten or deleted, so the interface has no Delete and
// Put refuses an existing key. Backends: file:// (the embedded default, package
// storage/file), s3:// and r2:// (package storage/s3). Every backend passes
// the contract suite in storage/storagetest.
package storage

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

var (
	// ErrExists is returned by Put when the key is already taken. The stored
	// object is left as it was.
	ErrExists = errors.New("object already exists")
	// ErrNotExist is returned by Get and Stat for a missing key.
	ErrNotExist = errors.New("object does not exist")
	// ErrInvalidKey is returned for a key that breaks the key rules.
	ErrInvalidKey = errors.New("invalid object key")
	// ErrUnavailable is wrapped by errors of network stores when the store
	// could not be reached or refused for a transient reason (a network
	// failure, a 5xx answer, throttling); the write may be retried. A caller
	// can keep the data locally and store it later.
	ErrUnavailable = errors.New("store unavailable (transient; the write may be retried)")
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is a create-only object store.
type Store interface {
	// Put stores data under key if and only if key is free; otherwise it
	// returns an error wrapping ErrExists and changes nothing. A reader never
	// sees a partly written object.
	Put(ctx context.Context, key string, data []byte) error
	// Get returns an object's content, or an error wrapping ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, error)
	// Stat describes an object, or returns an error wrapping ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List yields the objects whose keys start with prefix, in ascending
	// byte-wise key order; a prefix no valid key can start with yields
	// nothing. An error ends the sequence.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// Describe says where the store is, for messages and evidence; it never
	// includes credentials.
	Describe() Description
}

// Tampered is an object a store found hidden or replaced after it was
// written, for TamperChecker.
type Tampered struct {
	// Key is the object's key in the store.
	Key string `json:"key"`
	// Reason says what was done to it, in one line.
	Reason string `json:"reason"`
}

// TamperChecker is implemented by stores that can see changes which Get and
// List do not show: on a versioned S3 bucket with Object Lock, a delete
// without a version ID hides the locked version behind a delete marker, and
// a plain overwrite adds a newer version in front of it; the locked version
// itself stays intact. Verification calls it when a store implements it
// and reports each finding as a problem.
type TamperChecker interface {
	// Tampering lists the objects under prefix ("" for the whole store)
	// that were hidden or replaced, in ascending key order; none is an
	// empty list. An error means the check could not be made.
	Tampering(ctx context.Context, prefix string) ([]Tampered, error)
}

// Description tells users and evidence what kind of store holds the evidence.
type Description struct {
	// URL locates the store, without credentials.
	URL string `json:"url"`
	// WORM is true when the store itself prevents overwrites and deletions
	// for the retention period (object lock), not just this program.
	WORM bool `json:"worm"`
	// Protection says how objects are protected, e.g. "read-only files".
	Protection string `json:"protection"`
	// Lock says what, in the store, keeps objects immutable; nil for a
	// store with no lock concept (the file store).
	Lock *LockInfo `json:"lock,omitempty"`
}

// Lock kinds, for LockInfo.Kind.
const (
	LockNone         = "none"           // the store could lock but this one does not
	LockS3ObjectLock = "s3-object-lock" // S3 Object Lock retention set on every object
	LockR2BucketLock = "r2-bucket-lock" // an R2 bucket lock rule covering the store's prefix
)

// LockInfo records how a store locks what it writes.
type LockInfo struct {
	// Kind is LockNone, LockS3ObjectLock or LockR2BucketLock.
	Kind string `json:"kind"`
	// Mode is the S3 Object Lock mode set on each object: COMPLIANCE or
	// GOVERNANCE.
	Mode string `json:"mode,omitempty"`
	// RetentionSeconds is the retention the store requires: S3 objects are
	// locked for this long after they are written; an R2 rule must keep them
	// at least this long.
	RetentionSeconds int64 `json:"retentionSeconds,omitempty"`
	// LegalHold is true when every object also gets an S3 legal hold.
	LegalHold bool `json:"legalHold,omitempty"`
	// Rule is the R2 bucket lock rule that covers the store's prefix.
	Rule *LockRule `json:"rule,omitempty"`
}

// LockRule is an R2 bucket lock rule as the Cloudflare API reported it.
type LockRule struct {
	ID string `json:"id"`
	// Prefix is the key prefix the rule covers; empty is the whole bucket.
	Prefix string `json:"prefix"`
	// Condition is "Age", "Date" or "Indefinite".
	Condition string `json:"condition"`
	// MaxAgeSeconds is an Age rule's retention.
	MaxAgeSeconds int64 `json:"maxAgeSeconds,omitempty"`
	// Date is a Date rule's end of retention (RFC 3339).
	Date string `json:"date,omitempty"`
}

// ValidateKey enforces the key rules shared by every backend: a relative,
// slash-separated path of non-empty segments, none "." or "..", none starting
// with ".tmp" (reserved for in-flight writes), no backslashes or control
// characters, at most 1024 bytes. A key must not also be a '/'-prefix of
// another key (a/b and a/b/c): directory-backed stores cannot hold both, and
// the evidence layout never needs it.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > 1024 {
		return fmt.Errorf("%w: longer than 1024 bytes", ErrInvalidKey)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w %q: control character or backslash", ErrInvalidKey, key)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w %q: empty path segment", ErrInvalidKey, key)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w %q: %q segment", ErrInvalidKey, key, seg)
		case strings.HasPrefix(seg, ".tmp"):
			return fmt.Errorf("%w %q: segments starting with .tmp are reserved", ErrInvalidKey, key)
		}
	}
	return nil
}

// Opener opens a store from its URL.
type Opener func(ctx context.Context, url string, opts Options) (Store, error)

// Options are store settings. Backends ignore what they have no use for,
// except where documented.
type Options struct {
	// Retention is how long stored objects must stay immutable.
	Retention time.Duration

	// LockMode is the S3 Object Lock mode set on every object: "COMPLIANCE"
	// (the default when empty) or "GOVERNANCE". R2 has no modes and refuses
	// a non-empty LockMode.
	LockMode string
	// LegalHold also places an S3 legal hold on every object. R2 refuses it.
	LegalHold bool
	// AllowUnlocked lets a network store write to a bucket that does not
	// lock objects; Describe then reports WORM false.
	AllowUnlocked bool
	// ReadOnly opens a store only to read it (verification): a network
	// store does not refuse a bucket that does not lock objects (Describe
	// still says whether it does), and Put fails.
	ReadOnly bool
	// MaxAttempts is how many times a network store tries a request before
	// returning a transient failure; 0 means the backend's default.
	MaxAttempts int
	// Now is the clock, for retention dates; nil means time.Now.
	Now func() time.Time
	// HTTPClient, when set, carries a network store's requests (tests
	// record or break them through it); nil means the backend's own client.
	HTTPClient *http.Client
	// Cloudflare reads the bucket lock rules of r2:// stores: a
	// *cloudflare.API (github.com/cloudflare/cloudflare-go) or an
	// s3store.R2Locks. It is typed any so that this package does not depend
	// on cloudflare-go.
	Cloudflare any
	// Logger receives a store's warnings; nil discards them.
	Logger *slog.Logger
}

// Registry maps URL schemes to openers. Registration fails loudly.
type Registry struct {
	openers map[string]Opener
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{openers: map[string]Opener{}} }

// Register adds a scheme. It panics on an empty scheme, a nil opener or a
// duplicate: these are programming errors found at start-up.
func (r *Registry) Register(scheme string, o Opener) {
	if scheme == "" || o == nil {
		panic("storage: Register needs a scheme and an opener")
	}
	if _, dup := r.openers[scheme]; dup {
		panic("storage: scheme " + scheme + " registered twice")
	}
	r.openers[scheme] = o
}

// Open opens the store a URL names. A URL without a scheme is a local
// directory.
func (r *Registry) Open(ctx context.Context, url string, opts Options) (Store, error) {
	scheme := "file"
	if i := strings.Index(url, "://"); i > 0 {
		scheme = url[:i]
	}
	o, ok := r.openers[scheme]
	if !ok {
		return nil, fmt.Errorf("store %q: unknown scheme %q (known: %s)", url, scheme, strings.Join(r.Schemes(), ", "))
	}
	return o(ctx, url, opts)
}

// Schemes lists the registered schemes.
func (r *Registry) Schemes() []string {
	out := make([]string, 0, len(r.openers))
	for s := range r.openers {
		out = append(out, s+"://")
	}
	slices.Sort(out)
	return out
}

// Presigner is implemented by stores that can hand out a time-limited
// download link for one object (S3 and R2 presigned GET URLs), so a bundle
// can be shared without sharing credentials.
type Presigner interface {
	// PresignGet returns a URL that downloads key, valid for ttl.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}
