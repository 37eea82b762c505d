package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/replcheck"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/incluster"
	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

// replicationFlags are the flags of kong replication-check (and of the
// check that kong bench replication runs).
type replicationFlags struct {
	// o holds every option as given but the consistency levels, read from
	// writeCL and readCL (see options).
	o                scenarios.ReplicationOptions
	writeCL, readCL  string
	seed             uint64
	out              string
	progressInterval time.Duration
	noReset          bool
}

func (f *replicationFlags) register(cmd *cobra.Command) {
	d, o := scenarios.ReplicationDefaults(), &f.o
	fl := cmd.Flags()
	fl.IntVar(&o.Records, "records", d.Records, "records to write in the --from region")
	fl.DurationVar(&o.ReadAfter, "read-after", d.ReadAfter, "how long after its write was acknowledged each record is read in the --to region")
	fl.StringVar(&o.From, "from", "", "region the records are written in (default: the world's first region)")
	fl.StringVar(&o.To, "to", "", "region the records are read in (default: the world's second region)")
	fl.StringVar(&f.writeCL, "write-cl", d.WriteConsistency.String(), "consistency level of the writes")
	fl.StringVar(&f.readCL, "read-cl", d.ReadConsistency.String(), "consistency level of the reads")
	fl.StringVar(&o.During, "during", "", "fault held while the records are written, healed before the late ones are re-read: split-brain or latency")
	fl.BoolVar(&o.HoldFault, "hold-fault", false, "keep the --during fault until the end: nothing can converge, and the check must fail")
	fl.DurationVar(&o.LinkLatency, "link-latency", d.LinkLatency, "latency (± a third of it) that --during latency adds to the links")
	fl.DurationVar(&o.Deadline, "deadline", d.Deadline, "how long the records not visible at their read are re-read after the writes (and the heal)")
	fl.IntVar(&o.Concurrency, "concurrency", d.Concurrency, "writes in flight")
	fl.IntVar(&o.Batch, "batch", d.Batch, "records per write: 1 (a write per record), or 2 to 64 records of one partition in an unlogged batch")
	fl.Float64Var(&o.Rate, "rate", d.Rate, "write the records open loop at this many per second, each write at its own time (0: unpaced, as fast as --concurrency writes in flight go)")
	fl.Float64Var(&o.Load, "load", d.Load, "background workload through the director, in operations per second")
	fl.Float64Var(&o.MinShare, "min-share", d.MinShare, "share of records that must be visible at --read-after")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the run (the lag sample, the background load; printed when not given)")
	fl.StringVar(&f.out, "out", "kong-reports", "folder that receives the run's artifacts folder")
	fl.DurationVar(&f.progressInterval, "progress-every", 0, "how often progress is printed on stderr (default: live on a terminal, every 10 s otherwise)")
	registerNoResetFlag(cmd, &f.noReset)
}

// replicationFlagNames are the flags of the options whose flag is not
// named after the option (see scenarios.ReplicationOptions.Validate).
var replicationFlagNames = map[string]string{"write-consistency": "write-cl", "read-consistency": "read-cl"}

// replicationFlag spells an option of the check as its flag.
func replicationFlag(option string) string {
	if f, ok := replicationFlagNames[option]; ok {
		return "--" + f
	}
	return "--" + option
}

// options checks the flags that need no world and returns the options.
func (f *replicationFlags) options() (scenarios.ReplicationOptions, error) {
	wcl, err := replcheck.ParseLevel("--write-cl", f.writeCL, replcheck.WriteLevels)
	if err != nil {
		return scenarios.ReplicationOptions{}, err
	}
	rcl, err := replcheck.ParseLevel("--read-cl", f.readCL, replcheck.ReadLevels)
	if err != nil {
		return scenarios.ReplicationOptions{}, err
	}
	o := f.o
	o.WriteConsistency, o.ReadConsistency = wcl, rcl
	return o, o.Validate(replicationFlag)
}

// checkRegions says which region flag names a region the world lacks.
func checkRegions(c topology.Cluster, o scenarios.ReplicationOptions) error {
	return o.CheckRegions(c.Name(), c.Spec().RegionNames(), replicationFlag)
}

func newReplicationCheck() *cobra.Command {
	var f replicationFlags
	cmd := &cobra.Command{
		Use:   "replication-check",
		Short: "Write records in one region, read each in another 500 ms later: share visible, records missing, replication lag",
		Long: `Netflix's replication experiment against a world that is up (kong up): write --records records in
the --from region (--write-cl), read each one in the --to region (--read-cl) --read-after its write
was acknowledged, under a background load through the director. Records not visible then are read
again until they are seen or --deadline passes. With --during, a fault (split-brain: every link
between the two regions cut; latency: 150 ms ± 50 ms on them) is held while the records are written
and healed before the late ones are re-read.

It reports the share visible at --read-after, the records missing, the replication lag (p50, p90,
p99, p99.9, max and a histogram) and the time until every record was visible, and writes a run
folder under --out (replication.json, history, report.md, report.json, junit.xml). The exit
status says whether the checks held: none missing, at least --min-share visible at --read-after
(not checked during a split brain), and the background load's availability: 0 they held, 1 they did
not, 2 bad input, 3 the world could not be reached or used or the check could not finish.

Like kong run, the check first resets what an earlier run left in the world (or, with --no-reset,
refuses to run on it), refuses to run while another run is in progress on the world (naming it),
and stops cleanly on Ctrl-C, SIGTERM or SIGHUP. On the kubernetes backend, from outside the cluster,
it runs inside the cluster in a Job of the world, as kong run does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return exitstatus.Usage(err)
			}
			if done, err := incluster.FromOutside(cmd, nil, f.out); done {
				return err
			}
			check := func(c topology.Cluster) error { return exitstatus.Usage(checkRegions(c, o)) }
			return worldrun.OnWorld(cmd, "kong replication-check", "", &f.seed, check, func(env scenarios.Env) error {
				o.Progress = progress.Replication(cmd.ErrOrStderr(), f.progressInterval)
				outcome, dir, err := runReplicationCheck(cmd, env.Cluster, env.Backend, o, &f)
				if err != nil {
					return err
				}
				replcheck.WriteSummaryOf(cmd.OutOrStdout(), dir)
				fmt.Fprintf(cmd.OutOrStdout(), "replication-check: %s\nartifacts: %s\n", outcome, dir)
				return worldrun.OutcomeError("replication check", outcome)
			})
		},
	}
	f.register(cmd)
	return cmd
}

// runReplicationCheck runs the check with options o on cluster (of the
// named backend) into its own folder under --out (see worldrun.Runner).
func runReplicationCheck(cmd *cobra.Command, cluster topology.Cluster, backend string, o scenarios.ReplicationOptions, f *replicationFlags) (*run.Outcome, string, error) {
	env := scenarios.Env{Cluster: cluster, Seed: f.seed, NoReset: f.noReset, Backend: backend}
	return worldrun.RunnerFor(cmd, f.out).ReplicationCheck(cmd.Context(), o, env)
}
