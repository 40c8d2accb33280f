// Command ghfake serves a fake GitHub REST API from a fixture directory, for
// `make demo` and for trying changeproof without a GitHub token:
//
//	ghfake --fixture testdata/github/sample-org --addr 127.0.0.1:0 --url-file .demo/ghfake.url
//
// Once listening it writes the API base URL (e.g.
// http://127.0.0.1:43121/api/v3/) to the URL file, atomically, so a reader
// never sees a partial URL; it removes the file again when it stops on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/changeproof/changeproof/internal/fakeapi"
	"github.com/changeproof/changeproof/internal/ghfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// command is ghfake's command line.
var command = fakeapi.Command{
	Program:         "ghfake",
	API:             "GitHub",
	RoutesFile:      ghfake.RoutesFile,
	DefaultBasePath: ghfake.DefaultBasePath,
	MaxPerPage:      ghfake.MaxPerPage,
	Build: func(fixture string, s fakeapi.Settings) (fakeapi.Server, int, error) {
		fx, err := ghfake.Load(fixture)
		if err != nil {
			return nil, 0, err
		}
		opts := []ghfake.Option{ghfake.WithLogger(s.Logger), ghfake.WithBasePath(s.BasePath), ghfake.WithMaxPerPage(s.MaxPerPage)}
		if s.Token != "" {
			opts = append(opts, ghfake.WithToken(s.Token))
		}
		return ghfake.New(fx, opts...), len(fx.Routes), nil
	},
}

// run is the program; it returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	return command.Run(ctx, args, stderr, getenv)
}
