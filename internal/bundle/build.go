// Package bundle makes and checks auditors' evidence bundles: one zip file
// holding every evidence envelope and run record of a period, the raw facts
// they name, the public keys, the population of changes (population.csv), a
// readable report (report.html), the verification steps (VERIFY.md), and a
// signed manifest of every file (manifest.json). A bundle verifies offline,
// with changeproof or with openssl alone. The format is documented in
// docs/bundle.md.
package bundle

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

// Files of a bundle besides the store's own keys.
const (
	ManifestFile   = "manifest.json"
	PopulationFile = "population.csv"
	ReportFile     = "report.html"
	VerifyFile     = "VERIFY.md"
)

// ReportFunc renders report.html from the bundle's store view (the files
// the bundle holds under evidence/, raw/, runs/ and keys/), verified with
// v and chains entering through boundary (key → sha256, as in the
// manifest), for the period, as of now.
type ReportFunc func(ctx context.Context, view storage.Store, v *evidence.Verifier, boundary map[string]string, period schedules.Window, now time.Time) ([]byte, error)

// Options say what goes into a bundle.
type Options struct {
	// Store is the store the bundle is taken from.
	Store storage.Store
	// Signer signs the manifest; its public key must be one the evidence
	// verifies with (it is the evidence key).
	Signer *evidence.Signer
	// Period is the half-open interval: every envelope and run record
	// whose window overlaps it goes in.
	Period schedules.Window
	// Control, when set, keeps only evidence mapped to that control id,
	// and the run records of the jobs whose evidence is.
	Control  string
	Now      time.Time
	Producer evidence.Producer
	// Report renders report.html; required.
	Report ReportFunc
}

// Contents counts what a bundle holds.
type Contents struct {
	Envelopes  int `json:"envelopes"`
	RawFacts   int `json:"rawFacts"`
	RunRecords int `json:"runRecords"`
	Keys       int `json:"keys"`
	Changes    int `json:"changes"`
	Files      int `json:"files"`
}

// Build writes a bundle to w as a zip file. Evidence that does not verify
// is included as it is stored (the bundle shows the store as it is; Verify
// reports the problem); an error means the store could not be read or the
// bundle written.
func Build(ctx context.Context, w io.Writer, o Options) (*Contents, error) {
	if o.Signer == nil || o.Report == nil || o.Store == nil {
		return nil, errors.New("bundle: a store, a signer and a report renderer are required")
	}
	if err := o.Period.Validate(); err != nil {
		return nil, fmt.Errorf("bundle period: %w", err)
	}
	pub, err := o.Signer.PublicKeyPEM()
	if err != nil {
		return nil, err
	}
	pk, err := evidence.ParsePublicKey(pub)
	if err != nil {
		return nil, err
	}
	v, err := evidence.NewVerifier(pk)
	if err != nil {
		return nil, err
	}
	sel, err := selectFiles(ctx, o)
	if err != nil {
		return nil, err
	}
	storeProblems, err := storeProblems(ctx, o.Store, v, sel)
	if err != nil {
		return nil, err
	}
	files := sel.files
	view := &memStore{files: files, url: o.Store.Describe().URL}

	var srcs []source
	for _, key := range sel.envelopes {
		if ver, err := v.Verify(ctx, files[key]); err == nil {
			srcs = append(srcs, source{key: key, st: &ver.Statement})
		}
	}
	pop := Population(srcs)
	csvData, err := PopulationCSV(pop)
	if err != nil {
		return nil, fmt.Errorf("population.csv: %w", err)
	}
	boundary := map[string]string{}
	for _, b := range sel.boundaries {
		boundary[b.Key] = b.SHA256
	}
	html, err := o.Report(ctx, view, v, boundary, o.Period, o.Now)
	if err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	verifyMD, err := VerifyInstructions(o.Signer.KeyID(), sel.envelopes, files)
	if err != nil {
		return nil, err
	}
	all := maps.Clone(files)
	all[PopulationFile] = csvData
	all[ReportFile] = html
	all[VerifyFile] = verifyMD

	names := slices.Sorted(maps.Keys(all))
	st := &evidence.BundleStatement{Type: evidence.StatementType, PredicateType: evidence.BundlePredicateType,
		Predicate: evidence.BundleManifest{Period: o.Period, Control: o.Control, Store: o.Store.Describe().URL,
			CreatedAt: o.Now.UTC(), Boundaries: sel.boundaries, StoreProblems: storeProblems, Producer: o.Producer}}
	for _, n := range names {
		st.Subject = append(st.Subject, evidence.Subject{Name: n, Digest: map[string]string{"sha256": evidence.Digest(all[n])}})
	}
	manifest, err := o.Signer.SignBundle(ctx, st)
	if err != nil {
		return nil, err
	}
	zw := zip.NewWriter(w)
	for _, n := range append(names, ManifestFile) {
		data := all[n]
		if n == ManifestFile {
			data = manifest
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: o.Now.UTC()})
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", n, err)
		}
		if _, err := fw.Write(data); err != nil {
			return nil, fmt.Errorf("writing %s: %w", n, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("writing the bundle: %w", err)
	}
	c := &Contents{Envelopes: len(sel.envelopes), RunRecords: sel.runs, Changes: len(pop), Files: len(names) + 1}
	for n := range files {
		switch {
		case strings.HasPrefix(n, ledger.RawPrefix):
			c.RawFacts++
		case strings.HasPrefix(n, ledger.KeysPrefix):
			c.Keys++
		}
	}
	return c, nil
}

// storeProblems verifies the whole store, as `changeproof verify` does, and
// returns the problems on the bundle's files and boundaries: a deletion
// just before the period must not vanish from the bundle.
func storeProblems(ctx context.Context, st storage.Store, v *evidence.Verifier, sel *selection) ([]evidence.BundleProblem, error) {
	rep, err := ledger.Verify(ctx, st, v, ledger.VerifyOptions{})
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", st.Describe().URL, err)
	}
	problems := rep.Problems
	if tc, ok := st.(storage.TamperChecker); ok {
		found, err := tc.Tampering(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("checking %s for hidden or replaced objects: %w", st.Describe().URL, err)
		}
		for _, f := range found {
			problems = append(problems, ledger.Problem{Key: f.Key, Reason: f.Reason})
		}
	}
	relevant := map[string]bool{}
	for k := range sel.files {
		relevant[k] = true
	}
	for _, b := range sel.boundaries {
		relevant[b.Key] = true
	}
	out := []evidence.BundleProblem{}
	for _, p := range problems {
		if relevant[p.Key] {
			out = append(out, evidence.BundleProblem{Key: p.Key, Reason: p.Reason})
		}
	}
	return out, nil
}

// selection is what a period of a store puts in a bundle.
type selection struct {
	files      map[string][]byte
	envelopes  []string // keys, ascending
	runs       int
	boundaries []evidence.BundleBoundary
}

// chainLink is what selection needs of an envelope or run record.
type chainLink struct {
	window   schedules.Window
	previous evidence.Previous
	job      string
	controls []string
	// raw is the raw facts key an envelope's subject names.
	raw string
	// digest is the sha256 of the stored object.
	digest string
}

func selectFiles(ctx context.Context, o Options) (*selection, error) {
	sel := &selection{files: map[string][]byte{}, boundaries: []evidence.BundleBoundary{}}
	overlaps := func(w schedules.Window) bool {
		return w.Start.Before(o.Period.End) && w.End.After(o.Period.Start)
	}
	// Every envelope is read, in or out of the period, to learn which
	// controls each job's evidence maps to, and what each object is, for
	// the boundaries.
	jobControls := map[string]map[string]bool{}
	links := map[string]chainLink{}
	var prevs []evidence.Previous
	err := each(ctx, o.Store, ledger.EvidencePrefix, func(key string, data []byte) error {
		l, ok := decodeEvidence(data)
		if !ok {
			// Unreadable as a statement: it cannot be placed in a period.
			// Verification of the store reports it.
			return nil
		}
		l.digest = evidence.Digest(data)
		links[key] = l
		if l.job != "" {
			if jobControls[l.job] == nil {
				jobControls[l.job] = map[string]bool{}
			}
			for _, c := range l.controls {
				jobControls[l.job][c] = true
			}
		}
		if !overlaps(l.window) || (o.Control != "" && !slices.Contains(l.controls, o.Control)) {
			return nil
		}
		sel.files[key] = data
		sel.envelopes = append(sel.envelopes, key)
		prevs = append(prevs, l.previous)
		if l.raw == "" {
			return nil
		}
		if _, have := sel.files[l.raw]; have {
			return nil
		}
		switch b, err := o.Store.Get(ctx, l.raw); {
		case err == nil:
			sel.files[l.raw] = b
		case !errors.Is(err, storage.ErrNotExist):
			return fmt.Errorf("reading %s: %w", l.raw, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var runPrevs []evidence.Previous
	err = each(ctx, o.Store, ledger.RunsPrefix, func(key string, data []byte) error {
		l, ok := decodeRun(data)
		if !ok {
			return nil
		}
		l.digest = evidence.Digest(data)
		links[key] = l
		if !overlaps(l.window) || (o.Control != "" && !jobControls[l.job][o.Control]) {
			return nil
		}
		sel.files[key] = data
		sel.runs++
		runPrevs = append(runPrevs, l.previous)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, o.Store, ledger.KeysPrefix, func(key string, data []byte) error {
		sel.files[key] = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The links named from inside the bundle to objects outside it.
	seen := map[string]bool{}
	for _, p := range append(prevs, runPrevs...) {
		if p.First || p.Key == "" || seen[p.Key] {
			continue
		}
		if _, in := sel.files[p.Key]; in {
			continue
		}
		seen[p.Key] = true
		// Only a predecessor the store holds, unmodified, is a boundary.
		// Otherwise the link stays broken in the bundle too, and the
		// store's verification (in the manifest) says what happened.
		l, held := links[p.Key]
		if !held || l.digest != p.SHA256 {
			continue
		}
		sel.boundaries = append(sel.boundaries, evidence.BundleBoundary{Key: p.Key, SHA256: p.SHA256, Window: l.window, Controls: l.controls})
	}
	slices.SortFunc(sel.boundaries, func(a, b evidence.BundleBoundary) int { return strings.Compare(a.Key, b.Key) })
	return sel, nil
}

// each calls fn with every object under prefix and its content, in key
// order; it stops at the first error.
func each(ctx context.Context, st storage.Store, prefix string, fn func(key string, data []byte) error) error {
	for obj, err := range st.List(ctx, prefix) {
		if err != nil {
			return fmt.Errorf("listing %s: %w", prefix, err)
		}
		data, err := st.Get(ctx, obj.Key)
		if err != nil {
			return fmt.Errorf("reading %s: %w", obj.Key, err)
		}
		if err := fn(obj.Key, data); err != nil {
			return err
		}
	}
	return nil
}

// decodeEvidence reads what selection needs of an envelope WITHOUT
// checking its signature: only to decide what goes into the bundle.
func decodeEvidence(data []byte) (chainLink, bool) {
	st, err := evidence.Decode(data)
	if err != nil || st.Predicate.Window.Validate() != nil {
		return chainLink{}, false
	}
	p := st.Predicate
	l := chainLink{window: p.Window, previous: p.Previous, job: p.Job}
	if len(st.Subject) == 1 && strings.HasPrefix(st.Subject[0].Name, ledger.RawPrefix) {
		l.raw = st.Subject[0].Name
	}
	for _, c := range p.Controls {
		l.controls = append(l.controls, c.ID)
	}
	return l, true
}

// decodeRun reads what selection needs of a run record, unverified.
func decodeRun(data []byte) (chainLink, bool) {
	var env dsse.Envelope
	if json.Unmarshal(data, &env) != nil {
		return chainLink{}, false
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return chainLink{}, false
	}
	var st evidence.RunStatement
	if json.Unmarshal(payload, &st) != nil || st.Predicate.Window.Validate() != nil {
		return chainLink{}, false
	}
	return chainLink{window: st.Predicate.Window, previous: st.Predicate.Previous, job: st.Predicate.Job}, true
}

// memStore is a read-only store over files in memory: the bundle's view of
// the store while the bundle is made.
type memStore struct {
	files map[string][]byte
	url   string
}

func (m *memStore) Put(context.Context, string, []byte) error {
	return errors.New("a bundle's view of a store is read-only")
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, error) {
	if b, ok := m.files[key]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
}

func (m *memStore) Stat(_ context.Context, key string) (storage.ObjectInfo, error) {
	if b, ok := m.files[key]; ok {
		return storage.ObjectInfo{Key: key, Size: int64(len(b))}, nil
	}
	return storage.ObjectInfo{}, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
}

func (m *memStore) List(_ context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		for _, k := range slices.Sorted(maps.Keys(m.files)) {
			if strings.HasPrefix(k, prefix) && !yield(storage.ObjectInfo{Key: k, Size: int64(len(m.files[k]))}, nil) {
				return
			}
		}
	}
}

func (m *memStore) Describe() storage.Description {
	return storage.Description{URL: m.url, Protection: "a bundle being made"}
}
