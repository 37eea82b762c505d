package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
)

// Observer is a game day's rollouts as the observe step of a
// run.Experiment (a run.Observer): under the run's steady workload, it
// rolls each of Versions out in turn through the world's pipeline (Plan's
// stages, every decision an event in the run's history, for check.Deploy),
// then holds the converge phase for Hold. When the run ends, every
// instance goes back to the base release, as the world was brought up.
type Observer struct {
	Cluster topology.Cluster
	Plan    Plan
	// Versions are rolled out in this order, each over the version the
	// rollout before it left.
	Versions []string
	// Releases are the versions the rollouts can deploy
	// (DefaultVersions when nil).
	Releases Versions
	// NoAnalysis rolls out without the canary analysis (a broken world).
	NoAnalysis bool
	// Interval judges the canary every Interval of its window as well
	// (see Pipeline.Interval).
	Interval time.Duration
	// Hold is how long the converge phase lasts.
	Hold time.Duration

	world   *World
	stages  []Stage
	art     run.Artifacts
	results []Result
}

// Start implements run.Observer: it finds the world's instances and lays
// the plan out over them.
func (o *Observer) Start(ctx context.Context, a run.Artifacts) error {
	if o.Releases == nil {
		o.Releases = DefaultVersions()
	}
	for _, v := range o.Versions {
		if _, err := o.Releases.Release(v); err != nil {
			return err
		}
	}
	w, err := OpenWorld(ctx, o.Cluster)
	if err != nil {
		return err
	}
	if o.stages, err = Stages(w.Members, o.Plan); err != nil {
		return err
	}
	o.world, o.art = w, a
	return nil
}

// Observe implements run.Observer: the rollouts, one after the other. A
// rollout the pipeline could not carry out or heal ends the run with its
// error; a canary rolled back is a result, judged by the checkers.
func (o *Observer) Observe(ctx context.Context) error {
	for _, version := range o.Versions {
		previous, err := o.world.Current(ctx)
		if err != nil {
			return err
		}
		p := o.world.Pipeline(o.stages, o.Releases)
		p.NoAnalysis, p.Interval = o.NoAnalysis, o.Interval
		p.Record = o.art.History.Event
		analysis := "canary analysis on"
		if o.NoAnalysis {
			analysis = "no canary analysis"
		}
		o.art.Log.Printf("rollout of %s over %s: %d stages, %s", version, previous, len(o.stages), analysis)
		res, err := p.Run(ctx, version, previous)
		o.results = append(o.results, res)
		o.art.Log.Printf("rollout of %s: %s (%s), regions reached %v, rollback %s", version, res.Decision, res.Reason, res.Reached, res.Rollback.Round(time.Millisecond))
		if err != nil {
			return fmt.Errorf("rollout of %s: %w", version, err)
		}
	}
	return nil
}

// Converge implements run.Observer: the traffic goes on for Hold.
func (o *Observer) Converge(ctx context.Context) error { return run.Sleep(ctx, o.Hold) }

// Verify implements run.Observer: each rollout's figures for run.json.
func (o *Observer) Verify(context.Context) (map[string]float64, error) {
	out := map[string]float64{}
	for _, r := range o.results {
		promoted := 0.0
		if r.Decision == Promoted {
			promoted = 1
		}
		out["deploy."+r.Version+".promoted"] = promoted
		out["deploy."+r.Version+".regions"] = float64(len(r.Reached))
		if r.Rollback > 0 {
			out["deploy."+r.Version+".rollback_s"] = r.Rollback.Seconds()
		}
	}
	return out, nil
}

// Close implements run.Observer: every instance goes back to the base
// release (the preflight of the next run would do it too).
func (o *Observer) Close() {
	if o.world == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	moved, err := o.world.Reset(ctx, member.Release{Version: member.BaseVersion})
	if err != nil {
		o.art.Log.Printf("the member service instances could not all go back to %s: %v (the next run's preflight will)", member.BaseVersion, err)
		return
	}
	if len(moved) > 0 {
		o.art.Log.Printf("%d member service instances back on %s", len(moved), member.BaseVersion)
	}
}
