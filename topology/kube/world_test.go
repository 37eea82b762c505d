package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kongchaos/kong/topology"
)

// cluster is a fake API server that gives each Service without one a
// cluster IP, as a real one does.
func cluster(objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	next := 10
	cs.PrependReactor("create", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		svc := a.(k8stesting.CreateAction).GetObject().(*corev1.Service)
		if svc.Spec.ClusterIP == "" {
			svc.Spec.ClusterIP = fmt.Sprintf("10.96.1.%d", next)
			next++
		}
		return false, nil, nil
	})
	return cs
}

func namespaces(t *testing.T, cs *fake.Clientset) []string {
	t.Helper()
	list, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	var out []string
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	return out
}

// Create makes the world's namespaces (the regions' owned by the control
// namespace), and configures each node with its router's cluster IP;
// Worlds lists it; Delete removes it, and says so when nothing was there.
func TestCreateListDelete(t *testing.T) {
	ctx := context.Background()
	cs := cluster()
	spec, err := topology.Profile("default")
	require.NoError(t, err)
	l, err := Create(ctx, cs, Space{World: "w1"}, "s3cret", spec, DefaultImages())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"kong-w1", "kong-w1-us-east-1", "kong-w1-us-west-2"}, namespaces(t, cs))
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "kong-w1-us-west-2", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, ns.OwnerReferences, 1)
	require.Equal(t, "kong-w1", ns.OwnerReferences[0].Name, "the control namespace owns each region's")

	for _, n := range l.Plan.Cassandra {
		svc, err := cs.CoreV1().Services(Space{World: "w1"}.Of(n.Component)).Get(ctx, RouterName(n), metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, svc.Spec.ClusterIP, n.Broadcast, n.ID)
		cm, err := cs.CoreV1().ConfigMaps(Space{World: "w1"}.Of(n.Component)).Get(ctx, ObjectName(n.Component), metav1.GetOptions{})
		require.NoError(t, err)
		require.Contains(t, string(cm.BinaryData[topology.CassandraYAMLFile]), "broadcast_address: "+svc.Spec.ClusterIP+"\n")
	}
	sets, err := cs.AppsV1().StatefulSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=w1"})
	require.NoError(t, err)
	require.Len(t, sets.Items, len(l.Plan.Components()))

	_, err = Create(ctx, cs, Space{World: "w1"}, "s3cret", spec, DefaultImages())
	require.ErrorContains(t, err, "world w1 exists on the cluster already")

	worlds, err := Worlds(ctx, cs, "")
	require.NoError(t, err)
	require.Equal(t, []string{"w1"}, worlds)

	require.NoError(t, Delete(ctx, cs, Space{World: "w1"}))
	require.Empty(t, namespaces(t, cs))
	require.ErrorIs(t, Delete(ctx, cs, Space{World: "w1"}), topology.ErrNotUp)
}

// A create that fails halfway removes what it made.
func TestCreateFailureRemovesWhatItMade(t *testing.T) {
	ctx := context.Background()
	cs := cluster()
	cs.PrependReactor("create", "statefulsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("quota exceeded")
	})
	spec, err := topology.Profile("small")
	require.NoError(t, err)
	_, err = Create(ctx, cs, Space{World: "w1"}, "", spec, DefaultImages())
	require.ErrorContains(t, err, "quota exceeded")
	require.Empty(t, namespaces(t, cs))
}

// Delete touches only what kong made for the world: a namespace of the
// world's name without kong's label is refused and left, another world's
// are left, and a bad name never reaches the API.
func TestDeleteTouchesOnlyItsWorld(t *testing.T) {
	ctx := context.Background()
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kong-w2"}}
	cs := cluster(foreign)
	spec, err := topology.Profile("small")
	require.NoError(t, err)
	_, err = Create(ctx, cs, Space{World: "w1"}, "", spec, DefaultImages())
	require.NoError(t, err)
	_, err = Create(ctx, cs, Space{World: "w1-x"}, "", spec, DefaultImages())
	require.NoError(t, err)

	err = Delete(ctx, cs, Space{World: "w2"})
	require.ErrorContains(t, err, "kong did not make it")
	require.NoError(t, Delete(ctx, cs, Space{World: "w1"}))
	left := namespaces(t, cs)
	require.Contains(t, left, "kong-w2")
	for _, ns := range left {
		require.False(t, ns == "kong-w1" || strings.HasPrefix(ns, "kong-w1-") && !strings.HasPrefix(ns, "kong-w1-x"), "%s left", ns)
	}
	require.Contains(t, left, "kong-w1-x", "another world was touched")

	require.ErrorIs(t, Delete(ctx, cs, Space{World: "../w1"}), topology.ErrWorldName)
	worlds, err := Worlds(ctx, cs, "")
	require.NoError(t, err)
	require.Equal(t, []string{"w1-x"}, worlds)
}

// A world under a namespace prefix of the user's: its namespaces carry
// it, it is listed under that prefix only, its name stays unique on the
// cluster, and a Delete under another prefix leaves it alone.
func TestNamespacePrefix(t *testing.T) {
	ctx := context.Background()
	cs := cluster()
	spec, err := topology.Profile("small")
	require.NoError(t, err)
	team := Space{Prefix: "team-a-", World: "w1"}
	l, err := Create(ctx, cs, team, "", spec, DefaultImages())
	require.NoError(t, err)
	for _, ns := range namespaces(t, cs) {
		require.True(t, strings.HasPrefix(ns, "team-a-w1"), ns)
	}
	require.Equal(t, "team-a-w1-us-east-1", l.Of(l.Plan.Members[0]))
	require.Contains(t, l.Plan.Members[0].Address, ".team-a-w1-")

	worlds, err := Worlds(ctx, cs, "team-a-")
	require.NoError(t, err)
	require.Equal(t, []string{"w1"}, worlds)
	worlds, err = Worlds(ctx, cs, "")
	require.NoError(t, err)
	require.Empty(t, worlds)

	_, err = Create(ctx, cs, Space{World: "w1"}, "", spec, DefaultImages())
	require.ErrorContains(t, err, "exists on the cluster already (namespace team-a-w1")
	require.ErrorIs(t, Delete(ctx, cs, Space{World: "w1"}), topology.ErrNotUp)
	require.Len(t, namespaces(t, cs), 1+len(spec.Regions), "another prefix's Delete left the world")
	sets, err := (&Ops{Client: cs, Space: Space{World: "w1"}}).statefulSets(ctx, LabelWorld+"=w1")
	require.NoError(t, err)
	require.Empty(t, sets, "under another prefix the world's components are not found")

	require.NoError(t, Delete(ctx, cs, team))
	require.Empty(t, namespaces(t, cs))
}

// A prefix that could not begin a namespace's name is refused before
// anything reaches the API.
func TestCheckPrefix(t *testing.T) {
	for _, ok := range []string{"", "kong-", "team-a-", "t1-"} {
		require.NoError(t, CheckPrefix(ok), ok)
	}
	for _, bad := range []string{"Team-", "team", "-a-", "1a-", "a_b-", "a/b-", "a.b-", "-", "a-very-long-prefix-here-"} {
		require.Error(t, CheckPrefix(bad), bad)
		require.Error(t, (Space{Prefix: bad, World: "w1"}).Check(), bad)
	}
	require.ErrorIs(t, (Space{Prefix: "kong-", World: "../w1"}).Check(), topology.ErrWorldName)
}
