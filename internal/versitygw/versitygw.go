// Package versitygw starts a real S3 server for tests: the Versity S3
// Gateway (versitygw) with its posix backend and bucket versioning, so that
// buckets with S3 Object Lock can be created.
//
// The binary is `$VERSITYGW` if set, else bin/versitygw under the repository
// root (the directory holding go.mod); `make test` installs it there at a
// pinned version. Without it a test is skipped, except in CI (CI=true),
// where it fails: an integration test must never pass by being skipped.
//
// Each Server runs in its own process with its data in t.TempDir() and is
// stopped when the test ends. Stop and Restart let a test simulate an
// outage: the data directories and the port stay the same.
package versitygw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MissingMessage is the reason given when the versitygw binary is missing.
const MissingMessage = "run `make test` (it installs versitygw) or set VERSITYGW"

// startTimeout bounds how long a starting server may take to answer.
const startTimeout = 30 * time.Second

// Server is a running versitygw process.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey string
	SecretKey string
	// Region is the region the server reports and signs for.
	Region string

	bin     string
	addr    string // 127.0.0.1:PORT
	rootDir string // the posix backend's top directory: one subdirectory per bucket
	verDir  string // the versioning directory: old object versions
	logPath string // the process's output, appended across restarts

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid after done is closed
}

// Option changes how Start runs the server.
type Option func(*Server)

// WithRegion sets the region the server signs for (default us-east-1).
func WithRegion(region string) Option { return func(s *Server) { s.Region = region } }

// Binary returns the path of the versitygw binary. When it is missing the
// test is skipped, or fails if CI=true.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VERSITYGW"); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			missing(t, fmt.Sprintf("VERSITYGW=%s is not an executable file", p))
		}
		return p
	}
	root, err := repoRoot()
	if err != nil {
		missing(t, err.Error())
	}
	p := filepath.Join(root, "bin", "versitygw")
	if _, err := os.Stat(p); err != nil {
		missing(t, p+" not found")
	}
	return p
}

// missing fails the test in CI and skips it elsewhere.
func missing(t testing.TB, why string) {
	t.Helper()
	msg := "versitygw: " + why + ": " + MissingMessage
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// repoRoot returns the nearest directory at or above the working directory
// that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Start starts a versitygw server on a free port of 127.0.0.1 and waits
// until it answers. It is stopped when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{
		AccessKey: "AKIAVERSITYGWTEST",
		SecretKey: "versitygw-test-secret-key",
		Region:    "us-east-1",
		bin:       Binary(t),
		rootDir:   filepath.Join(dir, "buckets"),
		verDir:    filepath.Join(dir, "versions"),
		logPath:   filepath.Join(dir, "versitygw.log"),
	}
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{s.rootDir, s.verDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping versitygw: %v", err)
		}
	})
	// Another process may take the port between our probe and the server's
	// bind; try a few ports.
	var err error
	for range 5 {
		s.addr, err = freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		s.Endpoint = "http://" + s.addr
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("starting versitygw: %v", err)
	return nil
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs the binary and waits until it answers HTTP.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("already running")
	}
	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(s.bin,
		"--port", s.addr,
		"--access", s.AccessKey,
		"--secret", s.SecretKey,
		"--region", s.Region,
		"--keep-alive",
		"--quiet",
		"posix",
		"--versioning-dir", s.verDir,
		s.rootDir,
	)
	cmd.Env = cleanEnv()
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitReady(s.Endpoint, p.done); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%w; output:\n%s", err, s.tail())
	}
	s.proc = p
	return nil
}

// cleanEnv is the environment without the variables versitygw reads its
// settings from, so the caller's environment cannot change the server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "VGW_") || strings.HasPrefix(name, "ROOT_") ||
			name == "LOGFILE" || name == "WEBHOOK" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// waitReady polls endpoint until it answers any HTTP response, the process
// exits, or startTimeout passes.
func waitReady(endpoint string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("versitygw exited before answering")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not answer at %s within %s: %v", endpoint, startTimeout, err)
		}
	}
}

// tail returns the end of the server's output, for error messages.
func (s *Server) tail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// Stop stops the server at once (SIGKILL, like a crash: versitygw's own
// graceful shutdown waits for clients' idle keep-alive connections); requests
// then fail with "connection refused". The data stays for Restart. Stopping
// a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.done
	return nil
}

// Restart starts a stopped server again with the same data and port. It
// fails if the port has been taken meanwhile.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	if err := s.start(); err != nil {
		return fmt.Errorf("restarting versitygw on %s: %w", s.addr, err)
	}
	return nil
}

// Client returns an S3 client for the server, signed with the root user's
// credentials, using path-style addressing.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// The server runs locally: fail at once rather than retry.
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// CreateBucket creates a bucket, with S3 Object Lock enabled (which turns on
// versioning) if objectLock is true.
func (s *Server) CreateBucket(t testing.TB, name string, objectLock bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if objectLock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	if _, err := s.Client().CreateBucket(ctx, in); err != nil {
		t.Fatalf("creating bucket %s (object lock %t): %v", name, objectLock, err)
	}
	if !objectLock {
		return
	}
	out, err := s.Client().GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(name)})
	if err != nil {
		t.Fatalf("reading the object lock configuration of new bucket %s: %v", name, err)
	}
	if out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		t.Fatalf("bucket %s was created with object lock but the server reports it disabled", name)
	}
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Port returns the server's TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}
