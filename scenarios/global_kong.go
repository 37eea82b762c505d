package scenarios

import (
	"time"

	"github.com/kongchaos/kong/harness/fault"
	// The director's faults (bounce-sessions, flat-capacity) register
	// themselves in the catalogue that Switch builds from.
	_ "github.com/kongchaos/kong/harness/fault/steer"
)

func init() {
	Register(Spec{
		Name: "global-kong",
		Description: "Chaos Kong on three regions (the global profile): evacuate us-east-1 gradually; its users go to us-west-2 and eu-west-1 " +
			"by their spare capacity and neither sheds, users keep being served (99.5%), sessions move only with the shifts, nothing is lost; " +
			"back home, their profiles (replicated) are in the cache, their viewing histories (invalidated) are read from Cassandra",
		Profile:    "global",
		MinRegions: 3,
		Timeout:    20 * time.Minute,
		Planned:    globalKong.Total(),
		Short:      true,
		Run:        globalKong.run,
		Quick:      globalKongQuick.run,
		Broken: []Variant{{
			Name: "even-split",
			Broken: "a director that believes every region has the capacity of the largest, so it splits the evacuated region's users " +
				"evenly: the smallest region receives half of them",
			Checker: "capacity-split", Reason: "off capacity",
			Short: true,
			Run:   switched(globalKongQuick.run, Switch{Fault: "flat-capacity", On: fault.All()}),
		}, {
			Name: "no-replication",
			Broken: "member services that invalidate the profiles the topology declares replicated: back home, the evacuated users' " +
				"first reads of their profiles miss the cache",
			Checker: "cache-modes", Reason: "below 90%",
			Run: switched(globalKongQuick.run, Switch{Fault: "no-replication", On: fault.All()}),
		}},
	})
}

// globalKong is chaos-kong's plan with the global profile's checkers.
var globalKong = with(chaosKong, func(p *chaosKongPlan) { p.Global = true })

// globalKongQuick is the plan of the Go tests and of the broken world. It
// observes the emptied region 15 s, not chaos-kong's 10: capacity-split
// judges how the evacuated region's sixty-odd sessions split, and in a run
// with 10 s the even split of the broken world (41 % and 59 %, 25 and 75
// expected) fell within its tolerance.
var globalKongQuick = with(chaosKongQuick, func(p *chaosKongPlan) { p.Global, p.Observe = true, 15*time.Second })
