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
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/fakeapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// command is cffake's command line.
var command = fakeapi.Command{
	Program:         "cffake",
	API:             "Cloudflare",
	RoutesFile:      cffake.RoutesFile,
	DefaultBasePath: cffake.DefaultBasePath,
	MaxPerPage:      cffake.MaxPerPage,
	Build: func(fixture string, s fakeapi.Settings) (fakeapi.Server, int, error) {
		fx, err := cffake.Load(fixture)
		if err != nil {
			return nil, 0, err
		}
		opts := []cffake.Option{cffake.WithLogger(s.Logger), cffake.WithBasePath(s.BasePath), cffake.WithMaxPerPage(s.MaxPerPage)}
		if s.Token != "" {
			opts = append(opts, cffake.WithToken(s.Token))
		}
		return cffake.New(fx, opts...), len(fx.Routes), nil
	},
}

// run is the program; it returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	return command.Run(ctx, args, stderr, getenv)
}
