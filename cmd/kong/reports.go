package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
				age, err := parseAge(olderThan)
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
	verb := "removed"
	if o.DryRun {
		verb = "would remove"
	}
	for _, r := range res.Removed {
		fmt.Fprintf(w, "%s %s (started %s)\n", verb, filepath.Join(out, r.Dir), startedText(r.Started))
	}
	switch {
	case o.DryRun:
		fmt.Fprintf(w, "dry run: %d of %d runs would go, %d would stay; nothing was removed\n",
			len(res.Removed), len(res.Removed)+res.Kept, res.Kept)
	case len(res.Removed) > 0:
		fmt.Fprintf(w, "%d runs removed from %s, %d stay; index rewritten\n", len(res.Removed), out, res.Kept)
	case err == nil:
		fmt.Fprintf(w, "nothing to remove from %s: %d runs stay\n", out, res.Kept)
	}
	return err
}

func startedText(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// parseAge reads an age: a Go duration (72h, 90m) with days allowed in
// front (7d, 1d12h).
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("give an age such as 72h, 7d or 1d12h")
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("give an age such as 72h, 7d or 1d12h")
		}
		rest = d
	}
	age := days + rest
	if age <= 0 || rest < 0 {
		return 0, fmt.Errorf("give an age longer than zero, such as 72h or 7d")
	}
	return age, nil
}
