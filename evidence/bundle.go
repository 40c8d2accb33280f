package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/schedules"
)

// BundlePredicateType identifies the manifest of an auditor's bundle: an
// in-toto statement whose subjects are every file of the bundle with its
// sha256, signed with the evidence key into the same DSSE envelope. The
// schema is documented in docs/bundle.md.
const BundlePredicateType = "https://changeproof.dev/bundle/v1"

// BundleStatement is the statement of a bundle's manifest.json.
type BundleStatement struct {
	Type string `json:"_type"`
	// Subject names every file of the bundle but manifest.json itself, by
	// its path in the bundle, in ascending path order.
	Subject       []Subject      `json:"subject"`
	PredicateType string         `json:"predicateType"`
	Predicate     BundleManifest `json:"predicate"`
}

// BundleManifest is what the producer of a bundle asserts about it.
type BundleManifest struct {
	// Period is the half-open interval the bundle covers: it holds every
	// envelope and run record whose window overlaps it.
	Period schedules.Window `json:"period"`
	// Control, when set, is the control id the bundle was limited to.
	Control string `json:"control,omitempty"`
	// Store is the URL of the store the bundle was taken from.
	Store     string    `json:"store"`
	CreatedAt time.Time `json:"createdAt"`
	// Boundaries are the objects outside the bundle that the previous
	// links of objects inside it name: the chain links just before the
	// period (or between windows of the period, for evidence collected out
	// of order). Verification accepts a previous link only to an object in
	// the bundle or to one of these.
	Boundaries []BundleBoundary `json:"boundaries"`
	// StoreProblems are the problems the verification of the whole store
	// found, when the bundle was made, on the bundle's files and
	// boundaries (a deleted or modified predecessor, a forked chain, an
	// object hidden behind a delete marker). A bundle never turns a problem
	// of its store into a clean boundary: verifying the bundle reports
	// each of them.
	StoreProblems []BundleProblem `json:"storeProblems"`
	Producer      Producer        `json:"producer"`
}

// BundleProblem is a problem found in the store a bundle was made from.
type BundleProblem struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// BundleBoundary is a chain link outside a bundle, verified in the store
// when the bundle was made.
type BundleBoundary struct {
	// Key and SHA256 name the stored object.
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	// Window is the object's window and Controls, for an envelope, its
	// control ids: why it is outside the bundle (its window does not
	// overlap the period, or it is not mapped to the bundle's control).
	Window   schedules.Window `json:"window"`
	Controls []string         `json:"controls,omitempty"`
}

// VerifiedBundle is a manifest whose signature and statement checked out.
type VerifiedBundle struct {
	Statement BundleStatement
	KeyID     string
}

// SignBundle signs a bundle manifest into an envelope. It refuses a
// statement VerifyBundle would reject.
func (s *Signer) SignBundle(ctx context.Context, st *BundleStatement) ([]byte, error) {
	c := *st
	if c.Predicate.Boundaries == nil {
		c.Predicate.Boundaries = []BundleBoundary{}
	}
	if c.Predicate.StoreProblems == nil {
		c.Predicate.StoreProblems = []BundleProblem{}
	}
	if err := checkBundle(&c); err != nil {
		return nil, fmt.Errorf("bundle manifest: %w", err)
	}
	payload, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding bundle manifest: %w", err)
	}
	return s.signPayload(ctx, payload)
}

// VerifyBundle checks a manifest envelope as VerifyRun checks a run record:
// canonical bytes, one signature by a trusted key, the types, a payload
// exactly as SignBundle writes it, and the statement itself.
func (v *Verifier) VerifyBundle(ctx context.Context, envelope []byte) (*VerifiedBundle, error) {
	payload, keyID, err := v.open(ctx, envelope)
	if err != nil {
		return nil, err
	}
	if err := checkTypes(payload, BundlePredicateType); err != nil {
		return nil, err
	}
	var st BundleStatement
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("bundle statement: %w", err)
	}
	again, err := json.Marshal(&st)
	if err != nil || !bytes.Equal(again, payload) {
		return nil, errors.New("not a canonical bundle statement: its payload differs from what changeproof writes")
	}
	if err := checkBundle(&st); err != nil {
		return nil, err
	}
	return &VerifiedBundle{Statement: st, KeyID: keyID}, nil
}

func checkBundle(st *BundleStatement) error {
	p := &st.Predicate
	switch {
	case st.Type != StatementType || st.PredicateType != BundlePredicateType:
		return fmt.Errorf("statement types %q, %q, want %q, %q", st.Type, st.PredicateType, StatementType, BundlePredicateType)
	case len(st.Subject) == 0:
		return errors.New("the manifest names no file")
	case p.Store == "" || p.CreatedAt.IsZero():
		return errors.New("predicate.store and predicate.createdAt are required")
	case p.Boundaries == nil || p.StoreProblems == nil:
		return errors.New("predicate.boundaries and predicate.storeProblems must be lists")
	}
	if err := p.Period.Validate(); err != nil {
		return fmt.Errorf("predicate.period: %w", err)
	}
	for i, sub := range st.Subject {
		switch {
		case !validBundlePath(sub.Name):
			return fmt.Errorf("subject %d: %q is not a relative path inside the bundle", i, sub.Name)
		case len(sub.Digest) != 1 || !sha256Hex.MatchString(sub.Digest["sha256"]):
			return fmt.Errorf("subject %s: the digest must be exactly one lowercase hex sha256", sub.Name)
		case i > 0 && st.Subject[i-1].Name >= sub.Name:
			return fmt.Errorf("subject %s: subjects must be in ascending path order without duplicates", sub.Name)
		}
	}
	for _, b := range p.Boundaries {
		if b.Key == "" || !sha256Hex.MatchString(b.SHA256) || b.Window.Validate() != nil {
			return fmt.Errorf("boundary %q: needs a key, a lowercase hex sha256 and a window", b.Key)
		}
	}
	return nil
}

// validBundlePath accepts a clean, relative, slash-separated path.
func validBundlePath(p string) bool {
	return p != "" && p != "manifest.json" && !strings.HasPrefix(p, "/") && path.Clean(p) == p &&
		!slices.Contains(strings.Split(p, "/"), "..") && !strings.ContainsAny(p, "\\\x00")
}
