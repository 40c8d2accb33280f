package s3store

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/storage"
)

// fakeS3 is an S3 endpoint that reports Object Lock enabled and answers
// object requests from a script of status codes and error codes.
type fakeS3 struct {
	mu     sync.Mutex
	script []fakeAnswer // answers to object requests, in order; the last repeats
	seen   int
}

type fakeAnswer struct {
	status int
	code   string
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := r.URL.Query()["object-lock"]; ok {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`)
		return
	}
	f.mu.Lock()
	a := f.script[min(f.seen, len(f.script)-1)]
	f.seen++
	f.mu.Unlock()
	if a.status == http.StatusOK {
		w.Header().Set("ETag", `"etag"`)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s from the fake</Message><RequestId>R1</RequestId></Error>`, a.code, a.code)
	}
}

func TestErrorClassification(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-never-shown")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CA_BUNDLE", "")
	for _, tc := range []struct {
		name        string
		script      []fakeAnswer
		unavailable bool
		exists      bool
	}{
		{"503 SlowDown", []fakeAnswer{{503, "SlowDown"}}, true, false},
		{"500 InternalError", []fakeAnswer{{500, "InternalError"}}, true, false},
		{"502", []fakeAnswer{{502, "BadGateway"}}, true, false},
		{"429", []fakeAnswer{{429, "TooManyRequests"}}, true, false},
		{"400 RequestTimeout", []fakeAnswer{{400, "RequestTimeout"}}, true, false},
		{"501 NotImplemented", []fakeAnswer{{501, "NotImplemented"}}, false, false},
		{"403 AccessDenied", []fakeAnswer{{403, "AccessDenied"}}, false, false},
		{"400 BadDigest", []fakeAnswer{{400, "BadDigest"}}, false, false},
		{"400 InvalidRequest", []fakeAnswer{{400, "InvalidRequest"}}, false, false},
		{"412 PreconditionFailed", []fakeAnswer{{412, "PreconditionFailed"}}, false, true},
		{"409 conflict, then 412", []fakeAnswer{{409, "ConditionalRequestConflict"}, {412, "PreconditionFailed"}}, false, true},
		{"503 then 200", []fakeAnswer{{503, "SlowDown"}, {200, ""}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeS3{script: tc.script}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			// Enough attempts for the scripts; retries of the transient
			// answers are what the scripts with several answers test.
			st := mustOpen(t, "s3://bkt/p?endpoint="+srv.URL, storage.Options{MaxAttempts: len(tc.script)})
			err := st.Put(t.Context(), "k.json", []byte("x"))
			if tc.script[len(tc.script)-1].status == 200 {
				if err != nil {
					t.Fatalf("Put = %v, want success after a retry", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Put succeeded")
			}
			if got := errors.Is(err, storage.ErrUnavailable); got != tc.unavailable {
				t.Errorf("Put = %v: wraps ErrUnavailable %t, want %t", err, got, tc.unavailable)
			}
			if got := errors.Is(err, storage.ErrExists); got != tc.exists {
				t.Errorf("Put = %v: wraps ErrExists %t, want %t", err, got, tc.exists)
			}
			if !tc.exists && !strings.Contains(err.Error(), tc.script[len(tc.script)-1].code) {
				t.Errorf("Put = %v: does not name the server's error code", err)
			}
			if strings.Contains(err.Error(), "fake-secret-never-shown") {
				t.Errorf("error holds the secret key: %v", err)
			}
			want := len(tc.script)
			if tc.exists && want > 1 {
				want++ // a retried Put that finds the key taken checks whose object it is
			}
			if fake.seen != want {
				t.Errorf("the server saw %d object requests, want %d", fake.seen, want)
			}
			// Reads classify the same way.
			if !tc.exists {
				_, gerr := st.Get(t.Context(), "k.json")
				if got := errors.Is(gerr, storage.ErrUnavailable); got != tc.unavailable {
					t.Errorf("Get = %v: wraps ErrUnavailable %t, want %t", gerr, got, tc.unavailable)
				}
			}
		})
	}
}

func TestNotFoundIsErrNotExist(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
	t.Setenv("AWS_CA_BUNDLE", "")
	srv := httptest.NewServer(&fakeS3{script: []fakeAnswer{{404, "NoSuchKey"}}})
	defer srv.Close()
	st := mustOpen(t, "s3://bkt/p?endpoint="+srv.URL, storage.Options{MaxAttempts: 1})
	if _, err := st.Get(t.Context(), "k"); !errors.Is(err, storage.ErrNotExist) || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Get of a missing key = %v, want ErrNotExist only", err)
	}
	if _, err := st.Stat(t.Context(), "k"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat of a missing key = %v, want ErrNotExist", err)
	}
}
