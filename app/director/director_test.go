package director

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	east = "us-east-1"
	west = "us-west-2"
	eu   = "eu-west-1"
)

// fakeClock advances one second on every reading.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// twoRegions is the default shape: two regions, unknown capacities.
func twoRegions() Config {
	return Config{Regions: []Region{
		{Name: east, Gateway: "http://127.101.1.1:8000"},
		{Name: west, Gateway: "http://127.101.2.1:8000"},
	}, Clock: newFakeClock().Now}
}

// global is the global profile: capacities 400/300/200, loads unknown.
func global() Config {
	return Config{Regions: []Region{
		{Name: east, Gateway: "http://127.101.1.1:8000", Capacity: 400},
		{Name: west, Gateway: "http://127.101.2.1:8000", Capacity: 300},
		{Name: eu, Gateway: "http://127.101.3.1:8000", Capacity: 200},
	}, Clock: newFakeClock().Now}
}

func withLoads(cfg Config, loads ...float64) Config {
	cfg.Geos = nil
	for i, r := range cfg.Regions {
		cfg.Geos = append(cfg.Geos, Geo{Name: r.Name, Home: r.Name, Load: loads[i]})
	}
	return cfg
}

func mustNew(t testing.TB, cfg Config) *Director {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	return d
}

func mustChange(t testing.TB) func(Change, error) Change {
	return func(c Change, err error) Change {
		t.Helper()
		require.NoError(t, err)
		return c
	}
}

// requireDist checks a geo's effective distribution to 1e-12.
func requireDist(t *testing.T, d *Director, geo string, want map[string]float64) {
	t.Helper()
	got := d.Table().Effective[geo]
	require.Len(t, got, len(d.Regions()), "geo %s", geo)
	for _, r := range d.Regions() {
		assert.InDelta(t, want[r.Name], got[r.Name], 1e-12, "geo %s, region %s (got %v)", geo, r.Name, got)
	}
}

func key(i int) string { return fmt.Sprintf("session-%d", i) }

// routeShares routes n keys from geo and returns each region's share.
func routeShares(t *testing.T, d *Director, geo string, n int) map[string]float64 {
	t.Helper()
	counts := map[string]float64{}
	for i := 0; i < n; i++ {
		r, err := d.Route(geo, key(i))
		require.NoError(t, err)
		counts[r.Name]++
	}
	for k := range counts {
		counts[k] /= float64(n)
	}
	return counts
}

func TestNewValidatesConfig(t *testing.T) {
	ok := global()
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no regions", func(c *Config) { c.Regions = nil }, "no regions"},
		{"region without name", func(c *Config) { c.Regions[1].Name = "" }, "region 2 has no name"},
		{"duplicate region", func(c *Config) { c.Regions[2].Name = east }, `duplicate region "us-east-1"`},
		{"negative capacity", func(c *Config) { c.Regions[1].Capacity = -5 }, `region "us-west-2": capacity -5 must be a number >= 0`},
		{"bad gateway", func(c *Config) { c.Regions[0].Gateway = "127.0.0.1:8000" }, `region "us-east-1": gateway "127.0.0.1:8000" is not an http(s) base URL`},
		{"missing gateway", func(c *Config) { c.Regions[2].Gateway = "" }, `region "eu-west-1": gateway ""`},
		{"unknown home", func(c *Config) { c.Geos = []Geo{{Name: "eu", Home: "eu-central-1"}} }, `geo "eu": unknown home region "eu-central-1"`},
		{"duplicate geo", func(c *Config) { c.Geos = []Geo{{Name: "eu", Home: eu}, {Name: "eu", Home: east}} }, `duplicate geo "eu"`},
		{"geo without name", func(c *Config) { c.Geos = []Geo{{Home: eu}} }, "geo 1 has no name"},
		{"negative load", func(c *Config) { c.Geos = []Geo{{Name: "eu", Home: eu, Load: -1}} }, `geo "eu": load -1 must be a number >= 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			cfg.Regions = append([]Region(nil), ok.Regions...)
			tc.edit(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDefaultRoutesEveryGeoHome(t *testing.T) {
	d := mustNew(t, global())
	geos := d.Geos()
	require.Len(t, geos, 3)
	for i, g := range geos {
		assert.Equal(t, d.Regions()[i].Name, g.Name, "one geo per region, named like it")
		assert.Equal(t, g.Name, g.Home)
		assert.Equal(t, map[string]float64{g.Name: 1}, routeShares(t, d, g.Name, 1000))
		r, err := d.Route(g.Name, "k")
		require.NoError(t, err)
		assert.Equal(t, d.Regions()[i], r, "the gateway comes with the region")
	}
	_, err := d.Route("mars", "k")
	require.ErrorIs(t, err, ErrUnknownGeo)
	assert.Contains(t, err.Error(), `unknown geo "mars" (known geos: us-east-1, us-west-2, eu-west-1)`)
}

func TestUnknownsAreFilledIn(t *testing.T) {
	// Known capacities, unknown loads: 50% utilisation, sum(cap)/(2·geos).
	assert.Equal(t, map[string]float64{east: 150, west: 150, eu: 150}, mustNew(t, global()).Table().Load)
	// Unknown capacities, known loads: 2·sum(load)/regions.
	tb := mustNew(t, withLoads(twoRegions(), 10, 30)).Table()
	assert.Equal(t, map[string]float64{east: 40, west: 40}, tb.Capacity)
	// Neither: capacity 1, load regions/(2·geos).
	tb = mustNew(t, twoRegions()).Table()
	assert.Equal(t, map[string]float64{east: 1, west: 1}, tb.Capacity)
	assert.Equal(t, map[string]float64{east: 0.5, west: 0.5}, tb.Load)
	// Some unknown: the mean of the known ones.
	cfg := global()
	cfg.Regions[2].Capacity = 0
	assert.Equal(t, 350.0, mustNew(t, cfg).Table().Capacity[eu])
	tb = mustNew(t, withLoads(global(), 100, 0, 200)).Table()
	assert.Equal(t, map[string]float64{east: 100, west: 150, eu: 200}, tb.Load)
}

func TestWeightsSplitTrafficAndKeysStick(t *testing.T) {
	d := mustNew(t, twoRegions())
	c := mustChange(t)(d.SetWeights(east, map[string]float64{east: 70, west: 30}))
	assert.Equal(t, map[string]float64{east: 0.7, west: 0.3}, c.Effective[east], "weights are normalized")
	assert.Equal(t, "weights of geo us-east-1: us-east-1 70%, us-west-2 30%", c.Description)

	shares := routeShares(t, d, east, 100000)
	assert.InDelta(t, 0.7, shares[east], 0.01)
	assert.InDelta(t, 0.3, shares[west], 0.01)
	assert.Equal(t, map[string]float64{west: 1}, routeShares(t, d, west, 1000), "other geos unaffected")

	// A key is stable, also across changes that do not touch its geo.
	before := make([]string, 1000)
	for i := range before {
		r, err := d.Route(east, key(i))
		require.NoError(t, err)
		before[i] = r.Name
	}
	mustChange(t)(d.SetWeights(west, map[string]float64{east: 1, west: 1}))
	for i := range before {
		for range 3 {
			r, err := d.Route(east, key(i))
			require.NoError(t, err)
			require.Equal(t, before[i], r.Name, "key %s moved", key(i))
		}
	}

	// 0.7/0.3 is the same as 70/30: nobody moves.
	mustChange(t)(d.SetWeights(east, map[string]float64{east: 0.7, west: 0.3}))
	for i := range before {
		r, _ := d.Route(east, key(i))
		require.Equal(t, before[i], r.Name)
	}
}

func TestSetWeightsValidates(t *testing.T) {
	d := mustNew(t, twoRegions())
	for _, tc := range []struct {
		geo     string
		weights map[string]float64
		is      error
		want    string
	}{
		{"mars", map[string]float64{east: 1}, ErrUnknownGeo, `unknown geo "mars"`},
		{east, nil, ErrInvalid, `no weights given for geo "us-east-1"`},
		{east, map[string]float64{"ap-south-1": 1, east: 1}, ErrUnknownRegion, `unknown region "ap-south-1" (known regions: us-east-1, us-west-2)`},
		{east, map[string]float64{east: -1, west: 2}, ErrInvalid, `weight -1 for region "us-east-1": it must be a number >= 0`},
		{east, map[string]float64{east: 0, west: 0}, ErrInvalid, `weights for geo "us-east-1" sum to 0`},
	} {
		_, err := d.SetWeights(tc.geo, tc.weights)
		require.ErrorIs(t, err, tc.is, "%v", tc.weights)
		assert.Contains(t, err.Error(), tc.want)
	}
	assert.Len(t, d.Changes(), 1, "refused changes are not logged")
}

func TestOverrideWins(t *testing.T) {
	d := mustNew(t, twoRegions())
	mustChange(t)(d.SetWeights(east, map[string]float64{east: 50, west: 50}))
	c := mustChange(t)(d.SetOverride(east, west))
	assert.Equal(t, "override geo us-east-1 to us-west-2", c.Description)
	assert.Equal(t, map[string]float64{west: 1}, routeShares(t, d, east, 2000))

	c = mustChange(t)(d.SetWeights(east, map[string]float64{east: 1}))
	assert.Contains(t, c.Description, "override to us-west-2 still wins")
	assert.Equal(t, map[string]float64{west: 1}, routeShares(t, d, east, 2000))
	assert.Equal(t, map[string]string{east: west}, d.Table().Overrides)

	c = mustChange(t)(d.ClearOverride(east))
	assert.Equal(t, "clear override of geo us-east-1 (was us-west-2)", c.Description)
	assert.Equal(t, map[string]float64{east: 1}, routeShares(t, d, east, 2000), "back to the weights")
	assert.Empty(t, d.Table().Overrides)

	c = mustChange(t)(d.ClearOverride(east))
	assert.Equal(t, "clear override of geo us-east-1 (none was set)", c.Description)

	_, err := d.SetOverride(east, "mars")
	assert.ErrorIs(t, err, ErrUnknownRegion)
	_, err = d.SetOverride("mars", east)
	assert.ErrorIs(t, err, ErrUnknownGeo)
	_, err = d.ClearOverride("mars")
	assert.ErrorIs(t, err, ErrUnknownGeo)
}

func TestEvacuateGlobalBySpareCapacity(t *testing.T) {
	// Capacities 400/300/200 and equal loads. Unknown loads are 150 each
	// (50% of 900 over three geos): spare is 250/150/50, so us-east-1's users
	// go 150:50 to us-west-2 and eu-west-1.
	d := mustNew(t, global())
	c := mustChange(t)(d.Evacuate(east, 1))
	assert.Equal(t, "evacuate us-east-1: 0% -> 100%", c.Description)
	requireDist(t, d, east, map[string]float64{west: 0.75, eu: 0.25})
	requireDist(t, d, west, map[string]float64{west: 1})
	requireDist(t, d, eu, map[string]float64{eu: 1})
	tb := d.Table()
	assert.InDelta(t, 0, tb.Traffic[east], 1e-12)
	assert.InDelta(t, (1+0.75)/3, tb.Traffic[west], 1e-12)
	assert.InDelta(t, (1+0.25)/3, tb.Traffic[eu], 1e-12)

	shares := routeShares(t, d, east, 100000)
	assert.Zero(t, shares[east])
	assert.InDelta(t, 0.75, shares[west], 0.01)
	assert.InDelta(t, 0.25, shares[eu], 0.01)

	// The other regions, one at a time.
	mustChange(t)(d.Restore(""))
	mustChange(t)(d.Evacuate(west, 1)) // spare 250 and 50
	requireDist(t, d, west, map[string]float64{east: 250.0 / 300, eu: 50.0 / 300})
	mustChange(t)(d.Restore(""))
	mustChange(t)(d.Evacuate(eu, 1)) // spare 250 and 150
	requireDist(t, d, eu, map[string]float64{east: 0.625, west: 0.375})

	for _, tc := range []struct {
		name  string
		loads []float64
		want  map[string]float64
	}{
		// Spare 200 and 100.
		{"loads 100", []float64{100, 100, 100}, map[string]float64{west: 2.0 / 3, eu: 1.0 / 3}},
		// eu-west-1 has no spare (-50): all to us-west-2 (spare 50).
		{"loads 250", []float64{250, 250, 250}, map[string]float64{west: 1}},
		// Nobody has spare: split by capacity, 300:200.
		{"loads 400", []float64{400, 400, 400}, map[string]float64{west: 0.6, eu: 0.4}},
		// Unequal loads: spare 300-50=250 and 200-150=50.
		{"loads 90/50/150", []float64{90, 50, 150}, map[string]float64{west: 250.0 / 300, eu: 50.0 / 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustNew(t, withLoads(global(), tc.loads...))
			mustChange(t)(d.Evacuate(east, 1))
			requireDist(t, d, east, tc.want)
		})
	}
}

func TestEvacuateSpareFollowsWeightsAndOverrides(t *testing.T) {
	// Spare capacity is computed under the current distributions: once
	// eu-west-1's geo is forced to us-west-2, us-west-2 carries 300 of 300
	// and eu-west-1 none of 200, so us-east-1's users all go to eu-west-1.
	d := mustNew(t, global())
	mustChange(t)(d.SetOverride(eu, west))
	mustChange(t)(d.Evacuate(east, 1))
	requireDist(t, d, east, map[string]float64{eu: 1})
	requireDist(t, d, eu, map[string]float64{west: 1})

	// Evacuation applies to overridden geos too: the override's share moves.
	mustChange(t)(d.Restore(east))
	mustChange(t)(d.Evacuate(west, 1)) // spare: us-east-1 250, eu-west-1 200
	requireDist(t, d, eu, map[string]float64{east: 250.0 / 450, eu: 200.0 / 450})
}

func TestEvacuateTwoRegions(t *testing.T) {
	d := mustNew(t, twoRegions())
	mustChange(t)(d.Evacuate(east, 0.5))
	requireDist(t, d, east, map[string]float64{east: 0.5, west: 0.5})
	requireDist(t, d, west, map[string]float64{west: 1})
	mustChange(t)(d.Evacuate(east, 1))
	requireDist(t, d, east, map[string]float64{west: 1})
	requireDist(t, d, west, map[string]float64{west: 1})

	// Both half evacuated: with no region untouched, each gives to the other.
	mustChange(t)(d.Evacuate(east, 0.5))
	mustChange(t)(d.Evacuate(west, 0.5))
	requireDist(t, d, east, map[string]float64{east: 0.5, west: 0.5})
	requireDist(t, d, west, map[string]float64{east: 0.5, west: 0.5})

	// us-west-2 fully out, us-east-1 half: us-east-1 has nowhere to give.
	mustChange(t)(d.Evacuate(west, 1))
	requireDist(t, d, east, map[string]float64{east: 1})
	requireDist(t, d, west, map[string]float64{east: 1})

	// Evacuating the last region is refused.
	_, err := d.Evacuate(east, 1)
	require.ErrorIs(t, err, ErrLastRegion)
	assert.Contains(t, err.Error(), "cannot evacuate us-east-1 fully")
	requireDist(t, d, west, map[string]float64{east: 1})

	// With capacities: 2 regions 100/300 and loads 50/50; all of us-west-2
	// goes to us-east-1 whatever its spare.
	cfg := twoRegions()
	cfg.Regions[0].Capacity, cfg.Regions[1].Capacity = 100, 300
	d = mustNew(t, withLoads(cfg, 50, 50))
	mustChange(t)(d.Evacuate(west, 0.25))
	requireDist(t, d, west, map[string]float64{east: 0.25, west: 0.75})

	for _, f := range []float64{-0.1, 1.5} {
		_, err = d.Evacuate(east, f)
		require.ErrorIs(t, err, ErrInvalid)
		assert.Contains(t, err.Error(), "must be in [0,1]")
	}
	_, err = d.Evacuate("mars", 1)
	require.ErrorIs(t, err, ErrUnknownRegion)
}

func TestGradualEvacuationMovesShareMonotonically(t *testing.T) {
	d := mustNew(t, global())
	const n = 20000
	where := func() []string {
		out := make([]string, n)
		for i := range out {
			r, err := d.Route(east, key(i))
			require.NoError(t, err)
			out[i] = r.Name
		}
		return out
	}
	prevDist := d.Table().Effective[east]
	prev := where()
	want := map[float64]map[string]float64{
		0.25: {east: 0.75, west: 0.1875, eu: 0.0625},
		0.5:  {east: 0.5, west: 0.375, eu: 0.125},
		1:    {west: 0.75, eu: 0.25},
	}
	for _, f := range []float64{0.25, 0.5, 1} {
		mustChange(t)(d.Evacuate(east, f))
		requireDist(t, d, east, want[f])
		dist := d.Table().Effective[east]
		assert.Less(t, dist[east], prevDist[east], "step %v", f)
		assert.Greater(t, dist[west], prevDist[west], "step %v", f)
		assert.Greater(t, dist[eu], prevDist[eu], "step %v", f)
		prevDist = dist

		// Sessions only ever leave us-east-1; nobody moves between the
		// healthy regions or comes back.
		now := where()
		moved := 0
		for i := range now {
			if now[i] != prev[i] {
				require.Equal(t, east, prev[i], "key %s moved %s -> %s at %v", key(i), prev[i], now[i], f)
				moved++
			}
		}
		assert.Positive(t, moved, "step %v moved nobody", f)
		prev = now
	}
}

func TestRestoreReturnsToTheOriginalTable(t *testing.T) {
	d := mustNew(t, global())
	mustChange(t)(d.SetWeights(west, map[string]float64{west: 80, eu: 20}))
	original := d.Table()

	mustChange(t)(d.Evacuate(east, 0.5))
	mustChange(t)(d.Evacuate(eu, 0.25))
	assert.NotEqual(t, original.Effective, d.Table().Effective)

	c := mustChange(t)(d.Restore(eu))
	assert.Equal(t, "restore eu-west-1 (was 25% evacuated)", c.Description)
	assert.Equal(t, 0.5, d.Table().Evacuated[east], "restoring one region leaves the others")
	mustChange(t)(d.Restore(east))
	assert.Equal(t, original, d.Table())

	mustChange(t)(d.Evacuate(east, 1))
	mustChange(t)(d.Evacuate(west, 0.5))
	c = mustChange(t)(d.Restore(""))
	assert.Equal(t, "restore every region (us-east-1 was 100%, us-west-2 was 50%)", c.Description)
	assert.Empty(t, c.Target)
	assert.Equal(t, original, d.Table())
	assert.Equal(t, original.Effective, c.Effective)

	_, err := d.Restore("mars")
	assert.ErrorIs(t, err, ErrUnknownRegion)
}

func TestChangeLog(t *testing.T) {
	d := mustNew(t, global())
	mustChange(t)(d.SetWeights(east, map[string]float64{east: 3, west: 1}))
	mustChange(t)(d.SetOverride(eu, west))
	mustChange(t)(d.ClearOverride(eu))
	mustChange(t)(d.Evacuate(east, 0.25))
	mustChange(t)(d.Evacuate(east, 1))
	mustChange(t)(d.Restore(east))
	mustChange(t)(d.Restore(""))
	_, err := d.Evacuate("mars", 1)
	require.Error(t, err)

	log := d.Changes()
	type entry struct {
		Kind   ChangeKind
		Target string
	}
	var got []entry
	for _, c := range log {
		got = append(got, entry{c.Kind, c.Target})
	}
	assert.Equal(t, []entry{
		{ChangeStart, ""}, {ChangeWeights, east}, {ChangeOverride, eu}, {ChangeClearOverride, eu},
		{ChangeEvacuate, east}, {ChangeEvacuate, east}, {ChangeRestore, east}, {ChangeRestore, ""},
	}, got)
	for i, c := range log {
		assert.Equal(t, i, c.Seq)
		assert.Equal(t, time.UTC, c.Time.Location(), "times are UTC")
		assert.NotEmpty(t, c.Description)
		assert.Len(t, c.Effective, 3)
		if i > 0 {
			assert.True(t, c.Time.After(log[i-1].Time), "change %d at %v, after %v", i, c.Time, log[i-1].Time)
		}
	}
	assert.Equal(t, map[string]float64{east: 1, west: 0, eu: 0}, log[0].Effective[east])
	assert.Equal(t, map[string]float64{east: 0.75, west: 0.25, eu: 0}, log[1].Effective[east])
	assert.Equal(t, map[string]float64{east: 0, west: 1, eu: 0}, log[2].Effective[eu])
	assert.Equal(t, map[string]float64{east: 0, west: 0, eu: 1}, log[3].Effective[eu])
	assert.InDelta(t, 0, log[5].Traffic[east], 1e-12, "traffic shares follow the table")
	assert.InDelta(t, 1, log[5].Traffic[west]+log[5].Traffic[eu], 1e-12)

	// The returned log is a copy.
	log[0].Effective[east][east] = 42
	assert.Equal(t, 1.0, d.Changes()[0].Effective[east][east])
}

func TestChangeLogStaysOrderedWhenTheClockStepsBack(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{base, base.Add(time.Second), base.Add(-time.Hour)}
	var mu sync.Mutex
	cfg := twoRegions()
	cfg.Clock = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := times[0]
		times = times[1:]
		return t
	}
	d := mustNew(t, cfg)
	mustChange(t)(d.Evacuate(east, 0.5))
	mustChange(t)(d.Evacuate(east, 1))
	log := d.Changes()
	assert.Equal(t, base.Add(time.Second), log[2].Time)
}

func TestConcurrentUse(t *testing.T) {
	d := mustNew(t, global())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				geo := []string{east, west, eu}[i%3]
				if _, err := d.Route(geo, key(w*10000+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 50 {
			for _, err := range []error{
				second(d.Evacuate(east, float64(i%5)/4)),
				second(d.SetWeights(west, map[string]float64{west: float64(i + 1), eu: 1})),
				second(d.SetOverride(eu, east)),
				second(d.ClearOverride(eu)),
			} {
				if err != nil && !errors.Is(err, ErrLastRegion) {
					t.Error(err)
				}
			}
			_ = d.Table()
			_ = d.Changes()
		}
	}()
	wg.Wait()
	assert.Len(t, d.Changes(), 1+4*50)
}

func second(_ Change, err error) error { return err }

func BenchmarkRoute(b *testing.B) {
	d := mustNew(b, global())
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = key(i)
	}
	b.Run("home", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := d.Route(east, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("split", func(b *testing.B) {
		mustChange(b)(d.Evacuate(east, 0.5))
		for i := 0; b.Loop(); i++ {
			if _, err := d.Route(east, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("split-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := d.Route(east, keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// While bouncing, each answer to a session is another region than its
// last, round robin over the regions taking traffic, whatever the table
// says; off, the session is back on its usual region.
func TestBounceSendsEachSessionElsewhereEveryTime(t *testing.T) {
	d := mustNew(t, global())
	usual := func(geo, key string) string {
		r, err := d.Route(geo, key)
		require.NoError(t, err)
		return r.Name
	}
	require.Equal(t, east, usual(east, "s1"))

	c := d.SetBounce(true)
	assert.Equal(t, ChangeBounce, c.Kind)
	assert.True(t, d.Table().Bounce)
	var got []string
	for range 6 {
		got = append(got, usual(east, "s1"))
	}
	assert.Equal(t, []string{west, eu, east, west, eu, east}, got, "round robin from the session's usual region")
	first := usual(west, "s2")
	assert.Equal(t, []string{eu, east}, []string{first, usual(west, "s2")}, "each session has its own turn, from its usual region")

	// A fully evacuated region takes no session.
	mustChange(t)(d.Evacuate(west, 1))
	got = got[:0]
	for range 4 {
		got = append(got, usual(east, "s1"))
	}
	assert.Equal(t, []string{eu, east, eu, east}, got)

	c = d.SetBounce(false)
	assert.Equal(t, ChangeBounce, c.Kind)
	assert.False(t, d.Table().Bounce)
	for range 3 {
		assert.Equal(t, east, usual(east, "s1"), "sticky again")
	}
}

// A director told that every region has the same capacity splits an
// evacuated region's users evenly; told the truth again, by spare capacity.
func TestSetCapacityMovesTheSplit(t *testing.T) {
	d := mustNew(t, global())
	mustChange(t)(d.Evacuate(east, 1))
	requireDist(t, d, east, map[string]float64{west: 0.75, eu: 0.25})
	for _, r := range []string{east, west, eu} {
		c := mustChange(t)(d.SetCapacity(r, 300))
		assert.Equal(t, ChangeCapacity, c.Kind)
		assert.Equal(t, r, c.Target)
	}
	assert.Equal(t, map[string]float64{east: 300, west: 300, eu: 300}, d.Table().Capacity)
	requireDist(t, d, east, map[string]float64{west: 0.5, eu: 0.5})
	mustChange(t)(d.SetCapacity(west, 300))
	mustChange(t)(d.SetCapacity(eu, 200))
	requireDist(t, d, east, map[string]float64{west: 0.75, eu: 0.25})

	_, err := d.SetCapacity("mars", 1)
	assert.ErrorIs(t, err, ErrUnknownRegion)
	for _, bad := range []float64{0, -1, math.Inf(1), math.NaN()} {
		_, err := d.SetCapacity(west, bad)
		assert.ErrorIs(t, err, ErrInvalid, "capacity %v", bad)
	}
}
