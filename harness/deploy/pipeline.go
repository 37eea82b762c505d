package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/deploy/canary"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
)

// Fleet moves member service instances from one version to another.
type Fleet interface {
	// Deploy restarts instance on version and returns once it serves again
	// (its health check passes), or the error that kept it from serving.
	Deploy(ctx context.Context, instance, version string) error
}

// Metrics gives each metric's samples from a set of instances over a
// window: per-request latencies, per-request errors as 0 or 1, and so on,
// under the names the judge's metrics use.
type Metrics interface {
	Samples(ctx context.Context, instances []string, from, to time.Time) (map[string][]float64, error)
}

// Pipeline is a rollout: its stages, the world it acts on, and how the
// canary is judged.
type Pipeline struct {
	Stages  []Stage
	Fleet   Fleet
	Metrics Metrics
	// Judge names the metrics of the canary analysis and their tolerances;
	// Thresholds turn its score into a verdict (canary.DefaultThresholds
	// when zero).
	Judge      []canary.Metric
	Thresholds canary.Thresholds
	// OnMarginal goes on after a marginal judgement; by default a
	// marginal canary is rolled back like a failed one.
	OnMarginal bool
	// NoAnalysis skips the canary analysis: the canary stage only waits its
	// time (a broken world: the pipeline without its safeguard).
	NoAnalysis bool
	// Interval, when set, judges the canary every Interval of its window
	// as well, and ends the window at once when a critical metric is found
	// significantly worse (Kayenta's intervals, failing fast): a canary
	// that errs does not serve its whole window. The verdict of a canary
	// that is not failed early is the whole window's. Each interim look
	// tests at the thresholds' Alpha: repeated looks raise the chance of
	// failing a good canary on an early blip (see CorrectLooks).
	Interval time.Duration
	// CorrectLooks divides Alpha among the interim looks of a window
	// (Bonferroni), so that together they fail a good canary with a
	// probability of at most Alpha, as the final judgement alone does. It
	// costs exposure: a bad canary needs more evidence at each look (in
	// bad-deploy, it was rolled back after 4.3 s instead of 2 s, and its
	// region's availability fell under 99%).
	CorrectLooks bool
	// Record receives every stage, judgement and decision as a history
	// event; nil records nothing.
	Record func(history.Event)
	// RollbackTimeout bounds a rollback, which runs on a fresh context so
	// that a cancelled rollout still heals (2 minutes when zero).
	RollbackTimeout time.Duration

	// regionOf is each deployed instance's region, for the events.
	regionOf map[string]string
	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// Decision is how a rollout ended.
type Decision string

const (
	// Promoted: every stage took the version.
	Promoted Decision = "promoted"
	// RolledBack: the canary analysis, or a failed deploy, stopped the
	// rollout and every instance it had moved went back.
	RolledBack Decision = "rolled-back"
	// Interrupted: the rollout was cancelled and rolled back.
	Interrupted Decision = "interrupted"
)

// Result is what a rollout did.
type Result struct {
	Version  string   `json:"version"`
	Previous string   `json:"previous"`
	Decision Decision `json:"decision"`
	Reason   string   `json:"reason"`
	// Stages is how many stages completed (their instances deployed and
	// their bake or analysis over).
	Stages int `json:"stages"`
	// Reached are the regions that ran the version at any time, in order.
	Reached []string `json:"reached"`
	// Deployed are the instances on the version at the end.
	Deployed  []string          `json:"deployed"`
	Judgement *canary.Judgement `json:"judgement,omitempty"`
	// Rollback is how long the rollback took, from the decision to the
	// last instance serving the previous version again.
	Rollback time.Duration `json:"rollback,omitempty"`
}

// Run rolls version out over the pipeline's stages, replacing previous.
// An error is returned only when the rollout could not be carried out or
// healed (a deploy or a rollback failed); a canary that fails its analysis
// is a Result with Decision RolledBack, not an error.
func (p *Pipeline) Run(ctx context.Context, version, previous string) (Result, error) {
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = run.Sleep
	}
	th := p.Thresholds
	if th == (canary.Thresholds{}) {
		th = canary.DefaultThresholds
	}
	res := Result{Version: version, Previous: previous}
	var deployed []string
	for _, st := range p.Stages {
		p.event(history.EventDeployStage, st.Region, map[string]string{
			"stage": st.Name, "version": version, "instances": strings.Join(st.Instances, ","),
		})
		judged := st.Canary && !p.NoAnalysis
		var before map[string][]float64
		if judged && st.BaselineBefore {
			// Read now: a restart empties an instance's own record of
			// its requests.
			start := p.now()
			b, err := p.Metrics.Samples(ctx, st.Instances, start.Add(-st.Bake), start)
			if err != nil {
				if ctx.Err() != nil {
					return p.rollback(ctx, res, deployed, Interrupted, "cancelled while the baseline before the deploy was read")
				}
				return p.rollback(ctx, res, deployed, RolledBack, "the baseline before the deploy could not be read: "+err.Error())
			}
			before = b
		}
		for _, inst := range st.Instances {
			if err := ctx.Err(); err != nil {
				return p.rollback(ctx, res, deployed, Interrupted, "cancelled during stage "+st.Name)
			}
			// An instance half-restarted is rolled back with the rest.
			deployed = append(deployed, inst)
			if p.regionOf == nil {
				p.regionOf = map[string]string{}
			}
			region := st.Region
			if r, _, _, err := topology.ParseID(inst); err == nil {
				region = r // a test environment's one stage spans its regions
			}
			p.regionOf[inst] = region
			if !slices.Contains(res.Reached, region) {
				res.Reached = append(res.Reached, region)
			}
			err := p.Fleet.Deploy(ctx, inst, version)
			p.event(history.EventDeployInstance, inst, map[string]string{"version": version, "region": region, "stage": st.Name, "error": errText(err)})
			if err != nil {
				if ctx.Err() != nil {
					return p.rollback(ctx, res, deployed, Interrupted, "cancelled during stage "+st.Name)
				}
				res, rerr := p.rollback(ctx, res, deployed, RolledBack, fmt.Sprintf("instance %s did not serve %s: %v", inst, version, err))
				return res, errors.Join(fmt.Errorf("deploy %s to %s: %w", version, inst, err), rerr)
			}
		}
		from := p.now()
		early, err := p.bake(ctx, st, from, judged, before, th)
		if err != nil {
			return p.rollback(ctx, res, deployed, Interrupted, "cancelled while stage "+st.Name+" baked")
		}
		if judged {
			j := early
			if j == nil {
				full, err := p.analyse(ctx, st, from, p.now(), before, th)
				if err != nil {
					if ctx.Err() != nil {
						return p.rollback(ctx, res, deployed, Interrupted, "cancelled during the canary analysis")
					}
					// A canary that cannot be judged is not shown good.
					return p.rollback(ctx, res, deployed, RolledBack, "canary analysis could not run: "+err.Error())
				}
				j = &full
			}
			res.Judgement = j
			window := "whole"
			if early != nil {
				window = "failed early"
			}
			baseline := strings.Join(st.Baseline, ",")
			if st.BaselineBefore {
				baseline = "the same instances before the deploy"
			}
			p.event(history.EventCanaryJudgement, st.Region, map[string]string{
				"verdict": string(j.Verdict), "score": strconv.FormatFloat(j.Score, 'f', 1, 64),
				"reason": j.Reason, "canary": strings.Join(st.Instances, ","), "baseline": baseline,
				"window": window, "judged_after": p.now().Sub(from).Round(time.Millisecond).String(),
			})
			if j.Verdict == canary.VerdictFail || (j.Verdict == canary.VerdictMarginal && !p.OnMarginal) {
				return p.rollback(ctx, res, deployed, RolledBack, fmt.Sprintf("canary %s: %s", j.Verdict, j.Reason))
			}
		}
		res.Stages++
	}
	res.Decision, res.Reason, res.Deployed = Promoted, fmt.Sprintf("%d stages took %s", res.Stages, version), deployed
	p.event(history.EventDeployDone, "", map[string]string{"version": version, "decision": string(res.Decision), "reason": res.Reason})
	return res, nil
}

// bake waits out a stage's bake from from. When judged and Interval is
// set, it judges the canary every Interval meanwhile, and returns at once
// the first judgement that finds a critical metric significantly worse
// (nil: the bake ran its whole time). An interval that cannot be judged
// (too few samples, an instance that did not answer) waits for the next.
func (p *Pipeline) bake(ctx context.Context, st Stage, from time.Time, judged bool, before map[string][]float64, th canary.Thresholds) (*canary.Judgement, error) {
	end := from.Add(st.Bake)
	for {
		left := end.Sub(p.now())
		if left <= 0 {
			return nil, nil
		}
		step := left
		if judged && p.Interval > 0 {
			step = min(step, p.Interval)
		}
		if err := p.sleep(ctx, step); err != nil {
			return nil, err
		}
		if step == left {
			return nil, nil
		}
		look := th
		if p.CorrectLooks {
			look = interimThresholds(th, st.Bake, p.Interval)
		}
		j, err := p.analyse(ctx, st, from, p.now(), before, look)
		if err == nil && j.CriticalFinding() != "" {
			return &j, nil
		}
	}
}

// interimThresholds are th for one of the interim looks of a window of
// bake judged every interval: Alpha shared among them (see
// Pipeline.Interval).
func interimThresholds(th canary.Thresholds, bake, interval time.Duration) canary.Thresholds {
	if th.Alpha <= 0 {
		th.Alpha = canary.DefaultThresholds.Alpha
	}
	looks := int((bake - 1) / interval) // the looks before the window's end
	if looks > 1 {
		th.Alpha /= float64(looks)
	}
	return th
}

// analyse judges the canary's samples over one window against its
// baseline's over the same window, or against before (the samples of a
// BaselineBefore stage, read before its deploy).
func (p *Pipeline) analyse(ctx context.Context, st Stage, from, to time.Time, before map[string][]float64, th canary.Thresholds) (canary.Judgement, error) {
	if len(st.Baseline) == 0 && !st.BaselineBefore {
		return canary.Judgement{}, fmt.Errorf("stage %s has no baseline instances", st.Name)
	}
	c, err := p.Metrics.Samples(ctx, st.Instances, from, to)
	if err != nil {
		return canary.Judgement{}, fmt.Errorf("canary samples: %w", err)
	}
	b := before
	if !st.BaselineBefore {
		if b, err = p.Metrics.Samples(ctx, st.Baseline, from, to); err != nil {
			return canary.Judgement{}, fmt.Errorf("baseline samples: %w", err)
		}
	}
	return canary.Judge(p.Judge, c, b, th), nil
}

// rollback moves every deployed instance back to the previous version,
// newest first, on a context of its own so that a cancelled rollout heals.
func (p *Pipeline) rollback(ctx context.Context, res Result, deployed []string, d Decision, reason string) (Result, error) {
	res.Decision, res.Reason = d, reason
	timeout := p.RollbackTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	start := p.now()
	p.event(history.EventDeployRollback, "", map[string]string{"version": res.Previous, "reason": reason, "instances": strings.Join(deployed, ",")})
	var errs []error
	var stuck []string
	for i := len(deployed) - 1; i >= 0; i-- {
		inst := deployed[i]
		err := p.Fleet.Deploy(rctx, inst, res.Previous)
		p.event(history.EventDeployInstance, inst, map[string]string{"version": res.Previous, "region": p.regionOf[inst], "stage": "rollback", "error": errText(err)})
		if err != nil {
			errs = append(errs, fmt.Errorf("roll %s back to %s: %w", inst, res.Previous, err))
			stuck = append(stuck, inst)
		}
	}
	res.Rollback = p.now().Sub(start)
	res.Deployed = stuck
	p.event(history.EventDeployDone, "", map[string]string{
		"version": res.Version, "decision": string(d), "reason": reason,
		"rollback": res.Rollback.String(), "stuck": strings.Join(stuck, ","),
	})
	return res, errors.Join(errs...)
}

func (p *Pipeline) event(name, target string, detail map[string]string) {
	if p.Record == nil {
		return
	}
	for k, v := range detail {
		if v == "" {
			delete(detail, k)
		}
	}
	p.Record(history.Event{Kind: history.Note, Time: p.now(), Name: name, Target: target, Detail: detail})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
