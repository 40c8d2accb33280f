package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/internal/spool"
	"github.com/changeproof/changeproof/internal/storelock"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	s3store "github.com/changeproof/changeproof/storage/s3"
)

// storeFlags are the flags of every command that writes to a store.
type storeFlags struct {
	retention     string
	lockMode      string
	legalHold     bool
	allowUnlocked bool
	spool         string
}

func (f *storeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.retention, "retention", "", "how long each evidence object stays locked in an s3:// or r2:// store, e.g. 1095d (default 1095d, or the config's storage.retention)")
	fs.StringVar(&f.lockMode, "lock-mode", "", "S3 Object Lock mode: compliance (default: nobody, not even the account root, can delete before retention ends) or governance")
	fs.BoolVar(&f.legalHold, "legal-hold", false, "also place an S3 legal hold on every object")
	fs.BoolVar(&f.allowUnlocked, "allow-unlocked", false, "write to a bucket without Object Lock (or an R2 lock rule); the evidence then records that its storage was not WORM")
	fs.StringVar(&f.spool, "spool", "", "directory keeping signed evidence a store could not take, until changeproof flush runs (default $XDG_STATE_HOME/changeproof/spool)")
}

// options resolves the flags over the config into store options.
func (f *storeFlags) options(app *App, cfg *config.Config) (storage.Options, error) {
	opts := storage.Options{
		LegalHold:     f.legalHold || cfg.Storage.LegalHold,
		AllowUnlocked: f.allowUnlocked || cfg.Storage.AllowUnlocked,
		Now:           app.Now,
		Logger:        app.logger(),
		MaxAttempts:   app.StoreMaxAttempts,
	}
	if r := orDefault(f.retention, cfg.Storage.Retention); r != "" {
		d, err := schedules.ParseDuration(r)
		if err != nil {
			return opts, fmt.Errorf("--retention %w", err)
		}
		opts.Retention = d
	}
	switch m := strings.ToLower(orDefault(f.lockMode, cfg.Storage.LockMode)); m {
	case "":
	case "compliance", "governance":
		opts.LockMode = strings.ToUpper(m)
	default:
		return opts, fmt.Errorf("--lock-mode %q: want compliance or governance", m)
	}
	return opts, nil
}

// spoolRoot is where spools live unless --spool or the config says.
func (app *App) spoolRoot(f *storeFlags, cfg *config.Config) (string, error) {
	if d := orDefault(f.spool, cfg.Storage.Spool); d != "" {
		return d, nil
	}
	if d := app.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "changeproof", "spool"), nil
	}
	if h := app.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "changeproof", "spool"), nil
	}
	return "", errors.New("no spool directory: set --spool, the config's storage.spool, XDG_STATE_HOME or HOME")
}

// storeLock returns how to take the lock of the store at url, which is
// open as st (internal/storelock): a directory store's own directory; for
// a bucket, a file named after its bucket, prefix and endpoint in the
// locks directory beside the spools, which the writers of a host share as
// they share the spools.
func (app *App) storeLock(url string, st storage.Store, f *storeFlags, cfg *config.Config) (func(context.Context) (func(), error), error) {
	if !isNetworkStore(url) {
		dir, ok := strings.CutPrefix(st.Describe().URL, "file://")
		if !ok {
			return nil, fmt.Errorf("store %s: cannot tell its directory to lock it", redact(url))
		}
		return func(ctx context.Context) (func(), error) { return storelock.LockDir(ctx, dir) }, nil
	}
	loc, err := s3store.ParseURL(url)
	if err != nil {
		return nil, err
	}
	root, err := app.spoolRoot(f, cfg)
	if err != nil {
		return nil, err
	}
	identity := loc.Scheme + "://" + loc.Account + "/" + loc.Bucket + "/" + loc.Prefix + "@" + loc.Endpoint
	path := storelock.Path(filepath.Join(filepath.Dir(filepath.Clean(root)), "locks"), identity)
	return func(ctx context.Context) (func(), error) { return storelock.Lock(ctx, path) }, nil
}

// isNetworkStore reports whether a store URL names a remote store, whose
// writes may fail for a while and so go through a spool.
func isNetworkStore(url string) bool {
	return strings.HasPrefix(url, s3store.SchemeS3+"://") || strings.HasPrefix(url, s3store.SchemeR2+"://")
}

// openWritable opens a store to write evidence to. A network store is
// wrapped in its spool and, when flush is true, whatever an earlier run left
// there is uploaded first (an upload that fails now is left for later, with
// a warning).
func (app *App) openWritable(ctx context.Context, url string, f *storeFlags, cfg *config.Config, flush bool, cf func() (s3store.R2Locks, error)) (storage.Store, *spool.Store, error) {
	opts, err := f.options(app, cfg)
	if err != nil {
		return nil, nil, err
	}
	if strings.HasPrefix(url, s3store.SchemeR2+"://") && !opts.AllowUnlocked {
		if opts.Cloudflare, err = cf(); err != nil {
			return nil, nil, fmt.Errorf("store %s: reading its bucket lock rules: %w", redact(url), err)
		}
	}
	store, err := app.openStore(ctx, url, opts)
	if err != nil {
		return nil, nil, err
	}
	if !isNetworkStore(url) {
		return store, nil, nil
	}
	root, err := app.spoolRoot(f, cfg)
	if err != nil {
		return nil, nil, err
	}
	sp, err := spool.Open(store, url, spool.Dir(root, url), app.logger())
	if err != nil {
		return nil, nil, err
	}
	if !flush {
		return sp, sp, nil
	}
	n, err := sp.Pending(ctx)
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return sp, sp, nil
	}
	// Another writer of the store may be reading chain heads: flush
	// while holding the store's lock.
	lock, err := app.storeLock(url, store, f, cfg)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	rep, err := sp.Flush(ctx)
	unlock()
	switch {
	case err == nil:
		app.logger().Info("spooled evidence uploaded", "spool", sp.Dir(), "objects", len(rep.Uploaded)+len(rep.AlreadyStored))
	case errors.Is(err, storage.ErrUnavailable):
		// This run will find the store unavailable too, and say so.
		app.logger().Warn("spooled evidence could not be uploaded yet", "spool", sp.Dir(), "err", err)
	default:
		// Conflicts or a refusal: collecting on top would link the chain
		// past evidence the store does not hold.
		return nil, nil, fmt.Errorf("the spool %s holds evidence that could not be uploaded to %s: %w; resolve it (see `changeproof flush --help`) before collecting", sp.Dir(), redact(url), err)
	}
	return sp, sp, nil
}

// logger is the process logger (set up by the root command).
func (app *App) logger() *slog.Logger { return slog.Default() }

func (app *App) flushCmd() *cobra.Command {
	var f storeFlags
	var store, configPath, output, cloudflareAPIURL string
	cmd := &cobra.Command{
		Use:   "flush --store URL",
		Short: "Upload evidence spooled while a store was unavailable",
		Long: `When an s3:// or r2:// store cannot be reached, or refuses a write for a
transient reason (5xx, throttling), collect keeps the signed envelope, its
raw facts and the public key in a local spool directory instead of losing
them. The next collection to the same store uploads them first; flush does it
now.

Raw facts and keys are uploaded before the envelopes that name them, and
envelopes oldest first. An object leaves the spool only once the store holds
the same bytes; one the store holds with other bytes is kept and reported.

Exit 0 when the spool is empty afterwards, 2 otherwise.`,
		Example: `  changeproof flush --store s3://acme-evidence/changeproof?region=eu-west-1
  changeproof flush --config changeproof.yaml --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return fail(ExitError, err)
			}
			cfg, err := loadConfig(configPath)
			if err != nil {
				return fail(ExitError, err)
			}
			url := orDefault(store, cfg.Store)
			if url == "" {
				return fail(ExitError, errors.New("--store is required: the s3:// or r2:// store the spool belongs to"))
			}
			if !isNetworkStore(url) {
				return fail(ExitError, fmt.Errorf("--store %s: only s3:// and r2:// stores have a spool", redact(url)))
			}
			f.allowUnlocked = f.allowUnlocked || cfg.Storage.AllowUnlocked
			_, sp, err := app.openWritable(cmd.Context(), url, &f, cfg, false, func() (s3store.R2Locks, error) { return app.cloudflareLocks(cfg, cloudflareAPIURL) })
			if err != nil {
				return fail(ExitError, err)
			}
			lock, err := app.storeLock(url, sp, &f, cfg)
			if err != nil {
				return fail(ExitError, err)
			}
			unlock, err := lock(cmd.Context())
			if err != nil {
				return fail(ExitError, err)
			}
			rep, err := sp.Flush(cmd.Context())
			unlock()
			if rep == nil {
				return fail(ExitError, err)
			}
			if output == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				if eerr := enc.Encode(rep); eerr != nil {
					return fail(ExitError, eerr)
				}
			} else {
				fmt.Fprintf(app.Stdout, "uploaded:   %d\nalready:    %d\nconflicts:  %d\nremaining:  %d\nspool:      %s\nstore:      %s\n",
					len(rep.Uploaded), len(rep.AlreadyStored), len(rep.Conflicts), rep.Remaining, sp.Dir(), sp.Describe().URL)
			}
			if err != nil {
				return fail(ExitError, err)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&store, "store", "", "the s3:// or r2:// store whose spool to upload (default: the config's store)")
	cmd.Flags().StringVar(&configPath, "config", "", "config file (store, storage settings, cloudflare)")
	cmd.Flags().StringVar(&cloudflareAPIURL, "cloudflare-api-url", "", "Cloudflare API root, for r2:// lock checks")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// loadConfig reads the config file, or returns an empty config.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return &config.Config{}, nil
	}
	return config.Load(path)
}

func (app *App) storageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Check or set up an evidence store's lock",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(app.storageCheckCmd(), app.storageLockCmd())
	return cmd
}

// storageCheckCmd opens a store exactly as collect would — the Object Lock
// or R2 lock-rule check included — and says what protects its objects,
// writing nothing.
func (app *App) storageCheckCmd() *cobra.Command {
	var f storeFlags
	var store, configPath, output, cloudflareAPIURL string
	cmd := &cobra.Command{
		Use:   "check --store URL",
		Short: "Say what keeps a store's evidence unchanged, writing nothing",
		Long: `Open a store as collect would, with the same checks — for s3:// that the
bucket has Object Lock enabled, for r2:// that an enabled bucket lock rule
covers the store's prefix for at least the retention — and print what
protects the evidence written there. Nothing is written (no health-check
object in a locked bucket).

Exit 0 when collect could write there, 2 when it would refuse.`,
		Example: `  changeproof storage check --store "s3://acme-evidence/changeproof?region=eu-west-1"
  CLOUDFLARE_API_TOKEN=... changeproof storage check --store r2://0123456789abcdef0123456789abcdef/evidence/changeproof`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return fail(ExitError, err)
			}
			cfg, err := loadConfig(configPath)
			if err != nil {
				return fail(ExitError, err)
			}
			url := orDefault(store, cfg.Store, DefaultStore)
			opts, err := f.options(app, cfg)
			if err != nil {
				return fail(ExitError, err)
			}
			if strings.HasPrefix(url, s3store.SchemeR2+"://") && !opts.AllowUnlocked {
				if opts.Cloudflare, err = app.cloudflareLocks(cfg, cloudflareAPIURL); err != nil {
					return fail(ExitError, fmt.Errorf("store %s: reading its bucket lock rules: %w", redact(url), err))
				}
			}
			st, err := app.openStore(cmd.Context(), url, opts)
			if err != nil {
				return fail(ExitError, err)
			}
			d := st.Describe()
			if output == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(d); err != nil {
					return fail(ExitError, err)
				}
				return nil
			}
			fmt.Fprintf(app.Stdout, "store:       %s\nworm:        %t\nprotection:  %s\n", d.URL, d.WORM, d.Protection)
			if l := d.Lock; l != nil {
				fmt.Fprintf(app.Stdout, "lock:        %s", l.Kind)
				if l.Mode != "" {
					fmt.Fprintf(app.Stdout, " %s", l.Mode)
				}
				if l.RetentionSeconds > 0 {
					fmt.Fprintf(app.Stdout, ", retention %s", time.Duration(l.RetentionSeconds)*time.Second)
				}
				if l.LegalHold {
					fmt.Fprint(app.Stdout, ", legal hold")
				}
				if r := l.Rule; r != nil {
					fmt.Fprintf(app.Stdout, ", rule %q (prefix %q, %s)", r.ID, r.Prefix, r.Condition)
				}
				fmt.Fprintln(app.Stdout)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&store, "store", "", "store URL (default: the config's store, or "+DefaultStore+")")
	cmd.Flags().StringVar(&configPath, "config", "", "config file (store, storage settings, cloudflare)")
	cmd.Flags().StringVar(&cloudflareAPIURL, "cloudflare-api-url", "", "Cloudflare API root, for r2:// lock checks")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func (app *App) storageLockCmd() *cobra.Command {
	var store, configPath, retention, cloudflareAPIURL string
	cmd := &cobra.Command{
		Use:   "lock --store r2://ACCOUNT/BUCKET/PREFIX",
		Short: "Add an R2 bucket lock rule that keeps the store's evidence for the retention",
		Long: `R2 has no per-object Object Lock: immutability comes from the bucket's lock
rules. This adds an enabled Age rule covering the store's prefix for the
retention (default 1095d), keeping every existing rule, unless an enabled rule
already covers it for at least that long (then nothing changes).

Be aware: an R2 bucket lock rule can be removed by an administrator of the
Cloudflare account. It protects against accidents and compromised
application credentials, much like S3 Object Lock's GOVERNANCE mode, not
against the account's owners as COMPLIANCE mode does.

The token (CLOUDFLARE_API_TOKEN, or the variable the config's
cloudflare.token_env names) needs "Workers R2 Storage: Edit".`,
		Example: `  CLOUDFLARE_API_TOKEN=... changeproof storage lock --store r2://0123456789abcdef0123456789abcdef/evidence/changeproof --retention 2555d`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return fail(ExitError, err)
			}
			url := orDefault(store, cfg.Store)
			if !strings.HasPrefix(url, s3store.SchemeR2+"://") {
				return fail(ExitError, fmt.Errorf("--store %q: storage lock sets up r2:// stores; S3 buckets get Object Lock when created (aws s3api create-bucket --object-lock-enabled-for-bucket)", redact(url)))
			}
			loc, err := s3store.ParseURL(url)
			if err != nil {
				return fail(ExitError, err)
			}
			d := s3store.DefaultRetention
			if r := orDefault(retention, cfg.Storage.Retention); r != "" {
				if d, err = schedules.ParseDuration(r); err != nil {
					return fail(ExitError, fmt.Errorf("--retention %w", err))
				}
			}
			locks, err := app.cloudflareLocks(cfg, cloudflareAPIURL)
			if err != nil {
				return fail(ExitError, err)
			}
			rule, err := s3store.ApplyR2LockAt(cmd.Context(), locks, loc, d)
			if err != nil {
				return fail(ExitError, err)
			}
			fmt.Fprintf(app.Stdout, "R2 bucket %s: lock rule %q keeps prefix %q (%s)\n", loc.Bucket, rule.ID, rule.Prefix, describeCondition(rule.Condition))
			return nil
		},
	}
	cmd.Flags().StringVar(&store, "store", "", "the r2:// store to protect (default: the config's store)")
	cmd.Flags().StringVar(&configPath, "config", "", "config file (store, storage.retention, cloudflare)")
	cmd.Flags().StringVar(&retention, "retention", "", "how long the rule keeps each object, e.g. 1095d (default 1095d, or the config's storage.retention)")
	cmd.Flags().StringVar(&cloudflareAPIURL, "cloudflare-api-url", "", "Cloudflare API root (default https://api.cloudflare.com/client/v4)")
	return cmd
}

func describeCondition(c s3store.R2LockCondition) string {
	switch c.Type {
	case s3store.R2Age:
		return fmt.Sprintf("Age: %s after each write", time.Duration(c.MaxAgeSeconds)*time.Second)
	case s3store.R2Date:
		return "Date: until " + c.Date
	}
	return c.Type
}

// cloudflare builds the Cloudflare API client from the token variable (the
// config's cloudflare.token_env, default CLOUDFLARE_API_TOKEN) and the API
// URL (--cloudflare-api-url, then the config's cloudflare.api_url).
func (app *App) cloudflare(cfg *config.Config, apiURL string) (*cfapi.Client, error) {
	tokenEnv := orDefault(cfg.Cloudflare.TokenEnv, cfapi.TokenEnv)
	return cfapi.New(cfapi.Options{
		BaseURL:      orDefault(apiURL, cfg.Cloudflare.APIURL),
		Token:        secret.New(app.Getenv(tokenEnv)),
		Logger:       app.logger(),
		Now:          app.Now,
		RetryWaitMin: app.GitHubRetryWait,
		RetryWaitMax: app.GitHubRetryWait,
	})
}

// cloudflareLocks is what reads and sets R2 bucket lock rules.
func (app *App) cloudflareLocks(cfg *config.Config, apiURL string) (s3store.R2Locks, error) {
	c, err := app.cloudflare(cfg, apiURL)
	if err != nil {
		return nil, err
	}
	if !c.HasToken() {
		return nil, fmt.Errorf("no Cloudflare API token: set %s (it needs \"Workers R2 Storage\" read, or edit for storage lock)", orDefault(cfg.Cloudflare.TokenEnv, cfapi.TokenEnv))
	}
	return r2Locks{c.R2Locks()}, nil
}

// r2Locks gives cfapi's lock-rule reader the store's interface, with
// jurisdictions (s3store.R2JurisdictionLocks).
type r2Locks struct{ cfapi.R2Locks }

func (l r2Locks) InJurisdiction(j string) s3store.R2Locks {
	return r2Locks{l.R2Locks.InJurisdiction(j)}
}

// openStore opens a store; its error never repeats a credential the URL
// may carry.
func (app *App) openStore(ctx context.Context, url string, opts storage.Options) (storage.Store, error) {
	st, err := app.Stores.Open(ctx, url, opts)
	if err != nil {
		if r := redact(url); r != url {
			return nil, errors.New(strings.ReplaceAll(err.Error(), url, r))
		}
		return nil, err
	}
	return st, nil
}

// redact hides what may be a credential in a store URL a user typed:
// everything between "://" and the last "@" before the query. No valid
// store URL has an "@" there (buckets and prefixes cannot hold one).
func redact(url string) string {
	i := strings.Index(url, "://")
	if i < 0 {
		return url
	}
	rest := url[i+3:]
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		rest = rest[:q]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return url
	}
	return url[:i+3] + "[redacted]@" + url[i+3+at+1:]
}
