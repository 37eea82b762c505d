package check

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// Shedding checks that excess load is shed fast and that the data tier
// behind a region sees bounded load (no thundering herd).
//
// Shed answers: the Percentile (p99 by default) of the latency of completed
// shed operations (any type) must be at most MaxShedLatency.
//
// Data tier: measured where the data tier is, not on the clients: the
// history's samples of each region's count of Cassandra queries sent by
// its member services (history.EventDataTier, recorded by measured.Surge
// every second). The rate of an interval between two samples of a region
// at least half a second apart is the count's increase over the interval's
// length; an interval in which the count fell (a member service restarted,
// its counter began again) is left out. The busiest interval of each
// region must be at most MaxDataTierRate. Clients cannot tell this: a
// cache miss costs the data tier one query or several, a request the
// gateway proxied to another region costs that region's, and completions
// that a stall held back arrive together as a burst the data tier never
// saw.
//
// Goodput: shedding must not turn away what the region can serve. For
// each region that shed, the user operations it admitted (completed ok,
// not shed, not a probe) and that were invoked between its first and its
// last shed answer's invocation, per second of that window, must average at
// least MinGoodput: a gateway that sheds nearly everything keeps its shed
// answers fast and its data tier idle, and fails here.
//
// A zero threshold disables its part. The verdict is the worst of the
// enabled parts: invalid over the bound; unknown when a part has no data (no
// shed operations, no data-tier operations) or no part is enabled.
type Shedding struct {
	// MaxShedLatency bounds the shed answers' latency percentile.
	MaxShedLatency time.Duration
	// Percentile is the percentile compared (0-100); 0 means 99.
	Percentile float64
	// MaxDataTierRate bounds the operations per second that reach the data
	// tier of any one region.
	MaxDataTierRate float64
	// MinGoodput is the least rate, per second, of user operations a
	// region admits and serves while it sheds.
	MinGoodput float64
}

// Name implements Checker.
func (s *Shedding) Name() string { return "shedding" }

func init() {
	Register(Entry{Description: "shed answers come back fast (p99 within 500 ms)",
		New: func() Checker { return &Shedding{MaxShedLatency: 500 * time.Millisecond} }})
}

// Check implements Checker.
func (s *Shedding) Check(x *history.Index) history.Result {
	pct := s.Percentile
	if pct <= 0 {
		pct = 99
	}
	shed := newLatencyHist()
	type window struct{ first, last int64 }
	shedding := map[string]*window{} // region -> when it shed
	for _, o := range x.Operations {
		if !o.Completed() || o.IsProbe() || !o.Shed() {
			continue
		}
		shed.record(o.Latency())
		at, reg := o.InvokeTime().UnixNano(), probeRegion(o)
		if w := shedding[reg]; w == nil {
			shedding[reg] = &window{at, at}
		} else {
			w.first, w.last = min(w.first, at), max(w.last, at)
		}
	}
	tier := dataTierRates(x.History.Events)
	regions := slices.Sorted(maps.Keys(tier))

	pname := fmt.Sprintf("p%g", pct)
	r := history.Result{Checker: s.Name(), Valid: history.VerdictValid, Figures: map[string]float64{
		"shed": float64(shed.count()),
	}}
	var bad, unknown, ok []string
	// judge puts a part's line among the bad ones when the part fails its
	// bound, else among the ok ones.
	judge := func(line string, failed bool) {
		if failed {
			bad = append(bad, line)
		} else {
			ok = append(ok, line)
		}
	}
	if s.MaxShedLatency > 0 {
		if shed.count() == 0 {
			unknown = append(unknown, "no shed operations")
		} else {
			q := shed.quantile(pct)
			r.Figures["shed_latency_"+pname+"_ms"] = ms(q)
			line := fmt.Sprintf("shed latency %s %v (max %v, %d shed)", pname, q, s.MaxShedLatency, shed.count())
			judge(line, q > s.MaxShedLatency)
		}
	}
	if s.MaxDataTierRate > 0 {
		if len(regions) == 0 {
			unknown = append(unknown, "no data-tier samples (the member services' Cassandra query counts) in the history")
		}
		for _, reg := range regions {
			t := tier[reg]
			r.Figures[figureName("data_tier_max_rate", reg)] = t.peak
			r.Figures[figureName("data_tier_queries", reg)] = float64(t.queries)
			line := fmt.Sprintf("region %s data tier peak %.0f queries/s at %s (max %g; %d queries in %d samples)", label(reg), t.peak,
				t.peakAt.UTC().Format(time.RFC3339), s.MaxDataTierRate, t.queries, t.samples)
			judge(line, t.peak > s.MaxDataTierRate)
		}
	}
	if s.MinGoodput > 0 {
		if len(shedding) == 0 {
			unknown = append(unknown, "no region shed: no goodput to judge")
		}
		for _, reg := range slices.Sorted(maps.Keys(shedding)) {
			w := shedding[reg]
			admitted := 0
			for _, o := range x.Operations {
				if at := o.InvokeTime().UnixNano(); o.IsOK() && !o.IsProbe() && !o.Shed() && at >= w.first && at <= w.last && probeRegion(o) == reg {
					admitted++
				}
			}
			secs := max(time.Duration(w.last-w.first).Seconds(), 1)
			rate := float64(admitted) / secs
			r.Figures[figureName("goodput_while_shedding", reg)] = rate
			line := fmt.Sprintf("region %s served %.1f ops/s while it shed (%d admitted in %.1f s; min %g)", label(reg), rate, admitted, secs, s.MinGoodput)
			if rate < s.MinGoodput {
				line += ": goodput too low"
			}
			judge(line, rate < s.MinGoodput)
		}
	}
	switch {
	case len(bad) > 0:
		r.Valid = history.VerdictInvalid
		r.Reason = strings.Join(bad, "; ")
		r.Details = append(bad, unknown...)
	case s.MaxShedLatency <= 0 && s.MaxDataTierRate <= 0 && s.MinGoodput <= 0:
		r.Valid = history.VerdictUnknown
		r.Reason = "no threshold set"
	case len(unknown) > 0:
		r.Valid = history.VerdictUnknown
		r.Reason = strings.Join(unknown, "; ")
		r.Details = ok
	default:
		r.Reason = strings.Join(ok, "; ")
	}
	return r
}

// tierRate is what a region's data-tier samples show: the busiest
// interval's rate and when it ended, the queries counted over all the
// intervals judged, and the samples.
type tierRate struct {
	peak    float64
	peakAt  time.Time
	queries uint64
	samples int
}

// dataTierRates reads the history.EventDataTier samples of each region
// with at least one interval to judge (see Shedding).
func dataTierRates(events []history.Event) map[string]tierRate {
	type sample struct {
		at  time.Time
		ops uint64
	}
	byRegion := map[string][]sample{}
	for _, e := range events {
		if e.Kind != history.Note || e.Name != history.EventDataTier {
			continue
		}
		n, err := strconv.ParseUint(e.Detail["cassandra_ops"], 10, 64)
		if err != nil {
			continue
		}
		byRegion[e.Target] = append(byRegion[e.Target], sample{e.Time, n})
	}
	out := map[string]tierRate{}
	for reg, ss := range byRegion {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].at.Before(ss[j].at) })
		t := tierRate{samples: len(ss)}
		judged := false
		prev := ss[0]
		for _, cur := range ss[1:] {
			dt := cur.at.Sub(prev.at)
			if dt < 500*time.Millisecond {
				continue // too short to be a rate: measured with the next
			}
			if cur.ops >= prev.ops {
				d := cur.ops - prev.ops
				rate := float64(d) / dt.Seconds()
				t.queries += d
				if !judged || rate > t.peak {
					t.peak, t.peakAt = rate, cur.at
				}
				judged = true
			}
			prev = cur
		}
		if judged {
			out[reg] = t
		}
	}
	return out
}
