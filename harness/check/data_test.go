package check

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kongchaos/kong/harness/history"
)

// writes of key k1 (versions 1 and 2) acknowledged in us-east by 1s.
func writesK1() *hb {
	return newHB().add(
		op{Name: history.OpWriteProfile, Key: "k1", Region: "us-east", Version: 1, At: 100, Dur: 10},
		op{Name: history.OpWriteProfile, Key: "k1", Region: "us-east", Version: 2, At: 900, Dur: 10},
	)
}

func probe(key, region string, version int64, at int) op {
	return op{Name: history.OpProbe, Key: key, Region: region, Version: version, At: at, Dur: 5}
}

// cachedProbe is a probe of k1 in zone's cache of us-east at 5.1 s: hit says
// whether the cache held a value (version), else it held nothing.
func cachedProbe(zone string, version int64, hit bool) op {
	o := probe("k1", "us-east", version, 5100)
	o.Source, o.Cache = history.SourceCache+zone, hit
	return o
}

func TestLostWrites(t *testing.T) {
	cases := []checkCase{
		{
			name:    "seen everywhere",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"acknowledged_writes": 2, "lost.us-east": 0, "lost.eu-west": 0},
		},
		{
			name:    "newer version seen is fine",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(
					op{Name: history.OpWriteProfile, Key: "k1", Type: history.Info, Version: 3, At: 950, Dur: 1000},
					probe("k1", "us-east", 3, 5000), probe("k1", "eu-west", 3, 5000)).history()
			},
			want: history.VerdictValid,
		},
		{
			// The gateway's probe is served from a cache that still holds
			// the write; the region's Cassandra lost it.
			name:    "lost in a region's store though its gateway still shows it",
			checker: &LostWrites{},
			history: func() *history.History {
				store := probe("k1", "us-east", 1, 5000)
				store.Source = history.SourceStore
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000), store).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"key k1 in region us-east store", "saw version 1 < acknowledged 2"},
			figures: map[string]float64{"lost.us-east store": 1, "lost.us-east": 0},
		},
		{
			name:    "a zone's cache holds a stale copy",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000),
					cachedProbe("a", 2, true), cachedProbe("b", 1, true), cachedProbe("c", 0, false)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"1 stale cached copies", "key k1 in us-east cache:b: cached version 1 < acknowledged 2"},
			figures: map[string]float64{"stale_cached_copies": 1, "lost": 0},
		},
		{
			name:    "caches that hold nothing or the newest are fine",
			checker: &LostWrites{},
			history: func() *history.History {
				store := probe("k1", "eu-west", 2, 5000)
				store.Source = history.SourceStore
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000), store,
					cachedProbe("a", 2, true), cachedProbe("b", 0, false)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"stale_cached_copies": 0},
		},
		{
			name:    "older version in eu-west",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 1, 5000)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"key k1 in region eu-west", "saw version 1 < acknowledged 2", "1 in region eu-west"},
			figures: map[string]float64{"lost.eu-west": 1, "lost.us-east": 0, "lost": 1},
		},
		{
			// The headline counts writes, not places: two writes lost in a
			// region's gateway and in its store are two writes lost.
			name:    "writes lost in two places are counted once each",
			checker: &LostWrites{},
			history: func() *history.History {
				store := probe("k1", "eu-west", 0, 5000)
				store.Source = history.SourceStore
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 0, 5000), store).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"2 of 2 acknowledged writes lost (missing 2 in region eu-west, 2 in region eu-west store)"},
			figures: map[string]float64{"lost": 2, "lost_in_places": 4, "lost.eu-west": 2, "lost.eu-west store": 2},
		},
		{
			name:    "key missing in a region",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 0, 5000)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"key k1 in region eu-west"},
			figures: map[string]float64{"lost.eu-west": 2},
		},
		{
			name:    "last probe counts, not an early stale one",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(probe("k1", "eu-west", 1, 2000), probe("k1", "eu-west", 2, 6000), probe("k1", "us-east", 2, 5000)).history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "appends: newest present covers older",
			checker: &LostWrites{},
			history: func() *history.History {
				return newHB().add(
					op{Name: history.OpAppendHistory, Key: "h1", Region: "us-east", Version: 5, At: 100, Dur: 10},
					op{Name: history.OpAppendHistory, Key: "h1", Region: "eu-west", Version: 7, At: 200, Dur: 10},
					probe("h1", "us-east", 9, 5000), probe("h1", "eu-west", 7, 5000)).history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "failed writes are not acknowledged",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(
					op{Name: history.OpWriteProfile, Key: "k1", Type: history.Fail, Version: 9, At: 1000, Dur: 10},
					probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000)).history()
			},
			want: history.VerdictValid,
		},
		{
			// A write that timed out is neither lost nor dropped unseen:
			// it is counted and named, and not judged.
			name:    "writes of unknown outcome are counted, not judged",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(
					op{Name: history.OpWriteProfile, Key: "k1", Type: history.Info, At: 1000, Dur: 5000},
					op{Name: history.OpAppendHistory, Key: "h9", Type: history.Info, At: 1000, Dur: 5000},
					probe("k1", "us-east", 2, 7000), probe("k1", "eu-west", 2, 7000)).history()
			},
			want:    history.VerdictValid,
			reason:  []string{"all 2 acknowledged writes", "2 writes of unknown outcome not judged"},
			figures: map[string]float64{"unknown_outcome_writes": 2, "acknowledged_writes": 2, "lost": 0},
		},
		{
			name:    "key never probed in a region",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(
					op{Name: history.OpWriteProfile, Key: "k2", Region: "eu-west", Version: 1, At: 100, Dur: 10},
					probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000), probe("k2", "eu-west", 1, 5000)).history()
			},
			want:    history.VerdictUnknown,
			reason:  []string{"key k2 never probed in region us-east"},
			figures: map[string]float64{"unprobed.us-east": 1},
		},
		{
			name:    "write acknowledged after the last probe",
			checker: &LostWrites{},
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 1, 500), probe("k1", "eu-west", 1, 500)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"key k1 in region", "1 writes acknowledged after its last probe"},
		},
		{
			name:    "required region never probed",
			checker: &LostWrites{Regions: []string{"us-east", "eu-west", "ap-south"}},
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"never probed in region ap-south"},
		},
		{
			name:    "no probes",
			checker: &LostWrites{},
			history: func() *history.History { return writesK1().history() },
			want:    history.VerdictUnknown,
			reason:  []string{"no probes"},
		},
		{
			name:    "no writes",
			checker: &LostWrites{},
			history: func() *history.History { return newHB().add(probe("k1", "us-east", 0, 10)).history() },
			want:    history.VerdictUnknown,
			reason:  []string{"no acknowledged writes"},
		},
	}
	runCases(t, cases)
}

func TestStaleReads(t *testing.T) {
	read := func(key, region string, version int64, at int) op {
		return op{Name: history.OpReadProfile, Key: key, Region: region, Session: "s-" + region, Version: version, At: at, Dur: 5}
	}
	bound := &StaleReads{Bound: 500 * time.Millisecond}
	cases := []checkCase{
		{
			name:    "fresh and briefly stale reads",
			checker: bound,
			history: func() *history.History {
				// v1 acked at 110ms; eu-west misses it 300ms later (190ms stale), then sees it.
				return writesK1().add(read("k1", "eu-west", 0, 300), read("k1", "eu-west", 1, 700), read("k1", "us-east", 2, 950)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"stale_reads": 1, "stale_beyond_bound": 0, "worst_staleness_ms": 190, "checked_reads": 3},
		},
		{
			name:    "staleness counts from the earliest missed write",
			checker: bound,
			history: func() *history.History {
				// v2 acked at 910ms; a read at 1000ms returning v1 is 90ms stale.
				return writesK1().add(read("k1", "eu-west", 1, 1000)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"worst_staleness_ms": 90},
		},
		{
			name:    "write in flight when the read began is not required",
			checker: bound,
			history: func() *history.History {
				return writesK1().add(read("k1", "eu-west", 1, 905)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"stale_reads": 0},
		},
		{
			name:    "stale beyond the bound",
			checker: bound,
			history: func() *history.History {
				return writesK1().add(read("k1", "us-east", 2, 1000), read("k1", "eu-west", 0, 2000)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"1 reads stale beyond 500ms", "1 in region eu-west", "key k1", "session s-eu-west", "stale for 1.89s"},
			figures: map[string]float64{"stale_beyond_bound": 1, "stale_beyond_bound.eu-west": 1, "worst_staleness_ms": 1890},
		},
		{
			name:    "history reads too",
			checker: bound,
			history: func() *history.History {
				return newHB().add(
					op{Name: history.OpAppendHistory, Key: "h1", Region: "us-east", Version: 5, At: 0, Dur: 10},
					op{Name: history.OpReadHistory, Key: "h1", Region: "eu-west", Version: 3, At: 5000, Dur: 10}).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"key h1"},
		},
		{
			name:    "no read after a write",
			checker: bound,
			history: func() *history.History {
				return newHB().add(read("k1", "eu-west", 0, 10),
					op{Name: history.OpWriteProfile, Key: "k1", Version: 1, At: 100, Dur: 10}).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"no read followed an acknowledged write"},
		},
	}
	runCases(t, cases)
}

func TestConvergence(t *testing.T) {
	// k1 v2 acknowledged at 910ms; the fault heals at 10s.
	healed := func() *hb {
		return writesK1().event(history.FaultInject, "partition", 2000).event(history.FaultRecover, "partition", 9900).event(history.FaultHealed, "partition", 10_000)
	}
	c := &Convergence{MaxConvergence: 5 * time.Second}
	cases := []checkCase{
		{
			name:    "converges in two seconds",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 1, 10_500), probe("k1", "us-east", 2, 10_500),
					probe("k1", "eu-west", 2, 12_000), probe("k1", "us-east", 2, 12_000),
					probe("k1", "eu-west", 1, 9000)). // before the heal: ignored
					history()
			},
			want:    history.VerdictValid,
			reason:  []string{"converged 2.005s after the heal of partition"},
			figures: map[string]float64{"convergence_seconds": 2.005, "stale_probes_after_heal": 1, "probes_after_heal": 4},
		},
		{
			name:    "already converged at the first probe",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 2, 10_100), probe("k1", "us-east", 2, 10_100)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"convergence_seconds": 0, "first_probe_seconds": 0.105},
		},
		{
			name:    "converges too late",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 1, 17_000), probe("k1", "eu-west", 2, 18_000)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"more than 5s", "key k1 in region eu-west"},
			figures: map[string]float64{"convergence_seconds": 8.005, "convergence_lower_seconds": 7},
		},
		{
			name:    "never converges",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "us-east", 2, 11_000), probe("k1", "eu-west", 1, 20_000)).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"not converged 10s after", "1 key/region pairs still stale", "key k1 in region eu-west"},
		},
		{
			// Probing under the traffic: a write acknowledged 200 ms before
			// a probe in the other region is ordinary replication lag.
			name:    "a write just acknowledged is not yet owed to a probe within the grace",
			checker: &Convergence{MaxConvergence: 5 * time.Second, Grace: time.Second},
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 2, 10_500),
					op{Name: history.OpWriteProfile, Key: "k1", Region: "us-east", Version: 3, At: 19_790, Dur: 10},
					probe("k1", "eu-west", 2, 20_000)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"stale_probes_after_heal": 0},
		},
		{
			name:    "without the grace the same probe is stale",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 2, 10_500),
					op{Name: history.OpWriteProfile, Key: "k1", Region: "us-east", Version: 3, At: 19_790, Dur: 10},
					probe("k1", "eu-west", 2, 20_000)).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"not converged"},
		},
		{
			name:    "still stale when probing stopped early",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 1, 11_000)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"not converged when probing stopped"},
		},
		{
			name:    "probes too sparse to tell",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 1, 11_000), probe("k1", "eu-west", 2, 30_000)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"probes too sparse"},
		},
		{
			name:    "recover event when nothing was seen healed",
			checker: c,
			history: func() *history.History {
				return writesK1().event(history.FaultRecover, "partition", 10_000).add(probe("k1", "eu-west", 2, 11_000)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"convergence_seconds": 0},
		},
		{
			name:    "no heal event",
			checker: c,
			history: func() *history.History {
				return writesK1().event(history.FaultInject, "partition", 2000).add(probe("k1", "eu-west", 2, 11_000)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"no heal"},
		},
		{
			name:    "no probes after the heal",
			checker: c,
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 2, 5000)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"no probes after the heal of partition"},
		},
		{
			name:    "heal of a named fault",
			checker: &Convergence{MaxConvergence: 5 * time.Second, Fault: "kill-zone"},
			history: func() *history.History {
				return healed().add(probe("k1", "eu-west", 2, 12_000)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"for fault kill-zone"},
		},
	}
	runCases(t, cases)
}

// Convergence judges a viewing history's probes as a set: an acknowledged
// append missing under a newer one is stale, until a probe shows it.
func TestConvergenceOfAppends(t *testing.T) {
	appends := func() *hb {
		return newHB().add(
			op{Name: history.OpAppendHistory, Key: "history/m1", Region: "us-east", Version: 10, At: 100, Dur: 10},
			op{Name: history.OpAppendHistory, Key: "history/m1", Region: "us-east", Version: 20, At: 200, Dur: 10},
			op{Name: history.OpAppendHistory, Key: "history/m1", Region: "us-east", Version: 30, At: 300, Dur: 10}).
			event(history.FaultInject, "kill-zone", 1000).event(history.FaultHealed, "kill-zone", 10_000)
	}
	c := &Convergence{MaxConvergence: 5 * time.Second}
	// The newest is shown, the middle one only 9 s after the heal.
	b := shows(appends().add(probe("history/m1", "us-east", 0, 11_000)), false, 30, 10)
	b = shows(b.add(probe("history/m1", "us-east", 0, 16_000)), false, 30, 10)
	b = shows(b.add(probe("history/m1", "us-east", 0, 19_000)), false, 30, 20, 10)
	r := c.Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictInvalid, r.Valid, r.Reason)
	assert.Contains(t, r.Reason, "did not show acknowledged append 20")
	assert.InDelta(t, 9.0, r.Figures[FigConvergence], 0.01)

	// Shown from the first probe: converged at once.
	b = shows(appends().add(probe("history/m1", "us-east", 0, 11_000)), false, 30, 20, 10)
	r = c.Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Zero(t, r.Figures["stale_probes_after_heal"])

	// A cut page that cannot show the oldest does not owe it.
	b = shows(appends().add(probe("history/m1", "us-east", 0, 11_000)), true, 30, 20)
	r = c.Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
}

// shows makes the last operation added a probe of a viewing history that
// showed these entries.
func shows(b *hb, cut bool, entries ...int64) *hb {
	done := &b.h.Ops[len(b.h.Ops)-1]
	done.Entries, done.EntriesCut = entries, cut
	if len(entries) > 0 {
		done.Version = slices.Max(entries)
	}
	return b
}

// Appends are checked as a set: every acknowledged one, not only the newest.
func TestLostWritesAppendsAsASet(t *testing.T) {
	appends := func() *hb {
		return newHB().add(
			op{Name: history.OpAppendHistory, Key: "history/m1", Region: "us-east", Version: 10, At: 100, Dur: 10},
			op{Name: history.OpAppendHistory, Key: "history/m1", Region: "us-east", Version: 20, At: 200, Dur: 10},
			op{Name: history.OpAppendHistory, Key: "history/m1", Region: "us-east", Version: 30, At: 300, Dur: 10})
	}
	// The newest is there, the middle one is gone.
	b := shows(appends().add(probe("history/m1", "us-east", 0, 5000)), false, 30, 20, 10)
	b = shows(b.add(probe("history/m1", "eu-west", 0, 5000)), false, 30, 10)
	r := (&LostWrites{}).Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictInvalid, r.Valid, r.Reason)
	assert.Contains(t, r.Reason, "key history/m1 in region eu-west: acknowledged append 20 is absent from the last probe (2 entries shown)")
	assert.Equal(t, 1.0, r.Figures["appends_absent"])
	assert.Equal(t, 1.0, r.Figures["lost.eu-west"])
	assert.Equal(t, 5.0, r.Figures["appends_present"])

	// Shown only by the second probe in eu-west: late, not lost.
	b = shows(appends().add(probe("history/m1", "us-east", 0, 5000)), false, 30, 20, 10)
	b = shows(b.add(probe("history/m1", "eu-west", 0, 5000)), false, 30, 10)
	b = shows(b.add(probe("history/m1", "eu-west", 0, 7000)), false, 30, 20, 10)
	r = (&LostWrites{}).Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Equal(t, 1.0, r.Figures["appends_late"])
	assert.InDelta(t, 6.795, r.Figures["appends_late_max_seconds"], 1e-9, "visible by the completion of the probe at 7 s, acknowledged at 0.21 s")
	assert.Contains(t, r.Details, "1 acknowledged appends were shown only by a later probe than the first (late), at most 6.8 s after their acknowledgement")

	// A full page shows only the newest entries: an older append cannot be
	// looked for, and is counted apart.
	b = shows(appends().add(probe("history/m1", "us-east", 0, 5000)), true, 30, 20)
	b = shows(b.add(probe("history/m1", "eu-west", 0, 5000)), true, 30, 20)
	r = (&LostWrites{}).Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Equal(t, 2.0, r.Figures["appends_beyond_page"])
}
