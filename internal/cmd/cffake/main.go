// Command cffake serves a fake Cloudflare API from a fixture directory, for
// `make demo` and for trying changeproof without a Cloudflare token:
//
//	cffake --fixture testdata/cloudflare/sample-account --addr 127.0.0.1:0 --url-file .demo/cffake.url --token-env CLOUDFLARE_API_TOKEN
//
// Once listening it writes the API base URL (e.g.
// http://127.0.0.1:43121/client/v4) to the URL file, atomically, so a reader
// never sees a partial URL; it removes the file again when it stops on
// SIGINT or SIGTERM. The token to require is read from an environment
// variable (--token-env), never from the command line, where other users of
// the machine could read it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/changeproof/changeproof/internal/cffake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// config is the parsed command line.
type config struct {
	fixture, addr, urlFile, basePath, tokenEnv, logLevel string
	maxPerPage                                           int
}

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	var c config
	fs := flag.NewFlagSet("cffake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.fixture, "fixture", "", "fixture directory holding "+cffake.RoutesFile+" (required)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
	fs.StringVar(&c.urlFile, "url-file", "", "write the API base URL to this file once listening")
	fs.StringVar(&c.basePath, "base-path", cffake.DefaultBasePath, "path the API is mounted under")
	fs.StringVar(&c.tokenEnv, "token-env", "", "require the bearer token held in this environment variable")
	fs.IntVar(&c.maxPerPage, "max-per-page", cffake.MaxPerPage, "largest page served")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.fixture == "" {
		return nil, errors.New("--fixture is required")
	}
	return &c, nil
}

// run is the program; it returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	c, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "cffake: %v\n", err)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		fmt.Fprintf(stderr, "cffake: --log-level %q: want debug, info, warn or error\n", c.logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	if err := serve(ctx, c, log, getenv); err != nil {
		log.Error("cffake stopped", "err", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, c *config, log *slog.Logger, getenv func(string) string) error {
	fx, err := cffake.Load(c.fixture)
	if err != nil {
		return err
	}
	opts := []cffake.Option{cffake.WithLogger(log), cffake.WithBasePath(c.basePath), cffake.WithMaxPerPage(c.maxPerPage)}
	if c.tokenEnv != "" {
		tok := getenv(c.tokenEnv)
		if tok == "" {
			return fmt.Errorf("--token-env %s: the variable is empty", c.tokenEnv)
		}
		opts = append(opts, cffake.WithToken(tok))
	}
	if host, _, err := net.SplitHostPort(c.addr); err == nil && !isLoopback(host) {
		log.Warn("listening beyond loopback: anyone on the network can reach the fake", "addr", c.addr)
	}
	srv := cffake.New(fx, opts...)
	ready := func(url string) error {
		log.Info("fake Cloudflare serving", "url", url, "fixture", c.fixture, "routes", len(fx.Routes))
		if c.urlFile == "" {
			return nil
		}
		return writeFileAtomic(c.urlFile, []byte(url))
	}
	err = cffake.ListenAndServe(ctx, c.addr, srv, ready)
	if c.urlFile != "" {
		if rerr := os.Remove(c.urlFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	log.Info("fake Cloudflare stopped", "requests", srv.Requests())
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
// it into place.
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
