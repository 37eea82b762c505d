package scenarios

import "time"

func init() {
	Register(Spec{
		Name: "global-split-brain",
		Description: "three regions (the global profile): cut eu-west-1 off from both others under steady load, then heal: " +
			"every region keeps serving its own users, us-east-1 and us-west-2 keep replicating with each other, " +
			"and every acknowledged write is readable in all three after convergence",
		Profile:    "global",
		MinRegions: 3,
		Timeout:    15 * time.Minute,
		Planned:    globalSplitBrain.Total(),
		Run:        globalSplitBrain.run,
		Quick:      shorter(globalSplitBrain, Times{Steady: 10 * time.Second, Observe: 15 * time.Second, Converge: 30 * time.Second}).run,
		Broken: []Variant{{
			Name:    "remote-writes",
			Broken:  "member services that write at QUORUM of all three regions: the region cut off cannot reach a quorum alone",
			Checker: "availability", Reason: "region eu-west-1 phase observe",
			Run: with(globalSplitBrain, func(p *splitBrainPlan) {
				p.Times, p.RemoteWrites = Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 20 * time.Second}, true
			}).run,
		}},
	})
}

// globalSplitBrain is split-brain's plan with the last region isolated from
// the others.
var globalSplitBrain = with(splitBrain, func(p *splitBrainPlan) { p.Isolate = true })
