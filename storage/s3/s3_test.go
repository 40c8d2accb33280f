package s3store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/versitygw"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/storagetest"
)

// lockHeaders are the S3 Object Lock request headers.
var lockHeaders = []string{"X-Amz-Object-Lock-Mode", "X-Amz-Object-Lock-Retain-Until-Date", "X-Amz-Object-Lock-Legal-Hold"}

// b64sha256 is the base64 SHA-256 of data, as x-amz-checksum-sha256 holds it.
func b64sha256(data []byte) string {
	sum := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestContractLockedBucket(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "evidence-locked", true)
	// An object beside the store's prefix must never show through it.
	if _, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String("evidence-locked"), Key: aws.String("team/evidence-other/x"), Body: strings.NewReader("x"),
	}); err != nil {
		t.Fatal(err)
	}
	u := s3URL(srv, "evidence-locked", "team/evidence")
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return mustOpen(t, u, storage.Options{})
	})
	st := mustOpen(t, u, storage.Options{})
	for info, err := range st.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(info.Key, "storagetest/") {
			t.Errorf("List(\"\") of a store under team/evidence/ yields %q", info.Key)
		}
	}
}

func TestPutSendsChecksumConditionAndLock(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	now, clock := fixedClock()
	for _, tc := range []struct {
		name      string
		opts      storage.Options
		mode      string
		retention time.Duration
		legalHold string
	}{
		{"defaults", storage.Options{}, "COMPLIANCE", DefaultRetention, ""},
		{"governance, 30 days, legal hold", storage.Options{LockMode: "governance", Retention: 30 * 24 * time.Hour, LegalHold: true}, "GOVERNANCE", 30 * 24 * time.Hour, "ON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			opts := tc.opts
			opts.Now, opts.HTTPClient = clock, rec.client()
			st := mustOpen(t, s3URL(srv, "locked", "p/"+strings.ReplaceAll(tc.name, " ", "")), opts)
			data := []byte(`{"payloadType":"application/vnd.in-toto+json"}` + tc.name)
			if err := st.Put(t.Context(), "evidence/x.json", data); err != nil {
				t.Fatal(err)
			}
			puts := rec.requests(http.MethodPut, "/evidence/x.json")
			if len(puts) != 1 {
				t.Fatalf("saw %d PUT requests, want 1", len(puts))
			}
			h := puts[0].Header
			if !bytes.Equal(puts[0].Body, data) {
				t.Errorf("request body is %q, want the data itself (no aws-chunked framing)", puts[0].Body)
			}
			want := map[string]string{
				"If-None-Match":                       "*",
				"X-Amz-Checksum-Sha256":               b64sha256(data),
				"X-Amz-Sdk-Checksum-Algorithm":        "SHA256",
				"X-Amz-Object-Lock-Mode":              tc.mode,
				"X-Amz-Object-Lock-Legal-Hold":        tc.legalHold,
				"X-Amz-Object-Lock-Retain-Until-Date": "",
			}
			for name, v := range want {
				if name == "X-Amz-Object-Lock-Retain-Until-Date" {
					continue
				}
				if got := h.Get(name); got != v {
					t.Errorf("header %s = %q, want %q", name, got, v)
				}
			}
			until, err := time.Parse(time.RFC3339, h.Get("X-Amz-Object-Lock-Retain-Until-Date"))
			if err != nil {
				t.Fatalf("retain-until header %q: %v", h.Get("X-Amz-Object-Lock-Retain-Until-Date"), err)
			}
			if wantUntil := now.Add(tc.retention); !until.Equal(wantUntil) {
				t.Errorf("retain-until = %s, want fixed clock + retention = %s", until, wantUntil)
			}
			for _, other := range []string{"X-Amz-Checksum-Crc32", "X-Amz-Checksum-Crc32c", "X-Amz-Checksum-Crc64nvme", "X-Amz-Trailer"} {
				if v := h.Get(other); v != "" {
					t.Errorf("header %s = %q: the SDK computed a checksum of its own", other, v)
				}
			}
			// Read back what the server stored.
			c := srv.Client()
			ret, err := c.GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: aws.String("locked"), Key: aws.String(st.loc.Prefix + "evidence/x.json")})
			if err != nil {
				t.Fatal(err)
			}
			if string(ret.Retention.Mode) != tc.mode || !aws.ToTime(ret.Retention.RetainUntilDate).Equal(now.Add(tc.retention)) {
				t.Errorf("GetObjectRetention = %s until %s, want %s until %s", ret.Retention.Mode, aws.ToTime(ret.Retention.RetainUntilDate), tc.mode, now.Add(tc.retention))
			}
			head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String(st.loc.Prefix + "evidence/x.json"), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			if string(head.ObjectLockMode) != tc.mode || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(now.Add(tc.retention)) {
				t.Errorf("HeadObject lock = %s until %s, want %s until %s", head.ObjectLockMode, aws.ToTime(head.ObjectLockRetainUntilDate), tc.mode, now.Add(tc.retention))
			}
			if got := aws.ToString(head.ChecksumSHA256); got != b64sha256(data) {
				t.Errorf("stored checksum %q, want %q", got, b64sha256(data))
			}
			if wantHold := types.ObjectLockLegalHoldStatus(tc.legalHold); wantHold != "" && head.ObjectLockLegalHoldStatus != wantHold {
				t.Errorf("legal hold = %q, want %q", head.ObjectLockLegalHoldStatus, wantHold)
			}
			d := st.Describe()
			if !d.WORM || d.Lock == nil || d.Lock.Kind != storage.LockS3ObjectLock || d.Lock.Mode != tc.mode ||
				d.Lock.RetentionSeconds != int64(tc.retention/time.Second) || d.Lock.LegalHold != (tc.legalHold == "ON") {
				t.Errorf("Describe() = %+v lock %+v, want WORM with %s, %d s, legal hold %t", d, d.Lock, tc.mode, int64(tc.retention/time.Second), tc.legalHold == "ON")
			}
			if !strings.Contains(d.Protection, tc.mode) {
				t.Errorf("Describe().Protection = %q, does not name the mode", d.Protection)
			}
		})
	}
}

func TestLockedVersionSurvivesDeleteAndOverwrite(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	st := mustOpen(t, s3URL(srv, "locked", ""), storage.Options{})
	ctx := t.Context()
	original := []byte("signed envelope")
	if err := st.Put(ctx, "evidence/e.json", original); err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	key := aws.String("evidence/e.json")
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	version := head.VersionId
	if aws.ToString(version) == "" {
		t.Fatal("the locked bucket gave the object no version ID")
	}

	// Deleting the locked version is refused.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked"), Key: key, VersionId: version}); err == nil {
		t.Error("DeleteObject of the locked version succeeded")
	}
	// Even asking to bypass governance retention: the lock is COMPLIANCE.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked"), Key: key, VersionId: version, BypassGovernanceRetention: aws.Bool(true)}); err == nil {
		t.Error("DeleteObject of the locked COMPLIANCE version with governance bypass succeeded")
	}
	// Shortening the lock is refused.
	if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{
		Bucket: aws.String("locked"), Key: key, VersionId: version,
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour))},
	}); err == nil {
		t.Error("shortening the COMPLIANCE retention succeeded")
	}
	// Our Put refuses the taken key.
	if err := st.Put(ctx, "evidence/e.json", []byte("forged")); !errors.Is(err, storage.ErrExists) {
		t.Errorf("Put over a locked object = %v, want ErrExists", err)
	}
	// A plain PUT (no If-None-Match) by another client makes a new version
	// on a versioned bucket, and a plain DELETE a delete marker; neither
	// touches the locked version.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: key, Body: strings.NewReader("forged")}); err != nil {
		t.Logf("plain PUT over the locked object: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked"), Key: key}); err != nil {
		t.Logf("plain DELETE of the locked object: %v", err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("locked"), Key: key, VersionId: version})
	if err != nil {
		t.Fatalf("reading the locked version after the overwrite and delete: %v", err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, original) {
		t.Errorf("locked version now holds %q (%v), want %q", got, err, original)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked"), Key: key, VersionId: version}); err == nil {
		t.Error("DeleteObject of the locked version succeeded after the overwrite")
	}
}

func TestWrongChecksumRejected(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	ctx := t.Context()
	c := srv.Client()
	// The server checks the checksum header against the body.
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("locked"), Key: aws.String("raw/wrong"), Body: strings.NewReader("the data"),
		IfNoneMatch: aws.String("*"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256: aws.String(b64sha256([]byte("other data"))),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour)),
	})
	if errorCode(err) != "BadDigest" {
		t.Errorf("PUT with a wrong SHA-256 checksum: %v, want BadDigest", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String("raw/wrong")}); errorCode(err) != "NotFound" {
		t.Errorf("after the refused PUT, HeadObject = %v, want NotFound", err)
	}

	// Data damaged on the way to the server is refused, permanently.
	rec := &recorder{alter: func(req *http.Request, body []byte) (*http.Response, error) {
		if req.Method == http.MethodPut && len(body) > 0 {
			body[0] ^= 0xff
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		return nil, nil
	}}
	st := mustOpen(t, s3URL(srv, "locked", ""), storage.Options{HTTPClient: rec.client()})
	err = st.Put(ctx, "raw/damaged", []byte("the data"))
	if err == nil || errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrExists) {
		t.Errorf("Put of data damaged in transit = %v, want a permanent error", err)
	}
	t.Logf("Put of damaged data: %v", err)
	if _, err := st.Stat(ctx, "raw/damaged"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("after the refused Put, Stat = %v, want ErrNotExist", err)
	}
}

func TestGetRefusesDamagedContent(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	var damage bool
	var mu sync.Mutex
	rec := &recorder{after: func(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		// Damage object reads only, not the version listing before them.
		if err != nil || req.Method != http.MethodGet || req.URL.Query().Has("versions") || !damage {
			return resp, err
		}
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		if len(body) > 0 {
			body[len(body)-1] ^= 0x01
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}}
	st := mustOpen(t, s3URL(srv, "locked", ""), storage.Options{HTTPClient: rec.client(), MaxAttempts: 1})
	data := []byte("evidence that must not change")
	if err := st.Put(t.Context(), "e.json", data); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	damage = true
	mu.Unlock()
	got, err := st.Get(t.Context(), "e.json")
	if err == nil {
		t.Fatalf("Get of content damaged in transit returned %q and no error", got)
	}
	t.Logf("Get of damaged content: %v", err)
	gets := rec.requests(http.MethodGet, "/e.json")
	if len(gets) == 0 || gets[len(gets)-1].Header.Get("X-Amz-Checksum-Mode") != "ENABLED" {
		t.Errorf("Get did not ask for the stored checksum (x-amz-checksum-mode: ENABLED)")
	}
}

func TestListMoreThanOnePage(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	rec := &recorder{}
	st := mustOpen(t, s3URL(srv, "locked", "evidence"), storage.Options{HTTPClient: rec.client()})
	const n = 1050
	want := make([]string, n)
	for i := range n {
		// Varying widths so that byte order differs from number order.
		want[i] = fmt.Sprintf("many/%d/%x.json", i%7, i*7919)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan string)
	for range 16 {
		wg.Go(func() {
			for key := range next {
				if err := st.Put(t.Context(), key, []byte(key)); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, k := range want {
		next <- k
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(want)
	var got []string
	for info, err := range st.List(t.Context(), "many/") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != int64(len(info.Key)) {
			t.Errorf("%s: size %d, want %d", info.Key, info.Size, len(info.Key))
		}
		got = append(got, info.Key)
	}
	if !slices.Equal(got, want) {
		t.Errorf("List returned %d keys (sorted: %t), want all %d in order", len(got), slices.IsSorted(got), n)
	}
	// The bucket has Object Lock, so it is versioned: List reads versions.
	pages := 0
	for _, r := range rec.requests(http.MethodGet, "") {
		if strings.Contains(r.Query, "versions") {
			pages++
		}
	}
	if pages < 2 {
		t.Errorf("List made %d ListObjectVersions requests, want at least 2 pages", pages)
	}
}

func TestUnlockedBucket(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "plain", false)
	u := s3URL(srv, "plain", "evidence")

	rec := &recorder{}
	_, err := Open(t.Context(), u, storage.Options{HTTPClient: rec.client()})
	if err == nil {
		t.Fatal("Open of a bucket without Object Lock succeeded")
	}
	msg := err.Error()
	t.Logf("Open of an unlocked bucket: %v", msg)
	for _, want := range []string{`"plain"`, "Object Lock", "--allow-unlocked"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	for _, r := range rec.reqs {
		if r.Method != http.MethodGet || !strings.Contains(r.Query, "object-lock") {
			t.Errorf("the lock check sent %s %s?%s; it must only read the Object Lock configuration", r.Method, r.Path, r.Query)
		}
	}
	if len(rec.reqs) == 0 {
		t.Error("the lock check sent no request")
	}

	rec = &recorder{}
	var logged bytes.Buffer
	st := mustOpen(t, u, storage.Options{AllowUnlocked: true, HTTPClient: rec.client(), LegalHold: true,
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "NOT write-once") {
		t.Errorf("opening an unlocked bucket logged %q, want a warning", logged.String())
	}
	d := st.Describe()
	if d.WORM || d.Lock == nil || d.Lock.Kind != storage.LockNone || !strings.Contains(d.Protection, "NOT write-once") {
		t.Errorf("Describe() of an unlocked store = %+v, lock %+v; want WORM false, kind none, Protection saying NOT write-once", d, d.Lock)
	}
	if err := st.Put(t.Context(), "e.json", []byte("x")); err != nil {
		t.Fatalf("Put to an unlocked bucket with AllowUnlocked: %v", err)
	}
	if err := st.Put(t.Context(), "e.json", []byte("y")); !errors.Is(err, storage.ErrExists) {
		t.Errorf("second Put = %v, want ErrExists", err)
	}
	puts := rec.requests(http.MethodPut, "/e.json")
	if len(puts) != 2 {
		t.Fatalf("saw %d PUTs, want 2", len(puts))
	}
	for _, name := range lockHeaders {
		if v := puts[0].Header.Get(name); v != "" {
			t.Errorf("PUT to an unlocked bucket sent %s: %s", name, v)
		}
	}
	if puts[0].Header.Get("If-None-Match") != "*" || puts[0].Header.Get("X-Amz-Checksum-Sha256") != b64sha256([]byte("x")) {
		t.Errorf("PUT to an unlocked bucket lacks If-None-Match or the checksum: %v", puts[0].Header)
	}

	// Read-only (verification) opens it too, says it is not WORM, and
	// refuses to write.
	ro := mustOpen(t, u, storage.Options{ReadOnly: true})
	if d := ro.Describe(); d.WORM || d.Lock == nil || d.Lock.Kind != storage.LockNone {
		t.Errorf("read-only Describe() = %+v, want not WORM", d)
	}
	if got, err := ro.Get(t.Context(), "e.json"); err != nil || string(got) != "x" {
		t.Errorf("read-only Get = %q, %v", got, err)
	}
	if err := ro.Put(t.Context(), "f.json", []byte("x")); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("read-only Put = %v, want a refusal", err)
	}
}

func TestUnavailableServer(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	st := mustOpen(t, s3URL(srv, "locked", ""), storage.Options{MaxAttempts: 2})
	ctx := t.Context()
	if err := st.Put(ctx, "before.json", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	err := st.Put(ctx, "during.json", []byte("during"))
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Put to a stopped server = %v, want an error wrapping ErrUnavailable", err)
	}
	t.Logf("Put to a stopped server: %v", err)
	if errors.Is(err, storage.ErrExists) {
		t.Errorf("Put to a stopped server also wraps ErrExists: %v", err)
	}
	if _, err := st.Get(ctx, "before.json"); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Get from a stopped server = %v, want ErrUnavailable", err)
	}
	if _, err := st.Stat(ctx, "before.json"); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Stat on a stopped server = %v, want ErrUnavailable", err)
	}
	for _, err := range st.List(ctx, "") {
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("List on a stopped server yielded %v, want ErrUnavailable", err)
		}
		break
	}
	if _, err := Open(ctx, s3URL(srv, "locked", ""), storage.Options{MaxAttempts: 1}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Open with the server stopped = %v, want ErrUnavailable", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "during.json", []byte("during")); err != nil {
		t.Errorf("Put after the restart: %v", err)
	}
	if got, err := st.Get(ctx, "before.json"); err != nil || string(got) != "before" {
		t.Errorf("Get after the restart = %q, %v; want the object stored before the outage", got, err)
	}
}

func TestLostAnswerRetriedIsNotExists(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	var mu sync.Mutex
	dropped := 0
	rec := &recorder{after: func(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil && req.Method == http.MethodPut && dropped == 0 {
			dropped++
			resp.Body.Close()
			return nil, errors.New("connection reset by peer (answer lost by the test)")
		}
		return resp, err
	}}
	st := mustOpen(t, s3URL(srv, "locked", ""), storage.Options{HTTPClient: rec.client()})
	if err := st.Put(t.Context(), "e.json", []byte("stored by the first attempt")); err != nil {
		t.Errorf("Put whose first answer was lost = %v, want success (the retry found our own object)", err)
	}
	if puts := rec.requests(http.MethodPut, "/e.json"); len(puts) != 2 {
		t.Errorf("saw %d PUTs, want 2 (the first one's answer lost)", len(puts))
	}
	// A different object under the key is still refused.
	mu.Lock()
	dropped = 0
	mu.Unlock()
	if err := st.Put(t.Context(), "e.json", []byte("other content")); !errors.Is(err, storage.ErrExists) {
		t.Errorf("Put of other content, first answer lost = %v, want ErrExists", err)
	}
}

func TestDescribeHasNoCredentials(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	st := mustOpen(t, s3URL(srv, "locked", "evidence/"), storage.Options{})
	d := st.Describe()
	b, _ := json.Marshal(d)
	for _, secret := range []string{srv.SecretKey, srv.AccessKey} {
		if strings.Contains(string(b), secret) {
			t.Errorf("Describe() holds a credential: %s", b)
		}
	}
	wantURL := "s3://locked/evidence/?region=us-east-1&endpoint=" + srv.Endpoint
	if d.URL != wantURL {
		t.Errorf("Describe().URL = %q, want %q", d.URL, wantURL)
	}
	// Mutating a description must not change the store's.
	d.Lock.Mode = "changed"
	if st.Describe().Lock.Mode != "COMPLIANCE" {
		t.Error("Describe() returned the store's own LockInfo")
	}
}

// TestLedgerStoresPublicKeyOnce runs the ledger twice against S3: the
// public key is written once under keys/, the second run's create-only Put
// of it gets ErrExists, which the ledger accepts, and the evidence verifies.
func TestLedgerStoresPublicKeyOnce(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	rec := &recorder{}
	st := mustOpen(t, s3URL(srv, "locked", "org"), storage.Options{HTTPClient: rec.client()})
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := evidence.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for run := range 2 {
		// A new ledger per run, as a new process would have.
		l := &ledger.Ledger{Store: st, Signer: signer}
		at = at.Add(time.Hour)
		findings := []evidence.Finding{{Target: "acme/app", Status: evidence.StatusPass, Summary: "ok"}}
		_, err := l.Append(t.Context(), &evidence.Statement{Predicate: evidence.Predicate{
			Collector:   evidence.CollectorInfo{Name: "branch-protection", Version: "1.0.0"},
			Scope:       "acme/app",
			Targets:     []string{"acme/app"},
			Window:      schedules.Window{Start: at.Add(-24 * time.Hour), End: at},
			CollectedAt: at,
			Status:      evidence.StatusPass,
			Counts:      evidence.CountByStatus(findings),
			Findings:    findings,
			RawFacts:    json.RawMessage(fmt.Sprintf(`{"run":%d}`, run)),
		}})
		if err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
	}
	keyName := ledger.PublicKeyKey(signer.KeyID())
	var keys []string
	for info, err := range st.List(t.Context(), ledger.KeysPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if !slices.Equal(keys, []string{keyName}) {
		t.Errorf("keys/ holds %q, want only %q", keys, keyName)
	}
	if n := len(rec.requests(http.MethodPut, "/"+keyName)); n != 2 {
		t.Errorf("the public key was PUT %d times, want 2 (the second refused as existing)", n)
	}
	rep, err := ledger.Verify(t.Context(), st, verifier, ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Envelopes != 2 {
		t.Errorf("verification of the S3 store: %d envelopes, problems %v", rep.Envelopes, rep.Problems)
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts storage.Options
		want string
	}{
		{"s3://b-1/p?region=us-east-1&endpoint=http://127.0.0.1:9", storage.Options{LockMode: "strict"}, "want COMPLIANCE or GOVERNANCE"},
		{"s3://b-1/p?region=us-east-1&endpoint=http://127.0.0.1:9", storage.Options{Retention: -time.Hour}, "want at least one second"},
		{"s3://b-1/p?region=us-east-1&endpoint=http://127.0.0.1:9", storage.Options{MaxAttempts: -1}, "negative"},
		{"r2://0123456789abcdef0123456789abcdef/b-1/p", storage.Options{LockMode: "COMPLIANCE"}, "no object lock modes"},
		{"r2://0123456789abcdef0123456789abcdef/b-1/p", storage.Options{LegalHold: true}, "no legal holds"},
		{"r2://0123456789abcdef0123456789abcdef/b-1/p", storage.Options{Cloudflare: "token"}, "want a *cloudflare.API"},
		{"r2://0123456789abcdef0123456789abcdef/b-1/p", storage.Options{}, "CLOUDFLARE_API_TOKEN"},
	} {
		_, err := Open(context.Background(), tc.url, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s, %+v) = %v, want an error containing %q", tc.url, tc.opts, err, tc.want)
		}
	}
}
