package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LeaseName is the name of a world's run lease, in its control namespace:
// held by the kong that runs a game day on the world, renewed while it
// lives. When its holder stops renewing it (kong was killed, or lost the
// cluster), it expires and the world's healer heals the world.
const LeaseName = "kong-run"

// DefaultLeaseDuration is how long a run's lease lasts unrenewed: how
// long a fault may outlive the kong that made it.
const DefaultLeaseDuration = 20 * time.Second

// ErrLeaseHeld is the error of Acquire when a live run holds the world.
var ErrLeaseHeld = errors.New("the world's run lease is held")

// Lease is a run's hold on its world, renewed in the background until
// Release.
type Lease struct {
	client   kubernetes.Interface
	space    Space
	holder   string
	duration time.Duration
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	err      error
}

// leaseState is what a world's lease says: who holds it, and until when.
type leaseState struct {
	Holder  string
	Expires time.Time
}

func stateOf(l *coordinationv1.Lease) leaseState {
	var s leaseState
	if l.Spec.HolderIdentity != nil {
		s.Holder = *l.Spec.HolderIdentity
	}
	if s.Holder != "" && l.Spec.RenewTime != nil && l.Spec.LeaseDurationSeconds != nil {
		s.Expires = l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
	}
	return s
}

// expired tells whether a held lease has expired at now.
func (s leaseState) expired(now time.Time) bool { return s.Holder != "" && !now.Before(s.Expires) }

// Acquire takes the world's lease for holder (a name that says which run: the
// host and process), renewing it every third of duration until Release.
// A lease held by a live run is refused (ErrLeaseHeld); an expired one was
// left by a run that died, and is refused too until its world is healed
// (kong heal, or the world's healer), so that no run starts on a world
// still faulted.
func Acquire(ctx context.Context, cs kubernetes.Interface, space Space, holder string, duration time.Duration) (*Lease, error) {
	world := space.World
	if duration < 3*time.Second {
		return nil, fmt.Errorf("a run lease of %s is too short: at least 3s", duration)
	}
	leases := cs.CoordinationV1().Leases(space.Control())
	now := metav1.NowMicro()
	seconds := int32(duration.Round(time.Second) / time.Second)
	spec := coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now}
	cur, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		l := &coordinationv1.Lease{ObjectMeta: meta(LeaseName, space.Control(), map[string]string{LabelWorld: world}, nil), Spec: spec}
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
			return nil, fmt.Errorf("taking the run lease of world %s: %w", world, err)
		}
	case err != nil:
		return nil, fmt.Errorf("reading the run lease of world %s: %w", world, err)
	default:
		if s := stateOf(cur); s.Holder != "" {
			if s.expired(now.Time) {
				return nil, fmt.Errorf("%w: world %s was left by a run that died (%s, lease expired %s): heal it first (kong heal --world %s --backend kubernetes)",
					ErrLeaseHeld, world, s.Holder, s.Expires.Format(time.RFC3339), world)
			}
			return nil, fmt.Errorf("%w: world %s is in a run (%s) until at least %s", ErrLeaseHeld, world, s.Holder, s.Expires.Format(time.RFC3339))
		}
		cur.Spec = spec
		// The update carries the version read: a run that took the lease
		// in between makes it fail.
		if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return nil, fmt.Errorf("taking the run lease of world %s: %w", world, err)
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lease{client: cs, space: space, holder: holder, duration: duration, cancel: cancel, done: make(chan struct{})}
	go l.renew(rctx)
	return l, nil
}

// renew renews the lease every third of its duration until ctx ends.
func (l *Lease) renew(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.duration / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.update(ctx, func(s *coordinationv1.LeaseSpec) { now := metav1.NowMicro(); s.RenewTime = &now })
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	}
}

// update changes the lease while this run holds it.
func (l *Lease) update(ctx context.Context, change func(*coordinationv1.LeaseSpec)) error {
	leases := l.client.CoordinationV1().Leases(l.space.Control())
	cur, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the run lease of world %s: %w", l.space.World, err)
	}
	if h := stateOf(cur).Holder; h != l.holder {
		return fmt.Errorf("the run lease of world %s is no longer this run's (held by %q): its faults may have been healed under it", l.space.World, h)
	}
	change(&cur.Spec)
	if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("renewing the run lease of world %s: %w", l.space.World, err)
	}
	return nil
}

// Err is the last renewal's error: nil while the lease is this run's.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Release stops renewing the lease and gives it up: the run healed what
// it did, and the healer has nothing to do.
func (l *Lease) Release(ctx context.Context) error {
	l.cancel()
	<-l.done
	return l.update(ctx, func(s *coordinationv1.LeaseSpec) { s.HolderIdentity = nil; s.RenewTime = nil })
}

// Abandon stops renewing the lease without giving it up, as a kong that
// dies does: it expires, and the healer heals the world.
func (l *Lease) Abandon() {
	l.cancel()
	<-l.done
}
