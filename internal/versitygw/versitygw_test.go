package versitygw

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	s.CreateBucket(t, "locked", true)
	s.CreateBucket(t, "plain", false)
	c := s.Client()
	ctx := t.Context()
	if _, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")}); err == nil {
		t.Error("the bucket created without object lock has a lock configuration")
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	endpoint := s.Endpoint
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String("k")}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("HeadObject on a stopped server = %v, want connection refused", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Endpoint != endpoint {
		t.Errorf("Restart moved the server from %s to %s", endpoint, s.Endpoint)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("locked"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject after Restart: %v", err)
	}
	defer out.Body.Close()
	if b, _ := io.ReadAll(out.Body); string(b) != "v" {
		t.Errorf("after Restart the object holds %q, want %q", b, "v")
	}
}

// stubTB records how a helper ended the test; Fatal and Skip unwind with a
// panic, as the real ones unwind with runtime.Goexit.
type stubTB struct {
	testing.TB
	how, msg string
}

type stop struct{}

func (s *stubTB) Helper()           {}
func (s *stubTB) Fatal(args ...any) { s.end("fatal", args) }
func (s *stubTB) Skip(args ...any)  { s.end("skip", args) }

func (s *stubTB) end(how string, args []any) {
	s.how, s.msg = how, fmt.Sprint(args...)
	panic(stop{})
}

// runBinary calls Binary with tb, stopping where the test would stop.
func runBinary(tb *stubTB) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	Binary(tb)
}

func TestMissingBinaryFailsInCIAndSkipsElsewhere(t *testing.T) {
	t.Setenv("VERSITYGW", filepath.Join(t.TempDir(), "no-such-versitygw"))
	for ci, want := range map[string]string{"true": "fatal", "": "skip", "false": "skip"} {
		t.Setenv("CI", ci)
		tb := &stubTB{}
		runBinary(tb)
		if tb.how != want {
			t.Errorf("CI=%q: Binary ended the test with %q, want %q", ci, tb.how, want)
		}
		if !strings.Contains(tb.msg, MissingMessage) {
			t.Errorf("CI=%q: message %q does not say %q", ci, tb.msg, MissingMessage)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Join(root, "internal", "versitygw") != wd {
		t.Errorf("repoRoot() = %s, want the directory two levels above %s", root, wd)
	}
}
