package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/schedules"
)

// DefaultCoveragePeriod is how far back coverage looks without --from.
const DefaultCoveragePeriod = 30 * 24 * time.Hour

func (app *App) coverageCmd() *cobra.Command {
	var (
		store, configPath, from, to, output, failUnder string
		pubkeys                                        []string
	)
	cmd := &cobra.Command{
		Use:   "coverage --config FILE [--store URL] [--from DATE] [--to DATE]",
		Short: "Show which scheduled windows verified evidence covers, per control and job",
		Long: `Coverage says, for a period, which windows each scheduled job was expected
to collect, which of them verified evidence covers, with what outcome, and
where the gaps are; then sums the jobs per control.

A job's expected windows are its schedule's windows [previous tick, tick)
in its time zone that overlap [--from, --to) and have ended by now. Each of
the job's run records is verified as ` + "`changeproof verify`" + ` does (signature,
run chain, every evidence envelope it names with its raw facts). A window is
covered when a verified successful run's window contains it (the scheduled
run, or a manual backfill with ` + "`collect --job --from --to`" + `), and takes the
worst status of that run's evidence: pass, fail, not_verifiable or error.
Otherwise it is a gap: missed (recorded as not collected: beyond the
catch-up limit), failed (the run failed or was interrupted), unverifiable
(a run record claims it but it or its evidence does not verify) or missing
(no run record at all). A later run wins over an earlier one; a covering run
wins over any gap. Consecutive gaps of one status are merged.

The jobs are the config's (--config; controls: the job's controls, else
its collector's in the catalog). Without --config they are derived from the
store's verified run records (schedule, time zone, collector; controls from
their evidence), as an auditor without the config would.

--from and --to are RFC 3339 times or dates (YYYY-MM-DD, midnight UTC);
--to defaults to now and --from to 30 days before --to. --pubkey defaults
to the config's key path + ".pub" (what keygen writes); pass the key you
trust explicitly when in doubt.

The JSON output (--output json) is documented in docs/coverage.md and
stable: its schemaVersion names it, fields are only ever added.

Exit codes: 0 the report was produced, whatever it says; 1 --fail-under was
given and some control's coverage ratio is below it; 2 usage or runtime
error (bad flag, unreadable config, key or store).`,
		Example: `  changeproof coverage --config changeproof.yaml
  changeproof coverage --config changeproof.yaml --from 2026-10-01 --to 2026-11-01 --output json
  changeproof coverage --store s3://audit-evidence/acme?region=eu-central-1 --pubkey signing.key.pub --fail-under 0.99`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return fail(ExitError, err)
			}
			minRatio, err := parseFailUnder(failUnder)
			if err != nil {
				return fail(ExitError, err)
			}
			period, now, err := coveragePeriod(from, to, app.Now())
			if err != nil {
				return fail(ExitError, err)
			}
			cfg, catalog, err := app.loadConfig(configPath)
			if err != nil {
				return fail(ExitError, err)
			}
			if configPath != "" && len(cfg.Jobs) == 0 {
				return fail(ExitError, fmt.Errorf("%s has no jobs: coverage is about scheduled jobs (see `changeproof run --help`)", configPath))
			}
			v, err := trustedVerifier(pubkeys, cfg)
			if err != nil {
				return fail(ExitError, err)
			}
			url := orDefault(store, cfg.Store, DefaultStore)
			st, opts, err := app.openForVerify(cmd, url)
			if err != nil {
				return fail(ExitError, fmt.Errorf("--store: %w", err))
			}
			if opts.Prefix != "" {
				return fail(ExitError, fmt.Errorf("--store %s is a file in a store, not a store", redact(url)))
			}
			var specs []coverage.Spec
			if configPath != "" {
				if specs, err = SpecsFromConfig(cfg, catalog); err != nil {
					return fail(ExitError, err)
				}
			} else if specs, err = coverage.SpecsFromRuns(cmd.Context(), st, v, nil); err != nil {
				return fail(ExitError, err)
			}
			order := make([]string, len(catalog.Controls))
			for i, c := range catalog.Controls {
				order[i] = c.ID
			}
			rep, err := coverage.Compute(cmd.Context(), coverage.Input{Store: st, Verifier: v, Specs: specs, Period: period, Now: now, Catalog: order})
			if err != nil {
				return fail(ExitError, err)
			}
			if output == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return fail(ExitError, err)
				}
			} else if err := printCoverage(app, rep); err != nil {
				return fail(ExitError, err)
			}
			if minRatio >= 0 {
				var under []string
				for _, c := range rep.Controls {
					if c.Ratio < minRatio {
						under = append(under, fmt.Sprintf("%s %s", c.ID, percent(c.Ratio)))
					}
				}
				if len(under) > 0 {
					return fail(ExitFindings, fmt.Errorf("coverage under --fail-under %s: %s", failUnder, strings.Join(under, ", ")))
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "config file: its jobs, store, key and controls (without it, jobs are derived from the store's run records)")
	f.StringVar(&store, "store", "", "evidence store URL (default: the config's store, else "+DefaultStore+")")
	f.StringVar(&from, "from", "", "period start, RFC 3339 or YYYY-MM-DD (UTC) (default: 30 days before --to)")
	f.StringVar(&to, "to", "", "period end, exclusive, RFC 3339 or YYYY-MM-DD (UTC) (default: now)")
	f.StringArrayVar(&pubkeys, "pubkey", nil, "trusted Ed25519 public key, SPKI PEM (repeatable; default: the config's key + \".pub\")")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVar(&failUnder, "fail-under", "", "exit 1 when any control's coverage ratio is below this, 0 to 1 (e.g. 0.99)")
	return cmd
}

// SpecsFromConfig is the config's jobs as coverage expects them: name,
// collector, schedule, time zone (the job's, else scheduler.timezone, else
// UTC) and controls (the job's controls, else its collector's in the
// catalog).
func SpecsFromConfig(cfg *config.Config, catalog *controls.Catalog) ([]coverage.Spec, error) {
	specs := make([]coverage.Spec, 0, len(cfg.Jobs))
	for i := range cfg.Jobs {
		j := &cfg.Jobs[i]
		var ctls []evidence.Control
		var err error
		if len(j.Controls) > 0 {
			ctls, err = catalog.Evidence(j.Controls)
		} else {
			ctls, err = catalog.For(j.Collector)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.At(fmt.Sprintf("jobs[%d]", i)), err)
		}
		specs = append(specs, coverage.Spec{Name: j.Name, Collector: j.Collector, Schedule: j.Schedule,
			TimeZone: cfg.Location(j).String(), Controls: ctls})
	}
	return specs, nil
}

// coveragePeriod resolves --from and --to against now.
func coveragePeriod(from, to string, now time.Time) (coverage.Period, time.Time, error) {
	now = now.UTC()
	p := coverage.Period{To: now}
	if to != "" {
		t, err := schedules.ParseTime(to)
		if err != nil {
			return p, now, fmt.Errorf("--to: %w", err)
		}
		p.To = t
	}
	p.From = p.To.Add(-DefaultCoveragePeriod)
	if from != "" {
		t, err := schedules.ParseTime(from)
		if err != nil {
			return p, now, fmt.Errorf("--from: %w", err)
		}
		p.From = t
	}
	if !p.To.After(p.From) {
		return p, now, fmt.Errorf("--from %s is not before --to %s", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
	}
	return p, now, nil
}

func parseFailUnder(s string) (float64, error) {
	if s == "" {
		return -1, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(r) || r < 0 || r > 1 {
		return 0, fmt.Errorf("--fail-under %q: want a ratio from 0 to 1, such as 0.99", s)
	}
	return r, nil
}

// percent renders a ratio rounded down to 0.1%, so that 99.96% never shows
// as 100.0%.
func percent(r float64) string {
	return strconv.FormatFloat(math.Floor(r*1000)/10, 'f', 1, 64) + "%"
}

func countsText(m map[coverage.WindowStatus]int) string {
	var parts []string
	for _, s := range coverage.WindowStatuses {
		if m[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, m[s]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func statusText(s evidence.Status) string {
	if s == "" {
		return "-"
	}
	return string(s)
}

func printCoverage(app *App, rep *coverage.Report) error {
	rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(app.Stdout, "coverage of %s over [%s, %s) at %s\n\n", rep.Store, rfc(rep.Period.From), rfc(rep.Period.To), rfc(rep.GeneratedAt))
	tw := tabwriter.NewWriter(app.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTROL\tCOVERED\tRATIO\tSTATUS\tWINDOWS\tJOBS")
	for _, c := range rep.Controls {
		fmt.Fprintf(tw, "%s %s\t%d/%d\t%s\t%s\t%s\t%s\n", c.Framework, c.ID, c.Covered, c.Expected, percent(c.Ratio), statusText(c.Status), countsText(c.Counts), strings.Join(c.Jobs, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(app.Stdout)
	tw = tabwriter.NewWriter(app.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tCOVERED\tRATIO\tSTATUS\tWINDOWS\tSCHEDULE\tFRESHNESS")
	for _, j := range rep.Jobs {
		fresh := "never covered"
		if !j.Freshness.LastCoveredEnd.IsZero() {
			fresh = "covered to " + rfc(j.Freshness.LastCoveredEnd) + " (" + (time.Duration(j.Freshness.AgeSeconds) * time.Second).String() + " ago)"
		}
		if j.Freshness.Stale {
			fresh += ", STALE"
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\t%s %s (%s)\t%s\n", j.Name, j.Covered, j.Expected, percent(j.Ratio), statusText(j.Status), countsText(j.Counts), j.Collector, j.Schedule, j.TimeZone, fresh)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, j := range rep.Jobs {
		for _, g := range j.Gaps {
			fmt.Fprintf(app.Stdout, "GAP        %s [%s, %s) %s, %d window(s): %s\n", j.Name, rfc(g.Start), rfc(g.End), g.Status, g.Windows, oneLine(g.Reason))
		}
	}
	for _, e := range rep.Exceptions {
		verdict := ""
		if e.Verdict != "" {
			verdict = " (" + e.Verdict + ")"
		}
		fmt.Fprintf(app.Stdout, "EXCEPTION  %s [%s, %s) %s %s%s: %s\n", e.Job, rfc(e.Window.From), rfc(e.Window.To), e.Target, e.Status, verdict, oneLine(e.Summary))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(app.Stdout, "PROBLEM    %s: %s\n", p.Key, oneLine(p.Reason))
	}
	return nil
}
