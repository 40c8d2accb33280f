package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/oscal"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

func (app *App) exportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export verified evidence in a standard format (OSCAL)",
		Long: `Export the verified evidence of a period in a standard format other tools
read. See the subcommands.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(app.exportOSCALCmd())
	return cmd
}

type exportFlags struct {
	store, from, to, config, out string
	pubkeys, controls            []string
}

func (app *App) exportOSCALCmd() *cobra.Command {
	f := &exportFlags{}
	cmd := &cobra.Command{
		Use:   "oscal --store URL --from DATE --to DATE",
		Short: "Write one period's verified evidence as an OSCAL assessment-results JSON document",
		Long: `Write the evidence of the period [--from, --to) as one OSCAL 1.1
assessment-results JSON document (docs/oscal.md), for GRC tools and auditors
that read OSCAL.

The store is verified first with the public key you trust (as verify does).
Each verified evidence envelope whose window overlaps the period becomes an
observation (its store key, envelope and raw facts sha256, status and
counts); each control becomes a finding, satisfied only when it has verified
evidence in the period and all of it passes. Envelopes and run records that
do not verify, and scheduled runs that did not collect their window, become
observations saying the evidence is unverifiable or missing, and make the
controls they concern not-satisfied. With --config, every control of the
config's jobs is reported, not-satisfied when it has no evidence.

The public key is --pubkey, or else the config's key with ".pub" appended.
The document goes to stdout, or to --out FILE, written atomically; an
existing file is never overwritten. The same store, period and clock give
the same bytes (deterministic UUIDv5 identifiers).

Exit codes: 0 document written (whatever its findings); 2 usage error, the
store cannot be read, or nothing to report.`,
		Example: `  changeproof export oscal --store ./evidence --from 2026-10-01 --to 2027-01-01 --pubkey signing.key.pub --out q4.oscal.json
  changeproof export oscal --config changeproof.yaml --from 2026-11-01 --to 2026-12-01 --control CC8.1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.runExportOSCAL(cmd, f); err != nil {
				var ee *exitError
				if errors.As(err, &ee) {
					return err
				}
				return fail(ExitError, err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.store, "store", "", "evidence store: file://DIR or a directory, s3://…, r2://… (default: the config's store, else "+DefaultStore+")")
	fl.StringVar(&f.from, "from", "", "start of the period, RFC 3339 or YYYY-MM-DD (UTC); required")
	fl.StringVar(&f.to, "to", "", "end of the period (excluded), RFC 3339 or YYYY-MM-DD (UTC); required")
	fl.StringVar(&f.config, "config", "", "config file: store, key (its .pub is the default --pubkey), jobs whose controls must be reported, controls catalog")
	fl.StringArrayVar(&f.pubkeys, "pubkey", nil, "trusted Ed25519 public key, SPKI PEM (repeatable); default: the config's key + \".pub\"")
	fl.StringArrayVar(&f.controls, "control", nil, "report only this control, e.g. CC8.1 (repeatable); reported even without evidence")
	fl.StringVar(&f.out, "out", "", "write the document to FILE (refused if it exists); - or none: stdout")
	return cmd
}

func (app *App) runExportOSCAL(cmd *cobra.Command, f *exportFlags) error {
	switch {
	case f.from == "":
		return errors.New("--from is required: the start of the period (RFC 3339 or YYYY-MM-DD)")
	case f.to == "":
		return errors.New("--to is required: the end of the period, excluded (RFC 3339 or YYYY-MM-DD)")
	}
	period, err := schedules.WindowSpec{From: f.from, To: f.to}.Resolve(app.Now())
	if err != nil {
		return err
	}
	toFile := f.out != "" && f.out != "-"
	if toFile {
		if err := checkNewFile(f.out); err != nil {
			return err
		}
	}
	cfg, catalog, err := app.loadConfig(f.config)
	if err != nil {
		return err
	}
	v, err := trustedVerifier(f.pubkeys, cfg)
	if err != nil {
		return err
	}
	var asked []evidence.Control
	for _, id := range f.controls {
		c, ok := lookupControl(catalog, id)
		if !ok {
			return fmt.Errorf("--control %q: not in the controls catalog (known: %s)", id, strings.Join(controlIDs(catalog), ", "))
		}
		asked = append(asked, c)
	}
	url := orDefault(f.store, cfg.Store, DefaultStore)
	st, vopts, err := app.openForVerify(cmd, url)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	if vopts.Prefix != "" {
		return fmt.Errorf("--store %s is one file; name the store it is in", url)
	}
	gaps, err := coverageGaps(cmd.Context(), st, v, cfg, catalog, period, app.Now())
	if err != nil {
		return err
	}
	doc, err := oscal.Export(cmd.Context(), st, v, oscal.Options{
		Period:     period,
		Now:        app.Now(),
		Version:    app.Build.Version,
		Store:      st.Describe().URL,
		Controls:   asked,
		Expected:   jobControls(cfg, catalog),
		ControlsOf: controlsOf(cfg, catalog),
		Gaps:       gaps,
	})
	if err != nil {
		return err
	}
	data, err := oscal.Marshal(doc)
	if err != nil {
		return err
	}
	if !toFile {
		_, err := app.Stdout.Write(data)
		return err
	}
	if err := writeNewFile(f.out, data); err != nil {
		return err
	}
	satisfied, findings := 0, doc.AssessmentResults.Results[0].Findings
	for _, fd := range findings {
		if fd.Target.Status.State == "satisfied" {
			satisfied++
		}
	}
	fmt.Fprintf(app.Stdout, "wrote %s: OSCAL %s assessment-results for %s, %d observation(s), %d control(s): %d satisfied, %d not satisfied\n",
		f.out, oscal.OSCALVersion, period, len(doc.AssessmentResults.Results[0].Observations), len(findings), satisfied, len(findings)-satisfied)
	return nil
}

func lookupControl(catalog *controls.Catalog, id string) (evidence.Control, bool) {
	for _, c := range catalog.Controls {
		if strings.EqualFold(c.ID, strings.TrimSpace(id)) {
			return evidence.Control{Framework: c.Framework, ID: c.ID, Title: c.Title}, true
		}
	}
	return evidence.Control{}, false
}

func controlIDs(catalog *controls.Catalog) []string {
	var ids []string
	for _, c := range catalog.Controls {
		ids = append(ids, c.ID)
	}
	return ids
}

// jobControls are the controls of every job of the config.
func jobControls(cfg *config.Config, catalog *controls.Catalog) []evidence.Control {
	var out []evidence.Control
	for _, j := range cfg.Jobs {
		for _, c := range controlsOf(cfg, catalog)(j.Name, j.Collector) {
			if !slices.ContainsFunc(out, func(o evidence.Control) bool { return o.ID == c.ID }) {
				out = append(out, c)
			}
		}
	}
	return out
}

// controlsOf gives the controls of a job's evidence (its controls override)
// or else of its collector's, from the catalog.
func controlsOf(cfg *config.Config, catalog *controls.Catalog) func(job, collector string) []evidence.Control {
	return func(job, collector string) []evidence.Control {
		for _, j := range cfg.Jobs {
			if j.Name == job && j.Controls != nil {
				cs, _ := catalog.Evidence(j.Controls)
				return cs
			}
		}
		cs, _ := catalog.For(collector)
		return cs
	}
}

// checkNewFile refuses an --out that exists or whose directory does not.
func checkNewFile(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("--out %s already exists: refusing to overwrite it (evidence output is never replaced)", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--out: %w", err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return fmt.Errorf("--out %s: directory %s does not exist", path, filepath.Dir(path))
	}
	return nil
}

// writeNewFile writes data to a temporary file beside path and links it into
// place, which fails if path appeared meanwhile: readers never see a half
// written file and an existing file is never replaced.
func writeNewFile(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("--out %s already exists: refusing to overwrite it", path)
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// coverageGaps computes the period's coverage — the config's jobs, or
// without one the jobs the store's run records show — and returns, by
// control id, each gap of the jobs that support it: windows the schedule
// expected and no verified evidence covers.
func coverageGaps(ctx context.Context, st storage.Store, v *evidence.Verifier, cfg *config.Config, catalog *controls.Catalog, period schedules.Window, now time.Time) (map[string][]string, error) {
	var specs []coverage.Spec
	var err error
	if len(cfg.Jobs) > 0 {
		specs, err = SpecsFromConfig(cfg, catalog)
	} else {
		specs, err = coverage.SpecsFromRuns(ctx, st, v, nil)
	}
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, nil
	}
	rep, err := coverage.Compute(ctx, coverage.Input{Store: st, Verifier: v, Specs: specs,
		Period: coverage.Period{From: period.Start, To: period.End}, Now: now})
	if err != nil {
		return nil, err
	}
	gaps := map[string][]string{}
	for _, j := range rep.Jobs {
		for _, g := range j.Gaps {
			why := fmt.Sprintf("job %s: %s, %d expected window(s) %s: %s", j.Name,
				schedules.Window{Start: g.Start, End: g.End}, g.Windows, g.Status, g.Reason)
			for _, c := range j.Controls {
				gaps[c] = append(gaps[c], why)
			}
		}
	}
	return gaps, nil
}
