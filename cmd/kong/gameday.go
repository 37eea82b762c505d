package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

func newGameday() *cobra.Command {
	var sf specFlags
	var names, out string
	var seed uint64
	var keep, noReset bool
	var progress string
	var sched scheduleFlags
	var keepRuns int
	cmd := &cobra.Command{
		Use:   "gameday",
		Short: "Run a game day: bring the world up if none is running, run the scenarios, write every report",
		Long: `Run a game day on a world: the named scenarios (default: all of them) one after the other, each
writing its artifacts and reports (report.json, report.md, report.html, junit.xml) into its own folder
under --out, and an index.html (and index.md) that lists every run found there with its verdict and
charts the key figures across runs. When no world is up, one is brought up
from --profile and taken down at the end (unless --keep, or KONG_KEEP=1 and a scenario did not hold). The
exit status says whether everything held.

With --every or --cron it keeps running as a scheduled game day: each round runs the scenarios and adds
its runs to --out, and the world stays up between rounds. Ctrl-C, SIGTERM or SIGHUP (a closed terminal or
SSH session) stops it (a scenario in progress is aborted, its faults healed and its reports written
first). The exit status then says whether the last round held.

Each scenario first resets what an earlier run left in the world (see kong run; --no-reset refuses
instead). While a game day runs on a world (a scheduled one: during each round), any other kong run,
kong gameday or kong replication-check on that world is refused, naming it.

With --keep-runs N, after the game day (after each round, with --every or --cron) only the N newest runs
of --out stay: the older ones are removed as by kong reports prune --keep N, and the index rewritten.

Exit status: 0 every scenario held, 1 one ran and an invariant did not hold, 2 bad input, 3 the world
could not be reached or used (busy with another run, refused by the preflight) or a run could not
finish.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := backendOf(cmd)
			if err != nil {
				return err
			}
			world := worldFlag(cmd)
			var chosen []scenarios.Spec
			if names == "" {
				chosen = scenarios.All()
			} else {
				for _, n := range strings.Split(names, ",") {
					s, err := scenarios.Get(strings.TrimSpace(n))
					if err != nil {
						return usage(err)
					}
					chosen = append(chosen, s)
				}
			}
			if len(chosen) == 0 {
				return errors.New("no scenarios to run")
			}
			sched.everySet, sched.cronSet = cmd.Flags().Changed("every"), cmd.Flags().Changed("cron")
			schedule, err := sched.parse(time.Now())
			if err != nil {
				return usage(err)
			}
			if err := checkKeepRuns(keepRuns, len(chosen)); err != nil {
				return err
			}
			suite := make([]string, len(chosen))
			for k, sp := range chosen {
				suite[k] = sp.Name
			}
			view, err := newProgressView(cmd.OutOrStdout(), progress, suite, nil)
			if err != nil {
				return err
			}
			ctx, stop := interruptContext(cmd.Context(), cmd.OutOrStdout())
			defer stop()
			seedGiven := cmd.Flags().Changed("seed")
			if !seedGiven {
				seed = rand.Uint64() >> 1
			}
			var failed []string
			ownWorld := false
			cluster, release, err := b.Attach(ctx, world)
			if err != nil {
				spec, serr := sf.load()
				if serr != nil {
					return serr
				}
				if err := upWorld(ctx, cmd, b, world, sf, spec, 15*time.Minute); err != nil {
					return err
				}
				if !keep {
					defer func() {
						if len(failed) > 0 && os.Getenv("KONG_KEEP") == "1" {
							fmt.Fprintf(cmd.OutOrStdout(), "KONG_KEEP=1: world %s stays up for debugging (%s; %s)\n",
								world, kongCommand(b, "status", world), kongCommand(b, "down", world))
							return
						}
						if err := b.Down(context.WithoutCancel(ctx), world, time.Minute); err != nil {
							fmt.Fprintln(cmd.ErrOrStderr(), "down:", err)
						} else {
							fmt.Fprintf(cmd.OutOrStdout(), "world %s is down\n", world)
						}
					}()
				}
				if cluster, release, err = b.Attach(ctx, world); err != nil {
					return err
				}
				ownWorld = true
			}
			defer func() { release() }()
			if schedule == nil {
				unlock, err := lockWorld(cmd, b, world)
				if err != nil {
					return err
				}
				defer unlock()
				view.past = pastDurations(out)
				var broken bool
				failed, broken = runSuite(ctx, cmd, chosen, cluster, out, seed, view, noReset)
				pruneRuns(cmd.OutOrStdout(), cmd.ErrOrStderr(), out, keepRuns)
				if len(failed) > 0 {
					err := fmt.Errorf("game day: %d of %d scenarios did not hold: %s", len(failed), len(chosen), strings.Join(failed, ", "))
					if broken {
						return notHeld(err)
					}
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "game day: all %d scenarios held\n", len(chosen))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scheduled game day: %s; world %s stays up between rounds; runs and index in %s\n", schedule, world, out)
			lastBroken := false
			ran, held := runRounds(ctx, schedule, sched.rounds, wallClock{}, cmd.OutOrStdout(), func(ctx context.Context, n int) bool {
				if n > 1 && !seedGiven {
					seed = rand.Uint64() >> 1
				}
				c, rel, err := worldForRound(ctx, cmd, b, world, sf, ownWorld)
				if err != nil {
					lastBroken = false
					failed = []string{"world: " + err.Error()}
					fmt.Fprintf(cmd.OutOrStdout(), "round %d: %v\n", n, err)
					return false
				}
				release()
				cluster, release = c, rel
				// The world is locked for a round, not between rounds.
				unlock, err := lockWorld(cmd, b, world)
				if err != nil {
					lastBroken = false
					failed = []string{"world: " + err.Error()}
					fmt.Fprintf(cmd.OutOrStdout(), "round %d: %v\n", n, err)
					return false
				}
				defer unlock()
				view.past = pastDurations(out)
				failed, lastBroken = runSuite(ctx, cmd, chosen, cluster, out, seed, view, noReset)
				pruneRuns(cmd.OutOrStdout(), cmd.ErrOrStderr(), out, keepRuns)
				if len(failed) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "round %d: %d of %d scenarios did not hold: %s\n", n, len(failed), len(chosen), strings.Join(failed, ", "))
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "round %d: all %d scenarios held\n", n, len(chosen))
				}
				return len(failed) == 0
			})
			switch {
			case ran == 0:
				return errors.New("scheduled game day: stopped before its first round")
			case !held:
				err := fmt.Errorf("scheduled game day: the last of %d rounds did not hold: %s", ran, strings.Join(failed, ", "))
				if lastBroken {
					return notHeld(err)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scheduled game day: %d rounds ran, the last one held\n", ran)
			return nil
		},
	}
	sf.register(cmd)
	sf.registerPublish(cmd)
	cmd.Flags().StringVar(&names, "scenarios", "", "comma-separated scenarios to run (default: all; see kong list)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of every run (printed when not given)")
	cmd.Flags().StringVar(&out, "out", "kong-reports", "folder for the runs' artifacts and the index")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep a world this game day brought up")
	registerNoResetFlag(cmd, &noReset)
	registerProgressFlag(cmd, &progress)
	cmd.Flags().DurationVar(&sched.every, "every", 0, "run the game day in rounds, one every DURATION (such as 6h), the first at once")
	cmd.Flags().StringVar(&sched.cron, "cron", "", `run the game day in rounds at the times of a 5-field cron expression (such as "0 3 * * *")`)
	cmd.Flags().IntVar(&sched.rounds, "rounds", 0, "with --every or --cron: stop after this many rounds (0: until Ctrl-C or SIGTERM)")
	cmd.Flags().IntVar(&keepRuns, "keep-runs", 0, "after the game day (each round, with --every or --cron) keep only the N newest runs in --out (0: keep every run)")
	return cmd
}

// runSuite runs the scenarios one after the other on cluster, then writes
// the index of runs, and returns the scenarios that did not hold. Once ctx
// ends (Ctrl-C), the scenario in progress is aborted and healed, and no
// other starts.
// runSuite runs the scenarios one after the other; failed names those that
// did not pass, and broken says some reached a verdict that did not hold.
func runSuite(ctx context.Context, cmd *cobra.Command, chosen []scenarios.Spec, cluster topology.Cluster, out string, seed uint64, view *progressView, noReset bool) (failed []string, broken bool) {
	for i, s := range chosen {
		fmt.Fprintf(cmd.OutOrStdout(), "\n[%d/%d] %s: %s\n", i+1, len(chosen), s.Name, s.Description)
		outcome, dir, err := runScenario(view.scenario(ctx, i), cmd, s, cluster, out, int64(seed), noReset)
		view.end()
		switch {
		case err != nil:
			failed = append(failed, s.Name)
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ERROR: %v\n", s.Name, err)
		case outcome.Status != history.StatusPassed:
			failed = append(failed, s.Name)
			broken = broken || outcome.Status == history.StatusFailed
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s%s\n  report: %s\n", s.Name, strings.ToUpper(string(outcome.Status)), reasonSuffix(outcome), filepath.Join(dir, "report.html"))
		default:
			fmt.Fprintf(cmd.OutOrStdout(), "%s: PASSED\n  report: %s\n", s.Name, filepath.Join(dir, "report.html"))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := reports.WriteIndex(out); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "index:", err)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "\nindex of runs: %s (and %s)\n", filepath.Join(out, reports.IndexHTMLFile), reports.IndexMarkdownFile)
	}
	return failed, broken
}

// checkKeepRuns checks --keep-runs: a round writes one run per scenario,
// and keeping fewer would remove some of the round's own runs.
func checkKeepRuns(keep, scenarios int) error {
	switch {
	case keep < 0:
		return fmt.Errorf("--keep-runs %d: give the number of newest runs to keep, or 0 to keep every run", keep)
	case keep > 0 && keep < scenarios:
		return fmt.Errorf("--keep-runs %d is fewer than the %d scenarios of a round: their own runs would be removed; give %d or more",
			keep, scenarios, scenarios)
	}
	return nil
}

// pruneRuns keeps only the keep newest runs of the reports folder out
// (keep 0: every run) after a game day or one of its rounds, and says what
// went. A failure to prune is reported, never the round's failure.
func pruneRuns(stdout, stderr io.Writer, out string, keep int) {
	if keep <= 0 {
		return
	}
	res, err := reports.Prune(out, reports.PruneOptions{Keep: keep})
	if n := len(res.Removed); n > 0 {
		fmt.Fprintf(stdout, "--keep-runs %d: removed the %d oldest runs of %s (oldest %s); index rewritten\n", keep, n, out, res.Removed[0].Dir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "keep-runs:", err)
	}
}
