package scenarios

import (
	"context"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/run"
)

func init() {
	Register(Spec{
		Name:        "chaos-kong",
		Description: chaosKongDescription,
		Profile:     "default",
		Timeout:     20 * time.Minute,
		Short:       true,
		Run: func(ctx context.Context, env *Env) (*run.Outcome, error) {
			return runChaosKong(ctx, env, chaosKong)
		},
	})
}

const chaosKongDescription = "evacuate one region gradually at the director (each step waits for the other regions to absorb it), " +
	"keep it empty, then return to the even split: users keep being served (99.5%), sessions move only with the shifts"

type chaosKongPlan struct {
	Times
	Steps    []float64
	StepWait time.Duration
	SLO      float64
	// Failover sets the receiving gateways' failover mode during the
	// evacuation (the normal plan); off, they proxy the evacuated region's
	// users back to it.
	NoFailover bool
	// Degrade, when above 0, makes the evacuated region's member services
	// answer that share of requests with errors during the evacuation.
	Degrade float64
}

var chaosKong = chaosKongPlan{
	Times: Times{Steady: 20 * time.Second, Observe: 30 * time.Second, Converge: 30 * time.Second},
	Steps: fault.DefaultEvacuationSteps, StepWait: 8 * time.Second, SLO: 0.995,
}

func runChaosKong(ctx context.Context, env *Env, p chaosKongPlan) (*run.Outcome, error) {
	regions, err := needRegions(env.Cluster, "chaos-kong", 2)
	if err != nil {
		return nil, err
	}
	e, err := experiment(ctx, env, "chaos-kong", chaosKongDescription, p.Times, 40)
	if err != nil {
		return nil, err
	}
	evac := fault.EvacuateRegion(env.Cluster, regions[0], p.Steps, p.StepWait)
	evac.NoFailover = p.NoFailover
	var f fault.Fault = evac
	if p.Degrade > 0 {
		t, err := regionTarget(ctx, env.Cluster, regions[0])
		if err != nil {
			return nil, err
		}
		f = fault.Together("degraded-evacuation", fault.DependencyErrors(env.Cluster, t, p.Degrade, 0), evac)
	}
	e.Faults = []fault.Fault{f}
	e.Checkers = []check.Checker{
		&check.Availability{SLO: p.SLO},
		&check.SessionStickiness{Grace: 2 * time.Second},
		&check.LostWrites{Regions: regions},
	}
	return e.Run(ctx)
}
