package scenarios

import (
	"time"

	"github.com/kongchaos/kong/app/gateway"
)

func init() {
	Register(Spec{
		Name: "global-misrouted",
		Description: "three regions (the global profile): the director sends eu-west-1's members to us-east-1, whose gateway " +
			"proxies them home to eu-west-1 over the isthmus, then serves them itself in failover mode: every request is " +
			"answered by the member's home region unless in failover, and says how",
		Profile:    "global",
		MinRegions: 3,
		Timeout:    15 * time.Minute,
		Planned:    globalMisrouted.Total(),
		Run:        globalMisrouted.run,
		Quick:      with(globalMisrouted, func(p *misroutedPlan) { p.Times, p.Interval = misroutedQuick.Times, misroutedQuick.Interval }).run,
		Broken: []Variant{{
			Name:    "failover-in-isthmus",
			Broken:  "us-east-1's gateway left in failover mode through the isthmus round: it serves eu-west-1's members itself, away from their home",
			Checker: "home-routing", Reason: "answered in failover outside misrouted-failover",
			Run: with(globalMisrouted, func(p *misroutedPlan) {
				p.Times, p.Interval = misroutedQuick.Times, misroutedQuick.Interval
				p.Rounds = []misroutedRound{{"isthmus", gateway.Patch{Mode: new("isthmus"), Failover: new(true)}}}
			}).run,
		}},
	})
}

// globalMisrouted is misrouted's plan for the third region's members sent
// to the first: proxied home over the isthmus, then served in failover.
var globalMisrouted = with(misrouted, func(p *misroutedPlan) {
	p.Geo, p.To = 2, 0
	p.Rounds = []misroutedRound{
		{"isthmus", gateway.Patch{Mode: new("isthmus"), Failover: new(false)}},
		{"failover", gateway.Patch{Failover: new(true)}},
	}
})
