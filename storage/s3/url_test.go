package s3store

import (
	"errors"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/storage"
)

func TestParseURL(t *testing.T) {
	const acct = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		in   string
		want Location
		str  string // canonical form
	}{
		{"s3://evidence-bucket", Location{Scheme: "s3", Bucket: "evidence-bucket"}, "s3://evidence-bucket/"},
		{"s3://evidence-bucket/", Location{Scheme: "s3", Bucket: "evidence-bucket"}, "s3://evidence-bucket/"},
		{"s3://b.example/org/evidence?region=eu-west-1", Location{Scheme: "s3", Bucket: "b.example", Prefix: "org/evidence/", Region: "eu-west-1"},
			"s3://b.example/org/evidence/?region=eu-west-1"},
		{"s3://bkt/p/?endpoint=http://127.0.0.1:7070", Location{Scheme: "s3", Bucket: "bkt", Prefix: "p/", Endpoint: "http://127.0.0.1:7070", PathStyle: true},
			"s3://bkt/p/?endpoint=http://127.0.0.1:7070"},
		{"s3://bkt?endpoint=https://minio.internal/&path_style=false&profile=audit", Location{Scheme: "s3", Bucket: "bkt", Endpoint: "https://minio.internal", Profile: "audit"},
			"s3://bkt/?endpoint=https://minio.internal&path_style=false&profile=audit"},
		{"s3://bkt?path_style=true", Location{Scheme: "s3", Bucket: "bkt", PathStyle: true}, "s3://bkt/?path_style=true"},
		{"r2://" + acct + "/evidence/soc2", Location{Scheme: "r2", Account: acct, Bucket: "evidence", Prefix: "soc2/", Region: "auto",
			Endpoint: "https://" + acct + ".r2.cloudflarestorage.com", PathStyle: true}, "r2://" + acct + "/evidence/soc2/"},
		{"r2://" + acct + "/evidence?endpoint=http://[::1]:9000", Location{Scheme: "r2", Account: acct, Bucket: "evidence", Region: "auto",
			Endpoint: "http://[::1]:9000", PathStyle: true}, "r2://" + acct + "/evidence/?endpoint=http://[::1]:9000"},
	} {
		got, err := ParseURL(tc.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q) =\n  %+v\nwant\n  %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("ParseURL(%q).String() = %q, want %q", tc.in, s, tc.str)
		}
		// The canonical form parses to the same location.
		if again, err := ParseURL(got.String()); err != nil || again != got {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
}

func TestParseURLRejects(t *testing.T) {
	const acct = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		in, want string
	}{
		{"gs://bucket", `scheme "gs"`},
		{"s3://AKIA:hunter2-secret@bucket/p", "holds credentials"},
		{"s3://bucket/p?endpoint=https://AKIA:hunter2-secret@host", "endpoint holds credentials"},
		{"s3://Bucket_Upper", "not a valid bucket name"},
		{"s3://ab", "not a valid bucket name"},
		{"s3://a..b", "not a valid bucket name"},
		{"s3://bucket/a//b", "empty path segment"},
		{"s3://bucket/a/../b", `".." segment`},
		{"s3://bucket/.tmp/x", "reserved"},
		{"s3://bucket?regoin=eu-west-1", `unknown URL parameter "regoin"`},
		{"s3://bucket?region=a&region=b", "given 2 times"},
		{"s3://bucket?region=EU_WEST", "not a region name"},
		{"s3://bucket?endpoint=ftp://host", "not an http:// or https:// URL"},
		{"s3://bucket?endpoint=http://host/path", "bare scheme://host[:port]"},
		{"s3://bucket?endpoint=http://a%26b", "not an http:// or https:// URL"},
		{"s3://bucket?path_style=yes", "want true or false"},
		{"s3://bucket#frag", "#fragment"},
		{"r2://not-an-account/bucket", "not a Cloudflare account ID"},
		{"r2://" + acct, "not a valid bucket name"},
		{"r2://" + acct + "/bucket?region=auto", `unknown URL parameter "region"`},
	} {
		_, err := ParseURL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error repeats the secret: %v", tc.in, err)
		}
		if strings.Contains(tc.want, "segment") && !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ParseURL(%q) = %v, want an error wrapping ErrInvalidKey", tc.in, err)
		}
	}
}

func TestCanStartKey(t *testing.T) {
	for prefix, want := range map[string]bool{
		"": true, "a": true, "a/": true, "a/b": true, "a/.t": true, "a/.tm": true,
		"/": false, "../": false, "a//": false, "a/../": false, "a/.tmp": false, "a/x\x00": false, `a\`: false,
		strings.Repeat("a", 1025): false,
	} {
		if got := canStartKey(prefix); got != want {
			t.Errorf("canStartKey(%q) = %t, want %t", prefix, got, want)
		}
	}
}
