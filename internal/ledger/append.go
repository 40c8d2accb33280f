package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/storage"
)

// Ledger appends signed evidence to a store.
type Ledger struct {
	Store  storage.Store
	Signer *evidence.Signer
}

// Entry is one envelope written to the store.
type Entry struct {
	Key       string
	SHA256    string
	RawKey    string
	Statement evidence.Statement
}

// Head returns the link to the newest envelope of a collector's chain for a
// scope (and sources) that verifies with the ledger's own key, and when it was collected;
// or Previous{First: true} when the chain has none yet. Envelopes that do
// not verify (planted, damaged) are passed over: they are not evidence, and
// verify reports them.
func (l *Ledger) Head(ctx context.Context, collector, scope string, sources map[string]string) (evidence.Previous, time.Time, error) {
	want := ChainID(&evidence.Predicate{Collector: evidence.CollectorInfo{Name: collector}, Scope: scope, Sources: sources})
	v, err := l.verifier()
	if err != nil {
		return evidence.Previous{}, time.Time{}, err
	}
	prev, at := evidence.Previous{First: true}, time.Time{}
	isEvidence := func(key string) bool { _, err := ParseEvidenceKey(key); return err == nil }
	// Newest first; skip envelopes of another scope that shares the slug.
	err = l.walk(ctx, ChainPrefix(collector, scope), isEvidence, true, func(key string, data []byte) bool {
		ver, err := v.Verify(ctx, data)
		if err != nil || ChainID(&ver.Statement.Predicate) != want {
			return true
		}
		prev, at = evidence.Previous{Key: key, SHA256: evidence.Digest(data)}, ver.Statement.Predicate.CollectedAt
		return false
	})
	if err != nil {
		return evidence.Previous{}, time.Time{}, fmt.Errorf("evidence of %s for %s: %w", collector, scope, err)
	}
	return prev, at, nil
}

// ChainID identifies the chain an envelope belongs to: its collector, its
// scope and the APIs it was read from (so github.com/acme and the same org
// name on an Enterprise Server, or on a test double, never share a chain).
func ChainID(p *evidence.Predicate) string {
	keys := make([]string, 0, len(p.Sources))
	for k := range p.Sources {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	id := p.Collector.Name + "\x00" + p.Scope
	for _, k := range keys {
		id += "\x00" + k + "=" + p.Sources[k]
	}
	return id
}

func (l *Ledger) verifier() (*evidence.Verifier, error) {
	pemBytes, err := l.Signer.PublicKeyPEM()
	if err != nil {
		return nil, err
	}
	pub, err := evidence.ParsePublicKey(pemBytes)
	if err != nil {
		return nil, err
	}
	return evidence.NewVerifier(pub)
}

// Append links the statement to the head of its chain, signs it and writes,
// in this order, the raw facts object, the public key and the envelope, each
// create-only. The envelope is written last, so it never names an object that
// is not stored. st.Predicate.RawFacts must hold the raw facts.
func (l *Ledger) Append(ctx context.Context, st *evidence.Statement) (*Entry, error) {
	p := &st.Predicate
	prev, headAt, err := l.Head(ctx, p.Collector.Name, p.Scope, p.Sources)
	if err != nil {
		return nil, err
	}
	return l.AppendAfter(ctx, st, prev, headAt)
}

// AppendAfter is Append onto a head read earlier with Head (prev, and the
// time headAt it was collected): a collection reads its chain's head before
// it starts, so that a store lost during the collection does not lose the
// evidence (a spooling store then takes it).
func (l *Ledger) AppendAfter(ctx context.Context, st *evidence.Statement, prev evidence.Previous, headAt time.Time) (*Entry, error) {
	p := &st.Predicate
	if !headAt.IsZero() && !p.CollectedAt.After(headAt) {
		return nil, fmt.Errorf("the newest evidence of this chain (%s) was collected at %s, not before this collection (%s): the clock went backwards; refusing to break the chain's order",
			prev.Key, headAt.Format(time.RFC3339Nano), p.CollectedAt.Format(time.RFC3339Nano))
	}
	p.Previous = prev
	raw := []byte(p.RawFacts)
	rawDigest := evidence.Digest(raw)
	rawKey := RawKey(rawDigest)
	st.Type = evidence.StatementType
	st.PredicateType = evidence.PredicateType
	st.Subject = []evidence.Subject{{
		Name:      rawKey,
		Digest:    map[string]string{"sha256": rawDigest},
		MediaType: evidence.RawFactsMediaType,
	}}
	envelope, err := l.Signer.Sign(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := l.putIdempotent(ctx, rawKey, raw); err != nil {
		return nil, err
	}
	if err := l.putPublicKey(ctx); err != nil {
		return nil, err
	}
	digest := evidence.Digest(envelope)
	key := EvidenceKey(p.Collector.Name, p.Scope, p.CollectedAt, digest)
	if err := l.Store.Put(ctx, key, envelope); err != nil {
		return nil, fmt.Errorf("writing the evidence envelope: %w", err)
	}
	return &Entry{Key: key, SHA256: digest, RawKey: rawKey, Statement: *st}, nil
}

// putIdempotent stores content-addressed data. An existing object with the
// same content is fine; one with other content means the store was tampered
// with, and is an error.
func (l *Ledger) putIdempotent(ctx context.Context, key string, data []byte) error {
	err := l.Store.Put(ctx, key, data)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrExists) {
		return err // the store names the key
	}
	have, gerr := l.Store.Get(ctx, key)
	if gerr != nil {
		return fmt.Errorf("checking existing %s: %w", key, gerr)
	}
	if !bytes.Equal(have, data) {
		return fmt.Errorf("store already holds %s with different content: the store has been tampered with", key)
	}
	return nil
}

// putPublicKey stores the signer's public key beside the evidence, once.
func (l *Ledger) putPublicKey(ctx context.Context) error {
	pub, err := l.Signer.PublicKeyPEM()
	if err != nil {
		return err
	}
	return l.putIdempotent(ctx, PublicKeyKey(l.Signer.KeyID()), pub)
}
