package scenarios

import (
	"context"
	"time"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
)

func init() {
	Register(Spec{
		Name: "chaos-monkey",
		Description: "kill random member-service instances and Cassandra nodes of one region, one at a time at intervals, " +
			"under steady load: each region stays at 99.9% availability and no acknowledged write is lost",
		MinRegions: 2,
		Timeout:    20 * time.Minute,
		Planned:    chaosMonkey.Total(),
		Short:      true,
		Run:        chaosMonkey.run,
		Quick:      chaosMonkeyQuick.run,
		Broken: []Variant{{
			Name:    "writes-at-all",
			Broken:  "member services that write at ALL while a Cassandra node is killed: one dead replica fails every write",
			Checker: "availability", Reason: "region us-east-1 phase inject",
			Run: with(chaosMonkey, func(p *chaosMonkeyPlan) {
				// Writes at ALL fail from the kill on (they time out
				// before the node is seen DOWN, about 20 s, and are refused
				// after): 8 s more of it is plenty.
				p.Times, p.Kills, p.Interval = Times{Steady: 6 * time.Second, Observe: 3 * time.Second, Converge: 10 * time.Second}, 1, 8*time.Second
				p.Kinds, p.AllReplicas = []string{topology.KindCassandra}, true
			}).run,
		}, {
			Name:    "dropped-writes",
			Broken:  "member services that answer one write in twenty as stored and store it nowhere (a node that silently drops writes)",
			Checker: "lost-writes", Reason: "acknowledged writes lost",
			// A user who reads a dropped write back reads the one before it.
			AlsoInvalid: []string{"stale-reads"},
			// One in twenty: a short run acknowledges about 400 writes to
			// about 250 keys, and a drop is caught only when no later
			// write to its key hides it; at one in a hundred about one
			// run in ten lost nothing that could be seen.
			Run: switched(chaosMonkeySwitched.run, Switch{Fault: "dropped-writes", On: fault.All(), Params: map[string]string{"rate": "0.05"}}),
		}, {
			Name:    "cache-one-zone",
			Broken:  "member services that write a user's new value in their own zone's cache only: the other zones keep serving the old one",
			Checker: "stale-reads", Reason: "reads stale beyond",
			// The read-back reads through the caches too.
			AlsoInvalid: []string{"lost-writes"},
			Run:         switched(chaosMonkeySwitched.run, Switch{Fault: "cache-one-zone", On: fault.All()}),
		}},
	})
}

// chaosMonkeyPlan is what the chaos-monkey scenario does; tests change it.
type chaosMonkeyPlan struct {
	Times
	Kills    int
	Interval time.Duration
	SLO      float64
	// Kinds are the kinds of instance the monkey picks from.
	Kinds []string
	// AllReplicas makes the member services write at ALL instead of
	// LOCAL_QUORUM while an instance is down: no replica may be missing (a
	// broken world).
	AllReplicas bool
}

// chaosMonkeyQuick is the plan of the Go tests.
var chaosMonkeyQuick = with(chaosMonkey, func(p *chaosMonkeyPlan) {
	p.Times, p.Kills, p.Interval = Times{Steady: 6 * time.Second, Observe: 5 * time.Second, Converge: 12 * time.Second}, 2, 8*time.Second
})

// chaosMonkeySwitched is the plan of the broken worlds that differ from the
// Go tests' by a switch that loses or hides data: one kill, of a member
// service (a Cassandra node's takes its peers 20 s to see), a shorter
// convergence. What they break is caught by the data checkers whatever is
// killed, and the read-back that catches it waits its whole deadline.
var chaosMonkeySwitched = with(chaosMonkeyQuick, func(p *chaosMonkeyPlan) {
	p.Times.Converge, p.Kills, p.Kinds = 10*time.Second, 1, []string{topology.KindMember}
})

var chaosMonkey = chaosMonkeyPlan{
	Times: Times{Steady: 20 * time.Second, Observe: 15 * time.Second, Converge: 30 * time.Second},
	Kills: 3, Interval: 15 * time.Second, SLO: 0.999, Kinds: []string{topology.KindMember, topology.KindCassandra},
}

func (p chaosMonkeyPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	victims, err := fault.RandomPick(p.Kills, fault.Region(regions[0]), p.Kinds, env.Seed).Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	all, err := fault.All().Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	for _, v := range victims.Components {
		var f fault.Fault = fault.KillInstance(env.Cluster, fault.Target{Components: []topology.Component{v}})
		if p.AllReplicas {
			f = fault.Together("kill-instance-writes-at-all", fault.RemoteWrites(env.Cluster, all, "ALL"), f)
		}
		e.Faults = append(e.Faults, f)
	}
	e.Interval = p.Interval
	e.Checkers = standardCheckers(p.SLO, regions)
	return e.Run(ctx)
}
