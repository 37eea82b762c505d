package steer

import (
	"context"
	"fmt"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/topology"
)

func init() {
	fault.Register(fault.Entry{Name: "bounce-sessions", Targets: []fault.Scope{fault.ScopeWorld},
		Description: "the director answers each request of a session with another region than its last, ignoring stickiness and weights",
		New:         fault.OnTarget(BounceSessions)})
}

// SessionBounce makes the director bounce sessions: each answer to a
// session is another region than the one it gave it last, round robin over
// the regions taking traffic, whatever the weights and stickiness say
// (PUT /admin/bounce). A broken world: a session's reads land in a region
// its last writes may not have reached. Recover switches it off.
type SessionBounce struct {
	cluster topology.Cluster
	target  fault.Target
	dir     []topology.Component // the director, when t has it
}

// BounceSessions builds a SessionBounce of the director of t (All() has
// it).
func BounceSessions(c topology.Cluster, t fault.Target) *SessionBounce {
	return &SessionBounce{cluster: c, target: t, dir: directors(t)}
}

// Name implements fault.Fault.
func (b *SessionBounce) Name() string { return "bounce-sessions" }

// Target implements fault.Fault: the director.
func (b *SessionBounce) Target() fault.Target { return fault.Target{Components: b.dir} }

// Setup implements fault.Fault: the target has the director.
func (b *SessionBounce) Setup(context.Context) error {
	return oneDirector(b.Name(), b.dir, b.target)
}

func (b *SessionBounce) set(ctx context.Context, on bool) error {
	_, err := admin(b.cluster, b.dir[0]).SetBounce(ctx, on)
	return err
}

func (b *SessionBounce) wait(ctx context.Context, on bool) error {
	return fault.PollUntil(ctx, fmt.Sprintf("the director reporting bounce=%v", on), func(ctx context.Context) error {
		t, err := admin(b.cluster, b.dir[0]).Table(ctx)
		if err != nil {
			return err
		}
		if t.Bounce != on {
			return fmt.Errorf("the director reports bounce=%v", t.Bounce)
		}
		return nil
	})
}

// Inject implements fault.Fault.
func (b *SessionBounce) Inject(ctx context.Context) error { return b.set(ctx, true) }

// WaitInjected implements fault.Fault: the director's table says it bounces.
func (b *SessionBounce) WaitInjected(ctx context.Context) error { return b.wait(ctx, true) }

// Recover implements fault.Fault.
func (b *SessionBounce) Recover(ctx context.Context) error { return b.set(ctx, false) }

// WaitRecovered implements fault.Fault: the director's table says it does not
// bounce.
func (b *SessionBounce) WaitRecovered(ctx context.Context) error { return b.wait(ctx, false) }

// Cleanup implements fault.Fault.
func (b *SessionBounce) Cleanup(context.Context) error { return nil }
