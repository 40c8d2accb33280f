// Package oscal exports the verified evidence of one period of a store as an
// OSCAL 1.1 assessment-results document (docs/oscal.md): one observation per
// evidence envelope, one finding per control, satisfied only when the
// control has verified evidence in the period and all of it passes.
//
// Only evidence that verifies with the trusted keys is reported as evidence.
// Everything ledger.Verify finds wrong (signature, digests, raw facts,
// chains, run windows) and every run that did not collect its window becomes
// an observation saying so, and makes the controls it concerns
// not-satisfied: "could not check" is never "satisfied".
package oscal

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

const (
	// OSCALVersion is the OSCAL release the documents conform to.
	OSCALVersion = "1.1.3"
	// NS qualifies changeproof's own property names.
	NS = "https://changeproof.dev/ns/oscal"
)

var (
	// namespace is the UUIDv5 namespace of every uuid changeproof writes.
	namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://changeproof.dev/oscal"))
	// assessmentPlanUUID names the back-matter resource that says there
	// is no separate assessment plan.
	assessmentPlanUUID = id("assessment-plan")
	// ImportAPHref is import-ap's href: a fragment naming that resource.
	ImportAPHref = "#" + assessmentPlanUUID
)

func id(parts ...string) string {
	return uuid.NewSHA1(namespace, []byte(strings.Join(parts, "\x00"))).String()
}

// Options say what to export.
type Options struct {
	// Period is the assessment period [start, end): evidence whose window
	// overlaps it is reported.
	Period schedules.Window
	// Now is when the document is written (metadata.last-modified).
	Now time.Time
	// Version is the changeproof build (metadata.version).
	Version string
	// Store names the store (without credentials) in the document.
	Store string
	// Controls, when set, limits the export to these control ids (as the
	// evidence names them, e.g. CC8.1); each is reported even without
	// evidence (then not-satisfied).
	Controls []evidence.Control
	// Expected are controls that must have evidence in the period (the
	// controls of a config's jobs): reported, not-satisfied, when none.
	// Ignored when Controls is set.
	Expected []evidence.Control
	// ControlsOf gives the controls of a job's or collector's evidence,
	// for what cannot be read from verified evidence (run records, and
	// envelopes that do not verify, whose claims are not trusted). job is
	// empty for ad hoc evidence. Nil, or no controls: the problem counts
	// against every control of the document.
	ControlsOf func(job, collector string) []evidence.Control
	// Gaps gives, by control id, each stretch of the period in which a job
	// supporting the control was expected to collect and no verified
	// evidence covers (from internal/coverage): such a control is not
	// satisfied, whatever the evidence that exists says.
	Gaps map[string][]string
}

// problem is something that keeps evidence from counting: it becomes an
// observation of type finding against the controls it concerns (all of
// them when all is set).
type problem struct {
	key      string
	what     string // "evidence envelope", "run record", "object"
	title    string
	reasons  []string
	at       time.Time // when it was collected or finished, if known
	controls []evidence.Control
	all      bool
	digest   string
	runEvs   []evidence.RunEvidence
}

// verified is one verified envelope in the period.
type verified struct {
	key    string
	digest string
	v      *evidence.Verified
}

// Export verifies the store and builds the document for the period. It
// fails only when the store cannot be read or there is nothing to report
// (no evidence in the period and no control asked for).
func Export(ctx context.Context, st storage.Store, v *evidence.Verifier, opts Options) (*Document, error) {
	if err := opts.Period.Validate(); err != nil {
		return nil, fmt.Errorf("period: %w", err)
	}
	rep, err := ledger.Verify(ctx, st, v, ledger.VerifyOptions{})
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", opts.Store, err)
	}
	reasons := map[string][]string{}
	for _, p := range rep.Problems {
		if p.Key == ledger.EvidencePrefix && rep.Envelopes == 0 {
			continue // an empty store: the controls then have no evidence
		}
		reasons[p.Key] = append(reasons[p.Key], p.Reason)
	}
	if tc, ok := st.(storage.TamperChecker); ok {
		found, err := tc.Tampering(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("checking %s for hidden or replaced objects: %w", opts.Store, err)
		}
		for _, f := range found {
			reasons[f.Key] = append(reasons[f.Key], f.Reason)
		}
	}
	e := &exporter{opts: opts, st: st, v: v, reasons: reasons}
	if err := e.gather(ctx); err != nil {
		return nil, err
	}
	return e.document()
}

type exporter struct {
	opts     Options
	st       storage.Store
	v        *evidence.Verifier
	reasons  map[string][]string
	evidence []verified
	problems []problem
}

// gather reads every stored object verification looked at, and every key
// a problem names, sorting them into verified evidence and problems.
func (e *exporter) gather(ctx context.Context) error {
	keys := map[string]bool{}
	for _, prefix := range []string{ledger.EvidencePrefix, ledger.RunsPrefix} {
		for obj, err := range e.st.List(ctx, prefix) {
			if err != nil {
				return fmt.Errorf("listing %s: %w", e.opts.Store, err)
			}
			keys[obj.Key] = true
		}
	}
	for k := range e.reasons {
		keys[k] = true
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch {
		case strings.HasPrefix(key, ledger.RunsPrefix):
			err = e.run(ctx, key)
		case strings.HasPrefix(key, ledger.EvidencePrefix):
			err = e.envelope(ctx, key)
		default:
			if len(e.reasons[key]) > 0 {
				e.problems = append(e.problems, problem{key: key, what: "object", title: "Stored object " + key + " does not verify",
					reasons: e.reasons[key], all: true})
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// get reads an object; a missing or unreadable object is a reason, not an
// error (verification has already said what is wrong with it).
func (e *exporter) get(ctx context.Context, key string) ([]byte, string) {
	data, err := e.st.Get(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return nil, "not in the store"
	case err != nil:
		return nil, fmt.Sprintf("unreadable: %v", err)
	}
	return data, ""
}

func (e *exporter) envelope(ctx context.Context, key string) error {
	pk, perr := ledger.ParseEvidenceKey(key)
	reasons := slices.Clone(e.reasons[key])
	data, why := e.get(ctx, key)
	if why != "" && len(reasons) == 0 {
		reasons = append(reasons, why)
	}
	if len(reasons) == 0 {
		if perr != nil {
			reasons = append(reasons, perr.Error())
		} else if d := evidence.Digest(data); d != pk.Digest {
			// Changed since ledger.Verify read it.
			reasons = append(reasons, fmt.Sprintf("content was modified after it was written: its sha256 is %s, its name says %s", d, pk.Digest))
		} else if ver, err := e.v.Verify(ctx, data); err != nil {
			reasons = append(reasons, err.Error())
		} else {
			if overlaps(ver.Statement.Predicate.Window, e.opts.Period) {
				e.evidence = append(e.evidence, verified{key: key, digest: d, v: ver})
			}
			return nil
		}
	}
	// It does not verify: what it claims is not trusted, so it counts
	// against the controls it claims and those its collector's evidence
	// supports, and is left out only when both its claimed window and its
	// name's time fall outside the period.
	p := problem{key: key, what: "evidence envelope", title: "Evidence " + key + " does not verify", reasons: reasons}
	var claimed *evidence.Statement
	if data != nil {
		claimed, _ = evidence.Decode(data)
	}
	inPeriod := perr != nil
	if perr == nil {
		p.at = pk.CollectedAt
		p.controls = e.controlsOf("", pk.Collector)
		inPeriod = e.opts.Period.Contains(pk.CollectedAt)
	}
	if claimed != nil {
		cp := claimed.Predicate
		p.controls = append(p.controls, cp.Controls...)
		p.controls = append(p.controls, e.controlsOf(cp.Job, cp.Collector.Name)...)
		inPeriod = inPeriod || overlaps(cp.Window, e.opts.Period)
	}
	if data != nil {
		p.digest = evidence.Digest(data)
	}
	p.all = len(p.controls) == 0
	if inPeriod {
		e.problems = append(e.problems, p)
	}
	return nil
}

func (e *exporter) run(ctx context.Context, key string) error {
	pk, perr := ledger.ParseRunKey(key)
	reasons := slices.Clone(e.reasons[key])
	data, why := e.get(ctx, key)
	if why != "" && len(reasons) == 0 {
		reasons = append(reasons, why)
	}
	var rec *evidence.RunRecord
	trusted := false
	if data != nil {
		if ver, err := e.v.VerifyRun(ctx, data); err == nil && perr == nil && evidence.Digest(data) == pk.Digest {
			rec, trusted = &ver.Statement.Predicate, true
		} else {
			if len(reasons) == 0 {
				switch {
				case perr != nil:
					reasons = append(reasons, perr.Error())
				case err != nil:
					reasons = append(reasons, err.Error())
				default:
					reasons = append(reasons, "content was modified after it was written")
				}
			}
			rec = decodeRun(data) // untrusted: only to place the problem
		}
	}
	if trusted && len(reasons) == 0 && rec.Status == evidence.RunSuccess {
		return nil // its evidence speaks for itself
	}
	p := problem{key: key, what: "run record"}
	if data != nil {
		p.digest = evidence.Digest(data)
	}
	inPeriod := perr != nil
	if perr == nil {
		p.at = pk.FinishedAt
		inPeriod = e.opts.Period.Contains(pk.FinishedAt)
	}
	if rec != nil {
		p.controls = e.controlsOf(rec.Job, rec.Collector.Name)
		inPeriod = inPeriod || overlaps(rec.Window, e.opts.Period)
	}
	switch {
	case trusted && len(reasons) == 0:
		// A verified run that did not collect its window.
		p.title = fmt.Sprintf("Job %s: window %s %s", rec.Job, rec.Window, rec.Status)
		p.reasons = []string{fmt.Sprintf("run of job %s (%s) for the window %s: %s: %s", rec.Job, rec.Collector.Name, rec.Window, rec.Status, rec.Error)}
		p.runEvs = rec.Evidence
	case trusted:
		p.title = "Run record " + key + " of job " + rec.Job + " has problems"
		p.reasons = reasons
	default:
		p.title = "Run record " + key + " does not verify"
		p.reasons = reasons
	}
	p.all = len(p.controls) == 0
	if inPeriod {
		e.problems = append(e.problems, p)
	}
	return nil
}

// decodeRun reads a run record WITHOUT checking its signature.
func decodeRun(envelope []byte) *evidence.RunRecord {
	var env dsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil
	}
	var st evidence.RunStatement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil
	}
	return &st.Predicate
}

func (e *exporter) controlsOf(job, collector string) []evidence.Control {
	if e.opts.ControlsOf == nil || collector == "" {
		return nil
	}
	return e.opts.ControlsOf(job, collector)
}

// overlaps reports whether two half-open windows share a moment.
func overlaps(w, period schedules.Window) bool {
	return w.Start.Before(period.End) && w.End.After(period.Start)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// controlSet keeps controls by id in first-seen order, with the first
// framework and title seen.
type controlSet struct {
	order []string
	byID  map[string]evidence.Control
}

func (s *controlSet) add(cs ...evidence.Control) {
	if s.byID == nil {
		s.byID = map[string]evidence.Control{}
	}
	for _, c := range cs {
		if _, ok := s.byID[c.ID]; !ok {
			s.byID[c.ID] = c
			s.order = append(s.order, c.ID)
		}
	}
}

func (s *controlSet) has(id string) bool { _, ok := s.byID[id]; return ok }

// sorted lists the controls by framework, then id.
func (s *controlSet) sorted() []evidence.Control {
	out := make([]evidence.Control, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.byID[id])
	}
	slices.SortFunc(out, func(a, b evidence.Control) int {
		return cmp.Or(cmp.Compare(a.Framework, b.Framework), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// ControlID is the OSCAL control-id of a control: its id in lower case
// (CC8.1 → cc8.1, A.8.32 → a.8.32), as NIST's catalogs write theirs
// (ac-2.1); the id as the evidence gives it is kept in a property.
func ControlID(id string) string { return strings.ToLower(id) }

// tally is what one control's evidence in the period adds up to.
type tally struct {
	counts   map[evidence.Status]int
	obs      []string
	problems []string
}

func (e *exporter) document() (*Document, error) {
	filter := &controlSet{}
	filter.add(e.opts.Controls...)
	wanted := func(c evidence.Control) bool { return len(filter.order) == 0 || filter.has(c.ID) }

	all := &controlSet{}
	all.add(e.opts.Controls...)
	if len(e.opts.Controls) == 0 {
		all.add(e.opts.Expected...)
	}
	slices.SortFunc(e.evidence, func(a, b verified) int { return strings.Compare(a.key, b.key) })
	var kept []verified
	for _, ev := range e.evidence {
		cs := slices.DeleteFunc(slices.Clone(ev.v.Statement.Predicate.Controls), func(c evidence.Control) bool { return !wanted(c) })
		if len(cs) == 0 {
			continue
		}
		all.add(cs...)
		kept = append(kept, ev)
	}
	for _, p := range e.problems {
		for _, c := range p.controls {
			if wanted(c) {
				all.add(c)
			}
		}
	}
	if len(all.order) == 0 {
		if len(e.problems) > 0 {
			return nil, fmt.Errorf("%s: no verified evidence in %s and %d problem(s) that name no control: name the controls with --control or --config to report them as not satisfied", e.opts.Store, e.opts.Period, len(e.problems))
		}
		return nil, fmt.Errorf("%s holds no evidence for %s: nothing to report (name the controls with --control or --config to report them as not satisfied)", e.opts.Store, e.opts.Period)
	}
	docID := id("assessment-results", e.opts.Store, ts(e.opts.Period.Start), ts(e.opts.Period.End), strings.Join(filter.order, ","))
	resultID := id("result", docID)

	tallies := map[string]*tally{}
	for _, c := range all.order {
		tallies[c] = &tally{counts: map[evidence.Status]int{}}
	}
	var observations []Observation
	back := newBackMatter()
	for _, ev := range kept {
		o := e.observation(ev, back)
		observations = append(observations, o)
		for _, c := range ev.v.Statement.Predicate.Controls {
			if t := tallies[c.ID]; t != nil && wanted(c) {
				t.counts[ev.v.Statement.Predicate.Status]++
				t.obs = append(t.obs, o.UUID)
			}
		}
	}
	for _, p := range e.problems {
		o := problemObservation(p)
		attached := false
		targets := all.order
		if !p.all {
			targets = nil
			for _, c := range p.controls {
				targets = append(targets, c.ID)
			}
		}
		for _, c := range targets {
			t := tallies[c]
			if t == nil || slices.Contains(t.obs, o.UUID) {
				continue
			}
			t.obs = append(t.obs, o.UUID)
			t.problems = append(t.problems, p.key+": "+strings.Join(p.reasons, "; "))
			attached = true
		}
		if attached {
			observations = append(observations, o)
		}
	}

	var findings []Finding
	bySelection := map[string][]SelectControl{}
	for _, c := range all.sorted() {
		if t := tallies[c.ID]; t != nil {
			t.problems = append(t.problems, e.opts.Gaps[c.ID]...)
		}
		findings = append(findings, finding(resultID, c, tallies[c.ID]))
		bySelection[c.Framework] = append(bySelection[c.Framework], SelectControl{ControlID: ControlID(c.ID)})
	}
	var selections []ControlSelection
	for _, fw := range slices.Sorted(maps.Keys(bySelection)) {
		selections = append(selections, ControlSelection{
			Description:     "Controls of framework " + fw + " that changeproof evidence in the period supports or was asked to report.",
			Props:           []Property{{Name: "framework", Value: fw, NS: NS}},
			IncludeControls: bySelection[fw],
		})
	}
	version := cmp.Or(strings.TrimSpace(e.opts.Version), "unknown")
	doc := &Document{AssessmentResults: AssessmentResults{
		UUID: docID,
		Metadata: Metadata{
			Title:        fmt.Sprintf("changeproof change-management evidence %s", e.opts.Period),
			LastModified: ts(e.opts.Now),
			Version:      version,
			OSCALVersion: OSCALVersion,
			Props: []Property{
				{Name: "generator", Value: "changeproof " + version, NS: NS},
				{Name: "store", Value: cmp.Or(e.opts.Store, "unknown"), NS: NS},
			},
		},
		ImportAP: ImportAP{
			Href:    ImportAPHref,
			Remarks: "changeproof has no separate assessment plan: its jobs, collectors and policies are the plan; see the back-matter resource.",
		},
		Results: []Result{{
			UUID:  resultID,
			Title: fmt.Sprintf("Change-management evidence %s", e.opts.Period),
			Description: fmt.Sprintf("Signed changeproof evidence in %s whose window overlaps %s, verified with the trusted public key(s): %d verified envelope(s) and %d problem(s).",
				cmp.Or(e.opts.Store, "the store"), e.opts.Period, len(kept), len(observations)-len(kept)),
			Start: ts(e.opts.Period.Start),
			End:   ts(e.opts.Period.End),
			ReviewedControls: ReviewedControls{
				ControlSelections: selections,
			},
			Observations: observations,
			Findings:     findings,
		}},
		BackMatter: back.done(),
	}}
	return doc, nil
}

// backMatter collects the resources: the assessment plan placeholder and
// the subjects (targets) observations name.
type backMatter struct {
	resources map[string]Resource
}

func newBackMatter() *backMatter {
	b := &backMatter{resources: map[string]Resource{}}
	b.resources[assessmentPlanUUID] = Resource{
		UUID:  assessmentPlanUUID,
		Title: "No separate assessment plan",
		Description: "The evidence was collected continuously by changeproof: its scheduled jobs (config file), " +
			"collectors and policies take the place of an assessment plan; each observation names the collector, policy scope and window of its evidence.",
	}
	return b
}

func (b *backMatter) subject(target string) SubjectReference {
	u := id("subject", target)
	b.resources[u] = Resource{UUID: u, Title: target, Props: []Property{{Name: "target", Value: target, NS: NS}}}
	return SubjectReference{SubjectUUID: u, Type: "resource", Title: target}
}

func (b *backMatter) done() *BackMatter {
	out := &BackMatter{}
	for _, k := range slices.Sorted(maps.Keys(b.resources)) {
		out.Resources = append(out.Resources, b.resources[k])
	}
	return out
}

func prop(name, value string) []Property {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	return []Property{{Name: name, Value: value, NS: NS}}
}

func (e *exporter) observation(ev verified, back *backMatter) Observation {
	p := ev.v.Statement.Predicate
	method := "TEST"
	if p.PointInTime {
		method = "EXAMINE" // settings as observed, not a history judged
	}
	types := []string{"control-objective"}
	if p.Status != evidence.StatusPass {
		types = append(types, "finding")
	}
	var props []Property
	props = append(props, prop("collector", p.Collector.Name+" "+p.Collector.Version)...)
	props = append(props, prop("job", p.Job)...)
	props = append(props, prop("scope", p.Scope)...)
	props = append(props, prop("status", string(p.Status))...)
	props = append(props, prop("window-start", ts(p.Window.Start))...)
	props = append(props, prop("window-end", ts(p.Window.End))...)
	for _, c := range p.Controls {
		props = append(props, prop("control", c.Framework+" "+c.ID)...)
	}
	var subjects []SubjectReference
	for _, t := range p.Targets {
		if strings.TrimSpace(t) != "" {
			subjects = append(subjects, back.subject(t))
		}
	}
	var desc strings.Builder
	fmt.Fprintf(&desc, "%s evidence for %s over %s: status %s (%d pass, %d fail, %d not_verifiable, %d error).",
		p.Collector.Name, p.Scope, p.Window, p.Status,
		p.Counts[evidence.StatusPass], p.Counts[evidence.StatusFail], p.Counts[evidence.StatusNotVerifiable], p.Counts[evidence.StatusError])
	if p.Reason != "" {
		fmt.Fprintf(&desc, " Reason: %s.", strings.TrimSuffix(p.Reason, "."))
	}
	var remarks []string
	for _, f := range p.Findings {
		if f.Status != evidence.StatusPass {
			remarks = append(remarks, fmt.Sprintf("%s: %s: %s", f.Target, f.Status, f.Summary))
		}
	}
	return Observation{
		UUID:        id("evidence", ev.digest),
		Title:       fmt.Sprintf("%s %s %s", p.Collector.Name, p.Scope, p.Window),
		Description: desc.String(),
		Props:       props,
		Methods:     []string{method},
		Types:       types,
		Subjects:    subjects,
		RelevantEvidence: []RelevantEvidence{{
			Href:        ev.key,
			Description: "Signed in-toto statement in a DSSE envelope (predicate " + evidence.PredicateType + "), verified with a trusted public key; the href is its key in the store.",
			Props: slices.Concat(
				prop("envelope-sha256", ev.digest),
				prop("raw-facts-sha256", ev.v.RawFactsSHA256),
				prop("key-id", ev.v.KeyID),
			),
			Links: []Link{{Href: ev.v.RawFactsName, Rel: "raw-facts", MediaType: evidence.RawFactsMediaType}},
		}},
		Collected: ts(p.CollectedAt),
		Remarks:   strings.Join(remarks, "\n"),
	}
}

func problemObservation(p problem) Observation {
	at := p.at
	var props []Property
	props = append(props, prop("problem", p.what)...)
	props = append(props, prop("sha256", p.digest)...)
	for _, c := range p.controls {
		props = append(props, prop("control", c.Framework+" "+c.ID)...)
	}
	var links []Link
	for _, ev := range p.runEvs {
		links = append(links, Link{Href: ev.Key, Rel: "evidence", Text: string(ev.Status)})
	}
	o := Observation{
		UUID:        id("problem", p.key, p.digest, strings.Join(p.reasons, "\n")),
		Title:       p.title,
		Description: "Unverifiable: " + strings.Join(p.reasons, "; "),
		Props:       props,
		Links:       links,
		Methods:     []string{"TEST"},
		Types:       []string{"finding"},
		RelevantEvidence: []RelevantEvidence{{
			Href:        p.key,
			Description: fmt.Sprintf("The %s in the store; it is not evidence for the period: %s", p.what, strings.Join(p.reasons, "; ")),
		}},
		Collected: ts(at),
	}
	if at.IsZero() {
		o.Collected = ts(time.Unix(0, 0))
		o.Remarks = "The time of this object is unknown (its key does not give one); collected is set to the Unix epoch."
	}
	return o
}

func finding(resultID string, c evidence.Control, t *tally) Finding {
	state, reason := "satisfied", "pass"
	var why []string
	total := 0
	for _, n := range t.counts {
		total += n
	}
	if total == 0 {
		why = append(why, "no verified evidence in the period")
	}
	for _, s := range []evidence.Status{evidence.StatusFail, evidence.StatusNotVerifiable, evidence.StatusError} {
		if n := t.counts[s]; n > 0 {
			why = append(why, fmt.Sprintf("%d evidence envelope(s) with status %s", n, s))
		}
	}
	why = append(why, t.problems...)
	if len(why) > 0 {
		state, reason = "not-satisfied", "other"
		if t.counts[evidence.StatusFail] > 0 {
			reason = "fail"
		}
	}
	var rel []RelatedObservation
	for _, o := range t.obs {
		rel = append(rel, RelatedObservation{ObservationUUID: o})
	}
	desc := fmt.Sprintf("%s %s over the period: %s from %d verified evidence envelope(s) (%d pass, %d fail, %d not_verifiable, %d error) and %d problem(s).",
		c.Framework, c.ID, state, total, t.counts[evidence.StatusPass], t.counts[evidence.StatusFail], t.counts[evidence.StatusNotVerifiable], t.counts[evidence.StatusError], len(t.problems))
	var props []Property
	props = append(props, prop("framework", c.Framework)...)
	props = append(props, prop("control", c.ID)...)
	return Finding{
		UUID:        id("finding", resultID, c.ID),
		Title:       strings.TrimSpace(c.ID + " " + firstSentence(c.Title)),
		Description: desc,
		Props:       props,
		Target: FindingTarget{
			Type:     "objective-id",
			TargetID: ControlID(c.ID),
			Title:    c.Title,
			Status:   ObjectiveStatus{State: state, Reason: reason},
		},
		RelatedObservations: rel,
		Remarks:             strings.Join(why, "\n"),
	}
}

func firstSentence(s string) string {
	if i := strings.Index(s, ":"); i > 0 && i < 60 {
		return s[:i]
	}
	return ""
}

// Marshal encodes a document as written: indented JSON, HTML characters
// unescaped, one trailing newline.
func Marshal(doc *Document) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding OSCAL: %w", err)
	}
	return buf.Bytes(), nil
}
