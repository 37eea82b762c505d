package measured

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/topology"
)

// twoMembers is a topology.Cluster that lists a member service in each of
// two regions and the links between them, with the small profile's spec;
// every other method is unused.
type twoMembers struct{ topology.Cluster }

func (twoMembers) Name() string { return "two-members" }

func (twoMembers) Spec() *topology.Spec {
	s, err := topology.Profile("small")
	if err != nil {
		panic(err)
	}
	return s
}

func (twoMembers) Components(context.Context) ([]topology.Status, error) {
	var out []topology.Status
	for _, r := range []string{"us-east-1", "us-west-2"} {
		out = append(out, topology.Status{Component: topology.Component{ID: r + "/member/a", Kind: topology.KindMember, Region: r, Zone: "a"},
			State: topology.StateRunning})
	}
	return out, nil
}

func (twoMembers) Links() []topology.Link {
	return []topology.Link{{Name: "us-east-1->us-west-2", From: "us-east-1", To: "us-west-2"},
		{Name: "us-west-2->us-east-1", From: "us-west-2", To: "us-east-1"}}
}

func TestRealLifeFailoverIsInTheCatalogue(t *testing.T) {
	f, err := fault.Build(context.Background(), twoMembers{}, "real-life-failover", fault.Region("us-west-2"), map[string]string{"threshold": "0.5"})
	require.NoError(t, err)
	s := f.(*SignalFailover)
	require.Equal(t, "us-west-2", s.Region)
	require.Equal(t, 0.5, s.Threshold)
	require.Equal(t, []string{"us-west-2/member/a"}, s.Degrade.Target().IDs())
	require.Equal(t, "us-west-2", s.Evac.Target().String())
}

func TestWatchPartitionCutsBothDirections(t *testing.T) {
	w := WatchPartition(twoMembers{}, "us-east-1", "us-west-2")
	require.Equal(t, "partition", w.Name())
	require.Equal(t, "us-east-1->us-west-2,us-west-2->us-east-1", w.Target().String())
}

// threeRegions is the global profile's world as far as its links go.
type threeRegions struct{ topology.Cluster }

func (threeRegions) Name() string { return "three-regions" }

func (threeRegions) Spec() *topology.Spec {
	s, err := topology.Profile("global")
	if err != nil {
		panic(err)
	}
	return s
}

func (threeRegions) Links() []topology.Link {
	var out []topology.Link
	for _, from := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
		for _, to := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
			if from != to {
				out = append(out, topology.Link{Name: topology.LinkName(from, to), From: from, To: to})
			}
		}
	}
	return out
}

// Isolating a region cuts its four links and leaves the other two regions'
// links up; the markers cross the cut in both directions from each side.
func TestWatchIsolationCutsOneRegionFromTheOthers(t *testing.T) {
	w := WatchIsolation(threeRegions{}, "eu-west-1")
	require.Equal(t, "us-east-1->eu-west-1,us-west-2->eu-west-1,eu-west-1->us-east-1,eu-west-1->us-west-2", w.Target().String())
	require.Equal(t, []string{"eu-west-1", "us-east-1", "us-west-2"}, w.regions())
	require.ElementsMatch(t, [][2]string{{"eu-west-1", "us-east-1"}, {"us-east-1", "eu-west-1"}, {"eu-west-1", "us-west-2"}, {"us-west-2", "eu-west-1"}},
		w.across(), "no pair within a side: us-east-1 and us-west-2 stay connected")

	_, err := fault.Isolating("mars").Select(context.Background(), threeRegions{})
	require.ErrorContains(t, err, "has no link of mars")
}
