package fault

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// Selector says which targets a fault hits, apart from what the fault does:
// one instance, a zone, a region, the links between two regions, everything,
// or a seeded random pick. It resolves against the running world.
type Selector interface {
	Select(ctx context.Context, c topology.Cluster) (Target, error)
	// String describes the selection for people and histories.
	String() string
}

// Instance selects one component by its ID, such as "us-west-2/cassandra/a".
func Instance(id string) Selector { return instanceSel{id} }

// Zone selects every component that lives in one zone of a region: its
// Cassandra nodes, memcached servers and member service instances (what a
// zone outage, Chaos Gorilla, takes down). Regional components (SQS, the
// gateway) and the director are not in a zone.
func Zone(region, zone string) Selector { return zoneSel{region, zone} }

// Region selects every component of a region: its zones' components, its
// SQS endpoint and its gateway.
func Region(region string) Selector { return regionSel{region} }

// Link selects the one link that carries from's traffic to to.
func Link(from, to string) Selector { return linkSel{from, to, false} }

// Between selects the links between two regions in both directions: cutting
// them is a complete partition between the two and nothing else.
func Between(a, b string) Selector { return linkSel{a, b, true} }

// Isolating selects every link between region and the other regions, in
// both directions: cutting them isolates region, and leaves the others
// connected to each other.
func Isolating(region string) Selector { return isolateSel{region} }

// All selects every component and every link of the world.
func All() Selector { return allSel{} }

// RandomPick selects n distinct components at random among the components
// from selects (All, a Region, a Zone) of the given kinds (every kind when
// none is given), from history.Rand with seed. The
// candidates are sorted by ID first, so a seed picks the same components
// from the same world whatever order the backend lists them in; they come
// in the order drawn.
func RandomPick(n int, from Selector, kinds []string, seed uint64) Selector {
	return randomSel{n: n, from: from, kinds: slices.Clone(kinds), seed: seed}
}

type instanceSel struct{ id string }

func (s instanceSel) String() string { return "instance " + s.id }

func (s instanceSel) Select(ctx context.Context, c topology.Cluster) (Target, error) {
	comps, err := worldComponents(ctx, c)
	if err != nil {
		return Target{}, err
	}
	var ids []string
	for _, st := range comps {
		if st.ID == s.id {
			return Target{Components: []topology.Component{st.Component}}, nil
		}
		ids = append(ids, st.ID)
	}
	return Target{}, fmt.Errorf("select %s: no such component in world %s (it has %s)", s, c.Name(), strings.Join(ids, ", "))
}

// zoneKinds are the kinds of component that live in a zone.
var zoneKinds = []string{topology.KindCassandra, topology.KindMemcached, topology.KindMember}

type zoneSel struct{ region, zone string }

func (s zoneSel) String() string { return "zone " + s.region + "/" + s.zone }

func (s zoneSel) Select(ctx context.Context, c topology.Cluster) (Target, error) {
	return selectIn(ctx, c, s, "component in that zone", "zones",
		func(st topology.Status) string {
			if st.Zone == "" {
				return ""
			}
			return st.Region + "/" + st.Zone
		},
		func(st topology.Status) bool {
			return st.Region == s.region && st.Zone == s.zone && slices.Contains(zoneKinds, st.Kind)
		})
}

type regionSel struct{ region string }

func (s regionSel) String() string { return "region " + s.region }

func (s regionSel) Select(ctx context.Context, c topology.Cluster) (Target, error) {
	return selectIn(ctx, c, s, "such region", "regions",
		func(st topology.Status) string { return st.Region },
		func(st topology.Status) bool { return st.Region == s.region })
}

// selectIn is the target of every component of world c that in takes, in
// the order of their IDs. place names where a component is ("" for
// nowhere): when in takes none, the error says world c has no what, and
// lists its places (zones, regions).
func selectIn(ctx context.Context, c topology.Cluster, s Selector, what, places string,
	place func(topology.Status) string, in func(topology.Status) bool) (Target, error) {
	comps, err := worldComponents(ctx, c)
	if err != nil {
		return Target{}, err
	}
	var t Target
	seen := map[string]bool{}
	for _, st := range comps {
		if p := place(st); p != "" {
			seen[p] = true
		}
		if in(st) {
			t.Components = append(t.Components, st.Component)
		}
	}
	if len(t.Components) == 0 {
		return Target{}, fmt.Errorf("select %s: world %s has no %s (its %s are %s)", s, c.Name(), what, places, strings.Join(slices.Sorted(maps.Keys(seen)), ", "))
	}
	sortByID(t.Components)
	return t, nil
}

type linkSel struct {
	a, b string
	both bool
}

func (s linkSel) String() string {
	if s.both {
		return "links between " + s.a + " and " + s.b
	}
	return "link " + topology.LinkName(s.a, s.b)
}

func (s linkSel) Select(_ context.Context, c topology.Cluster) (Target, error) {
	var t Target
	var names []string
	for _, l := range c.Links() {
		names = append(names, l.Name)
		if (l.From == s.a && l.To == s.b) || (s.both && l.From == s.b && l.To == s.a) {
			t.Links = append(t.Links, l)
		}
	}
	want := 1
	if s.both {
		want = 2
	}
	if len(t.Links) != want {
		return Target{}, fmt.Errorf("select %s: world %s has %d of the %d links (its links are %s)", s, c.Name(), len(t.Links), want, strings.Join(names, ", "))
	}
	return t, nil
}

type isolateSel struct{ region string }

func (s isolateSel) String() string { return "links of " + s.region + " to every other region" }

func (s isolateSel) Select(_ context.Context, c topology.Cluster) (Target, error) {
	var t Target
	for _, l := range c.Links() {
		if (l.From == s.region) != (l.To == s.region) {
			t.Links = append(t.Links, l)
		}
	}
	if len(t.Links) == 0 {
		return Target{}, fmt.Errorf("select %s: world %s has no link of %s (its regions are %s)", s, c.Name(), s.region, strings.Join(c.Spec().RegionNames(), ", "))
	}
	return t, nil
}

type allSel struct{}

func (allSel) String() string { return "everything" }

func (allSel) Select(ctx context.Context, c topology.Cluster) (Target, error) {
	comps, err := worldComponents(ctx, c)
	if err != nil {
		return Target{}, err
	}
	t := Target{Links: c.Links()}
	for _, st := range comps {
		t.Components = append(t.Components, st.Component)
	}
	return t, nil
}

type randomSel struct {
	n     int
	from  Selector
	kinds []string
	seed  uint64
}

func (s randomSel) String() string {
	kinds := "any kind"
	if len(s.kinds) > 0 {
		kinds = strings.Join(s.kinds, "|")
	}
	return fmt.Sprintf("random %d of %s from %s (seed %d)", s.n, kinds, s.from, s.seed)
}

func (s randomSel) Select(ctx context.Context, c topology.Cluster) (Target, error) {
	if s.n <= 0 {
		return Target{}, fmt.Errorf("select %s: pick at least one component", s)
	}
	from, err := s.from.Select(ctx, c)
	if err != nil {
		return Target{}, fmt.Errorf("select %s: %w", s, err)
	}
	var pool []topology.Component
	for _, comp := range from.Components {
		if len(s.kinds) == 0 || slices.Contains(s.kinds, comp.Kind) {
			pool = append(pool, comp)
		}
	}
	if len(pool) < s.n {
		return Target{}, fmt.Errorf("select %s: world %s has only %d such components", s, c.Name(), len(pool))
	}
	sortByID(pool)
	r := history.Rand(s.seed, "fault.RandomPick")
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	return Target{Components: pool[:s.n]}, nil
}

// worldComponents lists the world's components, with the context in the error.
func worldComponents(ctx context.Context, c topology.Cluster) ([]topology.Status, error) {
	st, err := c.Components(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the components of world %s: %w", c.Name(), err)
	}
	return st, nil
}

func sortByID(cs []topology.Component) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
}
