package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

func init() {
	Register(Spec{
		Name: "chaos-gorilla",
		Description: "kill every component of one zone of a region (Cassandra, memcached, member services), hold, restore: " +
			"the region keeps serving on its other zones (LOCAL_QUORUM with RF 3), the zone rejoins, nothing is lost",
		MinRegions: 2,
		Timeout:    20 * time.Minute,
		Planned:    chaosGorilla.Total(),
		Run:        chaosGorilla.run,
		Quick:      chaosGorillaQuick.run,
		Broken: []Variant{{
			Name:    "rf-1",
			Broken:  "the keyspace at RF 1 in the region that loses a zone: the zone takes the keys whose only replica lived there",
			Checker: "availability", Reason: "region us-east-1 phase observe",
			// A write acknowledged by its only replica in the region dies
			// with it when the zone is killed before the commit log's
			// periodic sync: RF 1 loses data as well as availability, and
			// the region's store lacks it after the heal (convergence).
			// A cached copy of what the region lost is then newer than
			// its Cassandra (behind-store).
			AlsoInvalid: []string{"lost-writes", "convergence", "behind-store"},
			Leaves:      "the data written at RF 1 has one replica in the region until a repair",
			Run: with(chaosGorilla, func(p *chaosGorillaPlan) {
				p.Times, p.ReplicationFactor = Times{Steady: 6 * time.Second, Observe: 10 * time.Second, Converge: 20 * time.Second}, 1
			}).run,
		}, {
			Name: "weak-reads",
			Broken: "member services that read at LOCAL_ONE on a cache miss: with the zone's memcached emptied by its restart, " +
				"its reads reach the zone's Cassandra node before its hints do, and serve (and cache) what it missed",
			Checker: "behind-store", Reason: "served older data than their region's Cassandra held",
			// The read-back from the heal finds the region's gateway behind
			// its own Cassandra for as long as the node's hints take (about
			// 4 to 6 s here, and as long as 31 s): convergence may or may
			// not see it past its bound, users may read it too, and a
			// stale copy cached may outlive the run.
			AlsoInvalid: []string{"convergence", "stale-reads", "lost-writes"},
			Run:         switched(chaosGorillaQuick.run, Switch{Fault: "weak-reads", On: fault.All()}),
		}},
	})
}

// chaosGorillaQuick is the plan of the Go tests, and of the broken worlds
// that differ from it by a switch only.
var chaosGorillaQuick = with(chaosGorilla, func(p *chaosGorillaPlan) {
	p.Times = Times{Steady: 6 * time.Second, Observe: 10 * time.Second, Converge: 20 * time.Second}
})

type chaosGorillaPlan struct {
	Times
	SLO float64
	// ReplicationFactor, when above 0, sets the keyspace's replication
	// factor in the region that loses a zone for the whole run, read-back
	// included, and the spec's back after it (a broken world at 1).
	ReplicationFactor int
	// Convergence bounds how long after the heal a region's Cassandra or
	// a zone's cache may still hold less than the acknowledged writes. A
	// healthy world here converges at once, and within 3.5 s at worst
	// seen (a write whose way to the region was cut with the zone, late
	// until its hint). The probes from the heal come half a second apart,
	// so that a figure near the bound is told.
	Convergence time.Duration
}

var chaosGorilla = chaosGorillaPlan{Times: Times{Steady: 20 * time.Second, Observe: 30 * time.Second, Converge: 45 * time.Second},
	SLO: 0.99, Convergence: 4500 * time.Millisecond}

func (p chaosGorillaPlan) run(ctx context.Context, s Spec, env *Env) (out *run.Outcome, err error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	r, _ := env.Cluster.Spec().Region(regions[0])
	if len(r.Zones) < 2 {
		return nil, fmt.Errorf("%s kills a zone and needs a region with several; %s of world %s has %v (use --profile default)",
			s.Name, r.Name, env.Cluster.Name(), r.Zones)
	}
	// The last zone: the first holds the seeds.
	zone := r.Zones[len(r.Zones)-1]
	t, err := fault.Zone(r.Name, zone).Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	e.Faults = []fault.Fault{fault.KillZone(env.Cluster, t)}
	e.ProbeFromHeal = true
	e.Checkers = append(standardCheckers(p.SLO, regions),
		// Probed from the heal, in every region's Cassandra and every
		// zone's cache apart: the zone's nodes and caches come back empty
		// of what was written without them.
		&check.Convergence{MaxConvergence: p.Convergence, Grace: time.Second},
		// The same probes, gateway beside store: a region's service never
		// older than its own Cassandra at LOCAL_QUORUM.
		&check.BehindStore{Grace: time.Second})
	if p.ReplicationFactor > 0 {
		if err := setReplication(ctx, env.Cluster, r.Name, p.ReplicationFactor); err != nil {
			return nil, err
		}
		defer func() {
			restore, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if rerr := setReplication(restore, env.Cluster, r.Name, env.Cluster.Spec().Cassandra.ReplicationFactor); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	return e.Run(ctx)
}

// setReplication sets the keyspace's replication factor in one region to rf
// (ALTER KEYSPACE), keeping the spec's in the others.
func setReplication(ctx context.Context, c topology.Cluster, region string, rf int) error {
	spec := c.Spec()
	s, err := topology.RegionSession(c, spec.RegionNames()[0], spec.Cassandra.Keyspace)
	if err != nil {
		return err
	}
	defer cql.CloseSession(s)
	repl := "'class': 'NetworkTopologyStrategy'"
	for _, r := range spec.RegionNames() {
		n := spec.Cassandra.ReplicationFactor
		if r == region {
			n = rf
		}
		repl += fmt.Sprintf(", '%s': %d", r, n)
	}
	if err := s.Query(fmt.Sprintf("ALTER KEYSPACE %s WITH replication = {%s}", spec.Cassandra.Keyspace, repl)).ExecContext(ctx); err != nil {
		return fmt.Errorf("set the replication factor of keyspace %s in %s to %d: %w", spec.Cassandra.Keyspace, region, rf, err)
	}
	return nil
}
