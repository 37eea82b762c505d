package scenarios

import (
	"context"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/fault/measured"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
)

func init() {
	Register(Spec{
		Name: "split-brain",
		Description: "sever every link between two regions under steady load, then heal: each region keeps serving " +
			"its own users, and every acknowledged write is readable everywhere after convergence",
		MinRegions: 2,
		Timeout:    15 * time.Minute,
		Planned:    splitBrain.Total(),
		Short:      true,
		Run:        splitBrain.run,
		Quick:      shorter(splitBrain, Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 20 * time.Second}).run,
		Broken: []Variant{{
			Name:    "remote-writes",
			Broken:  "member services that write at QUORUM: every write waits for the region across the cut",
			Checker: "availability", Reason: "region us-east-1 phase observe",
			Run: with(splitBrain, func(p *splitBrainPlan) {
				p.Times, p.RemoteWrites = Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 20 * time.Second}, true
			}).run,
		}, {
			Name:    "leaky-cut",
			Broken:  "a cut that leaves Cassandra's links up (a firewall rule that missed the storage port): the regions still replicate",
			Checker: "split-isolation", Reason: "were seen across it before the heal",
			Run: with(splitBrain, func(p *splitBrainPlan) {
				p.Times, p.Leaky = Times{Steady: 5 * time.Second, Observe: 10 * time.Second, Converge: 15 * time.Second}, true
			}).run,
		}},
	})
}

type splitBrainPlan struct {
	Times
	// RemoteWrites makes every member service write at QUORUM: each write
	// waits for the other region (a broken world).
	RemoteWrites bool
	// Leaky leaves the Cassandra proxies of the links up (a broken world):
	// only the SQS and isthmus proxies are cut.
	Leaky bool
	// Isolate cuts the world's last region from every other one, which
	// stay connected to each other (global-split-brain), instead of the
	// first two regions from each other.
	Isolate bool
}

var splitBrain = splitBrainPlan{Times: Times{Steady: 20 * time.Second, Observe: 30 * time.Second, Converge: 45 * time.Second}}

func (p splitBrainPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	watch := measured.WatchPartition(env.Cluster, regions[0], regions[1])
	switch {
	case p.Isolate:
		watch = measured.WatchIsolation(env.Cluster, regions[len(regions)-1])
	case p.Leaky:
		watch = measured.WatchLeakyPartition(env.Cluster, regions[0], regions[1])
	}
	var cut fault.Fault = watch
	if p.RemoteWrites {
		all, err := fault.All().Select(ctx, env.Cluster)
		if err != nil {
			return nil, err
		}
		cut = fault.Together("split-brain-remote-writes", fault.RemoteWrites(env.Cluster, all, "QUORUM"), cut)
	}
	e.Faults = []fault.Fault{cut}
	readBack := e.Verify
	e.Verify = func(ctx context.Context, rec *history.Recorder) error {
		// The markers written during the cut are still crossing: wait for
		// them (the time is measured from the heal), then read back.
		// Its outcome is an event of the run, judged by SplitIsolation.
		_ = watch.WaitConverged(ctx)
		return readBack(ctx, rec)
	}
	e.Checkers = append(standardCheckers(0.99, regions),
		// Convergence is measured by the markers, from the heal; the
		// read-back runs after the converge phase, too late to time it.
		&check.SplitIsolation{MaxConvergence: 2 * time.Minute})
	return e.Run(ctx)
}
