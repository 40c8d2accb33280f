// Command changeproof collects signed change-management evidence. See
// `changeproof --help` and README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	// Schedules name IANA time zones; embed the database so a container
	// without /usr/share/zoneinfo computes the same windows.
	_ "time/tzdata"

	"github.com/changeproof/changeproof/internal/cli"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], &cli.App{
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Build:  cli.Build{Version: version, Commit: commit},
	})
	stop()
	os.Exit(code)
}
