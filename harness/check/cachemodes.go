package check

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// CacheModes checks that each data set's cache behaves across regions as
// its mode says (EVCache's two modes): a write to a replicated data set
// sends its new value to the other regions' caches, so the first read of
// the key there afterwards is a cache hit of that version; a write to any
// other data set invalidates the key there, so the first read afterwards
// misses the cache and reads Cassandra.
//
// Judged: each user read, completed ok, of a key in a region other than
// the one of the key's newest write acknowledged at least Lag before the
// read (no other write of the key acknowledged or under way in between),
// when it is the first read of the key in that region since that write.
// A data set holds when at least MinShare of its reads judged went as its
// mode says; fewer than MinReads reads leave it unmeasured. The verdict is
// invalid when a measured data set does not hold, unknown when none was
// measured.
type CacheModes struct {
	// Replicated are the data sets in the replicate mode ("profiles");
	// every other one is invalidated.
	Replicated []string
	// Lag is how long a write's message is given to reach the other
	// regions (over SQS, well under a second in a kong world); 0 means
	// 1 s.
	Lag time.Duration
	// MinShare is the share of judged reads that must go as the mode
	// says; 0 means 0.9.
	MinShare float64
	// MinReads is the least number of judged reads to measure a data set;
	// 0 means 10.
	MinReads int
}

// Name implements Checker.
func (c *CacheModes) Name() string { return "cache-modes" }

func init() {
	Register(Entry{Description: "after a write in one region, a replicated data set's first read in another region hits the new value, an invalidated one's misses",
		New: func() Checker { return &CacheModes{} }})
}

// dataSet names the data set of a workload key ("profile/<id>",
// "history/<id>").
func dataSet(key string) string {
	kind, _, _ := strings.Cut(key, "/")
	return map[string]string{"profile": "profiles", "history": "history"}[kind]
}

// Check implements Checker.
func (c *CacheModes) Check(x *history.Index) history.Result {
	lag, minShare, minReads := c.Lag, c.MinShare, c.MinReads
	if lag == 0 {
		lag = time.Second
	}
	if minShare == 0 {
		minShare = 0.9
	}
	if minReads == 0 {
		minReads = 10
	}
	type write struct {
		invoked, acked time.Time
		region         string
		version        int64
	}
	writes := map[string][]write{}
	for _, o := range x.Operations {
		if o.IsWrite() && o.IsOK() && o.Region() != "" {
			writes[o.Key()] = append(writes[o.Key()], write{o.InvokeTime(), o.CompleteTime(), o.Region(), o.Version()})
		}
	}
	for _, ws := range writes {
		sort.Slice(ws, func(i, j int) bool { return ws[i].acked.Before(ws[j].acked) })
	}
	type tally struct{ judged, asMode int }
	sets := map[string]*tally{}
	lastRead := map[string]time.Time{} // key + " " + region -> the last read's invoke
	var offenders lines
	for _, o := range x.Operations {
		if !o.IsUserRead() || !o.IsOK() || o.Region() == "" {
			continue
		}
		key, region, at := o.Key(), o.Region(), o.InvokeTime()
		place := key + " " + region
		previous := lastRead[place]
		lastRead[place] = at
		ws := writes[key]
		i := sort.Search(len(ws), func(i int) bool { return ws[i].acked.After(at.Add(-lag)) }) - 1
		if i < 0 || ws[i].region == region || ws[i].acked.Before(previous) {
			continue // no remote write before it, or not the first read since
		}
		if slices.ContainsFunc(ws, func(w write) bool { return w.invoked.Before(at) && w.acked.After(ws[i].acked) }) {
			continue // a newer write was acknowledged or under way: ambiguous
		}
		set := dataSet(key)
		if set == "" {
			continue
		}
		t := sets[set]
		if t == nil {
			t = &tally{}
			sets[set] = t
		}
		t.judged++
		replicated := slices.Contains(c.Replicated, set)
		hit := o.CacheHit() && o.Version() >= ws[i].version
		switch {
		case replicated && hit, !replicated && !o.CacheHit():
			t.asMode++
		case replicated:
			offenders.add("%s read in %s at %s missed the value written in %s at %s (replicated)", key, region,
				at.UTC().Format(time.RFC3339Nano), ws[i].region, ws[i].acked.UTC().Format(time.RFC3339Nano))
		default:
			offenders.add("%s read in %s at %s hit the cache after a write in %s at %s (invalidated)", key, region,
				at.UTC().Format(time.RFC3339Nano), ws[i].region, ws[i].acked.UTC().Format(time.RFC3339Nano))
		}
	}
	r := history.Result{Checker: c.Name(), Valid: history.VerdictUnknown, Figures: map[string]float64{}}
	var bad, good, unmeasured []string
	for _, set := range slices.Sorted(maps.Keys(sets)) {
		t := sets[set]
		mode := "invalidated"
		if slices.Contains(c.Replicated, set) {
			mode = "replicated"
		}
		share := float64(t.asMode) / float64(t.judged)
		r.Figures[figureName("first_reads", set)] = float64(t.judged)
		r.Figures[figureName("as_mode_share", set)] = share
		line := fmt.Sprintf("%s (%s): %d of %d first reads after a write in another region went as %s", set, mode, t.asMode, t.judged, mode)
		switch {
		case t.judged < minReads:
			unmeasured = append(unmeasured, fmt.Sprintf("%s: %d first reads, fewer than %d", set, t.judged, minReads))
		case share < minShare:
			bad = append(bad, fmt.Sprintf("%s, %.1f%% below %.0f%%", line, 100*share, 100*minShare))
		default:
			good = append(good, line)
		}
	}
	switch {
	case len(bad) > 0:
		r.Valid, r.Reason, r.Details = history.VerdictInvalid, strings.Join(bad, "; "), offenders.details()
	case len(good) > 0:
		r.Valid, r.Reason = history.VerdictValid, strings.Join(append(good, unmeasured...), "; ")
	case len(unmeasured) > 0:
		r.Reason = "not measured: " + strings.Join(unmeasured, "; ")
	default:
		r.Reason = "no read in a region after a write in another: the cache modes were not measured"
	}
	return r
}
