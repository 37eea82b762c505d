package scenarios

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
)

func init() {
	Register(Spec{
		Name: "combined-faults",
		Description: "faults together, as Jepsen's combined nemesis: the first region's users served by the other for a while " +
			"(its caches learn their data), then its SQS link cut and a member service killed while it owes the other region " +
			"invalidations, then a seeded random schedule drawn from the fault catalogue (kills, pauses, link cuts, latency): " +
			"99% availability, nothing lost, no stale copy left in any cache, no read staler than 1 s",
		MinRegions: 2,
		Timeout:    20 * time.Minute,
		Planned:    combinedFaults.Total(),
		Run:        combinedFaults.run,
		Quick:      combinedFaultsQuick.run,
		Broken: []Variant{{
			Name: "volatile-outbox",
			Broken: "member services that keep the invalidations they owe in memory only (the outbox before its journal): " +
				"the killed one loses them, and the other region's caches keep the old values",
			Checker: "lost-writes", Reason: "stale cached copies",
			// Users who read there later may meet the stale copies too.
			AlsoInvalid: []string{"stale-reads"},
			Run:         switched(combinedFaultsQuick.run, Switch{Fault: "volatile-outbox", On: fault.All()}),
		}},
	})
}

type combinedFaultsPlan struct {
	Times
	// Hold is how long each fault of the schedule is held before it heals.
	Hold time.Duration
	// Owing is how long the SQS link is cut before the kill: the writes of
	// that time owe the other region their invalidations.
	Owing time.Duration
	// Random is how many faults the seeded schedule draws after the kill.
	Random int
	SLO    float64
}

var combinedFaults = combinedFaultsPlan{
	Times: Times{Steady: 20 * time.Second, Observe: 10 * time.Second, Converge: 30 * time.Second},
	Hold:  15 * time.Second, Owing: 10 * time.Second, Random: 4, SLO: 0.99,
}

// combinedFaultsQuick is the plan of the Go tests and of its broken world.
var combinedFaultsQuick = with(combinedFaults, func(p *combinedFaultsPlan) {
	p.Times, p.Hold, p.Owing, p.Random = Times{Steady: 6 * time.Second, Observe: 3 * time.Second, Converge: 12 * time.Second}, 8*time.Second, 8*time.Second, 2
})

// randomFault is one kind of fault the random schedule draws: a fault of
// the catalogue, and how it picks its target.
type randomFault struct {
	fault  string
	kinds  []string // RandomPick's kinds, for faults on instances
	params map[string]string
}

// combinedPool is what the random schedule draws from: faults the world is
// built to survive (LOCAL_QUORUM with RF 3, retries at the gateway, an
// outbox that waits for its link, a cache per zone).
var combinedPool = []randomFault{
	{fault: "kill-instance", kinds: []string{topology.KindCassandra, topology.KindMember, topology.KindMemcached}},
	{fault: "pause-instance", kinds: []string{topology.KindMemcached}},
	{fault: "partition"},
	{fault: "link-latency", params: map[string]string{"latency": "200"}},
}

func (p combinedFaultsPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	first, other := regions[0], regions[1]

	// Its users served by the other region, whose caches fill with their
	// profiles and histories.
	evac := fault.EvacuateRegion(env.Cluster, first, []float64{1}, 0)

	// The invalidations' path cut, writes that owe across it, and a member
	// service of the first region killed and restarted before the heal.
	links, err := fault.Link(first, other).Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	sqs := fault.PartitionLinks(env.Cluster, fault.OnlyProxies(links, func(px string) bool {
		return px == topology.SQSProxyName(first, other)
	}))
	victim, err := fault.RandomPick(1, fault.Region(first), []string{topology.KindMember}, env.Seed).Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	owing := fault.Together("kill-while-owing", sqs, fault.After(p.Owing, fault.KillInstance(env.Cluster, victim)))

	e.Faults = []fault.Fault{evac, owing}
	schedule, err := p.schedule(ctx, env)
	if err != nil {
		return nil, err
	}
	e.Faults = append(e.Faults, schedule...)
	e.Interval = p.Hold
	e.Checkers = standardCheckers(p.SLO, regions)
	return e.Run(ctx)
}

// schedule draws p.Random faults from combinedPool with the run's seed,
// each on a target drawn with it too.
func (p combinedFaultsPlan) schedule(ctx context.Context, env *Env) ([]fault.Fault, error) {
	rng := history.Rand(env.Seed, "combined-faults.schedule")
	regions := env.Cluster.Spec().RegionNames()
	var out []fault.Fault
	for i := range p.Random {
		pick := combinedPool[rng.IntN(len(combinedPool))]
		region := regions[rng.IntN(len(regions))]
		var sel fault.Selector
		if pick.kinds != nil {
			sel = fault.RandomPick(1, fault.Region(region), pick.kinds, env.Seed+uint64(i)+1)
		} else {
			other := regions[(slices.Index(regions, region)+1+rng.IntN(len(regions)-1))%len(regions)]
			sel = fault.Between(region, other)
		}
		f, err := fault.Build(ctx, env.Cluster, pick.fault, sel, pick.params)
		if err != nil {
			return nil, fmt.Errorf("random schedule, fault %d (%s in %s): %w", i+1, pick.fault, region, err)
		}
		out = append(out, f)
	}
	return out, nil
}
