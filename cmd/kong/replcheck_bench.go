package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/bench"
	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology/local"
)

func newBenchReplication() *cobra.Command {
	var f replicationFlags
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
				return usage(err)
			}
			if baselines < 0 || baselines > 2 {
				return fmt.Errorf("--baselines %d: 0, 1 (before the check) or 2 (before and after)", baselines)
			}
			world, home := worldFlag(cmd), homeFlag(cmd)
			cluster, err := local.Attach(home, world)
			if err != nil {
				return fmt.Errorf("%w\n(kong bench replication needs a world: `kong up --world %s --profile default`)", err, world)
			}
			if err := checkRegions(cluster, o); err != nil {
				return err
			}
			o.DefaultRegions(cluster.Spec().RegionNames())
			if !cmd.Flags().Changed("seed") {
				f.seed = 1
			}
			unlock, err := lockWorld(cmd, &local.Backend{Home: home}, world)
			if err != nil {
				return err
			}
			defer unlock()
			return benchReplication(cmd, cluster, f, o, baselines)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&baselines, "baselines", 2, "plain driver loops: 1 before the check, 2 before and after it")
	return cmd
}

func benchReplication(cmd *cobra.Command, cluster *local.Remote, f replicationFlags, o scenarios.ReplicationOptions, baselines int) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	groups, err := bench.WorldGroups(ctx, cluster)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "machine: %d cores, %s, %s; load average at start %s\n", runtime.NumCPU(), bench.MemTotal(), bench.OSName(), bench.LoadAverage())
	fmt.Fprintf(out, "world %s (%s): %d Cassandra nodes\n", cluster.Name(), cluster.Spec().Name, len(groups[bench.CassandraGroup(o.From)])+len(groups[bench.CassandraGroup(o.To)]))
	fmt.Fprintf(out, "%d records, %d to a write, %d writes in flight, written in %s at %s, read in %s at %s %s after each write;\n",
		o.Records, max(1, o.Batch), o.Concurrency, o.From, o.WriteConsistency, o.To, o.ReadConsistency, o.ReadAfter)
	fmt.Fprintf(out, "the plain loops and the check all run under the background load of %g operations/s through the director\n", o.Load)

	var outcome *run.Outcome
	var dir string
	rows, check, err := bench.Replication{Cluster: cluster, Groups: groups, From: o.From, Records: o.Records, Concurrency: o.Concurrency,
		Batch: o.Batch, WriteConsistency: o.WriteConsistency, Load: o.Load, Seed: f.seed, Baselines: baselines, Progress: cmd.ErrOrStderr(),
		Check: func(context.Context) (bench.Row, error) {
			o.Progress = progress.Replication(cmd.ErrOrStderr(), f.progressInterval)
			var err error
			outcome, dir, err = runReplicationCheck(cmd, cluster, local.BackendName, o, &f)
			if err != nil {
				return bench.Row{}, err
			}
			sum, err := history.LoadReplication(dir)
			if err != nil {
				return bench.Row{}, fmt.Errorf("the check left no summary: %w", err)
			}
			return bench.Row{Writes: time.Duration(sum.WriteSeconds * float64(time.Second)), Rate: sum.WriteRate, Failed: int64(sum.WriteErrors)}, nil
		}}.Run(ctx, out)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	names := groups.Names()
	head := "\twall\twriting\twrites/s\tfailed\tclient CPU"
	for _, g := range names {
		head += "\t" + g + " CPU"
	}
	fmt.Fprintln(tw, head+"\tmachine busy\t")
	for _, r := range rows {
		line := fmt.Sprintf("%s\t%s\t%s\t%.0f\t%d\t%s", r.Name, r.Use.Wall.Round(100*time.Millisecond), r.Writes.Round(100*time.Millisecond),
			r.Rate, r.Failed, bench.Cores(r.Use.Client, r.Use.Wall))
		for _, g := range names {
			line += "\t" + bench.Cores(r.Use.ByGroup[g], r.Use.Wall)
		}
		fmt.Fprintln(tw, line+"\t"+bench.Cores(r.Use.Machine, r.Use.Wall)+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "(CPU as core-seconds and, in brackets, the average number of cores busy over the wall time)")

	var baseRate float64
	n := 0
	for _, r := range rows {
		if r.Name != check.Name {
			baseRate += r.Rate
			n++
		}
	}
	if n > 0 {
		baseRate /= float64(n)
		fmt.Fprintf(out, "\nwrite rate: replication check %.0f/s, plain loop %.0f/s (mean of %d): ratio %.3f (target >= 0.9)\n", check.Rate, baseRate, n, check.Rate/baseRate)
	}
	fmt.Fprintf(out, "replication check wall time: %s (target <= 3m for 1,000,000 records)\n", check.Use.Wall.Round(100*time.Millisecond))
	printCheckPhases(out, dir, check.Use.Wall)
	fmt.Fprintf(out, "replication check: %s\n", statusLine(outcome))
	printReplicationSummary(out, dir)
	fmt.Fprintf(out, "artifacts: %s\n", dir)
	return nil
}

// printCheckPhases prints how long each phase of the check took, from its
// history; what is left of the wall time went to the reports.
func printCheckPhases(w io.Writer, dir string, wall time.Duration) {
	h, err := history.Load(filepath.Join(dir, history.HistoryFile))
	if err != nil {
		return
	}
	ri, err := history.LoadRunInfo(dir)
	if err != nil {
		return
	}
	var starts []history.Event
	for _, e := range h.Events {
		if e.Kind == history.PhaseStart {
			starts = append(starts, e)
		}
	}
	if len(starts) == 0 {
		return
	}
	fmt.Fprint(w, "replication check phases:")
	var sum time.Duration
	for i, e := range starts {
		end := ri.Finished
		if i+1 < len(starts) {
			end = starts[i+1].Time
		}
		d := end.Sub(e.Time)
		sum += d
		label := e.Name
		switch e.Name {
		case history.PhaseObserve:
			label = "observe (writes and reads)"
		case history.PhaseConverge:
			label = "converge (late records)"
		case history.PhaseVerify:
			label = "verify (statistics, checkers, logs)"
		}
		fmt.Fprintf(w, " %s %s,", label, d.Round(10*time.Millisecond))
	}
	fmt.Fprintf(w, " set-up and reports %s\n", max(0, wall-sum).Round(10*time.Millisecond))
}
