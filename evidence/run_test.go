package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/schedules"
)

const (
	digestA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// runStatement is a successful run with every field set, whose subject
// names its two envelopes.
func runStatement() *evidence.RunStatement {
	end := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	evs := []evidence.RunEvidence{
		{Key: "evidence/change-approval/github.com_acme/2026/11/23/20261123T000105.000000000Z-" + digestA + ".json", SHA256: digestA, Status: evidence.StatusPass},
		{Key: "evidence/branch-protection/github.com_acme/2026/11/23/20261123T000107.000000000Z-" + digestB + ".json", SHA256: digestB, Status: evidence.StatusFail},
	}
	return &evidence.RunStatement{
		Type:          evidence.StatementType,
		Subject:       evidence.RunSubject(evs),
		PredicateType: evidence.RunPredicateType,
		Predicate: evidence.RunRecord{
			Job:        "acme-nightly",
			Collector:  evidence.CollectorInfo{Name: "change-approval", Version: "1.2.0"},
			Schedule:   "0 0 * * *",
			TimeZone:   "Europe/Paris",
			Trigger:    evidence.TriggerSchedule,
			Window:     schedules.Window{Start: end.Add(-24 * time.Hour), End: end},
			StartedAt:  end.Add(time.Minute),
			FinishedAt: end.Add(time.Minute + 7*time.Second + 123456789),
			Status:     evidence.RunSuccess,
			Evidence:   evs,
			Config:     &evidence.RunConfig{Path: "/etc/changeproof/schedule.yaml", SHA256: digestB},
			Producer:   evidence.Producer{Name: "changeproof", Version: "test"},
			Previous:   evidence.Previous{Key: "runs/acme-nightly/2026/11/22/20261122T000107.000000000Z-" + digestA + ".json", SHA256: digestA},
		},
	}
}

func TestSignRunVerifyRunRoundTrip(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	st := runStatement()
	want := *st
	env, err := newSigner(t, priv).SignRun(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*st, want) {
		t.Error("SignRun modified the statement it was given")
	}
	got, err := newVerifier(t, pub).VerifyRun(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Statement, want) {
		t.Fatalf("verified statement differs from the signed one:\n got %+v\nwant %+v", got.Statement, want)
	}
	if got.KeyID != keyID(t, pub) {
		t.Errorf("KeyID = %s, want %s", got.KeyID, keyID(t, pub))
	}
	// The payload is the statement exactly as json.Marshal writes it.
	var e rawEnvelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	if payload := mustDecode(t, e.Payload); !bytes.Equal(payload, mustMarshal(t, &want)) {
		t.Fatalf("payload %s is not the marshalled statement", payload)
	}
	other, _ := newKey(t)
	if _, err := newVerifier(t, other).VerifyRun(ctx, env); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("run record verified with an untrusted key: %v", err)
	}
}

func TestRunRecordAPIStats(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	st := runStatement()
	st.Predicate.API = &evidence.RunAPI{Requests: 120, Retries: 3, RateLimitWaitSeconds: 61.5, NotModified: 40}
	env, err := newSigner(t, priv).SignRun(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newVerifier(t, pub).VerifyRun(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Statement.Predicate.API, st.Predicate.API) {
		t.Errorf("api = %+v, want %+v", got.Statement.Predicate.API, st.Predicate.API)
	}
	var e rawEnvelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	if p := string(mustDecode(t, e.Payload)); !strings.Contains(p, `"api":{"requests":120,"retries":3,"rateLimitWaitSeconds":61.5,"notModified":40}`) {
		t.Errorf("payload %s lacks the api object", p)
	}
	// A record without it (as written before) has no api key and verifies.
	st.Predicate.API = nil
	env, err = newSigner(t, priv).SignRun(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	if p := string(mustDecode(t, e.Payload)); strings.Contains(p, `"api"`) {
		t.Errorf("a record without api stats writes %s", p)
	}
	if _, err := newVerifier(t, pub).VerifyRun(ctx, env); err != nil {
		t.Fatal(err)
	}
}

// testClaim is the claim of runStatement's window taken over from a crashed
// run.
func testClaim() *evidence.RunClaim {
	const w = "claims/acme-nightly/20261122T000000.000000000Z_20261123T000000.000000000Z/"
	return &evidence.RunClaim{Key: w + "000001.json", TakenOverFrom: &evidence.ClaimTakeover{
		Key: w + "000000.json", Holder: "host-a/4242/0123456789abcdef", ExpiredAt: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC),
	}}
}

func TestRunRecordClaim(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	for _, c := range []*evidence.RunClaim{testClaim(), {Key: testClaim().Key}} {
		st := runStatement()
		st.Predicate.Claim = c
		env, err := newSigner(t, priv).SignRun(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		got, err := newVerifier(t, pub).VerifyRun(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Statement.Predicate.Claim, c) {
			t.Errorf("claim = %+v, want %+v", got.Statement.Predicate.Claim, c)
		}
		var e rawEnvelope
		if err := json.Unmarshal(env, &e); err != nil {
			t.Fatal(err)
		}
		p := string(mustDecode(t, e.Payload))
		if !strings.Contains(p, `"claim":{"key":"`+c.Key+`"`) {
			t.Errorf("payload %s lacks the claim", p)
		}
		if took := strings.Contains(p, `"takenOverFrom":{"key":"claims/acme-nightly/`); took != (c.TakenOverFrom != nil) {
			t.Errorf("payload %s: takenOverFrom written %v, want %v", p, took, c.TakenOverFrom != nil)
		}
	}
	// Records written before claims have no claim key and still verify.
	env, err := newSigner(t, priv).SignRun(ctx, runStatement())
	if err != nil {
		t.Fatal(err)
	}
	var e rawEnvelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	if p := string(mustDecode(t, e.Payload)); strings.Contains(p, `"claim"`) {
		t.Errorf("a record without a claim writes %s", p)
	}
}

func TestSignRunWritesEmptyListsForARunWithoutEvidence(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	st := runStatement()
	st.Subject, st.Predicate.Evidence = nil, nil
	st.Predicate.Status, st.Predicate.Error = evidence.RunError, "listing pull requests of acme/api: 502 Bad Gateway"
	env, err := newSigner(t, priv).SignRun(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newVerifier(t, pub).VerifyRun(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if got.Statement.Subject == nil || len(got.Statement.Subject) != 0 || got.Statement.Predicate.Evidence == nil || len(got.Statement.Predicate.Evidence) != 0 {
		t.Fatalf("subject %#v, evidence %#v: want empty lists", got.Statement.Subject, got.Statement.Predicate.Evidence)
	}
	if st.Subject != nil || st.Predicate.Evidence != nil {
		t.Error("SignRun modified the statement it was given")
	}
}

func TestVerifyRunRejectsTamperedPayload(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	env, err := newSigner(t, priv).SignRun(ctx, runStatement())
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, pub)
	start := bytes.Index(env, []byte(`"payload": "`)) + len(`"payload": "`)
	end := start + bytes.IndexByte(env[start:], '"')
	// Every payload byte changed to another base64 letter, keeping the
	// canonical layout, so only the signature can catch it.
	for i := start; i < end-2; i += 7 {
		m := bytes.Clone(env)
		if m[i] == 'A' {
			m[i] = 'B'
		} else {
			m[i] = 'A'
		}
		if _, err := v.VerifyRun(ctx, m); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Fatalf("payload byte %d changed: err = %v, want a signature failure", i-start, err)
		}
	}
	// Bytes outside the payload: the canonical check.
	for _, m := range [][]byte{
		bytes.Replace(env, []byte(`"payloadType"`), []byte(`"PayloadType"`), 1),
		bytes.Replace(env, []byte("\n  "), []byte("\n   "), 1),
		append(bytes.Clone(env), '\n'),
	} {
		if _, err := v.VerifyRun(ctx, m); err == nil {
			t.Fatalf("non-canonical envelope verified:\n%s", m)
		}
	}
}

func TestEvidenceAndRunRecordsAreNotInterchangeable(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	s, v := newSigner(t, priv), newVerifier(t, pub)
	ev, err := s.Sign(ctx, fullStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.SignRun(ctx, runStatement())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyRun(ctx, ev); err == nil || !strings.Contains(err.Error(), "predicate type") || !strings.Contains(err.Error(), evidence.PredicateType) {
		t.Errorf("evidence envelope accepted as a run record: %v", err)
	}
	if _, err := v.Verify(ctx, run); err == nil || !strings.Contains(err.Error(), "predicate type") || !strings.Contains(err.Error(), evidence.RunPredicateType) {
		t.Errorf("run record accepted as evidence: %v", err)
	}
	if _, err := v.Verify(ctx, ev); err != nil {
		t.Errorf("the evidence envelope itself: %v", err)
	}
}

// TestRunRecordsMustBeConsistent checks each rule twice: SignRun refuses to
// sign the record, and VerifyRun rejects it when signed by hand with a
// trusted key.
func TestRunRecordsMustBeConsistent(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	s, v, id := newSigner(t, priv), newVerifier(t, pub), keyID(t, pub)
	for _, tc := range []struct {
		name string
		mut  func(*evidence.RunStatement)
		want string
	}{
		{"subject digest differs", func(st *evidence.RunStatement) { st.Subject[1].Digest["sha256"] = digestA }, "subject 1"},
		{"subject in another order", func(st *evidence.RunStatement) { st.Subject[0], st.Subject[1] = st.Subject[1], st.Subject[0] }, "subject 0"},
		{"subject names more", func(st *evidence.RunStatement) { st.Subject = append(st.Subject, st.Subject[0]) }, "subject names 3"},
		{"evidence lists more", func(st *evidence.RunStatement) {
			st.Predicate.Evidence = append(st.Predicate.Evidence, evidence.RunEvidence{Key: "evidence/x", SHA256: digestA, Status: evidence.StatusPass})
		}, "lists 3"},
		{"subject with a media type", func(st *evidence.RunStatement) { st.Subject[0].MediaType = "application/json" }, "subject 0"},
		{"error without text", func(st *evidence.RunStatement) { st.Predicate.Status = evidence.RunError }, "does not say why"},
		{"missed without text", func(st *evidence.RunStatement) {
			st.Predicate.Status, st.Subject, st.Predicate.Evidence = evidence.RunMissed, []evidence.Subject{}, []evidence.RunEvidence{}
		}, "does not say why"},
		{"success with error text", func(st *evidence.RunStatement) { st.Predicate.Error = "boom" }, "success"},
		{"unknown status", func(st *evidence.RunStatement) { st.Predicate.Status, st.Predicate.Error = "failed", "x" }, `"failed"`},
		{"unknown trigger", func(st *evidence.RunStatement) { st.Predicate.Trigger = "cron" }, `"cron"`},
		{"no job", func(st *evidence.RunStatement) { st.Predicate.Job = "" }, "job"},
		{"empty window", func(st *evidence.RunStatement) { st.Predicate.Window.Start = st.Predicate.Window.End }, "window"},
		{"finished before started", func(st *evidence.RunStatement) {
			st.Predicate.FinishedAt = st.Predicate.StartedAt.Add(-time.Nanosecond)
		}, "before"},
		{"no previous", func(st *evidence.RunStatement) { st.Predicate.Previous = evidence.Previous{} }, "previous"},
		{"success without evidence", func(st *evidence.RunStatement) {
			st.Subject, st.Predicate.Evidence = []evidence.Subject{}, []evidence.RunEvidence{}
		}, "evidence is empty"},
		{"success over error evidence", func(st *evidence.RunStatement) { st.Predicate.Evidence[0].Status = evidence.StatusError }, "has status error"},
		{"missed with evidence", func(st *evidence.RunStatement) {
			st.Predicate.Status, st.Predicate.Error = evidence.RunMissed, "6 windows due, catch-up limit 3"
		}, "missed"},
		{"evidence twice", func(st *evidence.RunStatement) {
			st.Predicate.Evidence[1] = st.Predicate.Evidence[0]
			st.Subject = evidence.RunSubject(st.Predicate.Evidence)
		}, "twice"},
		{"bad evidence digest", func(st *evidence.RunStatement) {
			st.Predicate.Evidence[0].SHA256 = "ABC"
			st.Subject = evidence.RunSubject(st.Predicate.Evidence)
		}, "ABC"},
		{"unknown evidence status", func(st *evidence.RunStatement) { st.Predicate.Evidence[0].Status = "ok" }, `"ok"`},
		{"config without digest", func(st *evidence.RunStatement) { st.Predicate.Config.SHA256 = "" }, "config"},
		{"negative api wait", func(st *evidence.RunStatement) {
			st.Predicate.API = &evidence.RunAPI{Requests: 3, RateLimitWaitSeconds: -1}
		}, "predicate.api"},
		{"more 304s than requests", func(st *evidence.RunStatement) {
			st.Predicate.API = &evidence.RunAPI{Requests: 3, NotModified: 4}
		}, "predicate.api"},
		{"more retries than requests", func(st *evidence.RunStatement) {
			st.Predicate.API = &evidence.RunAPI{Requests: 3, Retries: 4}
		}, "predicate.api"},
		{"claim of another job", func(st *evidence.RunStatement) {
			st.Predicate.Claim = &evidence.RunClaim{Key: "claims/other/20261122T000000.000000000Z_20261123T000000.000000000Z/000000.json"}
		}, "predicate.claim.key"},
		{"claim without a key", func(st *evidence.RunStatement) { st.Predicate.Claim = &evidence.RunClaim{} }, "predicate.claim.key"},
		{"takeover of itself", func(st *evidence.RunStatement) {
			c := testClaim()
			c.TakenOverFrom.Key = c.Key
			st.Predicate.Claim = c
		}, "takenOverFrom.key"},
		{"takeover without holder", func(st *evidence.RunStatement) {
			c := testClaim()
			c.TakenOverFrom.Holder = ""
			st.Predicate.Claim = c
		}, "takenOverFrom.holder"},
		{"takeover without expiry", func(st *evidence.RunStatement) {
			c := testClaim()
			c.TakenOverFrom.ExpiredAt = time.Time{}
			st.Predicate.Claim = c
		}, "takenOverFrom.expiredAt"},
	} {
		st := runStatement()
		tc.mut(st)
		if _, err := s.SignRun(ctx, st); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: SignRun err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
		env := handEnvelope(t, priv, id, evidence.PayloadType, mustMarshal(t, st))
		if _, err := v.VerifyRun(ctx, env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: VerifyRun err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	// The unchanged statement, signed by hand the same way, verifies: the
	// failures above are the rules', not the hand signing's.
	if _, err := v.VerifyRun(ctx, handEnvelope(t, priv, id, evidence.PayloadType, mustMarshal(t, runStatement()))); err != nil {
		t.Fatalf("hand-signed valid run record: %v", err)
	}
}

// TestVerifyRunRejectsNonCanonicalPayloads signs, with a trusted key, run
// statements whose payload is not what SignRun writes: JSON readers other
// than Go's may see them differently.
func TestVerifyRunRejectsNonCanonicalPayloads(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	v, id := newVerifier(t, pub), keyID(t, pub)
	canonical := mustMarshal(t, runStatement())
	indented, err := json.MarshalIndent(runStatement(), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		payload []byte
		want    string
	}{
		"unknown field":   {bytes.Replace(canonical, []byte(`"job":`), []byte(`"note":"x","job":`), 1), "unknown field"},
		"duplicated key":  {bytes.Replace(canonical, []byte(`"job":"acme-nightly"`), []byte(`"job":"other","job":"acme-nightly"`), 1), "canonical"},
		"re-cased key":    {bytes.Replace(canonical, []byte(`"trigger":`), []byte(`"Trigger":`), 1), "canonical"},
		"re-spaced":       {indented, "canonical"},
		"trailing data":   {append(bytes.Clone(canonical), ' '), "canonical"},
		"null subject":    {bytes.Replace(mustMarshal(t, missedStatement()), []byte(`"subject":[]`), []byte(`"subject":null`), 1), "must be lists"},
		"evidence absent": {bytes.Replace(mustMarshal(t, missedStatement()), []byte(`"evidence":[],`), nil, 1), "canonical"},
	} {
		if bytes.Equal(tc.payload, canonical) {
			t.Fatalf("%s: test setup did not change the payload", name)
		}
		_, err := v.VerifyRun(ctx, handEnvelope(t, priv, id, evidence.PayloadType, tc.payload))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

func missedStatement() *evidence.RunStatement {
	st := runStatement()
	st.Subject, st.Predicate.Evidence = []evidence.Subject{}, []evidence.RunEvidence{}
	st.Predicate.Status, st.Predicate.Error, st.Predicate.Trigger = evidence.RunMissed, "9 windows were due; catch-up collects at most 3", evidence.TriggerCatchUp
	return st
}

func TestRunStatuses(t *testing.T) {
	for _, s := range []evidence.RunStatus{evidence.RunSuccess, evidence.RunError, evidence.RunInterrupted, evidence.RunMissed} {
		if !s.Valid() {
			t.Errorf("%s is not valid", s)
		}
	}
	for _, s := range []evidence.RunStatus{"", "pass", "Success", "interrupt"} {
		if s.Valid() {
			t.Errorf("%q is valid", s)
		}
	}
}
