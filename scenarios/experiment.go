package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

// Times are the durations of a scenario's timed phases; the Go tests
// shorten them (see Spec.Quick).
type Times struct{ Steady, Observe, Converge time.Duration }

func (t *Times) set(to Times) { *t = to }

// Total is the time of the timed phases together.
func (t Times) Total() time.Duration { return t.Steady + t.Observe + t.Converge }

// experiment is the part every scenario shares: the run's identity (the
// spec's name and description) and artifacts, a steady workload at rate
// requests/s through the director from every region's members, the
// read-back verifier, a stop condition, the cluster whose logs a failed
// run keeps, and the environment's switches.
func experiment(ctx context.Context, s Spec, env *Env, t Times, rate float64) (*run.Experiment, error) {
	director, err := topology.DirectorURL(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	var switches []fault.Fault
	for _, sw := range env.Switches {
		f, err := fault.Build(ctx, env.Cluster, sw.Fault, sw.On, sw.Params)
		if err != nil {
			return nil, fmt.Errorf("switch %s: %w", sw.Fault, err)
		}
		switches = append(switches, f)
	}
	return &run.Experiment{
		Name: s.Name, Description: s.Description, World: env.Cluster.Name(), Profile: env.Cluster.Spec().Name, Backend: env.Backend,
		Seed: env.Seed, Dir: env.Dir, Replay: env.Replay, Log: env.Log, Cluster: env.Cluster, NoReset: env.NoReset, Progress: env.Progress,
		Workload: workload.Config{Director: director, Geos: regions, Pacer: workload.Constant(rate), Members: 200, Dial: topology.DialFunc(env.Cluster)},
		Steady:   t.Steady, Observe: t.Observe, Converge: t.Converge, Switches: switches,
		Stop:   []run.StopCondition{run.SuccessFloor(0.5, 10)},
		Verify: run.ReadBack(env.Cluster, filepath.Join(env.Dir, history.HistoryFile), 16, env.ReadBackDeadline),
	}, nil
}

// standardCheckers are the checkers most scenarios judge a run by:
// availability at slo in every region and phase, no acknowledged write lost
// in any of regions, and no read stale for more than a second.
func standardCheckers(slo float64, regions []string) []check.Checker {
	return []check.Checker{
		&check.Availability{SLO: slo},
		&check.LostWrites{Regions: regions},
		&check.StaleReads{Bound: time.Second},
	}
}

// with is a copy of a scenario's plan p changed by change: a plan for the
// Go tests (shorter phases) or for a broken world.
func with[P any](p P, change func(*P)) P {
	change(&p)
	return p
}

// shorter is a copy of a scenario's plan p with the phase times t: the plan
// the Go tests run (Spec.Quick).
func shorter[P any, PP interface {
	*P
	set(Times)
}](p P, t Times) P {
	PP(&p).set(t)
	return p
}
