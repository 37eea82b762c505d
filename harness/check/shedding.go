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

// Shedding checks that excess load is shed fast and that the data tier
// behind a region sees bounded load (no thundering herd).
//
// Shed answers: the Percentile (p99 by default) of the latency of completed
// shed operations (any type) must be at most MaxShedLatency.
//
// Data tier: an operation reached the data tier when it completed ok or
// fail, was not shed, not answered from the cache and is not a probe (info
// completions are left out: whether they got there is unknown). Such
// operations are counted per region (the serving region, else entry or
// home) per second in which they were issued (invoked): that is when the
// request reached the data tier, give or take the gateway. Counted by
// completion, requests that a stall held back and that complete together
// would look like a burst the data tier never saw. The busiest second of
// each region must be at most MaxDataTierRate.
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
	type regionSecond struct {
		region string
		sec    int64
	}
	perSecond := map[regionSecond]int{}
	dataOps := 0
	type window struct{ first, last int64 }
	shedding := map[string]*window{} // region -> when it shed
	for _, o := range x.Operations {
		if !o.Completed() || o.IsProbe() {
			continue
		}
		if o.Shed() {
			shed.record(o.Latency())
			at, reg := o.InvokeTime().UnixNano(), probeRegion(o)
			if w := shedding[reg]; w == nil {
				shedding[reg] = &window{at, at}
			} else {
				w.first, w.last = min(w.first, at), max(w.last, at)
			}
			continue
		}
		if t := o.Type(); (t != history.OK && t != history.Fail) || o.CacheHit() {
			continue
		}
		dataOps++
		perSecond[regionSecond{probeRegion(o), o.InvokeTime().Unix()}]++
	}
	peak := map[string]int{}
	peakAt := map[string]int64{}
	for k, n := range perSecond {
		if n > peak[k.region] || (n == peak[k.region] && k.sec < peakAt[k.region]) {
			peak[k.region], peakAt[k.region] = n, k.sec
		}
	}
	regions := make([]string, 0, len(peak))
	for reg := range peak {
		regions = append(regions, reg)
	}
	sort.Strings(regions)

	pname := fmt.Sprintf("p%g", pct)
	r := history.Result{Checker: s.Name(), Valid: history.VerdictValid, Figures: map[string]float64{
		"shed":          float64(shed.count()),
		"data_tier_ops": float64(dataOps),
	}}
	var bad, unknown, ok []string
	if s.MaxShedLatency > 0 {
		if shed.count() == 0 {
			unknown = append(unknown, "no shed operations")
		} else {
			q := shed.quantile(pct)
			r.Figures["shed_latency_"+pname+"_ms"] = ms(q)
			line := fmt.Sprintf("shed latency %s %v (max %v, %d shed)", pname, q, s.MaxShedLatency, shed.count())
			if q > s.MaxShedLatency {
				bad = append(bad, line)
			} else {
				ok = append(ok, line)
			}
		}
	}
	if s.MaxDataTierRate > 0 {
		if dataOps == 0 {
			unknown = append(unknown, "no operations reached the data tier")
		}
		for _, reg := range regions {
			r.Figures[figureName("data_tier_max_rate", reg)] = float64(peak[reg])
			line := fmt.Sprintf("region %s data tier peak %d ops/s at %s (max %g)", label(reg), peak[reg],
				time.Unix(peakAt[reg], 0).UTC().Format(time.RFC3339), s.MaxDataTierRate)
			if float64(peak[reg]) > s.MaxDataTierRate {
				bad = append(bad, line)
			} else {
				ok = append(ok, line)
			}
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
				bad = append(bad, line+": goodput too low")
			} else {
				ok = append(ok, line)
			}
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
