package cli

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/storage"
)

func (app *App) verifyCmd() *cobra.Command {
	var pubkeys []string
	var output string
	cmd := &cobra.Command{
		Use:   "verify PATH --pubkey FILE",
		Short: "Verify stored evidence: signatures, digests, raw facts and hash chains",
		Long: `Verify evidence with a public key you trust, obtained out of band (not the
copy under keys/ in the store, which whoever controls the store could replace).

PATH is a store URL (file://DIR, s3://…, r2://…), a store directory, one
envelope or run record file inside a store (then only that file is checked,
not its chain), or an auditor's bundle (FILE.zip, from changeproof bundle).

Every envelope is checked for: a file name whose sha256 matches its content,
a DSSE signature by a trusted key over the in-toto statement, the statement
and predicate types, raw facts that hash to the signed subject and are stored
under raw/ unchanged, and — for a whole store — one unbroken hash chain per
collector and scope (no deleted, modified, reordered or forked envelopes).
Run records under runs/ (one per scheduled or ad hoc run of a configured
job) are checked the same way, with one hash chain per job, and each job's
scheduled windows must join: no gap, no overlap.
On an S3 bucket with Object Lock, objects hidden behind a delete marker or
overwritten with a newer version are reported as well.

A bundle is checked offline: its manifest's signature; every file against
the sha256 the manifest gives, and no file added; the envelopes and run
records as above, with chains that may start at the links the manifest
names just before the period; each job's windows joining with no gap over
the period (from its first window if the job began in the period, up to its
last tick before the bundle was made); and population.csv being exactly the
changes the verified evidence gives.

Each bad file is named with the reason. Exit 0 when everything verifies,
1 when anything does not, 2 on a usage error.`,
		Example: `  changeproof verify ./evidence --pubkey signing.key.pub
  changeproof verify 2026-10.zip --pubkey signing.key.pub
  changeproof verify evidence/evidence/branch-protection/github.com_acme/2026/11/23/20261123T090000.000000000Z-<sha256>.json --pubkey signing.key.pub`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return fail(ExitError, err)
			}
			if len(pubkeys) == 0 {
				return fail(ExitError, errors.New("--pubkey is required: the public key you trust, obtained from the evidence owner out of band"))
			}
			pubs, err := loadPublicKeys(pubkeys)
			if err != nil {
				return fail(ExitError, err)
			}
			if isBundleFile(args[0]) {
				return app.verifyBundleFile(cmd.Context(), args[0], output, pubs)
			}
			v, err := evidence.NewVerifier(pubs...)
			if err != nil {
				return fail(ExitError, err)
			}
			store, opts, err := app.openForVerify(cmd, args[0])
			if err != nil {
				return fail(ExitError, err)
			}
			rep, err := ledger.Verify(cmd.Context(), store, v, opts)
			if err != nil {
				return fail(ExitError, err)
			}
			// Objects hidden or replaced in ways reads do not show (S3
			// delete markers, newer versions) are problems too.
			if tc, ok := store.(storage.TamperChecker); ok {
				found, err := tc.Tampering(cmd.Context(), opts.Prefix)
				if err != nil {
					return fail(ExitError, err)
				}
				for _, f := range found {
					rep.Problems = append(rep.Problems, ledger.Problem{Key: f.Key, Reason: f.Reason})
				}
			}
			if err := printReport(app, output, rep, store.Describe().URL); err != nil {
				return fail(ExitError, err)
			}
			if !rep.OK() {
				return fail(ExitFindings, fmt.Errorf("verification failed: %d problem(s) in %s", len(rep.Problems), store.Describe().URL))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&pubkeys, "pubkey", nil, "trusted Ed25519 public key, SPKI PEM (repeatable, e.g. across a key rotation)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// isBundleFile reports whether path is a regular file ending in .zip.
func isBundleFile(path string) bool {
	if !strings.HasSuffix(strings.ToLower(path), ".zip") {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// openForVerify opens what PATH names without creating anything.
func (app *App) openForVerify(cmd *cobra.Command, path string) (storage.Store, ledger.VerifyOptions, error) {
	if strings.Contains(path, "://") && !strings.HasPrefix(path, "file://") {
		// Verification only reads: the lock checks are for writers.
		st, err := app.openStore(cmd.Context(), path, storage.Options{ReadOnly: true})
		return st, ledger.VerifyOptions{}, err
	}
	local := strings.TrimPrefix(path, "file://")
	fi, err := os.Stat(local)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ledger.VerifyOptions{}, fmt.Errorf("%s does not exist", local)
		}
		return nil, ledger.VerifyOptions{}, err
	}
	if fi.IsDir() {
		st, err := app.Stores.Open(cmd.Context(), "file://"+local, storage.Options{})
		return st, ledger.VerifyOptions{}, err
	}
	abs, err := filepath.Abs(local)
	if err != nil {
		return nil, ledger.VerifyOptions{}, err
	}
	dir, key, ok := ledger.SplitStorePath(filepath.ToSlash(abs))
	if !ok {
		return nil, ledger.VerifyOptions{}, fmt.Errorf("%s is not a file inside a store: its path does not end in an %s or %s key (verify the store directory, or use the openssl steps in the README)", local, ledger.EvidencePrefix, ledger.RunsPrefix)
	}
	st, err := app.Stores.Open(cmd.Context(), "file://"+filepath.FromSlash(dir), storage.Options{})
	return st, ledger.VerifyOptions{Prefix: key, SkipChains: true}, err
}

func printReport(app *App, format string, rep *ledger.Report, where string) error {
	if format == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		if rep.Problems == nil {
			rep.Problems = []ledger.Problem{}
		}
		return enc.Encode(struct {
			Store string `json:"store"`
			OK    bool   `json:"ok"`
			*ledger.Report
		}{where, rep.OK(), rep})
	}
	for _, h := range rep.Heads {
		src := ""
		for _, k := range slices.Sorted(maps.Keys(h.Sources)) {
			src += fmt.Sprintf(" %s=%s", k, h.Sources[k])
		}
		fmt.Fprintf(app.Stdout, "CHAIN %s %s (%d envelope(s);%s) head %s collected %s\n",
			h.Collector, h.Scope, h.Envelopes, src, h.HeadSHA256, h.CollectedAt.Format(time.RFC3339))
	}
	for _, h := range rep.RunHeads {
		fmt.Fprintf(app.Stdout, "RUNS  %s (%d run record(s): success %d, error %d, missed %d, interrupted %d) head %s finished %s\n",
			h.Job, h.Records, h.Statuses[evidence.RunSuccess], h.Statuses[evidence.RunError], h.Statuses[evidence.RunMissed], h.Statuses[evidence.RunInterrupted],
			h.HeadSHA256, h.FinishedAt.UTC().Format(time.RFC3339))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(app.Stdout, "FAIL  %s\n", p)
	}
	checked := "signatures, digests, raw facts, chains"
	if !rep.ChainsChecked {
		checked = "signatures, digests, raw facts (chain not checked: single envelope)"
	}
	if rep.OK() {
		fmt.Fprintf(app.Stdout, "OK    %d envelope(s) in %d chain(s) and %d run record(s) of %d job(s) verified in %s: %s\n", rep.Envelopes, rep.Chains, rep.Runs, rep.RunChains, where, checked)
	} else {
		fmt.Fprintf(app.Stdout, "%d problem(s); %d of %d envelope(s) and %d of %d run record(s) passed their own checks, in %d chain(s), in %s\n", len(rep.Problems), rep.Verified, rep.Envelopes, rep.RunsVerified, rep.Runs, rep.Chains, where)
	}
	return nil
}

// loadPublicKeys reads trusted public keys given with --pubkey.
func loadPublicKeys(paths []string) ([]ed25519.PublicKey, error) {
	return loadPublicKeysAs(paths, "--pubkey")
}

func loadPublicKeysAs(paths []string, flag string) ([]ed25519.PublicKey, error) {
	var pubs []ed25519.PublicKey
	for _, p := range paths {
		pub, err := evidence.LoadPublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		pubs = append(pubs, pub)
	}
	return pubs, nil
}

// trustedVerifier trusts the --pubkey keys or, without any, the public key
// beside the config's signing key (KEY.pub, as keygen writes it): what
// coverage, serve and export read the store with.
func trustedVerifier(pubkeys []string, cfg *config.Config) (*evidence.Verifier, error) {
	flag := "--pubkey"
	if len(pubkeys) == 0 {
		if cfg.Key == "" {
			return nil, errors.New("--pubkey is required (or a config whose key has a .pub beside it): the public key you trust")
		}
		pub := cfg.Key + ".pub"
		if _, err := os.Stat(pub); err != nil {
			return nil, fmt.Errorf("--pubkey is required: the config's key %s has no public key %s beside it (pass the public key you trust)", cfg.Key, pub)
		}
		pubkeys, flag = []string{pub}, cfg.At("key")+" (.pub)"
	}
	pubs, err := loadPublicKeysAs(pubkeys, flag)
	if err != nil {
		return nil, err
	}
	return evidence.NewVerifier(pubs...)
}
