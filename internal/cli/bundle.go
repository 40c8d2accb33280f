package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/bundle"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	s3store "github.com/changeproof/changeproof/storage/s3"
)

// BundlesPrefix is where --presign uploads bundles in a bucket store.
const BundlesPrefix = "bundles/"

type bundleFlags struct {
	store, key, config string
	from, to           string
	control            string
	out                string
	presign            string
	output             string
	storage            storeFlags
}

func (app *App) bundleCmd() *cobra.Command {
	f := &bundleFlags{}
	cmd := &cobra.Command{
		Use:   "bundle --from DATE --to DATE --out FILE.zip",
		Short: "Write an auditor's bundle: a period's evidence, run records, population, report and a signed manifest",
		Long: `Write one zip file an auditor can verify offline, without trusting
changeproof or the store:

  evidence/…, raw/…   every evidence envelope whose window overlaps the period
                      [--from, --to), and the raw facts it signs
  runs/JOB/…          every run record of a scheduled job whose window
                      overlaps the period
  keys/               the public keys as stored (for reference)
  population.csv      every change (merged pull request, direct push) and
                      production deployment of the period: repo, PR or commit,
                      author, approvers, checks, deployments, verdict, reasons —
                      what an auditor samples from (changeproof sample)
  report.html         readable offline: status per control, a coverage
                      timeline per job, every exception with its reason
  VERIFY.md           the openssl-only steps and the cosign equivalents
  manifest.json       every other file with its sha256, signed with the
                      evidence key as a DSSE envelope (an in-toto statement,
                      predicate https://changeproof.dev/bundle/v1)

--control keeps only evidence mapped to that control and the run records of
the jobs whose evidence is. The whole store is verified first; what that
finds on the bundle's files (a deleted or modified predecessor, a fork) is
recorded in the manifest and reported by every verification of the bundle,
so a bundle never hides a problem of its store. The manifest is signed with --key (or the
config's key): the key that signs the evidence. The file is created new:
an existing --out is never replaced. After writing, the bundle is verified
as an auditor would (changeproof verify FILE.zip) and the result printed.

With --presign DURATION (at most 7 days) and an s3:// or r2:// store, the
bundle is also uploaded under bundles/ in the store (object-locked like the
evidence) and a presigned download link valid for DURATION is printed.

Exit codes: 0 bundle written and verified; 1 bundle written, but the
evidence in it has problems (listed, and shown in report.html); 2 usage or
runtime error (nothing is left behind).`,
		Example: `  changeproof bundle --store ./evidence --key signing.key --from 2026-10-01 --to 2026-11-01 --out 2026-10.zip
  changeproof bundle --config changeproof.yaml --from 2026-07-01 --to 2026-10-01 --control CC8.1 --out q3-cc8.1.zip
  changeproof bundle --config changeproof.yaml --from 2026-10-01 --to 2026-11-01 --out 2026-10.zip --presign 72h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.runBundle(cmd, f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.store, "store", "", "evidence store URL (default: the config's store, else file://evidence)")
	fs.StringVar(&f.key, "key", "", "Ed25519 signing key that signs the manifest (default: the config's key)")
	fs.StringVar(&f.config, "config", "", "config file (store, key, storage settings)")
	fs.StringVar(&f.from, "from", "", "period start, RFC 3339 or YYYY-MM-DD (UTC); required")
	fs.StringVar(&f.to, "to", "", "period end (excluded), RFC 3339 or YYYY-MM-DD (UTC); required")
	fs.StringVar(&f.control, "control", "", "only evidence mapped to this control id (e.g. CC8.1)")
	fs.StringVar(&f.out, "out", "", "the bundle file to create (.zip); required, never overwritten")
	fs.StringVar(&f.presign, "presign", "", "also upload the bundle to the s3:// or r2:// store under bundles/ and print a download link valid this long (e.g. 72h, at most 168h)")
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	f.storage.register(fs)
	return cmd
}

func (app *App) runBundle(cmd *cobra.Command, f *bundleFlags) error {
	ctx := cmd.Context()
	if err := checkOutput(f.output); err != nil {
		return fail(ExitError, err)
	}
	switch {
	case f.from == "" || f.to == "":
		return fail(ExitError, errors.New("--from and --to are required: the period [from, to) the bundle covers"))
	case f.out == "":
		return fail(ExitError, errors.New("--out is required: the .zip file to create"))
	}
	period, err := schedules.WindowSpec{From: f.from, To: f.to}.Resolve(app.Now())
	if err != nil {
		return fail(ExitError, err)
	}
	var presign time.Duration
	if f.presign != "" {
		if presign, err = schedules.ParseDuration(f.presign); err != nil {
			return fail(ExitError, fmt.Errorf("--presign %w", err))
		}
		if presign > 7*24*time.Hour {
			return fail(ExitError, fmt.Errorf("--presign %s: a presigned link is valid for at most 7 days (168h)", f.presign))
		}
	}
	if _, err := os.Lstat(f.out); err == nil {
		return fail(ExitError, fmt.Errorf("--out %s already exists: a bundle is never overwritten; choose another name", f.out))
	}
	cfg, catalog, err := app.loadConfig(f.config)
	if err != nil {
		return fail(ExitError, err)
	}
	if f.control != "" {
		if _, ok := catalog.Lookup(f.control); !ok {
			return fail(ExitError, fmt.Errorf("--control %q is not a control of the catalog (see `changeproof controls`)", f.control))
		}
	}
	keyPath := orDefault(f.key, cfg.Key)
	if keyPath == "" {
		return fail(ExitError, errors.New("--key is required: the Ed25519 key that signs the evidence signs the bundle's manifest"))
	}
	priv, err := evidence.LoadPrivateKey(keyPath)
	if err != nil {
		return fail(ExitError, fmt.Errorf("--key: %w", err))
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		return fail(ExitError, fmt.Errorf("--key %s: %w", keyPath, err))
	}
	url := orDefault(f.store, orDefault(cfg.Store, "file://evidence"))
	store, err := app.openBundleStore(ctx, url, f, cfg)
	if err != nil {
		return fail(ExitError, err)
	}
	if presign > 0 {
		if _, ok := store.(storage.Presigner); !ok {
			return fail(ExitError, fmt.Errorf("--presign needs an s3:// or r2:// store, not %s", store.Describe().URL))
		}
	}
	var zipped bytes.Buffer
	contents, err := bundle.Build(ctx, &zipped, bundle.Options{
		Store: store, Signer: signer, Period: period, Control: f.control, Now: app.Now(),
		Producer: evidence.Producer{Name: "changeproof", Version: app.Build.Version},
		Report:   app.bundleReport(catalog),
	})
	if err != nil {
		return fail(ExitError, err)
	}
	if err := writeNew(f.out, zipped.Bytes(), "bundle"); err != nil {
		return fail(ExitError, err)
	}
	rep, err := verifyBundleBytes(ctx, zipped.Bytes(), f.out, signer)
	if err != nil {
		return fail(ExitError, err)
	}
	digest := evidence.Digest(zipped.Bytes())
	var link string
	if presign > 0 {
		key := BundlesPrefix + app.Now().UTC().Format("20060102T150405Z") + "-" + digest + ".zip"
		if link, err = uploadAndPresign(ctx, store, key, zipped.Bytes(), presign); err != nil {
			return fail(ExitError, fmt.Errorf("bundle %s written, but %w", f.out, err))
		}
	}
	if f.output == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			File     string           `json:"file"`
			SHA256   string           `json:"sha256"`
			Contents *bundle.Contents `json:"contents"`
			Link     string           `json:"link,omitempty"`
			OK       bool             `json:"ok"`
			*bundle.Report
		}{f.out, digest, contents, link, rep.OK(), rep}); err != nil {
			return fail(ExitError, err)
		}
	} else {
		fmt.Fprintf(app.Stdout, "BUNDLE %s (sha256 %s): period %s, %d envelope(s), %d raw facts, %d run record(s), %d change(s) in population.csv, %d file(s)\n",
			f.out, digest, period, contents.Envelopes, contents.RawFacts, contents.RunRecords, contents.Changes, contents.Files)
		printBundleReport(app, rep, f.out)
		if link != "" {
			fmt.Fprintf(app.Stdout, "LINK  %s (valid %s)\n", link, presign)
		}
	}
	if !rep.OK() {
		return fail(ExitFindings, fmt.Errorf("bundle %s written, but %d problem(s) in its evidence (listed above, and in its report.html)", f.out, len(rep.Problems)))
	}
	return nil
}

// openBundleStore opens the store a bundle is taken from: read-only, unless
// --presign will upload the bundle to it.
func (app *App) openBundleStore(ctx context.Context, url string, f *bundleFlags, cfg *config.Config) (storage.Store, error) {
	if f.presign == "" || !isNetworkStore(url) {
		return app.openStore(ctx, url, storage.Options{ReadOnly: true, Now: app.Now, Logger: app.logger(), MaxAttempts: app.StoreMaxAttempts})
	}
	opts, err := f.storage.options(app, cfg)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(url, s3store.SchemeR2+"://") && !opts.AllowUnlocked {
		if opts.Cloudflare, err = app.cloudflareLocks(cfg, ""); err != nil {
			return nil, fmt.Errorf("store %s: reading its bucket lock rules: %w", redact(url), err)
		}
	}
	return app.openStore(ctx, url, opts)
}

// uploadAndPresign stores the bundle (create-only, locked like evidence)
// and returns a presigned GET link.
func uploadAndPresign(ctx context.Context, store storage.Store, key string, data []byte, ttl time.Duration) (string, error) {
	if err := store.Put(ctx, key, data); err != nil && !errors.Is(err, storage.ErrExists) {
		return "", fmt.Errorf("uploading it to %s: %w", key, err)
	}
	link, err := store.(storage.Presigner).PresignGet(ctx, key, ttl)
	if err != nil {
		return "", fmt.Errorf("presigning %s: %w", key, err)
	}
	return link, nil
}

// writeNew writes a file that must not exist yet, completely or not at
// all: a temporary file in the same directory, synced, then linked to the
// name (which fails if the name was taken meanwhile). what names the file
// in messages.
func writeNew(path string, data []byte, what string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".changeproof-"+what+"-*")
	if err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--out %s already exists: a %s is never overwritten", path, what)
		}
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return nil
}

func verifyBundleBytes(ctx context.Context, data []byte, name string, signer *evidence.Signer) (*bundle.Report, error) {
	pem, err := signer.PublicKeyPEM()
	if err != nil {
		return nil, err
	}
	pub, err := evidence.ParsePublicKey(pem)
	if err != nil {
		return nil, err
	}
	v, err := evidence.NewVerifier(pub)
	if err != nil {
		return nil, err
	}
	a, err := bundle.OpenArchive(bytes.NewReader(data), int64(len(data)), name)
	if err != nil {
		return nil, err
	}
	return bundle.Verify(ctx, a, v)
}

// verifyBundleFile is `changeproof verify FILE.zip`.
func (app *App) verifyBundleFile(ctx context.Context, path, output string, pubs []ed25519.PublicKey) error {
	v, err := evidence.NewVerifier(pubs...)
	if err != nil {
		return fail(ExitError, err)
	}
	fh, err := os.Open(path)
	if err != nil {
		return fail(ExitError, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fail(ExitError, err)
	}
	a, err := bundle.OpenArchive(fh, fi.Size(), path)
	if err != nil {
		return fail(ExitFindings, err)
	}
	rep, err := bundle.Verify(ctx, a, v)
	if err != nil {
		return fail(ExitError, err)
	}
	if output == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Bundle string `json:"bundle"`
			OK     bool   `json:"ok"`
			*bundle.Report
		}{path, rep.OK(), rep}); err != nil {
			return fail(ExitError, err)
		}
	} else {
		printBundleReport(app, rep, path)
	}
	if !rep.OK() {
		return fail(ExitFindings, fmt.Errorf("verification failed: %d problem(s) in %s", len(rep.Problems), path))
	}
	return nil
}

func printBundleReport(app *App, rep *bundle.Report, where string) {
	st := rep.Store
	if m := rep.Manifest; m != nil {
		control := ""
		if m.Control != "" {
			control = ", control " + m.Control
		}
		fmt.Fprintf(app.Stdout, "MANIFEST signed: period %s%s, from %s, made %s by %s %s, %d file(s)\n",
			m.Period, control, m.Store, m.CreatedAt.Format(time.RFC3339), m.Producer.Name, m.Producer.Version, rep.Files)
	}
	for _, j := range rep.Jobs {
		began := ""
		if j.Began {
			began = ", began in the period"
		}
		state := "contiguous"
		if j.Gaps > 0 {
			state = fmt.Sprintf("%d gap(s)", j.Gaps)
		}
		fmt.Fprintf(app.Stdout, "PERIOD %s: %d run record(s) account for %s%s: %s\n", j.Job, j.Records,
			schedules.Window{Start: j.Start, End: j.End}, began, state)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(app.Stdout, "FAIL  %s\n", p)
	}
	if rep.OK() {
		fmt.Fprintf(app.Stdout, "OK    bundle %s verified: manifest, %d file(s), %d envelope(s) in %d chain(s), %d run record(s) of %d job(s), windows contiguous, population of %d change(s)\n",
			where, rep.Files, st.Envelopes, st.Chains, st.Runs, st.RunChains, rep.Changes)
	} else {
		fmt.Fprintf(app.Stdout, "%d problem(s) in bundle %s\n", len(rep.Problems), where)
	}
}

type sampleFlags struct {
	bundle  string
	size    int
	seed    uint64
	seedSet bool
	pubkeys []string
	out     string
}

func (app *App) sampleCmd() *cobra.Command {
	f := &sampleFlags{}
	cmd := &cobra.Command{
		Use:   "sample --bundle FILE.zip --size N --seed S",
		Short: "Draw a reproducible random sample of a bundle's population, as CSV",
		Long: `Draw N rows at random from a bundle's population.csv (every change and
production deployment of its period) and print them as CSV with the same
header, in population order.

The draw is reproducible: the same bundle and --seed give the same sample on
any machine (a partial Fisher–Yates shuffle driven by the PCG generator of Go's
math/rand/v2, seeded with S and a fixed stream). Record the seed in the
working papers. A size at or above the population takes every row.

With --pubkey the bundle is verified first (as changeproof verify does) and
a bundle with problems is refused; without it, population.csv is read as it
is and a note says so.

Exit codes: 0 sample written; 1 the bundle did not verify; 2 usage or
runtime error.`,
		Example: `  changeproof sample --bundle 2026-10.zip --size 25 --seed 20261101 --pubkey signing.key.pub > sample.csv`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.seedSet = cmd.Flags().Changed("seed")
			return app.runSample(cmd.Context(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.bundle, "bundle", "", "the bundle (.zip) to sample from; required")
	fs.IntVar(&f.size, "size", 0, "how many rows to draw; required")
	fs.Uint64Var(&f.seed, "seed", 0, "the random seed (0 to 18446744073709551615); required, so the sample can be drawn again")
	fs.StringArrayVar(&f.pubkeys, "pubkey", nil, "verify the bundle first with this trusted public key (repeatable)")
	fs.StringVar(&f.out, "out", "", "write the sample to this new file instead of stdout (never overwritten)")
	return cmd
}

func (app *App) runSample(ctx context.Context, f *sampleFlags) error {
	switch {
	case f.bundle == "":
		return fail(ExitError, errors.New("--bundle is required: the bundle (.zip) whose population.csv to sample"))
	case f.size < 1:
		return fail(ExitError, fmt.Errorf("--size %d: give the number of rows to draw (at least 1)", f.size))
	case !f.seedSet:
		return fail(ExitError, errors.New("--seed is required: the same seed draws the same sample again"))
	}
	data, err := os.ReadFile(f.bundle)
	if err != nil {
		return fail(ExitError, fmt.Errorf("--bundle: %w", err))
	}
	a, err := bundle.OpenArchive(bytes.NewReader(data), int64(len(data)), f.bundle)
	if err != nil {
		return fail(ExitError, fmt.Errorf("--bundle: %w", err))
	}
	if len(f.pubkeys) > 0 {
		pubs, err := loadPublicKeys(f.pubkeys)
		if err != nil {
			return fail(ExitError, err)
		}
		v, err := evidence.NewVerifier(pubs...)
		if err != nil {
			return fail(ExitError, err)
		}
		rep, err := bundle.Verify(ctx, a, v)
		if err != nil {
			return fail(ExitError, err)
		}
		if !rep.OK() {
			return fail(ExitFindings, fmt.Errorf("bundle %s does not verify (%d problem(s), first: %s); run changeproof verify on it", f.bundle, len(rep.Problems), rep.Problems[0]))
		}
	} else {
		fmt.Fprintf(app.Stderr, "changeproof: note: %s was not verified (give --pubkey to verify it before sampling)\n", f.bundle)
	}
	pop, err := a.Read(bundle.PopulationFile)
	if err != nil {
		return fail(ExitError, fmt.Errorf("--bundle: %w", err))
	}
	out, n, err := bundle.Sample(pop, f.size, f.seed)
	if err != nil {
		return fail(ExitError, fmt.Errorf("--bundle %s: %w", f.bundle, err))
	}
	if f.size > n {
		fmt.Fprintf(app.Stderr, "changeproof: note: the population has %d row(s), fewer than --size %d: every row is taken\n", n, f.size)
	}
	if f.out != "" {
		if err := writeNew(f.out, out, "sample"); err != nil {
			return fail(ExitError, err)
		}
		return nil
	}
	_, err = io.Copy(app.Stdout, bytes.NewReader(out))
	return err
}
