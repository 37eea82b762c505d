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
		Name: "misrouted",
		Description: "the director sends one region's members to the other region, whose gateway runs in isthmus, then " +
			"redirect, then failover mode: every request is answered by the member's home region unless in failover, and says how",
		MinRegions: 2,
		Timeout:    15 * time.Minute,
		Planned:    misrouted.Total(),
		Short:      true,
		Run:        misrouted.run,
		Quick:      misroutedQuick.run,
		Broken: []Variant{{
			Name:    "wrong-home",
			Broken:  "the entry gateway's directional table pointing the misrouted geo at the wrong region (itself), failover off",
			Checker: "home-routing", Reason: "outside their home region without failover",
			Run: with(misrouted, func(p *misroutedPlan) {
				p.Times, p.Interval = Times{Steady: 5 * time.Second, Observe: 3 * time.Second, Converge: 8 * time.Second}, 8*time.Second
				p.Rounds = []misroutedRound{{"wrong-home", gateway.Patch{Mode: new("isthmus"), Failover: new(false)}}}
				p.WrongHome = true
			}).run,
		}, {
			Name:    "ignore-geo",
			Broken:  "the receiving gateway ignoring the member's geo: it serves every user as its own, and says so",
			Checker: "home-routing", Reason: "outside their home region without failover",
			Run: switched(misroutedQuick.run, Switch{Fault: "ignore-geo", On: fault.Region("us-east-1")}),
		}, {
			Name:    "failover-in-isthmus",
			Broken:  "the receiving gateway left in failover mode through the isthmus round (a switch an operator forgot): it serves the misrouted users itself",
			Checker: "home-routing", Reason: "answered in failover outside misrouted-failover",
			Run: with(misroutedQuick, func(p *misroutedPlan) {
				p.Rounds = []misroutedRound{{"isthmus", gateway.Patch{Mode: new("isthmus"), Failover: new(true)}}}
			}).run,
		}},
	})
}

// misroutedQuick is the plan of the Go tests, and of the broken worlds
// that differ from it by a switch only.
var misroutedQuick = with(misrouted, func(p *misroutedPlan) {
	p.Times, p.Interval = Times{Steady: 6 * time.Second, Observe: 3 * time.Second, Converge: 10 * time.Second}, 8*time.Second
})

type misroutedPlan struct {
	Times
	// Each mode is held this long.
	Interval time.Duration
	// Settings are the receiving gateway's settings for each round.
	Rounds       []misroutedRound
	MinMisrouted int
	// WrongHome points the receiving gateway's directional table at itself
	// for the misrouted geo in every round (a broken world): it serves
	// those members away from their home.
	WrongHome bool
	// Geo and To index the world's regions: Geo's members are sent to To.
	Geo, To int
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
	Geo:          1,
}

func (p misroutedPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	geo, to := regions[p.Geo], regions[p.To]
	for _, r := range p.Rounds {
		settings := r.Settings
		if p.WrongHome {
			settings.HomeOverrides = &map[string]string{geo: to}
		}
		e.Faults = append(e.Faults, fault.Together("misrouted-"+r.Name,
			fault.ChangeGateways(env.Cluster, []string{to}, settings),
			fault.MisrouteGeo(env.Cluster, geo, to)))
	}
	e.Interval = p.Interval
	e.Checkers = append([]check.Checker{
		// Failover answers are the failover round's, and no other's.
		&check.HomeRouting{MinMisrouted: p.MinMisrouted, FailoverDuring: []string{"misrouted-failover"}},
	}, standardCheckers(0.99, regions)...)
	return e.Run(ctx)
}
