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
		Name: "real-life-failover",
		Description: "one region's member services degrade (errors and latency on most requests); the harness " +
			"detects it from the users' error rate, evacuates the region, and restores it after the fault is healed: users are served " +
			"again once the traffic has moved; detection, decision and shift times are measured",
		MinRegions: 2,
		Timeout:    15 * time.Minute,
		Planned:    realLifeFailover.Total(),
		Run:        realLifeFailover.run,
		Quick:      shorter(realLifeFailover, Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}).run,
		Broken: []Variant{{
			Name:    "no-evacuation",
			Broken:  "the automation that evacuates a degraded region switched off: its users stay on it",
			Checker: "availability", Reason: "region us-east-1 phase observe",
			Run: with(realLifeFailover, func(p *realLifeFailoverPlan) {
				p.Times, p.NoEvacuate = Times{Steady: 6 * time.Second, Observe: 12 * time.Second, Converge: 8 * time.Second}, true
			}).run,
		}},
	})
}

type realLifeFailoverPlan struct {
	Times
	ErrorRate float64
	Latency   time.Duration
	Threshold float64
	Confirm   time.Duration
	// NoEvacuate keeps the automation from evacuating (a broken world).
	NoEvacuate bool
}

var realLifeFailover = realLifeFailoverPlan{
	Times:     Times{Steady: 20 * time.Second, Observe: 30 * time.Second, Converge: 20 * time.Second},
	ErrorRate: 0.8, Latency: 200 * time.Millisecond, Threshold: 0.3, Confirm: 2 * time.Second,
}

func (p realLifeFailoverPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	members, err := fault.Region(regions[0]).Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	e.Faults = []fault.Fault{&measured.SignalFailover{
		Degrade:   fault.DependencyErrors(env.Cluster, members, p.ErrorRate, int(p.Latency.Milliseconds())),
		Evac:      fault.EvacuateRegion(env.Cluster, regions[0], []float64{0.5, 1}, 2*time.Second),
		Region:    regions[0],
		Threshold: p.Threshold, Window: 3 * time.Second, MinOps: 10, Confirm: p.Confirm,
		NoEvacuate: p.NoEvacuate,
	}}
	// The degradation hurts until the evacuation moved the users: the
	// inject phase (detection and shift) is measured, not judged; once
	// the users moved, they must be served.
	e.Stop = nil
	e.Checkers = []check.Checker{
		&check.Availability{SLO: 0.99, PhaseSLO: map[string]float64{history.PhaseInject: 0}, Degraded: regions[0]},
		&check.LostWrites{Regions: regions},
		&check.StaleReads{Bound: time.Second},
	}
	return e.Run(ctx)
}
