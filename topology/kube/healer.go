package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Healer heals a world whose run died: when the world's run lease has
// expired, it heals every component (Ops.Heal) and the links (Links),
// then frees the lease. It runs inside the cluster (the world's healer
// Deployment runs `kong heal --watch`), so that a fault never outlives
// the kong that made it by much more than the lease's duration, even when
// that kong was killed or lost its way to the cluster.
type Healer struct {
	Ops *Ops
	// Links resets the world's links: every toxic removed, every link
	// enabled (nil: only the components are healed).
	Links func(context.Context) error
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Check heals the world once when its lease is held and has expired, and
// tells whether it did. A heal that fails leaves the lease held, so that
// the next Check tries again.
func (h *Healer) Check(ctx context.Context) (bool, error) {
	leases := h.Ops.Client.CoordinationV1().Leases(h.Ops.Control())
	cur, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the run lease of world %s: %w", h.Ops.World, err)
	}
	s := stateOf(cur)
	if !s.expired(h.now()) {
		return false, nil
	}
	if err := h.heal(ctx, s.Holder); err != nil {
		return false, err
	}
	return true, free(ctx, h.Ops, cur)
}

// now is the healer's clock.
func (h *Healer) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// heal heals the world's components and links.
func (h *Healer) heal(ctx context.Context, holder string) error {
	healed, err := h.Ops.Heal(ctx)
	if h.Links != nil {
		if lerr := h.Links(ctx); lerr != nil {
			err = errors.Join(err, fmt.Errorf("resetting the links of world %s: %w", h.Ops.World, lerr))
		}
	}
	if h.Log != nil && (len(healed) > 0 || holder != "" || err != nil) {
		h.Log.Warn("healed world", "world", h.Ops.World, "run", holder, "components", healed, "err", err)
	}
	return err
}

// free gives up the lease read as cur: an update with its version, so
// that a run that took it in between keeps it.
func free(ctx context.Context, o *Ops, cur *coordinationv1.Lease) error {
	cur.Spec.HolderIdentity, cur.Spec.RenewTime = nil, nil
	_, err := o.Client.CoordinationV1().Leases(cur.Namespace).Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("freeing the run lease of world %s: %w", o.World, err)
	}
	return nil
}

// Run checks every interval until ctx ends; a failed check is logged and
// tried again.
func (h *Healer) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := h.Check(ctx); err != nil && ctx.Err() == nil && h.Log != nil {
			h.Log.Error("healing failed; trying again", "world", h.Ops.World, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// HealNow heals the world at once, whatever its lease says, and frees the
// lease: `kong heal` and `kong down`, and the preflight of every run. A
// lease held by a live run is refused unless force is set: healing under
// a run would end its faults early and make its verdicts lie.
func (h *Healer) HealNow(ctx context.Context, force bool) error {
	leases := h.Ops.Client.CoordinationV1().Leases(h.Ops.Control())
	cur, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading the run lease of world %s: %w", h.Ops.World, err)
	}
	var s leaseState
	if err == nil {
		s = stateOf(cur)
	}
	if s.Holder != "" && !s.expired(h.now()) && !force {
		return fmt.Errorf("%w: world %s is in a run (%s) until at least %s: heal it when that run ends, or force it",
			ErrLeaseHeld, h.Ops.World, s.Holder, s.Expires.Format(time.RFC3339))
	}
	if err := h.heal(ctx, s.Holder); err != nil {
		return err
	}
	if s.Holder == "" {
		return nil
	}
	return free(ctx, h.Ops, cur)
}
