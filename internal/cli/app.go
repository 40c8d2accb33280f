// Package cli is changeproof's command line. Main runs it with injectable
// streams, environment and clock, so tests drive the real commands in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/branchprotection"
	"github.com/changeproof/changeproof/collectors/cistatus"
	"github.com/changeproof/changeproof/collectors/deployments"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
	s3store "github.com/changeproof/changeproof/storage/s3"
)

// Exit codes, the same for every command.
const (
	// ExitOK: evidence written (whatever its findings), or the command did
	// what it was asked.
	ExitOK = 0
	// ExitFindings: evidence written with findings at or above --fail-on; or
	// verify found a problem.
	ExitFindings = 1
	// ExitError: usage or runtime error.
	ExitError = 2
)

// Build identifies the binary; main sets it from linker flags.
type Build struct {
	Version string
	Commit  string
}

// App holds what the commands need from the outside world.
type App struct {
	Stdout, Stderr io.Writer
	// Getenv reads the environment (tokens).
	Getenv func(string) string
	// Now is the clock.
	Now        func() time.Time
	Collectors *collectors.Registry
	Stores     *storage.Registry
	Build      Build
	// GitHubRetryWait shortens retry waits in tests (0 = the client default).
	GitHubRetryWait time.Duration
	// StoreMaxAttempts bounds the tries of a network store's requests in
	// tests (0 = the store's default).
	StoreMaxAttempts int
	// Listening, when set, is told the address `run` serves metrics on
	// (tests listen on port 0).
	Listening func(addr string)

	metrics *scheduler.Metrics
	outMu   sync.Mutex
	// jobWidth is the longest job name, for run's table lines.
	jobWidth int
}

// DefaultCollectors registers every collector: one line each.
func DefaultCollectors() *collectors.Registry {
	r := collectors.NewRegistry()
	r.Register(branchprotection.Info())
	r.Register(mergeactivity.Info())
	r.Register(cistatus.Info())
	r.Register(deployments.Info())
	return r
}

// DefaultStores registers every store backend: one line each.
func DefaultStores() *storage.Registry {
	r := storage.NewRegistry()
	r.Register("file", file.Open)
	r.Register(s3store.SchemeS3, s3store.Open)
	r.Register(s3store.SchemeR2, s3store.Open)
	return r
}

// Main runs the command line and returns the exit code. It never panics on
// bad input and prints errors as one line on stderr.
func Main(ctx context.Context, args []string, app *App) int {
	if app.Getenv == nil {
		app.Getenv = os.Getenv
	}
	if app.Now == nil {
		app.Now = time.Now
	}
	if app.Collectors == nil {
		app.Collectors = DefaultCollectors()
	}
	if app.Stores == nil {
		app.Stores = DefaultStores()
	}
	root := app.rootCmd()
	root.SetArgs(args)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(app.Stderr, "changeproof: %s\n", oneLine(ee.err.Error()))
		}
		return ee.code
	}
	name := "changeproof"
	if cmd != nil && cmd != root {
		name = cmd.CommandPath()
	}
	fmt.Fprintf(app.Stderr, "%s: %s (see `%s --help`)\n", name, oneLine(err.Error()), name)
	return ExitError
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// exitError carries an exit code; err (if any) is printed as one line.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func fail(code int, err error) error { return &exitError{code: code, err: err} }

func (app *App) rootCmd() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:   "changeproof",
		Short: "Collect signed change-management evidence for SOC 2 CC8.1 and ISO/IEC 27001 A.8.32",
		Long: `changeproof collects change-management evidence from GitHub and Cloudflare,
judges it against a policy, and writes it as signed in-toto statements in
DSSE envelopes to a create-only evidence store (a directory, or an
object-locked S3 or R2 bucket) that auditors can verify without trusting
changeproof.

Exit codes: 0 evidence written (whatever its findings) or command succeeded;
1 findings at or above --fail-on, or verification found a problem;
2 usage or runtime error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(app.Stderr, &slog.HandlerOptions{Level: lvl})))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(app.collectCmd(), app.verifyCmd(), app.flushCmd(), app.storageCmd(), app.keygenCmd(), app.controlsCmd(), app.runCmd(), app.configCmd(), app.bundleCmd(), app.sampleCmd(), app.serveCmd(), app.coverageCmd(), app.exportCmd(), app.keyCmd(), app.versionCmd())
	return root
}

func (app *App) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(app.Stdout, "changeproof %s (commit %s)\n", app.Build.Version, app.Build.Commit)
			return nil
		},
	}
}
