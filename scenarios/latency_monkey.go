package scenarios

import (
	"context"
	"time"

	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
)

func init() {
	Register(Spec{
		Name: "latency-monkey",
		Description: "latency and jitter on some of the cross-region Cassandra and SQS connections, and errors, " +
			"latency and stalled reads on one region's member services: nothing cascades (the gateway sends a stalled read to another " +
			"instance), p99 stays within the configured timeouts, errors stay within the budget",
		MinRegions: 2,
		Timeout:    15 * time.Minute,
		Planned:    latencyMonkey.Total(),
		Run:        latencyMonkey.run,
		Quick:      shorter(latencyMonkey, Times{Steady: 8 * time.Second, Observe: 20 * time.Second, Converge: 10 * time.Second}).run,
		Broken: []Variant{{
			Name:    "no-try-timeout",
			Broken:  "the gateway's try timeout switched off: stalled reads wait for their instance until the member timeout and fail",
			Checker: "availability", Reason: "region us-east-1 phase observe",
			Run: with(latencyMonkey, func(p *latencyMonkeyPlan) {
				p.Times, p.NoTryTimeout = Times{Steady: 8 * time.Second, Observe: 30 * time.Second, Converge: 10 * time.Second}, true
			}).run,
		}, {
			Name: "stalled-gateway",
			Broken: "the first region's gateway stalls (paused) for 3 s, where no retry can route around it: " +
				"the requests of those seconds are answered, late",
			Checker: "latency", Reason: "region us-east-1 phase inject",
			Run: with(latencyMonkey, func(p *latencyMonkeyPlan) {
				p.Times, p.StallGateway = Times{Steady: 8 * time.Second, Observe: 5 * time.Second, Converge: 10 * time.Second}, 3*time.Second
			}).run,
		}},
	})
}

type latencyMonkeyPlan struct {
	Times
	// Link latency and jitter on a share (Toxicity) of the cross-region
	// connections.
	Latency, Jitter time.Duration
	Toxicity        float64
	// ErrorRate and DependencyLatency of the member services of the first
	// region.
	ErrorRate         float64
	DependencyLatency time.Duration
	// StallRate of the reads of the first region's member services are
	// held Stall, longer than the gateway's member timeout: only the
	// gateway's try timeout (a retry on another instance) saves them.
	StallRate float64
	Stall     time.Duration
	// NoTryTimeout turns the first region's gateway try timeout off while
	// the faults last. A broken world: stalled reads then wait until the
	// member timeout and fail.
	NoTryTimeout bool
	// StallGateway, when set, replaces the faults by a pause of the first
	// region's gateway for that long, in the inject phase (a broken world:
	// its requests wait, then complete late).
	StallGateway time.Duration
	// Rate is the workload's request rate (per second).
	Rate float64
	// Budget is the least availability; P99 the bound of every phase's p99
	// (the gateway's member timeout, 2 s, plus the director's answer).
	Budget float64
	P99    time.Duration
}

var latencyMonkey = latencyMonkeyPlan{
	Times:   Times{Steady: 20 * time.Second, Observe: 30 * time.Second, Converge: 20 * time.Second},
	Latency: 150 * time.Millisecond, Jitter: 100 * time.Millisecond, Toxicity: 0.5,
	ErrorRate: 0.005, DependencyLatency: 50 * time.Millisecond,
	StallRate: 0.05, Stall: 3 * time.Second,
	Budget: 0.98, P99: 2500 * time.Millisecond, Rate: 60,
}

func (p latencyMonkeyPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, p.Times, p.Rate)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	links, err := fault.Between(regions[0], regions[1]).Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	members, err := fault.Region(regions[0]).Select(ctx, env.Cluster)
	if err != nil {
		return nil, err
	}
	jitter := fault.JitterToxic(p.Latency, p.Jitter)
	jitter.Toxicity, jitter.Stream = p.Toxicity, fault.BothStreams
	parts := []fault.Fault{
		fault.LinkToxic(env.Cluster, links, jitter),
		fault.DependencyErrors(env.Cluster, members, p.ErrorRate, int(p.DependencyLatency.Milliseconds())).
			WithStallingReads(p.StallRate, int(p.Stall.Milliseconds())),
	}
	if p.NoTryTimeout {
		parts = append(parts, fault.ChangeGateways(env.Cluster, regions[:1], gateway.Patch{MemberTryMS: new(0)}))
	}
	e.Faults = []fault.Fault{fault.Together("latency-monkey", parts...)}
	if p.StallGateway > 0 {
		gw, err := fault.RandomPick(1, fault.Region(regions[0]), []string{topology.KindGateway}, env.Seed).Select(ctx, env.Cluster)
		if err != nil {
			return nil, err
		}
		e.Faults, e.Interval = []fault.Fault{fault.PauseInstance(env.Cluster, gw)}, p.StallGateway
	}
	e.Checkers = []check.Checker{
		&check.Availability{SLO: p.Budget},
		// Every phase of every region, the steady state included.
		&check.Latency{Max: p.P99, ByRegion: true},
		&check.LostWrites{Regions: regions},
		&check.StaleReads{Bound: time.Second},
	}
	return e.Run(ctx)
}
