package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

// ReplicationCommand is kong bench replication on a world of either backend: the
// bench (see Replication) or the sweep (see Sweep), each around the
// replication check as kong replication-check runs it.
type ReplicationCommand struct {
	Cluster topology.Cluster
	// Options are the check's, as its flags give them.
	Options scenarios.ReplicationOptions
	Seed    uint64
	// Out gets the results, Progress what happens meanwhile.
	Out, Progress io.Writer
	// Check runs the replication check with options o into its own
	// folder, and returns its outcome and the folder.
	Check func(ctx context.Context, o scenarios.ReplicationOptions) (*run.Outcome, string, error)
}

// Bench runs baselines plain driver loops beside one check, and prints
// what each measured.
func (c ReplicationCommand) Bench(ctx context.Context, baselines int) error {
	groups, err := WorldGroups(ctx, c.Cluster)
	if err != nil {
		return err
	}
	var outcome *run.Outcome
	var dir string
	o := c.Options
	b := Replication{Cluster: c.Cluster, Groups: groups, From: o.From, To: o.To, Records: o.Records, Concurrency: o.Concurrency, Rate: o.Rate,
		Batch: o.Batch, WriteConsistency: o.WriteConsistency, ReadConsistency: o.ReadConsistency, ReadAfter: o.ReadAfter,
		Load: o.Load, Seed: c.Seed, Baselines: baselines, Progress: c.Progress,
		Check: func(ctx context.Context) (Row, error) {
			var err error
			if outcome, dir, err = c.Check(ctx, o); err != nil {
				return Row{}, err
			}
			return CheckRow(dir)
		}}
	b.WriteHeader(c.Out)
	res, err := b.Run(ctx, c.Out)
	if err != nil {
		return err
	}
	return res.Report(c.Out, dir, outcome)
}

// Sweep runs the sweep (see Sweep) of rates and batches (as their flags
// spell them): each step a check paced at its rate for step, into its own
// folder under reports; then the table and the knee.
func (c ReplicationCommand) Sweep(ctx context.Context, rates, batches string, step time.Duration, reports string) error {
	rs, err := ParseRates(rates)
	if err != nil {
		return exitstatus.Usage(fmt.Errorf("--rates: %w", err))
	}
	bs, err := ParseBatches(batches)
	if err != nil {
		return exitstatus.Usage(fmt.Errorf("--batches: %w", err))
	}
	groups, err := WorldGroups(ctx, c.Cluster)
	if err != nil {
		return err
	}
	o := c.Options
	sw := Sweep{Steps: SweepPlan(bs, rs), MinShare: o.MinShare, Progress: c.Progress,
		Run: groups.SweepStepRunner(func(ctx context.Context, s SweepStep) (string, error) {
			so := o
			so.Rate, so.Batch, so.Records = s.Rate, s.Batch, max(1, int(s.Rate*step.Seconds()))
			_, dir, err := c.Check(ctx, so)
			return dir, err
		})}
	results := sw.Do(ctx)
	return errors.Join(ReportSweep(c.Out, reports, results, o.MinShare), ctx.Err())
}
