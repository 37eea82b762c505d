package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/gameday"
	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/incluster"
	"github.com/kongchaos/kong/internal/output"
	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/kube"
)

func newGameday() *cobra.Command {
	var sf specFlags
	var names, out string
	var seed uint64
	var keep, noReset, asJSON bool
	var progressMode string
	var sched gameday.ScheduleFlags
	var keepRuns int
	cmd := &cobra.Command{
		Use:   "gameday",
		Short: "Run a game day: bring the world up if none is running, run the scenarios, write every report",
		Long: `Run a game day on a world: the named scenarios (default: every one the profile's world
has the regions for; global-kong needs the three of --profile global) one after the other, each
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
finish.

With --json, what kong gameday says goes to stderr, and stdout gets one JSON document when the game
day ends: each run's folder, status, checkers' verdicts and key figures (schema kong.gameday/v1).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			world, stdout := worldflags.World(cmd), jsonToStdout(cmd, asJSON)
			chosen, err := scenarios.Named(names)
			if err != nil {
				return exitstatus.Usage(err)
			}
			if names == "" {
				// Every scenario the profile's world has the regions for.
				spec, err := sf.load()
				if err != nil {
					return err
				}
				chosen = scenarios.Fitting(chosen, spec)
			}
			if len(chosen) == 0 {
				return errors.New("no scenarios to run")
			}
			sched.EverySet, sched.CronSet = cmd.Flags().Changed("every"), cmd.Flags().Changed("cron")
			schedule, err := sched.Schedule(time.Now())
			if err != nil {
				return exitstatus.Usage(err)
			}
			if err := gameday.CheckKeepRuns(keepRuns, len(chosen)); err != nil {
				return err
			}
			up := func(ctx context.Context) error {
				spec, err := sf.load()
				if err != nil {
					return err
				}
				return upWorld(ctx, cmd, b, world, sf, spec, 15*time.Minute)
			}
			if kb, ok := b.(*kube.Backend); ok && kb.InCluster {
				// Its account may not make namespaces: the world comes
				// from outside.
				up = func(context.Context) error {
					return fmt.Errorf("world %s is not up in this cluster, and a game day inside the cluster does not bring one up: "+
						"run kong gameday --backend kubernetes from outside the cluster (it brings the world up), or kong up --backend kubernetes --world %s first", world, world)
				}
			} else if ok {
				if schedule != nil {
					return exitstatus.Usage(errors.New("a scheduled game day (--every, --cron) on the kubernetes backend runs inside the cluster, where its rounds' reports would reach you only at its end: schedule kong gameday --backend kubernetes from outside instead (cron, a CI schedule), or run it in a pod with --in-cluster"))
				}
				var doc *output.Gameday
				if asJSON {
					doc = output.NewGameday(world, out)
				}
				return incluster.Gameday(cmd, kb, up, keep, out, keepRuns, doc, stdout)
			}
			view, err := progress.NewView(cmd.OutOrStdout(), progressMode, scenarios.Names(chosen), nil)
			if err != nil {
				return err
			}
			view.SetPlanned(scenarios.Planned(chosen))
			doc := output.NewGameday(world, out)
			ctx, stop := gameday.InterruptContext(cmd.Context(), cmd.OutOrStdout(), worldrun.StopSignals...)
			defer stop()
			res, err := gameday.Run(ctx, gameday.Options{
				Scenarios: chosen, Backend: b, World: world,
				Up:   up,
				Keep: keep,
				Lock: func() (func(), error) { return worldrun.LockFor(cmd, b, world) },
				Run: func(ctx context.Context, i int, s scenarios.Spec, cluster topology.Cluster, seed uint64) (gameday.Ran, error) {
					if i == 0 {
						view.SetPast(progress.PastDurations(out))
						doc.Rounds++
					}
					env := scenarios.Env{Cluster: cluster, Seed: seed, NoReset: noReset, Backend: b.Name(), Progress: view.Scenario(i)}
					outcome, dir, err := worldrun.RunnerFor(cmd, out).Scenario(ctx, s, env)
					view.End()
					if asJSON {
						doc.Runs = append(doc.Runs, output.GamedayRun{Round: doc.Rounds, RunResult: output.ReadRun(dir, s.Name, err)})
					}
					if err != nil {
						return gameday.Ran{Dir: dir}, err
					}
					return gameday.Ran{Status: outcome.Status, Reason: outcome.Reason, Dir: dir}, nil
				},
				Seed: seed, SeedGiven: cmd.Flags().Changed("seed"),
				Out: out, KeepRuns: keepRuns, Schedule: schedule, Rounds: sched.Rounds,
				Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
			})
			if asJSON {
				if err := output.Encode(stdout, doc.End(res, err)); err != nil {
					return err
				}
			}
			if err != nil && res.Broken {
				return exitstatus.Failed(err)
			}
			return err
		},
	}
	sf.Register(cmd)
	sf.publish.Register(cmd)
	cmd.Flags().StringVar(&names, "scenarios", "", "comma-separated scenarios to run (default: every one the profile has the regions for; see kong list)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of every run (printed when not given)")
	cmd.Flags().StringVar(&out, "out", "kong-reports", "folder for the runs' artifacts and the index")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep a world this game day brought up")
	registerNoResetFlag(cmd, &noReset)
	registerProgressFlag(cmd, &progressMode)
	cmd.Flags().DurationVar(&sched.Every, "every", 0, "run the game day in rounds, one every DURATION (such as 6h), the first at once")
	cmd.Flags().StringVar(&sched.Cron, "cron", "", `run the game day in rounds at the times of a 5-field cron expression (such as "0 3 * * *")`)
	cmd.Flags().IntVar(&sched.Rounds, "rounds", 0, "with --every or --cron: stop after this many rounds (0: until Ctrl-C or SIGTERM)")
	registerJSONFlag(cmd, &asJSON, "the game day's runs and outcome")
	_ = cmd.RegisterFlagCompletionFunc("scenarios", complete.ScenarioList)
	cmd.Flags().IntVar(&keepRuns, "keep-runs", 0, "after the game day (each round, with --every or --cron) keep only the N newest runs in --out (0: keep every run)")
	return cmd
}
