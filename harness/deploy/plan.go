// Package deploy rolls a version of the member service out through a world
// the way Netflix's Mimir did: a canary first (one instance of one zone of
// the first region), judged against the instances still on the old version
// by automated canary analysis; then the rest of that region; then each
// next region after a bake time; and an automatic rollback of everything
// deployed when the analysis fails. Every stage, score and decision is an
// event in the run's history.
package deploy

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/kongchaos/kong/topology"
)

// Stage is one step of a rollout: the instances it moves to the new
// version, one at a time, and what follows it.
type Stage struct {
	Name      string   `json:"name"`
	Region    string   `json:"region"`
	Instances []string `json:"instances"`
	// Canary marks the stage whose instances are judged against Baseline,
	// the rest of their region still on the old version, before the
	// rollout goes on.
	Canary   bool     `json:"canary,omitempty"`
	Baseline []string `json:"baseline,omitempty"`
	// BaselineBefore judges a canary stage's instances against themselves
	// over the same length of time just before the stage's first restart,
	// on the old version: a test environment takes the version on every
	// instance at once and leaves none on the old one to compare with.
	BaselineBefore bool `json:"baseline_before,omitempty"`
	// Bake is how long the rollout waits after the stage, watching, before
	// the next one.
	Bake time.Duration `json:"bake,omitempty"`
}

// Plan says how a rollout is staged.
type Plan struct {
	// Regions in the order they receive the version; empty: the world's
	// order.
	Regions []string
	// CanaryZone is the zone of the first region whose first instance is
	// the canary; empty: the region's first zone.
	CanaryZone string
	// Analysis is how long the canary serves before it is judged.
	Analysis time.Duration
	// Bake is the wait after each region before the next.
	Bake time.Duration
}

// Stages lays a plan out over a world's member service instances: the
// canary, then the rest of the first region, then each next region. It
// refuses a plan that names a region or zone the world does not have, or a
// first region with a single instance (a canary needs a baseline).
func Stages(members []topology.Component, p Plan) ([]Stage, error) {
	byRegion := map[string][]topology.Component{}
	var order []string
	for _, m := range members {
		if m.Kind != topology.KindMember {
			continue
		}
		if _, seen := byRegion[m.Region]; !seen {
			order = append(order, m.Region)
		}
		byRegion[m.Region] = append(byRegion[m.Region], m)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("the world has no member service instances to deploy to")
	}
	regions := p.Regions
	if len(regions) == 0 {
		regions = order
	}
	seen := map[string]bool{}
	for _, r := range regions {
		if _, ok := byRegion[r]; !ok {
			return nil, fmt.Errorf("region %q has no member service instances (the world has %v)", r, order)
		}
		if seen[r] {
			return nil, fmt.Errorf("region %q is named twice in the rollout order", r)
		}
		seen[r] = true
	}
	first := byRegion[regions[0]]
	if len(first) < 2 {
		return nil, fmt.Errorf("region %s has %d member service instance: a canary needs at least one other instance as its baseline", regions[0], len(first))
	}
	canary := -1
	for i, m := range first {
		if p.CanaryZone == "" || m.Zone == p.CanaryZone {
			canary = i
			break
		}
	}
	if canary < 0 {
		return nil, fmt.Errorf("zone %q of region %s has no member service instance", p.CanaryZone, regions[0])
	}
	rest := ids(slices.Delete(slices.Clone(first), canary, canary+1))
	stages := []Stage{{
		Name: "canary", Region: regions[0], Instances: []string{first[canary].ID},
		Canary: true, Baseline: rest, Bake: p.Analysis,
	}}
	stages = append(stages, Stage{Name: regions[0], Region: regions[0], Instances: rest, Bake: p.Bake})
	for _, r := range regions[1:] {
		stages = append(stages, Stage{Name: r, Region: r, Instances: ids(byRegion[r]), Bake: p.Bake})
	}
	// Nothing follows the last stage.
	stages[len(stages)-1].Bake = 0
	return stages, nil
}

func ids(cs []topology.Component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// EnvironmentStages lays out the rollout of a test environment (Mimir's first
// step, a world of its own before production): every member service
// instance of the world in one stage, judged after window against what the
// same instances served in the window before it.
func EnvironmentStages(members []topology.Component, window time.Duration) ([]Stage, error) {
	var all []string
	region := ""
	for _, m := range members {
		if m.Kind == topology.KindMember {
			all = append(all, m.ID)
			region = cmp.Or(region, m.Region)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("the test world has no member service instances to deploy to")
	}
	if window <= 0 {
		return nil, fmt.Errorf("the test environment's window is %s: give it time to be judged", window)
	}
	return []Stage{{Name: "test", Region: region, Instances: all, Canary: true, BaselineBefore: true, Bake: window}}, nil
}
