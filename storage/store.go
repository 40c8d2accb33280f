// Package storage defines where evidence lives: a create-only object store.
//
// Evidence is never overwritten or deleted, so the interface has no Delete and
// Put refuses an existing key. Backends: file:// (the embedded default, package
// storage/file); S3 and R2 follow. Every backend passes the contract suite in
// storage/storagetest.
package storage

import (
	"context"
	"errors"
	"fmt"
	"iter"
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

// Description tells users and evidence what kind of store holds the evidence.
type Description struct {
	// URL locates the store, without credentials.
	URL string `json:"url"`
	// WORM is true when the store itself prevents overwrites and deletions
	// for the retention period (object lock), not just this program.
	WORM bool `json:"worm"`
	// Protection says how objects are protected, e.g. "read-only files".
	Protection string `json:"protection"`
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

// Options are backend-independent settings.
type Options struct {
	// Retention is how long stored objects must stay immutable.
	Retention time.Duration
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
