package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kongchaos/kong/harness"
	"github.com/kongchaos/kong/topology"
)

func init() {
	Register(Spec{
		Name:        "split-brain",
		Description: splitBrainDescription,
		Profile:     "default",
		Timeout:     15 * time.Minute,
		Short:       true,
		Run:         runSplitBrain,
	})
}

const splitBrainDescription = "sever every link between two regions under steady load, then heal: each region keeps serving " +
	"its own users, and every acknowledged write is readable everywhere after convergence"

// Durations of the split-brain phases; tests may shorten them.
var splitBrainTimes = struct{ Steady, Observe, Converge time.Duration }{20 * time.Second, 30 * time.Second, 45 * time.Second}

func runSplitBrain(ctx context.Context, env *Env) (*harness.Outcome, error) {
	regions := env.Cluster.Spec().RegionNames()
	if len(regions) < 2 {
		return nil, fmt.Errorf("split-brain needs two regions; world %s has %v", env.Cluster.Name(), regions)
	}
	director, err := directorURL(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	e := &harness.Experiment{
		Name: "split-brain", Description: splitBrainDescription, World: env.Cluster.Name(), Profile: env.Cluster.Spec().Name,
		Seed: env.Seed, Dir: env.Dir, Replay: env.Replay, Log: env.Log, Cluster: env.Cluster,
		Workload: harness.WorkloadConfig{Director: director, Geos: regions, Pacer: harness.Constant(40), Members: 200},
		Faults:   []harness.Fault{harness.PartitionRegions(env.Cluster, regions[0], regions[1])},
		Checkers: []harness.Checker{
			&harness.Availability{SLO: 0.99},
			&harness.LostWrites{Regions: regions},
			&harness.Convergence{MaxConvergence: 2 * time.Minute},
		},
		Steady: splitBrainTimes.Steady, Observe: splitBrainTimes.Observe, Converge: splitBrainTimes.Converge,
		Stop:   []harness.StopCondition{harness.SuccessFloor(0.5, 10)},
		Verify: harness.ReadBack(env.Cluster, filepath.Join(env.Dir, "history.jsonl"), 16),
	}
	return e.Run(ctx)
}

// directorURL finds the world's director.
func directorURL(ctx context.Context, c topology.Cluster) (string, error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return "", err
	}
	for _, comp := range comps {
		if comp.Kind == topology.KindDirector {
			return "http://" + comp.Address, nil
		}
	}
	return "", fmt.Errorf("world %s runs no director", c.Name())
}
