package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology/local"
)

func newGameday() *cobra.Command {
	var sf specFlags
	var names, out string
	var seed uint64
	var keep bool
	cmd := &cobra.Command{
		Use:   "gameday",
		Short: "Run a game day: bring the world up if none is running, run the scenarios, write every report",
		Long: `Run a game day on a world: the named scenarios (default: all of them) one after the other, each
writing its artifacts and reports (report.json, report.md, junit.xml) into its own folder under --out,
and an index.md that lists every run found there with its verdict. When no world is up, one is brought up
from --profile and taken down at the end (unless --keep, or KONG_KEEP=1 and a scenario did not hold). The
exit status says whether everything held.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			world, home := worldFlag(cmd), homeFlag(cmd)
			var chosen []scenarios.Spec
			if names == "" {
				chosen = scenarios.All()
			} else {
				for _, n := range strings.Split(names, ",") {
					s, err := scenarios.Get(strings.TrimSpace(n))
					if err != nil {
						return err
					}
					chosen = append(chosen, s)
				}
			}
			if len(chosen) == 0 {
				return errors.New("no scenarios to run")
			}
			if !cmd.Flags().Changed("seed") {
				seed = rand.Uint64() >> 1
			}
			var failed []string
			cluster, err := local.Attach(home, world)
			if err != nil {
				spec, serr := sf.load()
				if serr != nil {
					return serr
				}
				if err := up(cmd, world, home, spec, sf.args(), 15*time.Minute); err != nil {
					return err
				}
				if !keep {
					defer func() {
						if len(failed) > 0 && os.Getenv("KONG_KEEP") == "1" {
							fmt.Fprintf(cmd.OutOrStdout(), "KONG_KEEP=1: world %s stays up for debugging (kong status --world %s; kong down --world %s)\n", world, world, world)
							return
						}
						if err := local.DownWorld(home, world, time.Minute); err != nil {
							fmt.Fprintln(cmd.ErrOrStderr(), "down:", err)
						} else {
							fmt.Fprintf(cmd.OutOrStdout(), "world %s is down\n", world)
						}
					}()
				}
				if cluster, err = local.Attach(home, world); err != nil {
					return err
				}
			}
			for i, s := range chosen {
				fmt.Fprintf(cmd.OutOrStdout(), "\n[%d/%d] %s: %s\n", i+1, len(chosen), s.Name, s.Description)
				outcome, dir, err := runScenario(cmd.Context(), cmd, s, cluster, out, int64(seed))
				switch {
				case err != nil:
					failed = append(failed, s.Name)
					fmt.Fprintf(cmd.OutOrStdout(), "%s: ERROR: %v\n", s.Name, err)
				case outcome.Status != "passed":
					failed = append(failed, s.Name)
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s%s\n  report: %s\n", s.Name, strings.ToUpper(outcome.Status), reasonSuffix(outcome), filepath.Join(dir, "report.md"))
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: PASSED\n  report: %s\n", s.Name, filepath.Join(dir, "report.md"))
				}
				if cmd.Context().Err() != nil {
					break
				}
			}
			if err := writeIndex(out); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "index:", err)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "\nindex of runs: %s\n", filepath.Join(out, "index.md"))
			}
			if len(failed) > 0 {
				return fmt.Errorf("game day: %d of %d scenarios did not hold: %s", len(failed), len(chosen), strings.Join(failed, ", "))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "game day: all %d scenarios held\n", len(chosen))
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&names, "scenarios", "", "comma-separated scenarios to run (default: all; see kong list)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of every run (printed when not given)")
	cmd.Flags().StringVar(&out, "out", "kong-reports", "folder for the runs' artifacts and the index")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep a world this game day brought up")
	return cmd
}

// writeIndex lists every run under out, newest first, with its verdict.
func writeIndex(out string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	type row struct{ dir, scenario, status, reason string }
	var rows []row
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		r, err := reports.Load(filepath.Join(out, e.Name()))
		if err != nil {
			continue
		}
		rows = append(rows, row{e.Name(), r.Run.Scenario, string(r.Status), r.Reason})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].dir > rows[j].dir })
	var b strings.Builder
	fmt.Fprintf(&b, "# Game-day runs\n\n%d runs in %s.\n\n| run | scenario | status | why |\n| --- | --- | --- | --- |\n", len(rows), out)
	for _, r := range rows {
		fmt.Fprintf(&b, "| [%s](%s/report.md) | %s | %s | %s |\n", r.dir, r.dir, r.scenario, strings.ToUpper(r.status),
			strings.ReplaceAll(r.reason, "|", "\\|"))
	}
	return os.WriteFile(filepath.Join(out, "index.md"), []byte(b.String()), 0o644)
}
