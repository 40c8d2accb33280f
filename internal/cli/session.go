package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/deployments"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/internal/spool"
	"github.com/changeproof/changeproof/storage"
	s3store "github.com/changeproof/changeproof/storage/s3"
)

// sourceFlags are the flags that override the config's sources, key and
// store, shared by collect and run.
type sourceFlags struct {
	store, key       string
	githubAPIURL     string
	cloudflareAPIURL string
	storage          storeFlags
}

// session is what every collection of one command shares: the config, the
// signing key, the API clients and, once opened, the store.
type session struct {
	app     *App
	flags   *sourceFlags
	cfg     *config.Config
	catalog *controls.Catalog
	signer  *evidence.Signer
	gh      *githubapi.Client
	cf      *cfapi.Client
	logger  *slog.Logger

	// Set by open.
	store  storage.Store
	spool  *spool.Store
	ledger *ledger.Ledger
	desc   storage.Description
	// lock takes the store's lock: the changeproof processes of this host
	// append to its chains one at a time (internal/storelock).
	lock func(context.Context) (func(), error)
}

// loadConfig reads a config file (an empty config without one) and checks
// its policies, jobs and control overrides against the registries.
func (app *App) loadConfig(path string) (*config.Config, *controls.Catalog, error) {
	cfg := &config.Config{}
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, nil, err
		}
	}
	known := func(n string) bool { _, err := app.Collectors.Lookup(n); return err == nil }
	if err := cfg.CheckPolicies(known); err != nil {
		return nil, nil, err
	}
	catalog, err := controls.Default().Apply(cfg.Controls)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: controls: %w", orDefault(cfg.Path(), "config"), err)
	}
	if err := cfg.CheckJobs(known, func(id string) bool { _, ok := catalog.Lookup(id); return ok }); err != nil {
		return nil, nil, err
	}
	return cfg, catalog, nil
}

// newSession loads the signing key and builds the API clients; it writes
// nothing. With requireSecrets, a missing GitHub credential is an error
// naming the config key (scheduled jobs must not run anonymously);
// otherwise a warning.
func (app *App) newSession(cfg *config.Config, catalog *controls.Catalog, f *sourceFlags, requireSecrets bool) (*session, error) {
	keyPath := orDefault(f.key, cfg.Key)
	if keyPath == "" {
		if cfg.Path() != "" {
			return nil, fmt.Errorf("%s: no signing key: set key in the config or pass --key (create one with `changeproof keygen --out signing.key`)", cfg.Path())
		}
		return nil, errors.New("--key is required: the Ed25519 key that signs the evidence (create one with `changeproof keygen --out signing.key`)")
	}
	priv, err := evidence.LoadPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", keyPath, err)
	}
	cf, err := app.cloudflare(cfg, f.cloudflareAPIURL)
	if err != nil {
		return nil, err
	}
	logger := app.logger()
	opts := githubapi.Options{
		BaseURL:      orDefault(f.githubAPIURL, cfg.GitHub.APIURL),
		Logger:       logger,
		Now:          app.Now,
		RetryWaitMin: app.GitHubRetryWait,
		RetryWaitMax: app.GitHubRetryWait,
		CacheDir:     app.githubCacheDir(cfg),
	}
	if n := cfg.GitHub.Concurrency; n != nil {
		opts.Concurrency = *n
	}
	tokenEnv := orDefault(cfg.GitHub.TokenEnv, githubapi.TokenEnv)
	switch a := cfg.GitHub.App; {
	case a != nil:
		if _, err := githubapi.LoadAppKey(a.PrivateKeyFile); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.At("github.app.private_key_file"), err)
		}
		opts.App = &githubapi.App{AppID: a.ID, InstallationID: a.InstallationID, PrivateKeyFile: a.PrivateKeyFile}
	case app.Getenv(tokenEnv) != "":
		opts.Token = secret.New(app.Getenv(tokenEnv))
	case requireSecrets:
		return nil, fmt.Errorf("%s: the environment variable %s is not set: scheduled jobs need a GitHub token (or github.app)", cfg.At("github.token_env"), tokenEnv)
	default:
		logger.Warn("no GitHub token: requests are anonymous and most settings will be not_verifiable", "env", tokenEnv)
		// GitHub answers no anonymous GraphQL query.
		opts.NoGraphQL = true
	}
	if g := cfg.GitHub.GraphQL; g != nil && !*g {
		opts.NoGraphQL = true
	}
	gh, err := githubapi.New(opts)
	if err != nil {
		if opts.CacheDir != "" && cfg.GitHub.CacheDir != "" {
			return nil, fmt.Errorf("%s: %w", cfg.At("github.cache_dir"), err)
		}
		return nil, err
	}
	return &session{app: app, flags: f, cfg: cfg, catalog: catalog, signer: signer, gh: gh, cf: cf, logger: logger}, nil
}

// githubCacheDir is where the GitHub client keeps answers for conditional
// requests: the config's github.cache_dir, else $XDG_CACHE_HOME/changeproof/http
// or ~/.cache/changeproof/http; "" (no cache) for "off" or without either.
func (app *App) githubCacheDir(cfg *config.Config) string {
	switch d := cfg.GitHub.CacheDir; {
	case d == config.CacheOff:
		return ""
	case d != "":
		return d
	}
	if d := app.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "changeproof", "http")
	}
	if h := app.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "changeproof", "http")
	}
	return ""
}

// collection builds a validated collection: the collector, its request
// (without the window when w is nil) and the pipeline that will write it
// (without its ledger until open). decode fills the policy.
func (s *session) collection(name string, scope collectors.Scope, decode func(any) error, job *config.Job) (*scheduler.Job, error) {
	info, err := s.app.Collectors.Lookup(name)
	if err != nil {
		return nil, err
	}
	c := info.New(collectors.Deps{GitHub: s.gh, Cloudflare: s.cf, Logger: s.logger, Now: s.app.Now})
	policy := c.NewPolicy()
	if err := decode(policy); err != nil {
		return nil, err
	}
	sources := map[string]string{"github": s.gh.BaseURL.String()}
	if dp, ok := policy.(*deployments.Policy); ok {
		// The account is a source setting; a policy may still name its own.
		if dp.Cloudflare.AccountID == "" {
			dp.Cloudflare.AccountID = s.cfg.Cloudflare.AccountID
		}
		sources["cloudflare"] = s.cf.BaseURL()
		if job != nil && (len(dp.Cloudflare.Workers) > 0 || len(dp.Cloudflare.Pages) > 0) && !s.cf.HasToken() {
			return nil, fmt.Errorf("%s: the environment variable %s is not set: job %s reads Cloudflare Workers or Pages deployments",
				s.cfg.At("cloudflare.token_env"), orDefault(s.cfg.Cloudflare.TokenEnv, cfapi.TokenEnv), job.Name)
		}
	}
	runner := &pipeline.Runner{
		Catalog:  s.catalog,
		Producer: s.producer(),
		Sources:  sources,
		Now:      s.app.Now,
		Logger:   s.logger,
	}
	if job != nil {
		runner.Job = job.Name
		if job.Controls != nil {
			if runner.Controls, err = s.catalog.Evidence(job.Controls); err != nil {
				return nil, fmt.Errorf("%s: %w", s.cfg.JobAt(job, "controls"), err)
			}
		}
	}
	return &scheduler.Job{Name: runner.Job, Collector: c, Request: collectors.Request{Scope: scope, Policy: policy}, Runner: runner}, nil
}

func (s *session) producer() evidence.Producer {
	return evidence.Producer{Name: "changeproof", Version: s.app.Build.Version}
}

// open opens the store (flushing its spool first) and hands it to the
// jobs' pipelines. It is the first step that may write.
func (s *session) open(ctx context.Context, jobs ...*scheduler.Job) error {
	url := orDefault(s.flags.store, s.cfg.Store, DefaultStore)
	store, sp, err := s.app.openWritable(ctx, url, &s.flags.storage, s.cfg, true, func() (s3store.R2Locks, error) {
		return s.app.cloudflareLocks(s.cfg, s.flags.cloudflareAPIURL)
	})
	if err != nil {
		return err
	}
	s.store, s.spool, s.desc = store, sp, store.Describe()
	if s.lock, err = s.app.storeLock(url, store, &s.flags.storage, s.cfg); err != nil {
		return err
	}
	s.ledger = &ledger.Ledger{Store: store, Signer: s.signer}
	for _, j := range jobs {
		j.Runner.Ledger = s.ledger
		j.Runner.Storage = &s.desc
	}
	return nil
}

// storeOptions checks the store URL and its settings without opening it.
func (s *session) storeOptions() (storage.Options, error) {
	url := orDefault(s.flags.store, s.cfg.Store, DefaultStore)
	opts, err := s.flags.storage.options(s.app, s.cfg)
	if err != nil {
		return opts, err
	}
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return opts, nil // a directory
	}
	if !slices.Contains(s.app.Stores.Schemes(), scheme+"://") {
		return opts, fmt.Errorf("%s %q: unknown scheme %q (known: %s)", s.cfg.At("store"), redact(url), scheme, strings.Join(s.app.Stores.Schemes(), ", "))
	}
	if scheme == s3store.SchemeS3 || scheme == s3store.SchemeR2 {
		if _, err := s3store.ParseURL(url); err != nil {
			return opts, fmt.Errorf("%s: %s", s.cfg.At("store"), strings.ReplaceAll(err.Error(), url, redact(url)))
		}
	}
	return opts, nil
}

// scheduler returns a scheduler over the session's store.
func (s *session) scheduler(jobs []*scheduler.Job, opts scheduler.Options) *scheduler.Scheduler {
	opts.Ledger = s.ledger
	opts.Lock = s.lock
	opts.Claims = s.claims()
	opts.Now = s.app.Now
	opts.Logger = s.logger
	opts.Producer = s.producer()
	opts.APIStats = func() evidence.RunAPI {
		n := s.gh.Stats.Snapshot()
		return evidence.RunAPI{Requests: n.Requests, Retries: n.Retries, NotModified: n.NotModified, RateLimitWaitSeconds: n.RateLimitWait.Seconds()}
	}
	if s.cfg.Path() != "" {
		opts.Config = &evidence.RunConfig{Path: s.cfg.Path(), SHA256: s.cfg.SHA256()}
	}
	if opts.MaxCatchUp == 0 {
		opts.MaxCatchUp = s.cfg.MaxCatchUp()
	}
	if sp := s.spool; sp != nil {
		opts.Flush = func(ctx context.Context) error {
			_, err := sp.Flush(ctx)
			return err
		}
	}
	return scheduler.New(jobs, opts)
}

// jobs resolves config jobs (all when names is empty) into runnable jobs.
func (s *session) jobs(names ...string) ([]*scheduler.Job, error) {
	var out []*scheduler.Job
	for i := range s.cfg.Jobs {
		cj := &s.cfg.Jobs[i]
		if len(names) > 0 && !slices.Contains(names, cj.Name) {
			continue
		}
		j, err := s.job(cj)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// job resolves one config job: scope, policy, controls and schedule.
func (s *session) job(cj *config.Job) (*scheduler.Job, error) {
	scope := collectors.Scope{Orgs: cj.Scope.Orgs, Branches: cj.Scope.Branches}
	for k, r := range cj.Scope.Repos {
		repo, err := collectors.ParseRepo(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.cfg.JobAt(cj, fmt.Sprintf("scope.repos[%d]", k)), err)
		}
		scope.Repos = append(scope.Repos, repo)
	}
	if err := scope.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.cfg.JobAt(cj, "scope"), err)
	}
	j, err := s.collection(cj.Collector, scope, func(p any) error { return s.cfg.DecodeJobPolicy(cj, p) }, cj)
	if err != nil {
		return nil, err
	}
	// The window is set per run; validate with the latest one.
	sched := s.cfg.ScheduleOf(cj)
	w, err := sched.Latest(s.app.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.cfg.JobAt(cj, "schedule"), err)
	}
	req := j.Request
	req.Window = w
	if err := j.Collector.Validate(req); err != nil {
		return nil, fmt.Errorf("%s: job %s: %w", s.cfg.JobAt(cj, "policy"), cj.Name, err)
	}
	j.Schedule = sched
	return j, nil
}
