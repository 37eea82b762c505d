package deploy

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/deploy/canary"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// world is the member service instances of two regions of two zones with
// two instances each, as a plan lists them, with a memcached among them
// that a rollout must leave alone.
func world() []topology.Component {
	var cs []topology.Component
	for _, r := range []string{"us-east-1", "us-west-2"} {
		for _, z := range []string{"a", "b"} {
			for i := range 2 {
				cs = append(cs, topology.Component{ID: r + "/member/" + z + string(rune('0'+i)), Kind: topology.KindMember, Region: r, Zone: z})
			}
		}
		cs = append(cs, topology.Component{ID: r + "/memcached/a", Kind: topology.KindMemcached, Region: r, Zone: "a"})
	}
	return cs
}

func TestStages(t *testing.T) {
	st, err := Stages(world(), Plan{Analysis: 30 * time.Second, Bake: time.Minute})
	require.NoError(t, err)
	require.Len(t, st, 3)
	assert.Equal(t, Stage{
		Name: "canary", Region: "us-east-1", Instances: []string{"us-east-1/member/a0"},
		Canary: true, Baseline: []string{"us-east-1/member/a1", "us-east-1/member/b0", "us-east-1/member/b1"},
		Bake: 30 * time.Second,
	}, st[0])
	assert.Equal(t, Stage{Name: "us-east-1", Region: "us-east-1", Instances: []string{"us-east-1/member/a1", "us-east-1/member/b0", "us-east-1/member/b1"}, Bake: time.Minute}, st[1])
	assert.Equal(t, "us-west-2", st[2].Region)
	assert.Len(t, st[2].Instances, 4)
	assert.Zero(t, st[2].Bake, "nothing follows the last stage")

	st, err = Stages(world(), Plan{Regions: []string{"us-west-2", "us-east-1"}, CanaryZone: "b"})
	require.NoError(t, err)
	assert.Equal(t, []string{"us-west-2/member/b0"}, st[0].Instances)
	assert.Equal(t, []string{"us-west-2/member/a0", "us-west-2/member/a1", "us-west-2/member/b1"}, st[1].Instances)
	assert.Equal(t, "us-east-1", st[2].Region)

	for _, bad := range []struct {
		plan Plan
		want string
	}{
		{Plan{Regions: []string{"eu-west-1"}}, `region "eu-west-1" has no member service instances`},
		{Plan{Regions: []string{"us-east-1", "us-east-1"}}, "named twice"},
		{Plan{CanaryZone: "c"}, `zone "c" of region us-east-1 has no member service instance`},
	} {
		_, err := Stages(world(), bad.plan)
		assert.ErrorContains(t, err, bad.want)
	}
	_, err = Stages(world()[:1], Plan{})
	assert.ErrorContains(t, err, "a canary needs at least one other instance")
	_, err = Stages(nil, Plan{})
	assert.ErrorContains(t, err, "no member service instances")
}

// fleet records which version each instance runs; deploying bad to failOn
// fails.
type fleet struct {
	mu       sync.Mutex
	versions map[string]string
	order    []string
	failOn   string
	cancel   func() // called on the first deploy of cancelOn
	cancelOn string
}

func (f *fleet) Deploy(ctx context.Context, inst, version string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	f.order = append(f.order, inst+"@"+version)
	if inst == f.cancelOn && f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
	if inst == f.failOn && version != "v1" {
		f.versions[inst] = "broken"
		return errors.New("health check failed after 30s")
	}
	f.versions[inst] = version
	return nil
}

func (f *fleet) running(version string) []string {
	var out []string
	for inst, v := range f.versions {
		if v == version {
			out = append(out, inst)
		}
	}
	slices.Sort(out)
	return out
}

// metrics gives instances on a slow version slower latencies and errors.
type metrics struct {
	f    *fleet
	slow string
	rng  *rand.Rand
}

func (m *metrics) Samples(_ context.Context, instances []string, _, _ time.Time) (map[string][]float64, error) {
	out := map[string][]float64{}
	for _, inst := range instances {
		factor, errRate := 1.0, 0.0
		if m.f.versions[inst] == m.slow {
			factor, errRate = 2, 0.2
		}
		for range 100 {
			out["latency"] = append(out["latency"], factor*20*math.Exp(0.5*m.rng.NormFloat64()))
			e := 0.0
			if m.rng.Float64() < errRate {
				e = 1
			}
			out["errors"] = append(out["errors"], e)
		}
	}
	return out, nil
}

func pipeline(t *testing.T, slow string) (*Pipeline, *fleet, *[]history.Event) {
	t.Helper()
	f := &fleet{versions: map[string]string{}}
	for _, c := range world() {
		if c.Kind == topology.KindMember {
			f.versions[c.ID] = "v1"
		}
	}
	st, err := Stages(world(), Plan{Analysis: 30 * time.Second, Bake: time.Minute})
	require.NoError(t, err)
	var events []history.Event
	clock := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	p := &Pipeline{
		Stages: st, Fleet: f,
		Metrics: &metrics{f: f, slow: slow, rng: rand.New(rand.NewPCG(1, 2))},
		Judge: []canary.Metric{
			{Name: "errors", Harm: canary.Increase, Floor: 0.01, Critical: true},
			{Name: "latency", Harm: canary.Increase, Tolerance: 0.2},
		},
		Record: func(e history.Event) { events = append(events, e) },
		now:    func() time.Time { return clock },
		sleep: func(ctx context.Context, d time.Duration) error {
			clock = clock.Add(d)
			return ctx.Err()
		},
	}
	return p, f, &events
}

func names(events []history.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Name)
	}
	return out
}

func TestPipelinePromotesAGoodVersion(t *testing.T) {
	p, f, events := pipeline(t, "none")
	res, err := p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, Promoted, res.Decision, res.Reason)
	assert.Equal(t, 3, res.Stages)
	assert.Equal(t, []string{"us-east-1", "us-west-2"}, res.Reached)
	assert.Len(t, res.Deployed, 8)
	assert.Empty(t, f.running("v1"), "every instance took v2")
	require.NotNil(t, res.Judgement)
	assert.Equal(t, canary.VerdictPass, res.Judgement.Verdict, res.Judgement.Reason)
	assert.Equal(t, "us-east-1/member/a0@v2", f.order[0], "the canary goes first")
	assert.Contains(t, names(*events), history.EventCanaryJudgement)
	assert.Equal(t, history.EventDeployDone, names(*events)[len(*events)-1])
}

func TestPipelineRollsBackABadCanary(t *testing.T) {
	p, f, events := pipeline(t, "v2")
	res, err := p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err, "a failed canary is a decision, not an error")
	assert.Equal(t, RolledBack, res.Decision)
	assert.Contains(t, res.Reason, "canary fail: critical metric errors high")
	assert.Equal(t, []string{"us-east-1"}, res.Reached, "the defect never reached a second region")
	assert.Empty(t, res.Deployed)
	assert.Empty(t, f.running("v2"))
	assert.Equal(t, []string{"us-east-1/member/a0@v2", "us-east-1/member/a0@v1"}, f.order)
	assert.Zero(t, res.Stages)
	assert.Contains(t, names(*events), history.EventDeployRollback)
	// Without its analysis the same defect goes everywhere.
	p, f, _ = pipeline(t, "v2")
	p.NoAnalysis = true
	res, err = p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, Promoted, res.Decision)
	assert.Equal(t, []string{"us-east-1", "us-west-2"}, res.Reached)
	assert.Len(t, f.running("v2"), 8)
}

func TestPipelineRollsBackAFailedDeploy(t *testing.T) {
	p, f, _ := pipeline(t, "none")
	f.failOn = "us-east-1/member/b0"
	res, err := p.Run(context.Background(), "v2", "v1")
	require.ErrorContains(t, err, "deploy v2 to us-east-1/member/b0: health check failed")
	assert.Equal(t, RolledBack, res.Decision)
	assert.Equal(t, 1, res.Stages, "the canary stage completed")
	assert.Empty(t, f.running("v2"))
	assert.Empty(t, f.running("broken"), "the half-deployed instance went back too")
	assert.Len(t, f.running("v1"), 8)
}

func TestPipelineHealsWhenCancelled(t *testing.T) {
	p, f, _ := pipeline(t, "none")
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.cancelOn = cancel, "us-east-1/member/b0"
	res, err := p.Run(ctx, "v2", "v1")
	require.NoError(t, err, "the rollback ran on its own context")
	assert.Equal(t, Interrupted, res.Decision)
	assert.Empty(t, f.running("v2"))
	assert.Len(t, f.running("v1"), 8)
}

func TestPipelineMarginalCanary(t *testing.T) {
	p, _, _ := pipeline(t, "v2")
	// Only latency judged, and leniently: a canary twice as slow fails its
	// one metric, so its score is 0; with a second metric that passes the
	// score is 50, still a failure; make the thresholds marginal at 50.
	p.Judge = []canary.Metric{{Name: "latency", Harm: canary.Increase}, {Name: "errors", Harm: canary.Decrease}}
	p.Thresholds = canary.Thresholds{Pass: 95, Marginal: 50, Alpha: 0.02}
	res, err := p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	require.NotNil(t, res.Judgement)
	assert.Equal(t, canary.VerdictMarginal, res.Judgement.Verdict, res.Judgement.Reason)
	assert.Equal(t, RolledBack, res.Decision, "marginal is rolled back by default")

	p, _, _ = pipeline(t, "v2")
	p.Judge = []canary.Metric{{Name: "latency", Harm: canary.Increase}, {Name: "errors", Harm: canary.Decrease}}
	p.Thresholds = canary.Thresholds{Pass: 95, Marginal: 50, Alpha: 0.02}
	p.OnMarginal = true
	res, err = p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, Promoted, res.Decision)
}

// The deploy checker reads what the pipeline records: a defective version
// rolled back from its canary, then a good one promoted, hold; the same
// defect without the analysis does not.
func TestDeployCheckerJudgesThePipelinesEvents(t *testing.T) {
	judge := func(noAnalysis bool) history.Result {
		p, f, events := pipeline(t, "v2-errors")
		p.NoAnalysis = noAnalysis
		bad, err := p.Run(context.Background(), "v2-errors", "v1")
		require.NoError(t, err)
		previous := "v1"
		if bad.Decision == Promoted {
			previous = "v2-errors"
		}
		good, err := p.Run(context.Background(), "v2", previous)
		require.NoError(t, err)
		require.Equal(t, Promoted, good.Decision, good.Reason)
		require.Len(t, f.running("v2"), 8)
		d := &check.Deploy{Bad: "v2-errors", Good: "v2", MaxExposure: 2 * time.Minute}
		return d.Check(history.NewIndex(&history.History{Events: *events}))
	}
	r := judge(false)
	require.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Contains(t, r.Reason, "v2-errors rolled back from us-east-1 after 30s (the canary analysis said fail")
	assert.Contains(t, r.Reason, "v2 reached all 8 instances")
	assert.Equal(t, 30.0, r.Figures["bad_exposure_s"])

	r = judge(true)
	require.Equal(t, history.VerdictInvalid, r.Valid, r.Reason)
	assert.Contains(t, r.Reason, "v2-errors reached 2 regions (us-east-1, us-west-2): no canary analysis ran")
	assert.Contains(t, r.Reason, "v2-errors was promoted, not rolled back")
}

// With Interval, a canary that errs is failed at the first interval that
// shows it, not at the end of its window; a good canary still serves its
// whole window and passes.
func TestPipelineFailsAnErringCanaryEarly(t *testing.T) {
	p, f, events := pipeline(t, "v2")
	p.Interval = 5 * time.Second
	res, err := p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, RolledBack, res.Decision)
	assert.Contains(t, res.Reason, "critical metric errors high")
	assert.Empty(t, f.running("v2"))
	j := judgementOf(t, *events)
	assert.Equal(t, "failed early", j.Detail["window"])
	assert.Equal(t, "5s", j.Detail["judged_after"], "judged at the first interval, not after the 30 s window")

	p, _, events = pipeline(t, "none")
	p.Interval = 5 * time.Second
	res, err = p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, Promoted, res.Decision, res.Reason)
	j = judgementOf(t, *events)
	assert.Equal(t, "whole", j.Detail["window"])
	assert.Equal(t, "30s", j.Detail["judged_after"])
}

// A test environment takes the version on every instance at once, and
// judges them against what they served before the deploy: a defect is
// rolled back from all of them, a good version stays.
func TestPipelineInATestEnvironment(t *testing.T) {
	_, err := EnvironmentStages(nil, time.Minute)
	require.ErrorContains(t, err, "no member service instances")
	_, err = EnvironmentStages(world(), 0)
	require.ErrorContains(t, err, "give it time")
	stages, err := EnvironmentStages(world(), 30*time.Second)
	require.NoError(t, err)
	require.Len(t, stages, 1)
	assert.Len(t, stages[0].Instances, 8, "every instance of the world")
	assert.True(t, stages[0].BaselineBefore)

	p, f, events := pipeline(t, "v2")
	p.Stages = stages
	res, err := p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, RolledBack, res.Decision)
	assert.Contains(t, res.Reason, "critical metric errors high")
	assert.Len(t, f.running("v1"), 8, "rolled back from every instance")
	assert.Equal(t, "the same instances before the deploy", judgementOf(t, *events).Detail["baseline"])

	p, f, _ = pipeline(t, "none")
	p.Stages = stages
	res, err = p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, Promoted, res.Decision, res.Reason)
	assert.Len(t, f.running("v2"), 8)
	assert.Equal(t, []string{"us-east-1", "us-west-2"}, res.Reached, "each instance counted in its own region")
}

// ctxMetrics fails a read on a cancelled context, as a real one does.
type ctxMetrics struct{ Metrics }

func (m ctxMetrics) Samples(ctx context.Context, instances []string, from, to time.Time) (map[string][]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.Metrics.Samples(ctx, instances, from, to)
}

// A test environment's rollout cancelled while its baseline is read is
// interrupted, not a verdict on the version.
func TestPipelineInterruptedBeforeATestEnvironmentDeploys(t *testing.T) {
	stages, err := EnvironmentStages(world(), 30*time.Second)
	require.NoError(t, err)
	p, f, _ := pipeline(t, "none")
	p.Stages, p.Metrics = stages, ctxMetrics{p.Metrics}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := p.Run(ctx, "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, Interrupted, res.Decision, res.Reason)
	assert.Empty(t, f.running("v2"))
}

// judgementOf is the canary judgement a rollout recorded.
func judgementOf(t *testing.T, events []history.Event) history.Event {
	t.Helper()
	for _, e := range events {
		if e.Name == history.EventCanaryJudgement {
			return e
		}
	}
	t.Fatal("no canary judgement recorded")
	return history.Event{}
}

// blipMetrics serve every instance's 100 samples of a window with 1 %
// errors, as a good version does, except the canary's first window: 5 %,
// a blip that one look at alpha 0.02 against its three baseline instances
// calls significant (p = 0.007).
type blipMetrics struct{ canaryCalls int }

func (m *blipMetrics) Samples(_ context.Context, instances []string, _, _ time.Time) (map[string][]float64, error) {
	errors := 1
	if len(instances) == 1 {
		m.canaryCalls++
		if m.canaryCalls == 1 {
			errors = 5
		}
	}
	out := map[string][]float64{}
	for range instances {
		for i := range 100 {
			e := 0.0
			if i < errors {
				e = 1
			}
			out["errors"] = append(out["errors"], e)
			out["latency"] = append(out["latency"], 20)
		}
	}
	return out, nil
}

// With CorrectLooks, interim looks share alpha: a good canary whose first
// interval shows a blip that one look at the full alpha calls worse is not
// rolled back for it, and passes on its whole window; without, it is.
func TestPipelineInterimLooksShareAlpha(t *testing.T) {
	p, _, events := pipeline(t, "none")
	p.Metrics = &blipMetrics{}
	p.Interval, p.CorrectLooks = 5*time.Second, true
	res, err := p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, Promoted, res.Decision, res.Reason)
	assert.Equal(t, "whole", judgementOf(t, *events).Detail["window"])

	p, _, _ = pipeline(t, "none")
	p.Metrics = &blipMetrics{}
	p.Interval = 5 * time.Second
	res, err = p.Run(context.Background(), "v2", "v1")
	require.NoError(t, err)
	assert.Equal(t, RolledBack, res.Decision, "each look at the full alpha: the blip fails the good canary")

	// The blip is a finding at the full alpha: one look would have failed
	// the canary (the case the correction is for).
	th := interimThresholds(canary.DefaultThresholds, 30*time.Second, 5*time.Second)
	assert.InDelta(t, 0.004, th.Alpha, 1e-12, "five interim looks in a 30 s window")
	blip := (&blipMetrics{})
	c, _ := blip.Samples(context.Background(), []string{"canary"}, time.Time{}, time.Time{})
	b, _ := blip.Samples(context.Background(), []string{"a", "b", "c"}, time.Time{}, time.Time{})
	errorsMetric := canary.Metric{Name: "errors", Harm: canary.Increase, Floor: 0.01, Critical: true}
	assert.Equal(t, canary.High, canary.Classify(errorsMetric, c["errors"], b["errors"], canary.DefaultThresholds.Alpha).Result)
	assert.NotEqual(t, canary.High, canary.Classify(errorsMetric, c["errors"], b["errors"], th.Alpha).Result)
	assert.Equal(t, canary.DefaultThresholds.Alpha, interimThresholds(canary.DefaultThresholds, 5*time.Second, 5*time.Second).Alpha,
		"a window of one interval has no interim look to share with")
}
