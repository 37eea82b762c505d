package fault

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
)

// listedWorld is a topology.Cluster that only lists components and links
// and has a spec, for selector and catalogue tests; it runs nothing and every other method is unused.
type listedWorld struct {
	topology.Cluster // nil: any other call panics
	comps            []topology.Status
	links            []topology.Link
}

func (w *listedWorld) Name() string { return "listed" }

// Spec is the small profile's: the regions us-east-1 and us-west-2.
func (w *listedWorld) Spec() *topology.Spec {
	s, err := topology.Profile("small")
	if err != nil {
		panic(err)
	}
	return s
}

func (w *listedWorld) Components(context.Context) ([]topology.Status, error) {
	return slices.Clone(w.comps), nil
}

func (w *listedWorld) Links() []topology.Link { return w.links }

// twoRegionWorld lists the components of two regions of three zones, with
// two Cassandra nodes in us-east-1's zone a.
func twoRegionWorld() *listedWorld {
	w := &listedWorld{}
	add := func(id, kind, region, zone string) {
		w.comps = append(w.comps, topology.Status{Component: topology.Component{ID: id, Kind: kind, Region: region, Zone: zone,
			Address: "127.0.0.1:1"}, State: topology.StateRunning})
	}
	add("toxiproxy", topology.KindToxiproxy, "", "")
	regions := []string{"us-east-1", "us-west-2"}
	for _, r := range regions {
		add(r+"/sqs", topology.KindSQS, r, "")
		for _, z := range []string{"a", "b", "c"} {
			add(r+"/memcached/"+z, topology.KindMemcached, r, z)
			add(r+"/cassandra/"+z, topology.KindCassandra, r, z)
			if r == "us-east-1" && z == "a" {
				add(r+"/cassandra/a-2", topology.KindCassandra, r, z)
			}
			add(r+"/member/"+z, topology.KindMember, r, z)
		}
		add(r+"/gateway", topology.KindGateway, r, "")
	}
	add("director", topology.KindDirector, "", "")
	for _, from := range regions {
		for _, to := range regions {
			if from != to {
				w.links = append(w.links, topology.Link{Name: topology.LinkName(from, to), From: from, To: to,
					Proxies: []string{topology.SQSProxyName(from, to)}})
			}
		}
	}
	return w
}

func selectIDs(t *testing.T, c topology.Cluster, s Selector) []string {
	t.Helper()
	got, err := s.Select(context.Background(), c)
	require.NoError(t, err, s.String())
	return got.IDs()
}

func TestZoneSelectsTheZonesNodesCachesAndMembers(t *testing.T) {
	w := twoRegionWorld()
	require.Equal(t, []string{"us-east-1/cassandra/a", "us-east-1/cassandra/a-2", "us-east-1/member/a", "us-east-1/memcached/a"},
		selectIDs(t, w, Zone("us-east-1", "a")))
	require.Equal(t, []string{"us-west-2/cassandra/b", "us-west-2/member/b", "us-west-2/memcached/b"},
		selectIDs(t, w, Zone("us-west-2", "b")))

	_, err := Zone("us-east-1", "d").Select(context.Background(), w)
	require.ErrorContains(t, err, "its zones are us-east-1/a, us-east-1/b, us-east-1/c, us-west-2/a")
}

func TestInstanceRegionLinkAndAllSelectors(t *testing.T) {
	w := twoRegionWorld()
	ctx := context.Background()
	require.Equal(t, []string{"us-west-2/cassandra/a"}, selectIDs(t, w, Instance("us-west-2/cassandra/a")))
	_, err := Instance("us-west-2/cassandra/z").Select(ctx, w)
	require.ErrorContains(t, err, "no such component")

	region := selectIDs(t, w, Region("us-west-2"))
	require.Len(t, region, 11)
	require.Contains(t, region, "us-west-2/sqs")
	require.Contains(t, region, "us-west-2/gateway")
	require.NotContains(t, region, "director")
	for _, id := range region {
		r, _, _, err := topology.ParseID(id)
		require.NoError(t, err)
		require.Equal(t, "us-west-2", r)
	}
	_, err = Region("eu-west-1").Select(ctx, w)
	require.ErrorContains(t, err, "its regions are us-east-1, us-west-2")

	both, err := Between("us-west-2", "us-east-1").Select(ctx, w)
	require.NoError(t, err)
	require.Equal(t, "us-east-1->us-west-2,us-west-2->us-east-1", both.String())
	require.Empty(t, both.Components)
	one, err := Link("us-east-1", "us-west-2").Select(ctx, w)
	require.NoError(t, err)
	require.Equal(t, "us-east-1->us-west-2", one.String())
	_, err = Link("us-east-1", "eu-west-1").Select(ctx, w)
	require.ErrorContains(t, err, "its links are")

	all, err := All().Select(ctx, w)
	require.NoError(t, err)
	require.Len(t, all.Components, len(w.comps))
	require.Len(t, all.Links, 2)
}

func TestRandomPickIsDeterministicPerSeed(t *testing.T) {
	w := twoRegionWorld()
	ctx := context.Background()
	pick := func(c topology.Cluster, seed uint64) []string {
		return selectIDs(t, c, RandomPick(2, All(), []string{topology.KindCassandra, topology.KindMemcached}, seed))
	}
	first := pick(w, 42)
	require.Len(t, first, 2)
	require.Equal(t, first, pick(w, 42), "the same seed picks the same components")

	// The backend's listing order does not matter.
	shuffled := twoRegionWorld()
	slices.Reverse(shuffled.comps)
	require.Equal(t, first, pick(shuffled, 42))

	distinct := map[string]bool{}
	for seed := uint64(1); seed <= 20; seed++ {
		got := pick(w, seed)
		for _, id := range got {
			_, kind, _, _ := topology.ParseID(id)
			require.Contains(t, []string{topology.KindCassandra, topology.KindMemcached}, kind)
		}
		require.NotEqual(t, got[0], got[1])
		distinct[got[0]+" "+got[1]] = true
	}
	require.Greater(t, len(distinct), 5, "different seeds pick different components")

	all := selectIDs(t, w, RandomPick(len(w.comps), All(), nil, 7))
	require.Len(t, all, len(w.comps), "no kind given: any component")
	_, err := RandomPick(8, All(), []string{topology.KindCassandra}, 1).Select(ctx, w)
	require.ErrorContains(t, err, "only 7 such components")
	_, err = RandomPick(0, All(), nil, 1).Select(ctx, w)
	require.ErrorContains(t, err, "at least one")
	require.Equal(t, "random 2 of cassandra|memcached from everything (seed 42)",
		RandomPick(2, All(), []string{topology.KindCassandra, topology.KindMemcached}, 42).String())
}

// Chaos Monkey's pick: instances of some kinds in one region, each at most
// once, the same for a seed.
func TestRandomPickWithinARegion(t *testing.T) {
	w := twoRegionWorld()
	kinds := []string{topology.KindMember, topology.KindCassandra}
	pick := func(seed uint64) []string { return selectIDs(t, w, RandomPick(3, Region("us-west-2"), kinds, seed)) }
	for seed := uint64(0); seed < 20; seed++ {
		got := pick(seed)
		require.Equal(t, got, pick(seed))
		require.Len(t, got, 3)
		for _, id := range got {
			region, kind, _, _ := topology.ParseID(id)
			require.Equal(t, "us-west-2", region)
			require.Contains(t, kinds, kind)
		}
		require.Len(t, map[string]bool{got[0]: true, got[1]: true, got[2]: true}, 3, "no instance drawn twice")
	}
	_, err := RandomPick(7, Region("us-west-2"), kinds, 1).Select(context.Background(), w)
	require.ErrorContains(t, err, "only 6 such components")
	_, err = RandomPick(1, Region("eu-west-1"), kinds, 1).Select(context.Background(), w)
	require.ErrorContains(t, err, "select random 1 of member|cassandra from region eu-west-1 (seed 1): select region eu-west-1: world listed has no such region")
}

func TestTargetString(t *testing.T) {
	require.Equal(t, "nothing", Target{}.String())
	require.True(t, Target{}.Empty())
	tg := Target{Components: []topology.Component{{ID: "us-east-1/cassandra/a"}},
		Links: []topology.Link{{Name: "us-east-1->us-west-2"}}, Regions: []string{"us-west-2"}}
	require.Equal(t, "us-east-1/cassandra/a,us-east-1->us-west-2,us-west-2", tg.String())
}
