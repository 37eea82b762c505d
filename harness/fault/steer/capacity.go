package steer

import (
	"context"
	"fmt"
	"maps"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/topology"
)

func init() {
	fault.Register(fault.Entry{Name: "flat-capacity", Targets: []fault.Scope{fault.ScopeWorld},
		Description: "the director believes every region has the same capacity (the largest): an evacuated region's users are split evenly, not by spare capacity",
		New:         fault.OnTarget(FlattenCapacity)})
}

// FlatCapacity tells the director that every region has the capacity of
// the largest (PUT /admin/capacity), so that it splits an evacuated
// region's users evenly instead of by spare capacity: a broken world in
// which the smaller regions receive more than they can take. Recover
// gives every region back the capacity the director had for it.
type FlatCapacity struct {
	cluster topology.Cluster
	target  fault.Target
	dir     []topology.Component // the director, when the target has it
	before  map[string]float64   // the director's capacities at Setup
}

// FlattenCapacity builds a FlatCapacity of the director of t (All() has
// it).
func FlattenCapacity(c topology.Cluster, t fault.Target) *FlatCapacity {
	return &FlatCapacity{cluster: c, target: t, dir: directors(t)}
}

// Name implements fault.Fault.
func (f *FlatCapacity) Name() string { return "flat-capacity" }

// Target implements fault.Fault: the director.
func (f *FlatCapacity) Target() fault.Target { return fault.Target{Components: f.dir} }

// Setup implements fault.Fault: the director is found and its capacities read.
func (f *FlatCapacity) Setup(ctx context.Context) error {
	if err := oneDirector(f.Name(), f.dir, f.target); err != nil {
		return err
	}
	t, err := admin(f.cluster, f.dir[0]).Table(ctx)
	if err != nil {
		return fmt.Errorf("flat-capacity: read the director's table: %w", err)
	}
	f.before = maps.Clone(t.Capacity)
	return nil
}

// flat is what Inject sets: every region at the largest capacity.
func (f *FlatCapacity) flat() map[string]float64 {
	top := 0.0
	for _, c := range f.before {
		top = max(top, c)
	}
	out := map[string]float64{}
	for r := range f.before {
		out[r] = top
	}
	return out
}

func (f *FlatCapacity) set(ctx context.Context, want map[string]float64) error {
	admin := admin(f.cluster, f.dir[0])
	for r, c := range want {
		if _, err := admin.SetCapacity(ctx, r, c); err != nil {
			return fmt.Errorf("flat-capacity: set the capacity of %s to %g at the director: %w", r, c, err)
		}
	}
	return nil
}

func (f *FlatCapacity) wait(ctx context.Context, want map[string]float64) error {
	return fault.PollUntil(ctx, fmt.Sprintf("the director reporting capacities %v", want), func(ctx context.Context) error {
		t, err := admin(f.cluster, f.dir[0]).Table(ctx)
		if err != nil {
			return err
		}
		if !maps.Equal(t.Capacity, want) {
			return fmt.Errorf("the director reports capacities %v", t.Capacity)
		}
		return nil
	})
}

// Inject implements fault.Fault.
func (f *FlatCapacity) Inject(ctx context.Context) error { return f.set(ctx, f.flat()) }

// WaitInjected implements fault.Fault: the director reports the flat capacities.
func (f *FlatCapacity) WaitInjected(ctx context.Context) error { return f.wait(ctx, f.flat()) }

// Recover implements fault.Fault.
func (f *FlatCapacity) Recover(ctx context.Context) error { return f.set(ctx, f.before) }

// WaitRecovered implements fault.Fault: the director reports the capacities it
// had before.
func (f *FlatCapacity) WaitRecovered(ctx context.Context) error { return f.wait(ctx, f.before) }

// Cleanup implements fault.Fault.
func (f *FlatCapacity) Cleanup(context.Context) error { return nil }
