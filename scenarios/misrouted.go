package scenarios

import (
	"context"
	"time"

	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/run"
)

func init() {
	Register(Spec{
		Name:        "misrouted",
		Description: misroutedDescription,
		Profile:     "default",
		Timeout:     15 * time.Minute,
		Short:       true,
		Run: func(ctx context.Context, env *Env) (*run.Outcome, error) {
			return runMisrouted(ctx, env, misrouted)
		},
	})
}

const misroutedDescription = "the director sends one region's members to the other region, whose gateway runs in isthmus, then " +
	"redirect, then failover mode: every request is answered by the member's home region unless in failover, and says how"

type misroutedPlan struct {
	Times
	// Each mode is held this long.
	Interval time.Duration
	// Settings are the receiving gateway's settings for each round.
	Rounds       []misroutedRound
	MinMisrouted int
}

type misroutedRound struct {
	Name     string
	Settings gateway.Patch
}

var misrouted = misroutedPlan{
	Times:    Times{Steady: 15 * time.Second, Observe: 5 * time.Second, Converge: 15 * time.Second},
	Interval: 15 * time.Second,
	Rounds: []misroutedRound{
		{"isthmus", gateway.Patch{Mode: new("isthmus"), Failover: new(false)}},
		{"redirect", gateway.Patch{Mode: new("redirect"), Failover: new(false)}},
		{"failover", gateway.Patch{Failover: new(true)}},
	},
	MinMisrouted: 20,
}

func runMisrouted(ctx context.Context, env *Env, p misroutedPlan) (*run.Outcome, error) {
	regions, err := needRegions(env.Cluster, "misrouted", 2)
	if err != nil {
		return nil, err
	}
	e, err := experiment(ctx, env, "misrouted", misroutedDescription, p.Times, 40)
	if err != nil {
		return nil, err
	}
	// regions[1]'s members are sent to regions[0].
	for _, r := range p.Rounds {
		e.Faults = append(e.Faults, fault.Together("misrouted-"+r.Name,
			fault.ChangeGateways(env.Cluster, regions[:1], r.Settings),
			fault.MisrouteGeo(env.Cluster, regions[1], regions[0])))
	}
	e.Interval = p.Interval
	e.Checkers = []check.Checker{
		&check.HomeRouting{MinMisrouted: p.MinMisrouted},
		&check.Availability{SLO: 0.99},
		&check.LostWrites{Regions: regions},
	}
	return e.Run(ctx)
}
