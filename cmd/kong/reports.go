package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/reports/prune"
)

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
			return pruneReports(cmd.OutOrStdout(), out, o)
		},
	}
	cmd.Flags().StringVar(&out, "out", "kong-reports", "the reports folder")
	cmd.Flags().IntVar(&keep, "keep", 0, "keep the N newest runs, remove the others")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "remove the runs that ended more than AGE ago (such as 72h, 7d or 1d12h)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the runs that would go, remove nothing")
	return cmd
}

// pruneReports prunes the reports folder out and says what went.
func pruneReports(w io.Writer, out string, o prune.Options) error {
	res, err := prune.Folder(out, o)
	if err == nil || o.DryRun || len(res.Removed) > 0 {
		res.Write(w)
	}
	return err
}
