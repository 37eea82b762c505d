package check

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// Deploy judges a game day's rollouts of the member service from the events
// deploy.Pipeline records (history.EventDeploy*): the promises of a staged
// deploy with canary analysis.
//
// The bad version (Bad) must never reach a region after the first one that
// ran it, its rollout must end rolled back, every instance it reached must
// be back on the previous version, and its exposure (from its first
// instance's restart to the end of its rollback) must be at most
// MaxExposure. The good version (Good), deployed after it, must be promoted
// and must run at the end of its rollout on every instance its stages
// named.
//
// Unknown when the history holds no rollout of Bad or of Good (the
// scenario never got to deploy them).
type Deploy struct {
	Bad, Good string
	// MaxExposure bounds how long the bad version served, from its first
	// instance's restart to the end of its rollback.
	MaxExposure time.Duration
}

// Name implements Checker.
func (d *Deploy) Name() string { return "deploy" }

func init() {
	Register(Entry{Description: "a defective release (v2-errors) stays in the first region and is rolled back within 2 minutes; the good one (v2) reaches every instance",
		New: func() Checker { return &Deploy{Bad: "v2-errors", Good: "v2", MaxExposure: 2 * time.Minute} }})
}

// rollout is one version's rollout as its events tell it.
type rollout struct {
	version string
	// first is the first restart of an instance on the version; done the
	// rollout's end (nil while it did not end).
	first, done *history.Event
	judgement   *history.Event
	// regions the version reached, in order; instances the stages named.
	regions, instances []string
	// on is each instance's version after the rollout's last restart of it.
	on map[string]string
}

// rollouts reads every rollout in the history, in order, by version.
func rollouts(events []history.Event) map[string]*rollout {
	out := map[string]*rollout{}
	var cur *rollout
	for i := range events {
		e := &events[i]
		if e.Kind != history.Note {
			continue
		}
		switch e.Name {
		case history.EventDeployStage:
			v := e.Detail["version"]
			if cur == nil || cur.version != v || cur.done != nil {
				cur = &rollout{version: v, on: map[string]string{}}
				out[v] = cur
			}
			for _, inst := range strings.Split(e.Detail["instances"], ",") {
				if inst != "" && !slices.Contains(cur.instances, inst) {
					cur.instances = append(cur.instances, inst)
				}
			}
		case history.EventDeployInstance:
			if cur == nil {
				continue
			}
			if e.Detail["stage"] != "rollback" {
				if cur.first == nil {
					cur.first = e
				}
				if r := e.Detail["region"]; r != "" && !slices.Contains(cur.regions, r) {
					cur.regions = append(cur.regions, r)
				}
			}
			if e.Detail["error"] == "" {
				cur.on[e.Target] = e.Detail["version"]
			}
		case history.EventCanaryJudgement:
			if cur != nil {
				cur.judgement = e
			}
		case history.EventDeployDone:
			if cur != nil && cur.done == nil {
				cur.done = e
			}
		}
	}
	return out
}

// canarySaid is what the canary analysis said of a rollout, for a reason.
func (r *rollout) canarySaid() string {
	if r.judgement == nil {
		return "no canary analysis ran"
	}
	return fmt.Sprintf("the canary analysis said %s (score %s)", r.judgement.Detail["verdict"], r.judgement.Detail["score"])
}

// Check implements Checker.
func (d *Deploy) Check(x *history.Index) history.Result {
	r := history.Result{Checker: d.Name(), Valid: history.VerdictValid, Figures: map[string]float64{}}
	all := rollouts(x.History.Events)
	bad, good := all[d.Bad], all[d.Good]
	var missing []string
	if bad == nil {
		missing = append(missing, d.Bad)
	}
	if good == nil {
		missing = append(missing, d.Good)
	}
	if len(missing) > 0 {
		r.Valid, r.Reason = history.VerdictUnknown, "no rollout of "+strings.Join(missing, " or ")+" in the history"
		return r
	}
	var wrong, ok []string
	r.Figures["bad_regions"] = float64(len(bad.regions))
	if len(bad.regions) > 1 {
		wrong = append(wrong, fmt.Sprintf("%s reached %d regions (%s): %s", d.Bad, len(bad.regions), strings.Join(bad.regions, ", "), bad.canarySaid()))
	}
	switch {
	case bad.done == nil:
		wrong = append(wrong, fmt.Sprintf("the rollout of %s never ended", d.Bad))
	case bad.done.Detail["decision"] != "rolled-back":
		wrong = append(wrong, fmt.Sprintf("%s was %s, not rolled back: %s", d.Bad, bad.done.Detail["decision"], bad.canarySaid()))
	default:
		var exposure time.Duration
		if bad.first != nil {
			exposure = bad.done.Time.Sub(bad.first.Time)
		}
		r.Figures["bad_exposure_s"] = exposure.Seconds()
		if rb, err := time.ParseDuration(bad.done.Detail["rollback"]); err == nil {
			r.Figures["rollback_s"] = rb.Seconds()
		}
		if d.MaxExposure > 0 && exposure > d.MaxExposure {
			wrong = append(wrong, fmt.Sprintf("%s served for %s before its rollback ended, more than %s", d.Bad, exposure.Round(time.Millisecond), d.MaxExposure))
		} else {
			ok = append(ok, fmt.Sprintf("%s rolled back from %s after %s (%s)", d.Bad, strings.Join(bad.regions, ", "), exposure.Round(time.Millisecond), bad.canarySaid()))
		}
		if stuck := onVersion(bad, d.Bad); len(stuck) > 0 {
			wrong = append(wrong, fmt.Sprintf("%d instance(s) still on %s after its rollback: %s", len(stuck), d.Bad, strings.Join(firstN(stuck, 3), ", ")))
		}
	}
	var left []string
	for _, inst := range good.instances {
		if good.on[inst] != d.Good {
			left = append(left, inst)
		}
	}
	r.Figures["good_instances"] = float64(len(good.instances) - len(left))
	switch {
	case good.done == nil:
		wrong = append(wrong, fmt.Sprintf("the rollout of %s never ended", d.Good))
	case good.done.Detail["decision"] != "promoted":
		wrong = append(wrong, fmt.Sprintf("%s was %s: %s", d.Good, good.done.Detail["decision"], good.done.Detail["reason"]))
	case len(left) > 0:
		wrong = append(wrong, fmt.Sprintf("%s did not reach %d instance(s): %s", d.Good, len(left), strings.Join(firstN(left, 3), ", ")))
	default:
		ok = append(ok, fmt.Sprintf("%s reached all %d instances", d.Good, len(good.instances)))
	}
	if len(wrong) > 0 {
		r.Valid, r.Reason = history.VerdictInvalid, strings.Join(wrong, "; ")
		r.Details = append(wrong, ok...)
		return r
	}
	r.Reason = strings.Join(ok, "; ")
	return r
}

// onVersion lists the instances a rollout left on version.
func onVersion(r *rollout, version string) []string {
	var out []string
	for _, inst := range slices.Sorted(maps.Keys(r.on)) {
		if r.on[inst] == version {
			out = append(out, inst)
		}
	}
	return out
}
