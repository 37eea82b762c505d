package scenarios

import (
	"context"
	"time"

	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/fault/measured"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
)

func init() {
	Register(Spec{
		Name: "thundering-herd",
		Description: "a surge of new members at several times a region's maximum traffic level, with its caches flushed: " +
			"the gateway sheds the excess fast, the data tier's request rate stays under its bound, the region recovers",
		MinRegions: 2,
		Timeout:    15 * time.Minute,
		Planned:    thunderingHerd.Total(),
		Short:      true,
		Run:        thunderingHerd.run,
		Quick:      shorter(thunderingHerd, Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}).run,
		Broken: []Variant{{
			Name:    "no-shedding",
			Broken:  "the gateway's shedding switched off (no maximum rate): the whole surge reaches the data tier",
			Checker: "shedding", Reason: "data tier peak",
			// The admitted surge overloads the region, which may fail
			// requests too.
			AlsoInvalid: []string{"availability"},
			Run: with(thunderingHerd, func(p *thunderingHerdPlan) {
				p.Times, p.Capacity = Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}, 0
			}).run,
		}, {
			Name:    "over-shedding",
			Broken:  "the gateway's limiter set far below what the region serves (5 requests/s): it sheds its regular users with the surge",
			Checker: "shedding", Reason: "goodput too low",
			Run: with(thunderingHerd, func(p *thunderingHerdPlan) {
				p.Times, p.Capacity = Times{Steady: 6 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}, 5
			}).run,
		}},
	})
}

type thunderingHerdPlan struct {
	Times
	// Capacity is the region's maximum traffic level (the gateway's
	// max_rps); Surge multiplies it; 0 Capacity switches shedding off (a
	// broken world).
	Capacity int
	Surge    float64
	// Bound is the data tier's request rate bound, per second.
	Bound float64
	// Goodput is the least rate, per second, of requests the region must
	// still serve while it sheds (half its maximum traffic level).
	Goodput float64
	// ShedP99 bounds the p99 latency of shed answers (corrected for
	// coordinated omission, so it includes the load generator's own delays
	// on a busy machine).
	ShedP99 time.Duration
}

var thunderingHerd = thunderingHerdPlan{
	Times:    Times{Steady: 15 * time.Second, Observe: 20 * time.Second, Converge: 20 * time.Second},
	Capacity: 60, Surge: 4, Bound: 90, Goodput: 30, ShedP99: 500 * time.Millisecond,
}

func (p thunderingHerdPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	rate := p.Surge * float64(max(p.Capacity, 60))
	surge := measured.SurgeRegion(env.Cluster, regions[0], workload.Config{
		Pacer: workload.Constant(rate), Members: 3000, Seed: env.Seed + 1,
		Mix: workload.OpMix{ReadProfile: 80, WriteProfile: 10, AppendHistory: 5, ReadHistory: 5},
	}, true)
	e.Faults = []fault.Fault{
		fault.ChangeGateways(env.Cluster, regions[:1], gateway.Patch{MaxRPS: new(p.Capacity)}),
		surge,
	}
	e.Checkers = []check.Checker{
		&check.Shedding{MaxShedLatency: p.ShedP99, MaxDataTierRate: p.Bound, MinGoodput: p.Goodput},
		&check.Availability{SLO: 0.99, AllowShed: true, Degraded: regions[0]},
		&check.LostWrites{Regions: regions},
		&check.StaleReads{Bound: time.Second},
	}
	return e.Run(ctx)
}
