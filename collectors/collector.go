// Package collectors defines what a collector is and how collectors register.
//
// A collector gathers the raw facts of one window from a source API and judges
// them against a policy. Each collector lives in its own package under
// collectors/ and is registered with one line in the command's registry.
//
// The package also holds what the GitHub collectors share: the population
// of repositories of a scope (ListRepos), a paged endpoint read into raw
// facts (ReadSource), request and policy checks (ValidateWindowed,
// PolicyOf) and the naming helpers of Result.Incomplete (Named).
package collectors

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/schedules"
)

// Collector gathers and judges one kind of evidence.
type Collector interface {
	// Name is the collector's registered name, e.g. "branch-protection".
	Name() string
	// Version is recorded in the evidence; bump it when the facts gathered or
	// the judgement change.
	Version() string
	// NewPolicy returns a fresh policy holding the defaults. The caller may
	// decode a config section into it before Validate.
	NewPolicy() any
	// Validate checks a request without touching the network.
	Validate(req Request) error
	// Collect gathers the window's raw facts and judges them. An error means
	// nothing usable was collected; a partial collection returns a Result
	// with Incomplete set.
	Collect(ctx context.Context, req Request) (*Result, error)
}

// PointInTime is implemented by collectors whose facts are a snapshot of
// the state at collection time rather than the history of the window.
type PointInTime interface {
	PointInTime() bool
}

// Request is one collection: what to look at and how to judge it.
type Request struct {
	Scope  Scope
	Window schedules.Window
	// Policy is the value NewPolicy returned, possibly with overrides.
	Policy any
}

// Result is what a collection produced.
type Result struct {
	// Targets names everything in the population, e.g. every repo@branch.
	Targets []string
	// Facts are the raw facts, serialised to JSON into the evidence and
	// stored as their own content-addressed object.
	Facts any
	// Findings are the judgements of the facts against the policy.
	Findings []evidence.Finding
	// Incomplete, when not empty, says why the collection is partial; the
	// evidence status is then error.
	Incomplete string
	// Requests is the number of API requests the collection made.
	Requests int64
}

// Deps are the clients and services a collector may use.
type Deps struct {
	GitHub *githubapi.Client
	// Cloudflare is the Cloudflare API client (token from
	// CLOUDFLARE_API_TOKEN, root from --cloudflare-api-url); nil, or
	// without a token, when Cloudflare is not configured. Collectors with
	// Cloudflare sources refuse to run without one.
	Cloudflare *cfapi.Client
	Logger     *slog.Logger
	// Now is the clock; tests fix it.
	Now func() time.Time
}

// Factory builds a collector from its dependencies.
type Factory func(Deps) Collector

// Info describes a registered collector for --help and listings.
type Info struct {
	Name        string
	Description string
	New         Factory
}

// Registry holds the known collectors. Build one per program (or test).
type Registry struct {
	infos map[string]Info
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{infos: map[string]Info{}} }

// Register adds a collector. It panics on an empty name, a nil factory or a
// duplicate name: programming errors that must stop the program at start-up.
func (r *Registry) Register(info Info) {
	if info.Name == "" || info.New == nil {
		panic("collectors: Register needs a name and a factory")
	}
	if _, dup := r.infos[info.Name]; dup {
		panic("collectors: " + info.Name + " registered twice")
	}
	r.infos[info.Name] = info
}

// Lookup finds a collector by name.
func (r *Registry) Lookup(name string) (Info, error) {
	info, ok := r.infos[name]
	if !ok {
		return Info{}, fmt.Errorf("unknown collector %q (known: %s)", name, strings.Join(r.Names(), ", "))
	}
	return info, nil
}

// Names lists the registered collectors, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.infos))
	for n := range r.infos {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Log is the collector's logger: d.Logger (a discarding one when nil) with
// the collector's name.
func (d Deps) Log(collector string) *slog.Logger {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log.With("collector", collector)
}

// Clock is d.Now, or time.Now when nil.
func (d Deps) Clock() func() time.Time {
	if d.Now == nil {
		return time.Now
	}
	return d.Now
}

// ValidPolicy is a collector's policy: a pointer to its policy type that
// validates itself.
type ValidPolicy[T any] interface {
	*T
	Validate() error
}

// PolicyOf checks that policy (a Request's) is a non-nil *T and valid, and
// returns it.
func PolicyOf[T any, P ValidPolicy[T]](policy any) (P, error) {
	p, ok := policy.(P)
	if !ok || p == nil {
		return nil, fmt.Errorf("policy: want %T, got %T", P(nil), policy)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// ValidateWindowed checks a request of a collector that reads a window's
// history: its scope, its window and its policy (see PolicyOf), without
// touching the network.
func ValidateWindowed[T any, P ValidPolicy[T]](req Request) (P, error) {
	if err := req.Scope.Validate(); err != nil {
		return nil, err
	}
	if err := req.Window.Validate(); err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	return PolicyOf[T, P](req.Policy)
}
