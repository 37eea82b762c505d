package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

// Times are the durations of a scenario's timed phases; the Go tests
// shorten them.
type Times struct{ Steady, Observe, Converge time.Duration }

// experiment is the part every scenario shares: the run's identity and
// artifacts, a steady workload through the director from every region's
// members, the read-back verifier, a stop condition, and the cluster whose
// logs a failed run keeps.
func experiment(ctx context.Context, env *Env, name, description string, t Times, rate float64) (*run.Experiment, error) {
	director, err := topology.DirectorURL(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	return &run.Experiment{
		Name: name, Description: description, World: env.Cluster.Name(), Profile: env.Cluster.Spec().Name, Backend: env.Backend,
		Seed: env.Seed, Dir: env.Dir, Replay: env.Replay, Log: env.Log, Cluster: env.Cluster, NoReset: env.NoReset, Progress: env.Progress,
		Workload: workload.Config{Director: director, Geos: regions, Pacer: workload.Constant(rate), Members: 200},
		Steady:   t.Steady, Observe: t.Observe, Converge: t.Converge,
		Stop:   []run.StopCondition{run.SuccessFloor(0.5, 10)},
		Verify: run.ReadBack(env.Cluster, filepath.Join(env.Dir, history.HistoryFile), 16),
	}, nil
}

// needRegions fails a scenario on a world with fewer than n regions.
func needRegions(c topology.Cluster, name string, n int) ([]string, error) {
	regions := c.Spec().RegionNames()
	if len(regions) < n {
		return nil, fmt.Errorf("%s needs %d regions; world %s has %v (use --profile default)", name, n, c.Name(), regions)
	}
	return regions, nil
}

// zoneTarget selects every component of one zone.
func zoneTarget(ctx context.Context, c topology.Cluster, region, zone string) (fault.Target, error) {
	return fault.Zone(region, zone).Select(ctx, c)
}

// regionTarget selects every component of a region.
func regionTarget(ctx context.Context, c topology.Cluster, region string) (fault.Target, error) {
	return fault.Region(region).Select(ctx, c)
}
