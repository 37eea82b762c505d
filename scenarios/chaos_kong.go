package scenarios

import (
	"context"
	"slices"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
)

func init() {
	Register(Spec{
		Name: "chaos-kong",
		Description: "evacuate one region gradually at the director (each step waits for the other regions to absorb it), " +
			"keep it empty, then return to the even split: users keep being served (99.5%), sessions move only with the shifts",
		MinRegions: 2,
		Timeout:    20 * time.Minute,
		Planned:    chaosKong.Total(),
		Short:      true,
		Run:        chaosKong.run,
		Quick:      chaosKongQuick.run,
		Broken: []Variant{{
			Name: "no-failover",
			Broken: "the receiving gateways left out of failover mode, and the evacuated region failing half its requests once empty: " +
				"its users, sent to the other region, are proxied back to it",
			// The evacuated region is healthy until its last step, so the
			// harm is where failover alone protects: the receiving region,
			// with the region empty.
			Checker: "availability", Reason: "region us-west-2 phase observe",
			Run: with(chaosKong, func(p *chaosKongPlan) {
				p.Times, p.StepWait = Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}, 3*time.Second
				p.NoFailover, p.DegradeEmptied = true, 0.5
			}).run,
		}, {
			Name:    "bounce-sessions",
			Broken:  "a director that sends each request of a session to the next region in turn, ignoring stickiness and weights",
			Checker: "session-stickiness", Reason: "without a shift that moved them so",
			// Bounced sessions reach gateways of regions they do not live
			// in, and may be served worse there.
			AlsoInvalid: []string{"availability"},
			Run:         switched(chaosKongQuick.run, Switch{Fault: "bounce-sessions", On: fault.All()}),
		}, {
			Name: "no-invalidations",
			Broken: "member services that send no invalidation for their writes: users back in their region after the evacuation " +
				"read what its caches held before it",
			Checker: "stale-reads", Reason: "reads stale beyond",
			// The read-back reads through the same caches.
			AlsoInvalid: []string{"lost-writes"},
			Run:         switched(chaosKongQuick.run, Switch{Fault: "no-invalidations", On: fault.All()}),
		}},
	})
}

// chaosKongQuick is the plan of the Go tests, and of the broken worlds
// that differ from it by a switch only.
var chaosKongQuick = with(chaosKong, func(p *chaosKongPlan) {
	p.Times, p.StepWait = Times{Steady: 6 * time.Second, Observe: 10 * time.Second, Converge: 15 * time.Second}, 5*time.Second
})

type chaosKongPlan struct {
	Times
	Steps    []float64
	StepWait time.Duration
	SLO      float64
	// NoFailover leaves the receiving gateways out of failover mode during
	// the evacuation (the normal plan sets it): they proxy the evacuated
	// region's users back to it.
	NoFailover bool
	// Global adds the global profile's checkers (global-kong): the
	// evacuated region's users go to the others by their spare capacity
	// and none of them sheds; each data set's cache is replicated or
	// invalidated across regions as the topology declares.
	Global bool
	// DegradeEmptied, when above 0, makes the evacuated region's member
	// services answer that share of requests with errors once the region
	// has been empty for StepWait, until the recovery: only the receiving
	// gateways' failover then keeps its users from it.
	DegradeEmptied float64
}

var chaosKong = chaosKongPlan{
	Times: Times{Steady: 20 * time.Second, Observe: 30 * time.Second, Converge: 30 * time.Second},
	Steps: fault.DefaultEvacuationSteps, StepWait: 8 * time.Second, SLO: 0.995,
}

func (p chaosKongPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	steps := p.Steps
	if p.DegradeEmptied > 0 {
		// The last step once more, StepWait later: the region is held
		// empty that long (a session asks the director every second)
		// before its errors begin.
		steps = append(slices.Clone(steps), steps[len(steps)-1])
	}
	evac := fault.EvacuateRegion(env.Cluster, regions[0], steps, p.StepWait)
	evac.NoFailover = p.NoFailover
	var f fault.Fault = evac
	if p.DegradeEmptied > 0 {
		t, err := fault.Region(regions[0]).Select(ctx, env.Cluster)
		if err != nil {
			return nil, err
		}
		// Together injects in order and recovers in reverse: the errors
		// begin after the last step and end before the region returns.
		f = fault.Together("evacuation-then-degraded", evac, fault.DependencyErrors(env.Cluster, t, p.DegradeEmptied, 0))
	}
	e.Faults = []fault.Fault{f}
	e.Checkers = []check.Checker{
		&check.Availability{SLO: p.SLO, Degraded: regions[0]},
		// Only the director's shifts move a session, and only the way
		// they point: away from the evacuated region, back on its return.
		&check.SessionStickiness{Grace: 2 * time.Second, Directed: true, MoveEvents: []history.EventKind{history.TrafficShift}},
		&check.LostWrites{Regions: regions},
		&check.StaleReads{Bound: time.Second},
	}
	if p.Global {
		// Viewing histories are read four times as often as by default, so
		// that their invalidation is measured too (cache-modes).
		e.Workload.Mix = workload.OpMix{ReadProfile: 50, WriteProfile: 15, AppendHistory: 15, ReadHistory: 20}
		e.Checkers = append(e.Checkers, &check.CapacitySplit{Region: regions[0], NoShed: true, Settle: 2 * time.Second},
			&check.CacheModes{Replicated: env.Cluster.Spec().Memcached.Replicate})
	}
	return e.Run(ctx)
}
