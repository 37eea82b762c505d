package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/reports"
)

func newDiff() *cobra.Command {
	var failOnRegression bool
	cmd := &cobra.Command{
		Use:   "diff RUN_A RUN_B",
		Short: "Compare the key figures of two runs side by side, flagging regressions",
		Long: `Compare two runs' artifacts folders: their key figures (availability, availability during the
fault, shed, latency p99, replication lag p99, convergence time, times to effect and to heal) side by
side with the change from RUN_A to RUN_B, absolute and relative, and the checkers whose verdict
changed. A figure that got worse beyond its tolerance is flagged REGRESSION. Each run is read from its
report.json, or built from its history and run.json when that is missing. With --fail-on-regression
the exit status is non-zero when anything regressed (for CI).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := reports.LoadOrBuild(args[0])
			if err != nil {
				return fmt.Errorf("run A: %w", err)
			}
			b, err := reports.LoadOrBuild(args[1])
			if err != nil {
				return fmt.Errorf("run B: %w", err)
			}
			d := reports.Diff(a, b)
			if err := d.Encode(cmd.OutOrStdout(), args[0], args[1]); err != nil {
				return err
			}
			if n := d.Regressions(); failOnRegression && n > 0 {
				return fmt.Errorf("%s regressed from %s (%d flagged REGRESSION above)", args[1], args[0], n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&failOnRegression, "fail-on-regression", false, "exit non-zero when RUN_B regressed from RUN_A")
	return cmd
}
