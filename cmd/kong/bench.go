package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/backends"
	"github.com/kongchaos/kong/internal/bench"
	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

func newBench() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure kong against its targets, each beside a baseline from the same run",
		// The benchmarks read the world's processes from /proc; kong bench
		// world on containers measures both backends, the local one first,
		// and kong bench replication runs on a world of either.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			if (cmd.Name() == "world" || cmd.Name() == "replication") && b.Name() == backends.Containers {
				return nil
			}
			return backends.LocalOnly(b, cmd.CommandPath())
		}}
	cmd.AddCommand(newBenchWorld(), newBenchMember(), newBenchReplication())
	return cmd
}

// benchLog is the benchmarks' log on stderr: warnings, unless --log-level
// says otherwise.
func benchLog(cmd *cobra.Command) *slog.Logger { return clilog.New(cmd, os.Stderr, slog.LevelWarn) }

func newBenchWorld() *cobra.Command {
	var rounds int
	cmd := specCommand(&cobra.Command{
		Use:   "world",
		Short: "Start-up time per phase, resident memory, and the latency a toxiproxy link adds",
		Long: `Start-up time per phase, resident memory, and the latency a toxiproxy link adds, on a world
brought up for the benchmark and taken down after.

With --backend containers it measures the container backend against the local one, in the same
run: the world comes up on the local backend (the baseline), then as Docker containers, and the
two are printed side by side, start-up to ready and resident memory (each container's processes,
then with the engine's own), with the container world's ratios and their budgets (1.5x, 1.2x).`,
	}, func(cmd *cobra.Command, spec *topology.Spec) error {
		b, err := worldflags.Backend(cmd)
		if err != nil {
			return err
		}
		if b.Name() == backends.Containers {
			return bench.RunWorldBackends(cmd.Context(), cmd.OutOrStdout(), spec, benchLog(cmd))
		}
		return bench.RunWorld(cmd.Context(), cmd.OutOrStdout(), spec, rounds, benchLog(cmd))
	})
	cmd.Flags().IntVar(&rounds, "rounds", 5000, "round trips per latency measurement")
	return cmd
}

func newBenchMember() *cobra.Command {
	var keys, workers int
	cmd := specCommand(&cobra.Command{
		Use:   "member",
		Short: "Member service reads served from cache vs from Cassandra: requests per second and p99 of each",
	}, func(cmd *cobra.Command, spec *topology.Spec) error {
		return bench.RunMembers(cmd.Context(), cmd.OutOrStdout(), spec, keys, workers, benchLog(cmd))
	})
	cmd.Flags().IntVar(&keys, "members", 5000, "members written, then read twice")
	cmd.Flags().IntVar(&workers, "clients", 16, "concurrent clients")
	return cmd
}

func newBenchReplication() *cobra.Command {
	var f replicationFlags
	var sw sweepFlags
	var baselines int
	cmd := &cobra.Command{
		Use:   "replication",
		Short: "The replication check beside a plain driver loop writing the same rows: wall time, write rates, where the time goes",
		Long: `Against a world that is up (kong up), run a plain gocql loop that writes --records records into the
replication check's table (same statement and batches, same concurrency, same region and
consistency level, under the same background load), then the replication check itself (kong
replication-check with the same flags), then the plain loop again (--baselines 2, the default, so that neither side profits from
running first). It prints the wall time and write rate of each, the ratio of the check's write rate
to the plain loop's, and where the time went: this process's CPU (getrusage), each region's
Cassandra CPU and the rest of the world's (from /proc/<pid>/stat), the whole machine's (from
/proc/stat: other worlds on the machine show there), and the check's phases (the checkers' time is
the verify phase).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return exitstatus.Usage(err)
			}
			if baselines < 0 || baselines > 2 {
				return fmt.Errorf("--baselines %d: 0, 1 (before the check) or 2 (before and after)", baselines)
			}
			if !cmd.Flags().Changed("seed") {
				f.seed = 1
			}
			check := func(c topology.Cluster) error { return checkRegions(c, o) }
			return worldrun.OnWorld(cmd, "kong bench replication", "default", nil, check, func(env scenarios.Env) error {
				o.DefaultRegions(env.Cluster.Spec().RegionNames())
				c := bench.ReplicationCommand{Cluster: env.Cluster, Options: o, Seed: f.seed, Out: cmd.OutOrStdout(), Progress: cmd.ErrOrStderr(),
					Check: func(ctx context.Context, o scenarios.ReplicationOptions) (*run.Outcome, string, error) {
						if !sw.on {
							o.Progress = progress.Replication(cmd.ErrOrStderr(), f.progressInterval)
						}
						return runReplicationCheck(cmd, env.Cluster, env.Backend, o, &f)
					}}
				if sw.on {
					return c.Sweep(cmd.Context(), sw.rates, sw.batches, sw.step, f.out)
				}
				return c.Bench(cmd.Context(), baselines)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&baselines, "baselines", 2, "plain driver loops: 1 before the check, 2 before and after it")
	cmd.Flags().BoolVar(&sw.on, "sweep", false, "find the knee instead: replication checks of --step each at rising --rates (paced), for each of --batches, until the share visible at --read-after falls below --min-share")
	cmd.Flags().StringVar(&sw.rates, "rates", "500,1000,1500,2000,3000,4000,6000,8000,12000", "with --sweep: the rates tried, in records per second")
	cmd.Flags().StringVar(&sw.batches, "batches", "1,16,64", "with --sweep: the records to a write tried")
	cmd.Flags().DurationVar(&sw.step, "step", 30*time.Second, "with --sweep: how long each step writes")
	return cmd
}

// sweepFlags are kong bench replication's --sweep and its steps.
type sweepFlags struct {
	on             bool
	rates, batches string
	step           time.Duration
}
