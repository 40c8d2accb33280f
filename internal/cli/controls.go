package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/config"
)

func (app *App) controlsCmd() *cobra.Command {
	var configPath, output string
	cmd := &cobra.Command{
		Use:   "controls",
		Short: "List the controls catalog and which collectors support each control",
		Long: `List the audit controls changeproof maps its evidence to (SOC 2 CC8.1,
ISO/IEC 27001:2022 A.8.32 and related Annex A controls) and the collectors
whose evidence supports each. With --config, the file's controls section is
applied first (added controls, new titles, replaced collector mappings).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return fail(ExitError, err)
			}
			cat := controls.Default()
			if configPath != "" {
				cfg, err := config.Load(configPath)
				if err != nil {
					return fail(ExitError, err)
				}
				if cat, err = cat.Apply(cfg.Controls); err != nil {
					return fail(ExitError, fmt.Errorf("%s: controls: %w", configPath, err))
				}
			}
			if output == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(cat)
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FRAMEWORK\tCONTROL\tCOLLECTORS\tTITLE")
			for _, c := range cat.Controls {
				cols := strings.Join(cat.CollectorsFor(c.ID), ",")
				if cols == "" {
					cols = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Framework, c.ID, cols, truncate(c.Title, 70))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "config file whose controls section extends or overrides the catalog")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
