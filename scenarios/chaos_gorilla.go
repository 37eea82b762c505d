package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/run"
)

func init() {
	Register(Spec{
		Name:        "chaos-gorilla",
		Description: chaosGorillaDescription,
		Profile:     "default",
		Timeout:     20 * time.Minute,
		Run: func(ctx context.Context, env *Env) (*run.Outcome, error) {
			return runChaosGorilla(ctx, env, chaosGorilla)
		},
	})
}

const chaosGorillaDescription = "kill every component of one zone of a region (Cassandra, memcached, member services), hold, restore: " +
	"the region keeps serving on its other zones (LOCAL_QUORUM with RF 3), the zone rejoins, nothing is lost"

type chaosGorillaPlan struct {
	Times
	SLO float64
}

var chaosGorilla = chaosGorillaPlan{Times: Times{Steady: 20 * time.Second, Observe: 30 * time.Second, Converge: 45 * time.Second}, SLO: 0.99}

func runChaosGorilla(ctx context.Context, env *Env, p chaosGorillaPlan) (*run.Outcome, error) {
	regions, err := needRegions(env.Cluster, "chaos-gorilla", 2)
	if err != nil {
		return nil, err
	}
	r, _ := env.Cluster.Spec().Region(regions[0])
	if len(r.Zones) < 2 {
		return nil, fmt.Errorf("chaos-gorilla kills a zone and needs a region with several; %s of world %s has %v (use --profile default)",
			r.Name, env.Cluster.Name(), r.Zones)
	}
	// The last zone: the first holds the seeds.
	zone := r.Zones[len(r.Zones)-1]
	e, err := experiment(ctx, env, "chaos-gorilla", chaosGorillaDescription, p.Times, 40)
	if err != nil {
		return nil, err
	}
	t, err := zoneTarget(ctx, env.Cluster, r.Name, zone)
	if err != nil {
		return nil, err
	}
	e.Faults = []fault.Fault{fault.KillZone(env.Cluster, t)}
	e.Checkers = []check.Checker{
		&check.Availability{SLO: p.SLO},
		&check.LostWrites{Regions: regions},
		&check.Convergence{MaxConvergence: 3 * time.Minute},
	}
	return e.Run(ctx)
}
