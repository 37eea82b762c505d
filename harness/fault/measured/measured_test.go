package measured

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/topology"
)

// profileWorld is a topology.Cluster of a profile's spec that lists a
// member service in zone a of each region, and the links of the profile's
// plan; every other method is unused.
type profileWorld struct {
	topology.Cluster
	profile string
}

func (w profileWorld) Name() string { return w.profile }

func (w profileWorld) plan() *topology.Plan {
	s, err := topology.Profile(w.profile)
	if err != nil {
		panic(err)
	}
	p, err := topology.NewPlan(s, 0)
	if err != nil {
		panic(err)
	}
	return p
}

func (w profileWorld) Spec() *topology.Spec { return w.plan().Spec }

func (w profileWorld) Components(context.Context) ([]topology.Status, error) {
	var out []topology.Status
	for _, r := range w.Spec().RegionNames() {
		out = append(out, topology.Status{Component: topology.Component{ID: r + "/member/a", Kind: topology.KindMember, Region: r, Zone: "a"},
			State: topology.StateRunning})
	}
	return out, nil
}

func (w profileWorld) Links() []topology.Link { return w.plan().Links() }

// twoMembers is the small profile's world: two regions.
var twoMembers = profileWorld{profile: "small"}

// threeRegions is the global profile's world: three regions.
var threeRegions = profileWorld{profile: "global"}

func TestRealLifeFailoverIsInTheCatalogue(t *testing.T) {
	f, err := fault.Build(context.Background(), twoMembers, "real-life-failover", fault.Region("us-west-2"), map[string]string{"threshold": "0.5"})
	require.NoError(t, err)
	s := f.(*SignalFailover)
	require.Equal(t, "us-west-2", s.Region)
	require.Equal(t, 0.5, s.Threshold)
	require.Equal(t, []string{"us-west-2/member/a"}, s.Degrade.Target().IDs())
	require.Equal(t, "us-west-2", s.Evac.Target().String())
}

func TestWatchPartitionCutsBothDirections(t *testing.T) {
	w := WatchPartition(twoMembers, "us-east-1", "us-west-2")
	require.Equal(t, "partition", w.Name())
	require.Equal(t, "us-east-1->us-west-2,us-west-2->us-east-1", w.Target().String())
}

// Isolating a region cuts its four links and leaves the other two regions'
// links up; the markers cross the cut in both directions from each side.
func TestWatchIsolationCutsOneRegionFromTheOthers(t *testing.T) {
	w := WatchIsolation(threeRegions, "eu-west-1")
	require.Equal(t, "us-east-1->eu-west-1,us-west-2->eu-west-1,eu-west-1->us-east-1,eu-west-1->us-west-2", w.Target().String())
	require.Equal(t, []string{"eu-west-1", "us-east-1", "us-west-2"}, w.regions())
	require.ElementsMatch(t, [][2]string{{"eu-west-1", "us-east-1"}, {"us-east-1", "eu-west-1"}, {"eu-west-1", "us-west-2"}, {"us-west-2", "eu-west-1"}},
		w.across(), "no pair within a side: us-east-1 and us-west-2 stay connected")

	_, err := fault.Isolating("mars").Select(context.Background(), threeRegions)
	require.ErrorContains(t, err, "has no link of mars")
}
