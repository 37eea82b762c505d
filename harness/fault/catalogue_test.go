package fault

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
)

// scopeSelectors pick a target of each scope in twoRegionWorld.
var scopeSelectors = map[Scope]Selector{
	ScopeInstance: Instance("us-east-1/member/a"),
	ScopeZone:     Zone("us-east-1", "a"),
	ScopeRegion:   Region("us-east-1"),
	ScopeLink:     Between("us-east-1", "us-west-2"),
	ScopeWorld:    All(),
}

func TestEveryFaultBuildsWithItsDefaults(t *testing.T) {
	w := twoRegionWorld()
	entries := Catalogue()
	require.GreaterOrEqual(t, len(entries), 16)
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			for _, scope := range e.Targets {
				sel, ok := scopeSelectors[scope]
				require.True(t, ok, "unknown scope %q", scope)
				f, err := Build(context.Background(), w, e.Name, sel, nil)
				require.NoError(t, err, "on %s", sel)
				require.Equal(t, e.Name, f.Name(), "the entry's name is its fault's name")
			}
		})
	}
}

func TestCatalogueEntriesAreUniqueAndDescribed(t *testing.T) {
	names := map[string]bool{}
	for _, e := range Catalogue() {
		require.False(t, names[e.Name], "%s registered twice", e.Name)
		names[e.Name] = true
		require.NotContains(t, e.Description, "\n", "%s: a description is one line", e.Name)
		params := map[string]bool{}
		for _, p := range e.Params {
			require.False(t, params[p.Name], "%s: parameter %s twice", e.Name, p.Name)
			params[p.Name] = true
			require.NotEmpty(t, p.Help, "%s: parameter %s says nothing", e.Name, p.Name)
		}
	}
	require.PanicsWithValue(t, `fault.Register("noop"): registered twice`, func() {
		Register(Entry{Name: "noop", Description: "again", Targets: []Scope{ScopeWorld},
			New: func(topology.Cluster, Target, *Args) (Fault, error) { return Noop{}, nil }})
	})
	require.Panics(t, func() { Register(Entry{Name: "nameless-parts"}) })
}

func TestCatalogueBuildsWhatItIsTold(t *testing.T) {
	w := twoRegionWorld()
	ctx := context.Background()
	f, err := Build(ctx, w, "dependency-errors", Zone("us-west-2", "b"), map[string]string{"error_rate": "0.25", "latency_ms": "40"})
	require.NoError(t, err)
	require.Equal(t, []string{"us-west-2/member/b"}, f.Target().IDs())
	require.Equal(t, map[string]string{"error_rate": "0.25", "latency_ms": "40", "selected": "us-west-2/cassandra/b,us-west-2/member/b,us-west-2/memcached/b"},
		f.(FaultArgs).Args())

	for name, want := range map[string]map[string]string{
		"dropped-writes":   {"drop_write_rate": "0.01"},
		"no-invalidations": {"no_invalidations": "true"},
		"cache-one-zone":   {"cache_one_zone": "true"},
	} {
		f, err = Build(ctx, w, name, Zone("us-west-2", "b"), nil)
		require.NoError(t, err)
		require.Equal(t, []string{"us-west-2/member/b"}, f.Target().IDs(), name)
		maps.Copy(want, map[string]string{"error_rate": "0", "latency_ms": "0",
			"selected": "us-west-2/cassandra/b,us-west-2/member/b,us-west-2/memcached/b"})
		require.Equal(t, want, f.(FaultArgs).Args(), name)
	}
	f, err = Build(ctx, w, "dropped-writes", All(), map[string]string{"rate": "0.5"})
	require.NoError(t, err)
	require.Equal(t, "0.5", f.(FaultArgs).Args()["drop_write_rate"])

	f, err = Build(ctx, w, "link-jitter", Link("us-west-2", "us-east-1"), map[string]string{"jitter": "20", "stream": "both"})
	require.NoError(t, err)
	require.Equal(t, Toxic{Kind: ToxicJitter, Attributes: map[string]int64{"latency": 150, "jitter": 20}, Stream: BothStreams, Toxicity: 1},
		f.(*LinkToxicFault).Toxic())

	f, err = Build(ctx, w, "gateway-settings", Region("us-west-2"), map[string]string{"failover": "", "max_rps": "60"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"settings": "max_rps=60"}, f.(FaultArgs).Args())

	f, err = Build(ctx, w, "ignore-geo", Region("us-west-2"), nil)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"settings": "ignore_geo=true"}, f.(FaultArgs).Args())
	require.Equal(t, Target{Regions: []string{"us-west-2"}}, f.Target())

	f, err = Build(ctx, w, "misroute", Region("us-west-2"), nil)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"geo": "us-east-1", "to": "us-west-2"}, f.(FaultArgs).Args())

	_, err = Build(ctx, w, "kill-instance", Instance("us-east-1/member/a"), map[string]string{"signal": "TERM"})
	require.ErrorContains(t, err, `fault kill-instance: unknown parameter "signal" (it takes none)`)
	_, err = Build(ctx, w, "evacuate-region", Region("us-east-1"), map[string]string{"steps": "half", "step_wait": "soon"})
	require.ErrorContains(t, err, `parameter steps="half"`)
	require.ErrorContains(t, err, `parameter step_wait="soon"`)
	_, err = Build(ctx, w, "evacuate-region", All(), nil)
	require.ErrorContains(t, err, "needs one region")
	_, err = Build(ctx, w, "chaos-everything", All(), nil)
	require.ErrorContains(t, err, `no fault "chaos-everything" in the catalogue (it has cache-one-zone, dependency-errors, dropped-writes, evacuate-region`)
}

func TestAToxicKindIsOneRow(t *testing.T) {
	for kind := range toxicKinds {
		e, err := Lookup("link-" + string(kind))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(e.Name, "link-"))
	}
}
