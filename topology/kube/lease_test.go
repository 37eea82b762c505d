package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func readLease(t *testing.T, cs *fake.Clientset, world string) leaseState {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(Space{World: world}.Control()).Get(context.Background(), LeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	return stateOf(l)
}

// A run takes the lease and renews it; a second run is refused while it
// is held; Release frees it for the next.
func TestLeaseAcquireRenewRelease(t *testing.T) {
	_, cs, _ := world(t)
	ctx := context.Background()
	l, err := Acquire(ctx, cs, Space{World: "w1"}, "run-a", 3*time.Second)
	require.NoError(t, err)
	first := readLease(t, cs, "w1")
	require.Equal(t, "run-a", first.Holder)

	_, err = Acquire(ctx, cs, Space{World: "w1"}, "run-b", 3*time.Second)
	require.ErrorIs(t, err, ErrLeaseHeld)
	require.ErrorContains(t, err, "run-a")

	require.Eventually(t, func() bool { return readLease(t, cs, "w1").Expires.After(first.Expires) },
		10*time.Second, 100*time.Millisecond, "the lease is renewed")
	require.NoError(t, l.Err())
	require.NoError(t, l.Release(ctx))
	require.Empty(t, readLease(t, cs, "w1").Holder)

	l2, err := Acquire(ctx, cs, Space{World: "w1"}, "run-b", 3*time.Second)
	require.NoError(t, err)
	l2.Abandon()
}

// A lease its holder stopped renewing expires: the next run is refused
// until the world is healed, and the healer heals the world once it has
// expired, not before.
func TestHealerHealsWhenTheLeaseExpires(t *testing.T) {
	ops, cs, ex := world(t)
	ctx := context.Background()
	l, err := Acquire(ctx, cs, Space{World: "w1"}, "run-a", 3*time.Second)
	require.NoError(t, err)
	require.NoError(t, ops.Kill(ctx, "us-east-1/cassandra/b"))
	require.NoError(t, ops.Pause(ctx, "us-west-2/memcached/a"))
	l.Abandon() // kong dies mid-fault

	links := 0
	h := &Healer{Ops: &Ops{Client: cs, Space: Space{World: "w1"}, Exec: ex, Regions: []string{"us-east-1", "us-west-2"}},
		Links: func(context.Context) error { links++; return nil }, Now: time.Now}
	healed, err := h.Check(ctx)
	require.NoError(t, err)
	require.False(t, healed, "the lease has not expired yet")
	require.EqualValues(t, 0, replicas(t, cs, "kong-w1-us-east-1", "cassandra-b"))

	// Three seconds on, the lease has expired: a new run is told to heal.
	require.Eventually(t, func() bool {
		_, err = Acquire(ctx, cs, Space{World: "w1"}, "run-b", 3*time.Second)
		return err != nil && strings.Contains(err.Error(), "kong heal")
	}, 10*time.Second, 100*time.Millisecond)
	require.ErrorIs(t, err, ErrLeaseHeld)
	h.Now = nil

	healed, err = h.Check(ctx)
	require.NoError(t, err)
	require.True(t, healed)
	require.EqualValues(t, 1, replicas(t, cs, "kong-w1-us-east-1", "cassandra-b"))
	ss, err := cs.AppsV1().StatefulSets("kong-w1-us-west-2").Get(ctx, "memcached-a", metav1.GetOptions{})
	require.NoError(t, err)
	require.Empty(t, ss.Annotations[AnnotationPaused], "the paused memcached is resumed")
	require.Equal(t, 1, links)
	require.Empty(t, readLease(t, cs, "w1").Holder, "the lease is freed")

	healed, err = h.Check(ctx)
	require.NoError(t, err)
	require.False(t, healed, "nothing to heal twice")
	l2, err := Acquire(ctx, cs, Space{World: "w1"}, "run-b", 3*time.Second)
	require.NoError(t, err)
	l2.Abandon()
}

// A heal that fails keeps the lease, so that the next check tries again;
// HealNow refuses a live run unless forced.
func TestHealerRetriesAndRefusesALiveRun(t *testing.T) {
	ops, cs, ex := world(t)
	ctx := context.Background()
	l, err := Acquire(ctx, cs, Space{World: "w1"}, "run-a", 3*time.Second)
	require.NoError(t, err)
	defer l.Abandon()
	require.NoError(t, ops.Kill(ctx, "us-east-1/cassandra/b"))

	h := &Healer{Ops: &Ops{Client: cs, Space: Space{World: "w1"}, Exec: ex}, Links: func(context.Context) error { return errors.New("toxiproxy is down") }}
	require.ErrorIs(t, h.HealNow(ctx, false), ErrLeaseHeld)
	require.EqualValues(t, 0, replicas(t, cs, "kong-w1-us-east-1", "cassandra-b"), "a live run is left alone")

	h.Now = func() time.Time { return time.Now().Add(time.Minute) }
	_, err = h.Check(ctx)
	require.ErrorContains(t, err, "toxiproxy is down")
	require.Equal(t, "run-a", readLease(t, cs, "w1").Holder, "a failed heal keeps the lease")

	h.Links = nil
	require.NoError(t, h.HealNow(ctx, true))
	require.EqualValues(t, 1, replicas(t, cs, "kong-w1-us-east-1", "cassandra-b"))
	require.Empty(t, readLease(t, cs, "w1").Holder)
}
