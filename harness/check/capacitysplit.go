package check

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// CapacitySplit checks that, while a region is evacuated, the director
// hands its users to the other regions in proportion to their spare
// capacity, and (NoShed) that no receiving region sheds a request
// meanwhile.
//
// The window runs from the evacuation's last step (the last TrafficShift
// "evacuate" event of Region; with Region empty, of the region the history
// evacuated last) plus Settle, to its restore event (or the end of the
// history). Without Expected, the split is derived from the capacities the
// step's event carries (history.CapacityDetail), by the rule the director
// documents for a world whose loads are not given: each region's users
// load it with half of the world's capacity over the number of regions,
// unknown capacities take the mean of the known ones (1 each when none is
// known), and the evacuated users go to each other region in proportion to
// its capacity less that load (by capacity when none has any left). Each session of Region's users (Home) that made a
// user request in the window counts once, for the region the director sent
// most of its requests to (Entry): the director splits by session, so the
// shares are shares of sessions. The largest difference between a region's
// share and Expected must be within the tolerance: Tolerance when set, else
// three standard errors of the expected share over the sessions counted
// (at least 0.05). A request of any user answered "shed" by a region other
// than Region in the window is a violation.
//
// Unknown: no evacuation of Region in the history, or fewer than
// MinSessions sessions in the window.
type CapacitySplit struct {
	// Region is the evacuated region ("": the one the history evacuated
	// last).
	Region string
	// Expected is each region's share of Region's users while evacuated
	// (the receiving regions' spare-capacity split; Region's own share, if
	// any, under its name); nil derives it from the evacuation's event.
	Expected map[string]float64
	// NoShed makes a request shed by a receiving region in the window a
	// violation.
	NoShed bool
	// Tolerance bounds the difference of each share from Expected; 0 means
	// three standard errors (at least 0.05).
	Tolerance float64
	// Settle is how long after the last step sessions are given to follow
	// it (each asks the director every second) before they count; 0: none,
	// each session then counts where most of its requests went.
	Settle time.Duration
	// MinSessions is the least number of sessions to judge; 0 means 20.
	MinSessions int
}

// Name implements Checker.
func (c *CapacitySplit) Name() string { return "capacity-split" }

func init() {
	Register(Entry{Description: "an evacuated region's users go to the other regions by their spare capacity, and no receiving region sheds",
		New: func() Checker { return &CapacitySplit{} }})
}

// Check implements Checker.
func (c *CapacitySplit) Check(x *history.Index) history.Result {
	r := history.Result{Checker: c.Name(), Valid: history.VerdictUnknown, Figures: map[string]float64{}}
	region, from, to, caps, ok := c.window(x.History)
	if !ok {
		r.Reason = fmt.Sprintf("no evacuation of %s in the history: the split was not measured", label(c.Region))
		return r
	}
	expected := c.Expected
	if expected == nil {
		expected = SpareCapacitySplit(caps, region)
	}
	entries := map[string]map[string]int{} // session -> entry region -> requests
	var shed int
	var shedBy lines
	for _, o := range x.Operations {
		at := o.InvokeTime()
		if o.IsProbe() || at.Before(from) || (!to.IsZero() && at.After(to)) {
			continue
		}
		if c.NoShed && o.Shed() && o.Entry() != region {
			shed++
			shedBy.add("%s of member %s was shed by %s at %s", o.Name(), o.Member(), label(o.Entry()), at.UTC().Format(time.RFC3339Nano))
		}
		if o.Home() != region || o.Entry() == "" || o.Session() == "" {
			continue
		}
		if entries[o.Session()] == nil {
			entries[o.Session()] = map[string]int{}
		}
		entries[o.Session()][o.Entry()]++
	}
	sessions := map[string]int{}
	for _, s := range slices.Sorted(maps.Keys(entries)) {
		best := ""
		for _, region := range slices.Sorted(maps.Keys(entries[s])) {
			if best == "" || entries[s][region] > entries[s][best] {
				best = region
			}
		}
		sessions[best]++
	}
	n := len(entries)
	r.Figures["sessions"] = float64(n)
	r.Figures["shed"] = float64(shed)
	worst, worstRegion, tol := 0.0, "", c.Tolerance
	regions := slices.Sorted(maps.Keys(expected))
	for to := range sessions {
		if _, ok := expected[to]; !ok {
			regions = append(regions, to)
		}
	}
	var parts []string
	for _, to := range regions {
		want := expected[to]
		got := 0.0
		if n > 0 {
			got = float64(sessions[to]) / float64(n)
		}
		r.Figures["share_"+to] = got
		r.Figures["expected_"+to] = want
		if d := math.Abs(got - want); d > worst || worstRegion == "" {
			worst, worstRegion = d, to
		}
		if c.Tolerance == 0 && n > 0 {
			tol = max(tol, 0.05, 3*math.Sqrt(want*(1-want)/float64(n)))
		}
		parts = append(parts, fmt.Sprintf("%s %.1f%% (expected %.1f%%)", to, 100*got, 100*want))
	}
	r.Figures["max_deviation"] = worst
	r.Figures["tolerance"] = tol
	split := strings.Join(parts, ", ")
	switch {
	case shed > 0:
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("%d requests shed by a receiving region while %s was evacuated", shed, region)
		r.Details = shedBy.details()
	case n < c.minSessions():
		r.Reason = fmt.Sprintf("%d sessions of %s's users in the evacuated window, fewer than the %d needed to judge the split", n, region, c.minSessions())
	case worst > tol:
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("the split of %s's %d sessions is off capacity by %.1f points at %s (tolerance %.1f): %s",
			region, n, 100*worst, worstRegion, 100*tol, split)
	default:
		r.Valid = history.VerdictValid
		r.Reason = fmt.Sprintf("%s's %d sessions split by spare capacity within %.1f points (tolerance %.1f): %s",
			region, n, 100*worst, 100*tol, split)
		if c.NoShed {
			r.Reason += "; no receiving region shed"
		}
	}
	return r
}

func (c *CapacitySplit) minSessions() int {
	if c.MinSessions > 0 {
		return c.MinSessions
	}
	return 20
}

// window is when the evacuation was complete, of which region: from its
// last step plus Settle to its restore (zero: open), with the capacities
// that step's event carries.
func (c *CapacitySplit) window(h *history.History) (region string, from, to time.Time, caps map[string]float64, ok bool) {
	settle := c.Settle
	for _, e := range h.Events {
		if e.Kind != history.TrafficShift || (c.Region != "" && e.Target != c.Region) {
			continue
		}
		switch {
		case e.Name == history.ShiftEvacuate:
			region, from, to, ok = e.Target, e.Time.Add(settle), time.Time{}, true
			caps = map[string]float64{}
			for k, v := range e.Detail {
				if name, found := strings.CutPrefix(k, history.CapacityDetail); found {
					caps[name], _ = strconv.ParseFloat(v, 64)
				}
			}
		case e.Name == history.ShiftRestore && ok && e.Target == region && to.IsZero():
			to = e.Time
		}
	}
	return region, from, to, caps, ok
}

// SpareCapacitySplit is where the users of region evacuated go, by the
// director's rule for a world whose loads are not given (see CapacitySplit):
// each other region's share, from capacities (0: unknown).
func SpareCapacitySplit(capacities map[string]float64, region string) map[string]float64 {
	caps := maps.Clone(capacities)
	var known, sum float64
	for _, v := range caps {
		if v > 0 {
			known++
			sum += v
		}
	}
	for r, v := range caps {
		switch {
		case v > 0:
		case known > 0:
			caps[r] = sum / known
		default:
			caps[r] = 1
		}
	}
	total := 0.0
	for _, v := range caps {
		total += v
	}
	load := total / (2 * float64(len(caps)))
	var spare, capacity float64
	for r, v := range caps {
		if r != region {
			spare += max(v-load, 0)
			capacity += v
		}
	}
	out := map[string]float64{}
	for r, v := range caps {
		switch {
		case r == region:
		case spare > 0:
			out[r] = max(v-load, 0) / spare
		case capacity > 0:
			out[r] = v / capacity
		}
	}
	return out
}
