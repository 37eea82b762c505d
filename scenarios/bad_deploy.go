package scenarios

import (
	"context"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/deploy"
	"github.com/kongchaos/kong/harness/run"
)

func init() {
	Register(Spec{
		Name: "bad-deploy",
		Description: "Mimir's staged deploy under the steady workload: a member service release that fails 10 % of its requests " +
			"(v2-errors) goes to a canary in the first region, whose automated analysis against the rest of the region (every 2 s " +
			"of its window) must fail it and roll it back before it reaches another region; then the good release (v2) is rolled out to every instance, " +
			"region by region",
		MinRegions: 2,
		Deploys:    true,
		Timeout:    10 * time.Minute,
		Planned:    badDeploy.Total(),
		Short:      true,
		Run:        badDeploy.run,
		Quick:      badDeployQuick.run,
		Broken: []Variant{{
			Name:    "no-analysis",
			Broken:  "the pipeline without its canary analysis (kong deploy --no-analysis): the canary stage only waits, so the defect goes on to every region",
			Checker: "deploy", Reason: "reached 2 regions",
			// Every region then serves the defect: its users see the errors.
			// And every instance restarts twice in about a minute under the
			// load: a zone's cache was once found here holding copies older
			// than an acknowledged write after it (3 in us-west-2), which
			// lost-writes reports; never in the healthy run.
			AlsoInvalid: []string{"availability", "lost-writes"},
			Short:       true,
			Run:         with(badDeployBroken, func(p *badDeployPlan) { p.NoAnalysis = true }).run,
		}, {
			Name: "blind-canary",
			Broken: "a defect the canary's metrics cannot see (v2-lost-writes: 5 % of writes acknowledged and not stored): " +
				"the canary passes its analysis, the release reaches every region, and the read-back finds the writes gone",
			Checker: "lost-writes", Reason: "acknowledged",
			// The deploy checker says the canary passed a bad release; and
			// a write acknowledged and lost leaves the reads after it
			// stale for good.
			AlsoInvalid: []string{"deploy", "stale-reads"},
			Run:         with(badDeployBroken, func(p *badDeployPlan) { p.Bad = "v2-lost-writes" }).run,
		}},
	})
}

// badDeployPlan is the bad-deploy scenario: the rollouts of Bad then Good
// over the deploy plan, under the steady workload.
type badDeployPlan struct {
	Steady, Converge time.Duration
	Deploy           deploy.Plan
	Bad, Good        string
	// MaxExposure bounds how long Bad may serve, from its canary's restart
	// to the end of its rollback.
	MaxExposure time.Duration
	// Interval judges the canary every Interval of its window as well.
	Interval   time.Duration
	NoAnalysis bool
}

var badDeploy = badDeployPlan{
	Steady: 15 * time.Second, Converge: 10 * time.Second,
	Deploy: deploy.Plan{Analysis: 30 * time.Second, Bake: 10 * time.Second},
	Bad:    "v2-errors", Good: "v2",
	MaxExposure: 2 * time.Minute, Interval: 2 * time.Second,
}

// badDeployQuick is the plan of the Go tests and the broken worlds.
var badDeployQuick = with(badDeploy, func(p *badDeployPlan) {
	p.Steady, p.Converge = 8*time.Second, 5*time.Second
	// The good release's window and bakes keep the observe phase long
	// enough that the bad canary's errors before it is failed (a few
	// seconds of a third of its region's requests) stay within the 1 %
	// the region may lose in the phase.
	p.Deploy = deploy.Plan{Analysis: 25 * time.Second, Bake: 5 * time.Second}
})

// badDeployBroken is the plan of the broken worlds: shorter windows,
// since their own checkers do not weigh the canary's errors against the
// phase.
var badDeployBroken = with(badDeployQuick, func(p *badDeployPlan) {
	p.Deploy = deploy.Plan{Analysis: 10 * time.Second, Bake: 3 * time.Second}
})

// Total is the planned time of the run's phases: steady, the rollouts
// (without the restarts, which take what they take), converge.
func (p badDeployPlan) Total() time.Duration {
	// The bad release's canary serves through its analysis; the good
	// release through its analysis and a bake after each region but the
	// last.
	return p.Steady + 2*p.Deploy.Analysis + p.Deploy.Bake + p.Converge
}

func (p badDeployPlan) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	e, err := experiment(ctx, s, env, Times{Steady: p.Steady}, 40)
	if err != nil {
		return nil, err
	}
	regions := env.Cluster.Spec().RegionNames()
	e.Checkers = append([]check.Checker{&check.Deploy{Bad: p.Bad, Good: p.Good, MaxExposure: p.MaxExposure}},
		standardCheckers(0.99, regions)...)
	e.Observer = &deploy.Observer{Cluster: env.Cluster, Plan: p.Deploy, Versions: []string{p.Bad, p.Good},
		NoAnalysis: p.NoAnalysis, Interval: p.Interval, Hold: p.Converge}
	return e.Run(ctx)
}
