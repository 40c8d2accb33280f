package s3store

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/changeproof/changeproof/internal/versitygw"
	"github.com/changeproof/changeproof/storage"
)

// forge writes data under a bucket key the way an attacker with plain
// s3:PutObject would: no If-None-Match, no lock.
func forge(t *testing.T, srv *versitygw.Server, bucket, key, data string) {
	t.Helper()
	if _, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(data)}); err != nil {
		t.Fatalf("plain PUT of %s: %v", key, err)
	}
}

// hide deletes a bucket key without a version ID, which on a versioned
// bucket adds a delete marker.
func hide(t *testing.T, srv *versitygw.Server, bucket, key string) {
	t.Helper()
	if _, err := srv.Client().DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("plain DELETE of %s: %v", key, err)
	}
}

// listKeys returns what List(prefix) yields, failing the test on an error.
func listKeys(t *testing.T, st *Store, prefix string) []storage.ObjectInfo {
	t.Helper()
	var out []storage.ObjectInfo
	for info, err := range st.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		out = append(out, info)
	}
	return out
}

// TestVersionedBucketShowsLockedVersion hides and overwrites locked objects
// the ways a principal with s3:DeleteObject or plain s3:PutObject can:
// Get, Stat and List still see the locked originals, never the forgeries,
// and Tampering names each key and what was done to it.
func TestVersionedBucketShowsLockedVersion(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	var logged bytes.Buffer
	st := mustOpen(t, s3URL(srv, "locked", "org"), storage.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	ctx := t.Context()
	originals := map[string]string{
		"evidence/a.json": "original a, signed",
		"evidence/b.json": "original b, signed",
		"evidence/c.json": "original c, untouched",
		"raw/r.json":      "original raw facts",
	}
	for k, v := range originals {
		if err := st.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// a: overwritten twice; b: hidden; r: overwritten, then hidden.
	// (versitygw adds no delete marker for a key without versions, as AWS
	// does; TestKeyHistoryProblems covers that case.)
	forge(t, srv, "locked", "org/evidence/a.json", "FORGED a, a longer forgery")
	forge(t, srv, "locked", "org/evidence/a.json", "FORGED a again")
	hide(t, srv, "locked", "org/evidence/b.json")
	forge(t, srv, "locked", "org/raw/r.json", "FORGED raw")
	hide(t, srv, "locked", "org/raw/r.json")

	for k, want := range originals {
		got, err := st.Get(ctx, k)
		if err != nil || string(got) != want {
			t.Errorf("Get(%s) = %q, %v; want the locked original %q", k, got, err, want)
		}
		info, err := st.Stat(ctx, k)
		if err != nil || info.Size != int64(len(want)) {
			t.Errorf("Stat(%s) = %+v, %v; want the original's size %d", k, info, err, len(want))
		}
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "oldest version") || !strings.Contains(logged.String(), "evidence/a.json") {
		t.Errorf("reading an overwritten object logged %q, want a warning naming it", logged.String())
	}
	if _, err := st.Get(ctx, "evidence/a"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Get of a missing key that prefixes another = %v, want ErrNotExist", err)
	}
	if _, err := st.Stat(ctx, "evidence/d.json"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat of a missing key = %v, want ErrNotExist", err)
	}

	var keys []string
	for _, info := range listKeys(t, st, "") {
		keys = append(keys, info.Key)
		if want := originals[info.Key]; info.Size != int64(len(want)) {
			t.Errorf("List: %s has size %d, want the original's %d", info.Key, info.Size, len(want))
		}
	}
	if want := []string{"evidence/a.json", "evidence/b.json", "evidence/c.json", "raw/r.json"}; !slices.Equal(keys, want) {
		t.Errorf("List(\"\") = %q, want %q (hidden objects included, each once)", keys, want)
	}

	// Describe does not overstate the lock.
	for _, w := range []string{"COMPLIANCE", "s3:DeleteObject", "delete marker", "newer version", "reads the oldest version", "verify reports"} {
		if p := st.Describe().Protection; !strings.Contains(p, w) {
			t.Errorf("Describe().Protection = %q, does not say %q", p, w)
		}
	}

	found, err := st.Tampering(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"evidence/a.json": {"3 versions", "overwritten"},
		"evidence/b.json": {"delete marker hides the locked version"},
		"raw/r.json":      {"delete marker hides the locked version", "2 versions"},
	}
	var got []string
	for _, f := range found {
		got = append(got, f.Key)
		for _, w := range want[f.Key] {
			if !strings.Contains(f.Reason, w) {
				t.Errorf("Tampering: %s: %q does not say %q", f.Key, f.Reason, w)
			}
		}
		if strings.Contains(f.Reason, "\n") {
			t.Errorf("Tampering: %s: reason spans lines: %q", f.Key, f.Reason)
		}
	}
	if !slices.Equal(got, []string{"evidence/a.json", "evidence/b.json", "raw/r.json"}) {
		t.Errorf("Tampering(\"\") reports %q, want a, b and r in key order (not the untouched c)", got)
	}
	if found, err := st.Tampering(ctx, "evidence/b"); err != nil || len(found) != 1 || found[0].Key != "evidence/b.json" {
		t.Errorf("Tampering(\"evidence/b\") = %+v, %v; want b only", found, err)
	}
	if found, err := st.Tampering(ctx, "../"); err != nil || len(found) != 0 {
		t.Errorf("Tampering of an impossible prefix = %+v, %v; want nothing", found, err)
	}
}

// TestVersionListingAcrossPages lists with pages of two entries, so that
// the versions of one key are split between pages.
func TestVersionListingAcrossPages(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	rec := &recorder{}
	st := mustOpen(t, s3URL(srv, "locked", ""), storage.Options{HTTPClient: rec.client()})
	st.pageSize = 2
	ctx := t.Context()
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		if err := st.Put(ctx, k, []byte("orig-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	forge(t, srv, "locked", "k1", "forged k1, longer")
	forge(t, srv, "locked", "k1", "forged k1 again, longer still")
	forge(t, srv, "locked", "k3", "forged k3, longer")
	hide(t, srv, "locked", "k3")

	var keys []string
	for _, info := range listKeys(t, st, "") {
		keys = append(keys, info.Key)
		if info.Size != int64(len("orig-"+info.Key)) {
			t.Errorf("List: %s size %d, want the original's %d", info.Key, info.Size, len("orig-"+info.Key))
		}
	}
	if !slices.Equal(keys, []string{"k1", "k2", "k3", "k4"}) {
		t.Errorf("List = %q, want k1..k4 once each", keys)
	}
	// Stopping early is honoured even at a key completed by the last page.
	n := 0
	for _, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 2 {
			break
		}
	}
	if got, err := st.Get(ctx, "k1"); err != nil || string(got) != "orig-k1" {
		t.Errorf("Get(k1) = %q, %v; want the original", got, err)
	}
	found, err := st.Tampering(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].Key != "k1" || !strings.Contains(found[0].Reason, "3 versions") ||
		found[1].Key != "k3" || !strings.Contains(found[1].Reason, "delete marker hides") || !strings.Contains(found[1].Reason, "2 versions") {
		t.Errorf("Tampering = %+v, want k1 (3 versions) and k3 (hidden, 2 versions)", found)
	}
	pages := 0
	for _, r := range rec.requests(http.MethodGet, "") {
		if strings.Contains(r.Query, "versions") && strings.Contains(r.Query, "max-keys=2") {
			pages++
		}
	}
	if pages < 4 {
		t.Errorf("saw %d version listing pages of 2, want several", pages)
	}
}

// TestUnversionedStoresReportNoTampering: without Object Lock the store
// reads objects directly and Tampering has nothing to say (and asks
// nothing).
func TestUnversionedStoresReportNoTampering(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "plain", false)
	rec := &recorder{}
	st := mustOpen(t, s3URL(srv, "plain", ""), storage.Options{AllowUnlocked: true, HTTPClient: rec.client()})
	if err := st.Put(t.Context(), "e.json", []byte("x")); err != nil {
		t.Fatal(err)
	}
	before := len(rec.reqs)
	found, err := st.Tampering(t.Context(), "")
	if err != nil || found == nil || len(found) != 0 {
		t.Errorf("Tampering of an unlocked store = %#v, %v; want an empty list", found, err)
	}
	if len(rec.reqs) != before {
		t.Errorf("Tampering of an unlocked store sent %d requests", len(rec.reqs)-before)
	}
	if keys := listKeys(t, st, ""); len(keys) != 1 || keys[0].Key != "e.json" {
		t.Errorf("List = %+v", keys)
	}
	for _, r := range rec.reqs {
		if strings.Contains(r.Query, "versions") {
			t.Errorf("an unversioned store listed versions: %s?%s", r.Path, r.Query)
		}
	}
}

// TestListNamesForeignKey: an object under the prefix that breaks the key
// rules stops the listing with an error that names it and what to do.
func TestListNamesForeignKey(t *testing.T) {
	srv := versitygw.Start(t)
	awsEnv(t, srv)
	srv.CreateBucket(t, "locked", true)
	srv.CreateBucket(t, "plain", false)
	for _, tc := range []struct {
		bucket string
		opts   storage.Options
	}{{"locked", storage.Options{}}, {"plain", storage.Options{AllowUnlocked: true}}} {
		t.Run(tc.bucket, func(t *testing.T) {
			st := mustOpen(t, s3URL(srv, tc.bucket, "org"), tc.opts)
			if err := st.Put(t.Context(), "evidence/a.json", []byte("a")); err != nil {
				t.Fatal(err)
			}
			forge(t, srv, tc.bucket, "org/evidence/.tmp-planted.json", "planted")
			var err error
			for _, e := range st.List(t.Context(), "evidence/") {
				if e != nil {
					err = e
				}
			}
			if err == nil {
				t.Fatal("List passed over an object whose key breaks the key rules")
			}
			for _, want := range []string{`"org/evidence/.tmp-planted.json"`, "not a changeproof object", "move or delete it"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("List error %q does not say %q", err, want)
				}
			}
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("List error %v does not wrap ErrInvalidKey", err)
			}
		})
	}
}

func TestKeyHistoryProblems(t *testing.T) {
	for _, tc := range []struct {
		h    keyHistory
		want []string // substrings, in order; none for no problem
	}{
		{keyHistory{versions: 1}, nil},
		{keyHistory{versions: 1, markers: 1, hidden: true}, []string{"a delete marker hides the locked version"}},
		{keyHistory{versions: 3}, []string{"it has 3 versions: it was overwritten"}},
		{keyHistory{versions: 2, markers: 2, hidden: true}, []string{"delete marker hides", "2 versions"}},
		{keyHistory{versions: 2, markers: 1}, []string{"it has 1 delete marker: it was deleted and written again", "2 versions"}},
		{keyHistory{markers: 2, hidden: true}, []string{"no version is left, only 2 delete markers"}},
	} {
		got := tc.h.problems()
		if len(got) != len(tc.want) {
			t.Errorf("%+v: problems %q, want %d", tc.h, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%+v: problem %q does not say %q", tc.h, got[i], w)
			}
		}
	}
}
