package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/output"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/diff"
	"github.com/kongchaos/kong/reports/prune"
)

func newReport() *cobra.Command {
	return &cobra.Command{
		Use:               "report DIR",
		Short:             "Rebuild every report format of a run from its history and run.json, without a world",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: complete.Dirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := reports.Rebuild(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s in %s\n", strings.Join(files, ", "), args[0])
			return nil
		},
	}
}

// newReports is `kong reports`: what is done to a whole reports folder (the
// --out of kong run and kong gameday), beside `kong report DIR`, which
// works on one run.
func newReports() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reports",
		Short: "Look after a reports folder (the --out of kong run and kong gameday)",
	}
	cmd.AddCommand(newReportsPrune())
	return cmd
}

func newReportsPrune() *cobra.Command {
	var out, olderThan string
	var keep int
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove old runs from a reports folder and rewrite its index",
		Long: `Remove old runs from a reports folder: with --keep N all but the N newest (by start), with
--older-than AGE those that ended more than AGE ago (such as 72h or 7d). With both, a run goes only
when neither keeps it. The index (index.html, index.md) is then rewritten from the runs that stay.

Only run folders directly inside the folder go (folders, not links, holding kong's run.json,
report.json or history.jsonl); nothing else in it is touched, and links are never followed. A folder
that is not a kong reports folder is refused. --dry-run lists what would go.`,
		Example: `  kong reports prune --keep 50
  kong reports prune --out nightly-reports --older-than 14d --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := prune.Options{Keep: keep, DryRun: dryRun}
			if !cmd.Flags().Changed("keep") && !cmd.Flags().Changed("older-than") {
				return fmt.Errorf("say which runs go: --keep N (the N newest stay) or --older-than AGE (such as 7d)")
			}
			if cmd.Flags().Changed("keep") && keep < 1 {
				return fmt.Errorf("--keep %d: give 1 or more (the newest runs that stay)", keep)
			}
			if cmd.Flags().Changed("older-than") {
				age, err := prune.ParseAge(olderThan)
				if err != nil {
					return fmt.Errorf("--older-than %q: %w", olderThan, err)
				}
				o.OlderThan = age
			}
			return prune.Tell(cmd.OutOrStdout(), out, o)
		},
	}
	cmd.Flags().StringVar(&out, "out", "kong-reports", "the reports folder")
	cmd.Flags().IntVar(&keep, "keep", 0, "keep the N newest runs, remove the others")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "remove the runs that ended more than AGE ago (such as 72h, 7d or 1d12h)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the runs that would go, remove nothing")
	return cmd
}

func newDiff() *cobra.Command {
	var failOnRegression bool
	cmd := jsonCommand(&cobra.Command{
		Use:   "diff RUN_A RUN_B",
		Short: "Compare the key figures of two runs side by side, flagging regressions",
		Long: `Compare two runs' artifacts folders: their key figures (availability, availability during the
fault, shed, latency p99, replication lag p99, convergence time, times to effect and to heal) side by
side with the change from RUN_A to RUN_B, absolute and relative, and the checkers whose verdict
changed. A figure that got worse beyond its tolerance is flagged REGRESSION. Each run is read from its
report.json, or built from its history and run.json when that is missing. With --fail-on-regression
the exit status is non-zero when anything regressed (for CI). With --json the comparison is one JSON
document (schema kong.diff/v1).`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: complete.Dirs,
	}, "the comparison", func(cmd *cobra.Command, args []string, asJSON bool) error {
		d, err := diff.Folders(args[0], args[1])
		if err != nil {
			return err
		}
		if asJSON {
			err = output.Encode(cmd.OutOrStdout(), output.NewDiff(d, args[0], args[1]))
		} else {
			err = d.Encode(cmd.OutOrStdout(), args[0], args[1])
		}
		if err != nil {
			return err
		}
		if n := d.Regressions(); failOnRegression && n > 0 {
			return fmt.Errorf("%s regressed from %s (%d flagged REGRESSION above)", args[1], args[0], n)
		}
		return nil
	})
	cmd.Flags().BoolVar(&failOnRegression, "fail-on-regression", false, "exit non-zero when RUN_B regressed from RUN_A")
	return cmd
}
