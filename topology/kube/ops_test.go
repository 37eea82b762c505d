package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// execs records the commands run in pods.
type execs struct {
	mu   sync.Mutex
	runs []string
}

func (e *execs) Exec(_ context.Context, ns, pod, container string, cmd []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runs = append(e.runs, fmt.Sprintf("%s/%s/%s: %s", ns, pod, container, strings.Join(cmd, " ")))
	return nil
}

// world is a fake cluster holding the default world's StatefulSets, each
// with its pod, and the Ops on it.
func world(t *testing.T) (*Ops, *fake.Clientset, *execs) {
	t.Helper()
	l := layout(t, "w1", "default")
	o, err := Build(l, DefaultImages())
	require.NoError(t, err)
	var objs []runtime.Object
	for _, ss := range o.StatefulSets {
		objs = append(objs, ss)
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: ss.Name + "-0", Namespace: ss.Namespace,
			Labels: ss.Spec.Template.Labels}})
	}
	cs := fake.NewClientset(objs...)
	ex := &execs{}
	return &Ops{Client: cs, Space: Space{World: "w1"}, Exec: ex}, cs, ex
}

func replicas(t *testing.T, cs *fake.Clientset, ns, name string) int32 {
	t.Helper()
	ss, err := cs.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return *ss.Spec.Replicas
}

func podExists(t *testing.T, cs *fake.Clientset, ns, name string) bool {
	t.Helper()
	_, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	return err == nil
}

// Kill scales the node's StatefulSet to 0 and deletes its pod with no
// grace; Start scales it back; Stop scales to 0 and leaves the pod to its
// graceful end.
func TestOpsKillStopStart(t *testing.T) {
	ops, cs, _ := world(t)
	ctx := context.Background()
	var graces []int64
	cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d := a.(k8stesting.DeleteAction)
		require.NotNil(t, d.GetDeleteOptions().GracePeriodSeconds)
		graces = append(graces, *d.GetDeleteOptions().GracePeriodSeconds)
		return false, nil, nil
	})

	require.NoError(t, ops.Kill(ctx, "us-east-1/cassandra/b"))
	require.EqualValues(t, 0, replicas(t, cs, "kong-w1-us-east-1", "cassandra-b"))
	require.False(t, podExists(t, cs, "kong-w1-us-east-1", "cassandra-b-0"))
	require.Equal(t, []int64{0}, graces, "a kill gives no grace")
	require.True(t, podExists(t, cs, "kong-w1-us-east-1", "cassandra-a-0"), "another node's pod was touched")
	require.EqualValues(t, 1, replicas(t, cs, "kong-w1-us-west-2", "cassandra-b"), "the same zone of another region was touched")

	require.NoError(t, ops.Start(ctx, "us-east-1/cassandra/b"))
	require.EqualValues(t, 1, replicas(t, cs, "kong-w1-us-east-1", "cassandra-b"))

	require.NoError(t, ops.Stop(ctx, "director"))
	require.EqualValues(t, 0, replicas(t, cs, "kong-w1", "director"))
	require.True(t, podExists(t, cs, "kong-w1", "director-0"), "a stop leaves the pod its grace period")

	require.ErrorContains(t, ops.Kill(ctx, "us-east-1/cassandra/z"), "world w1 has no component us-east-1/cassandra/z")
}

// Pause marks the StatefulSet and stops every process of the pod but its
// init; Resume continues them and clears the mark.
func TestOpsPauseResume(t *testing.T) {
	ops, cs, ex := world(t)
	ctx := context.Background()
	require.NoError(t, ops.Pause(ctx, "us-west-2/member/a"))
	ss, err := cs.AppsV1().StatefulSets("kong-w1-us-west-2").Get(ctx, "member-a", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "true", ss.Annotations[AnnotationPaused])
	require.Len(t, ex.runs, 1)
	require.True(t, strings.HasPrefix(ex.runs[0], "kong-w1-us-west-2/member-a-0/member: "), ex.runs[0])
	require.Contains(t, ex.runs[0], "kill -STOP")

	require.NoError(t, ops.Resume(ctx, "us-west-2/member/a"))
	ss, err = cs.AppsV1().StatefulSets("kong-w1-us-west-2").Get(ctx, "member-a", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotContains(t, ss.Annotations, AnnotationPaused)
	require.Contains(t, ex.runs[1], "kill -CONT")

	ops.Exec = nil
	require.ErrorContains(t, ops.Pause(ctx, "us-west-2/member/a"), "no way to exec")
}

// A zone is its Cassandra nodes, memcached servers and member services,
// and nothing of another zone or region.
func TestOpsZoneComponents(t *testing.T) {
	ops, _, _ := world(t)
	ids, err := ops.ZoneComponents(context.Background(), "us-east-1", "a")
	require.NoError(t, err)
	require.Equal(t, []string{"us-east-1/cassandra/a", "us-east-1/member/a", "us-east-1/memcached/a"}, ids)
}

// Heal puts back what faults left, from the API alone: a killed node
// scaled back, a paused service resumed; a healthy world is left as it is.
func TestOpsHeal(t *testing.T) {
	ops, cs, ex := world(t)
	ctx := context.Background()
	healed, err := ops.Heal(ctx)
	require.NoError(t, err)
	require.Empty(t, healed, "a healthy world needs nothing")

	require.NoError(t, ops.Kill(ctx, "us-west-2/cassandra/c"))
	require.NoError(t, ops.Stop(ctx, "us-east-1/memcached/b"))
	require.NoError(t, ops.Pause(ctx, "us-east-1/gateway"))
	// A fresh Ops, as a kong started after the one that died.
	again := &Ops{Client: cs, Space: Space{World: "w1"}, Exec: ex}
	healed, err = again.Heal(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"us-east-1/gateway", "us-east-1/memcached/b", "us-west-2/cassandra/c"}, healed)
	require.EqualValues(t, 1, replicas(t, cs, "kong-w1-us-west-2", "cassandra-c"))
	require.EqualValues(t, 1, replicas(t, cs, "kong-w1-us-east-1", "memcached-b"))
	ss, err := cs.AppsV1().StatefulSets("kong-w1-us-east-1").Get(ctx, "gateway", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotContains(t, ss.Annotations, AnnotationPaused)
	require.Contains(t, ex.runs[len(ex.runs)-1], "kill -CONT")

	healed, err = again.Heal(ctx)
	require.NoError(t, err)
	require.Empty(t, healed, "a heal is idempotent")
}

// Heal scales back to what each component runs with (kong.io/replicas),
// not to 1 by habit.
func TestOpsHealHonoursTheRecordedReplicas(t *testing.T) {
	ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationReplicas: "3"}}}
	require.EqualValues(t, 3, healthyReplicas(ss))
	ss.Annotations[AnnotationReplicas] = "x"
	require.EqualValues(t, 1, healthyReplicas(ss))
}
