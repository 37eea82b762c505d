package topology

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// planned is a world known only from its plan: its components are the
// planned ones, all running.
type planned struct {
	Cluster // the methods DirectorURL does not call
	plan    *Plan
}

func (w planned) Name() string { return "planned" }

func (w planned) Components(context.Context) ([]Status, error) {
	var out []Status
	for _, c := range w.plan.Components() {
		out = append(out, Status{Component: c, State: StateRunning})
	}
	return out, nil
}

func TestDirectorURL(t *testing.T) {
	spec, err := Profile("default")
	require.NoError(t, err)
	p, err := NewPlan(spec, 5)
	require.NoError(t, err)
	u, err := DirectorURL(context.Background(), planned{plan: p})
	require.NoError(t, err)
	require.Equal(t, "http://"+p.Director.Address, u)

	p.Director.Kind = KindGateway
	_, err = DirectorURL(context.Background(), planned{plan: p})
	require.ErrorContains(t, err, "world planned runs no director")
}

// PlanAddrs answers from the plan: a region's own nodes and caches, its
// own SQS endpoint, and another region's through the link listener.
func TestPlanAddrs(t *testing.T) {
	spec, err := Profile("default")
	require.NoError(t, err)
	p, err := NewPlan(spec, 5)
	require.NoError(t, err)
	a := PlanAddrs{Plan: p}
	require.Len(t, a.CQLContactPoints("us-west-2"), 3)
	for _, addr := range a.CQLContactPoints("us-west-2") {
		require.Contains(t, []string{p.Cassandra[3].Address, p.Cassandra[4].Address, p.Cassandra[5].Address}, addr)
	}
	require.Equal(t, map[string][]string{"a": {p.Memcached[0].Address}, "b": {p.Memcached[1].Address}, "c": {p.Memcached[2].Address}},
		a.MemcachedAddrs("us-east-1"))
	require.Equal(t, "http://"+p.SQS[1].Address, a.SQSEndpoint("us-west-2", "us-west-2"))
	require.Equal(t, "http://"+p.SQSLinks[LinkName("us-east-1", "us-west-2")], a.SQSEndpoint("us-east-1", "us-west-2"))
	require.Empty(t, a.SQSEndpoint("us-east-1", "nowhere"))
	require.Equal(t, "invalidations-us-east-1", a.InvalidationQueue("us-east-1"))
	require.Equal(t, p.Toxiproxy.Address, a.ToxiproxyAPI())
	require.Equal(t, p.Links(), a.Links())
}
