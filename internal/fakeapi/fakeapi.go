// Package fakeapi holds what the fake GitHub and fake Cloudflare APIs share
// around their handlers: serving on a local address until cancelled, and
// the command line of their binaries (internal/cmd/ghfake, cffake), which
// `make demo` starts.
package fakeapi

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// shutdownTimeout bounds how long in-flight requests may finish on shutdown.
const shutdownTimeout = 5 * time.Second

// Server is a fake API's handler.
type Server interface {
	http.Handler
	// URL is the API base URL for the server listening at root, e.g.
	// "http://127.0.0.1:8080" → "http://127.0.0.1:8080/api/v3/".
	URL(root string) string
	// Requests counts the requests served.
	Requests() int
}

// ListenAndServe serves s on addr (e.g. "127.0.0.1:0") until ctx is done,
// then shuts down gracefully and returns nil. Once the listener is bound it
// calls ready, if not nil, with the API base URL; an error from ready stops
// the server and is returned. name ("fake GitHub") prefixes errors.
func ListenAndServe(ctx context.Context, name, addr string, s Server, ready func(baseURL string) error) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if ready != nil {
		if err := ready(s.URL("http://" + ln.Addr().String())); err != nil {
			_ = srv.Close()
			<-served
			return err
		}
	}
	select {
	case err := <-served:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("%s: shutting down: %w", name, err)
	}
	return nil
}

// Settings are what the command line passes to Command.Build.
type Settings struct {
	Logger     *slog.Logger
	BasePath   string
	MaxPerPage int
	// Token, when not empty, is the bearer token every request must carry.
	Token string
}

// Command is a fake API's command line.
type Command struct {
	// Program is the binary's name, e.g. "ghfake".
	Program string
	// API names what is faked, e.g. "GitHub".
	API string
	// RoutesFile is the file a fixture directory must hold.
	RoutesFile      string
	DefaultBasePath string
	MaxPerPage      int
	// Build loads the fixture directory and returns the server and how many
	// routes it has.
	Build func(fixture string, s Settings) (Server, int, error)
}

// config is a parsed command line.
type config struct {
	fixture, addr, urlFile, basePath, tokenEnv, logLevel string
	maxPerPage                                           int
}

func (c Command) parse(args []string, stderr io.Writer) (*config, error) {
	var cfg config
	fs := flag.NewFlagSet(c.Program, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.fixture, "fixture", "", "fixture directory holding "+c.RoutesFile+" (required)")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
	fs.StringVar(&cfg.urlFile, "url-file", "", "write the API base URL to this file once listening")
	fs.StringVar(&cfg.basePath, "base-path", c.DefaultBasePath, "path the API is mounted under")
	fs.StringVar(&cfg.tokenEnv, "token-env", "", "require the bearer token held in this environment variable")
	fs.IntVar(&cfg.maxPerPage, "max-per-page", c.MaxPerPage, "largest page served")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.fixture == "" {
		return nil, errors.New("--fixture is required")
	}
	return &cfg, nil
}

// Run is the program: it serves until ctx is done and returns the exit
// code (0 stopped cleanly, 1 failed, 2 usage error).
func (c Command) Run(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	cfg, err := c.parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", c.Program, err)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintf(stderr, "%s: --log-level %q: want debug, info, warn or error\n", c.Program, cfg.logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	if err := c.serve(ctx, cfg, log, getenv); err != nil {
		log.Error(c.Program+" stopped", "err", err)
		return 1
	}
	return 0
}

func (c Command) serve(ctx context.Context, cfg *config, log *slog.Logger, getenv func(string) string) error {
	set := Settings{Logger: log, BasePath: cfg.basePath, MaxPerPage: cfg.maxPerPage}
	if cfg.tokenEnv != "" {
		if set.Token = getenv(cfg.tokenEnv); set.Token == "" {
			return fmt.Errorf("--token-env %s: the variable is empty", cfg.tokenEnv)
		}
	}
	srv, routes, err := c.Build(cfg.fixture, set)
	if err != nil {
		return err
	}
	if host, _, err := net.SplitHostPort(cfg.addr); err == nil && !isLoopback(host) {
		log.Warn("listening beyond loopback: anyone on the network can reach the fake", "addr", cfg.addr)
	}
	name := "fake " + c.API
	ready := func(url string) error {
		log.Info(name+" serving", "url", url, "fixture", cfg.fixture, "routes", routes)
		if cfg.urlFile == "" {
			return nil
		}
		return writeFileAtomic(cfg.urlFile, []byte(url))
	}
	err = ListenAndServe(ctx, name, cfg.addr, srv, ready)
	if cfg.urlFile != "" {
		if rerr := os.Remove(cfg.urlFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	log.Info(name+" stopped", "requests", srv.Requests())
	return err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place, so a reader never sees a partial URL.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing URL file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing URL file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing URL file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing URL file: %w", err)
	}
	return nil
}
