package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// Latency checks that a latency percentile (p99 by default) of every phase
// stays within Factor times the baseline (steady-state) phase's.
//
// It measures user operations that completed ok and were not shed (shed
// answers are fast by design and would flatter the figure; failures are the
// Availability checker's business), with latencies as recorded, i.e.
// corrected for coordinated omission. Percentiles come from an HDR histogram
// (1µs resolution, three significant digits).
//
// The verdict is unknown when the baseline phase has fewer than MinOps
// measured operations (no data at all by default); a phase other than the
// baseline with fewer than MinOps is reported unknown as well, and phases
// with none are not judged. Invalid when any judged phase exceeds its budget.
type Latency struct {
	// Baseline is the phase the others are compared with; "" means
	// "steady-state".
	Baseline string
	// Factor is the accepted change, e.g. 2.0 allows twice the baseline;
	// 0 means 2.
	Factor float64
	// Floor is the least budget whatever the baseline, so that a
	// sub-millisecond baseline does not make a budget of noise.
	Floor time.Duration
	// Percentile is the percentile compared (0-100); 0 means 99.
	Percentile float64
	// MinOps is the least number of operations for a phase to be judged
	// (values below 1 mean 1).
	MinOps int
	// ByRegion compares each region's phases with that region's baseline
	// (region = the serving region) instead of pooling regions.
	ByRegion bool
	// Phases, when set, limits the phases judged (the baseline is always
	// measured).
	Phases []string
	// Max, when set, is an absolute budget instead of one relative to the
	// baseline: every phase, the baseline itself included, must keep its
	// percentile within Max (Factor and Floor are then unused). A slow
	// steady state cannot raise it.
	Max time.Duration
}

// NewLatency returns a Latency checker comparing p99 of every phase with the
// baseline phase's p99 times factor.
func NewLatency(baseline string, factor float64) *Latency {
	return &Latency{Baseline: baseline, Factor: factor, Percentile: 99}
}

// Name implements Checker.
func (l *Latency) Name() string { return "latency" }

func init() {
	Register(Entry{Description: "every phase's p99 latency stays within twice the steady state's",
		New: func() Checker { return NewLatency(history.PhaseSteady, 2) }})
}

// Check implements Checker.
func (l *Latency) Check(x *history.Index) history.Result {
	pct := l.Percentile
	if pct <= 0 {
		pct = 99
	}
	baseline := l.Baseline
	if baseline == "" {
		baseline = "steady-state"
	}
	factor := l.Factor
	if factor <= 0 {
		factor = 2
	}
	minOps := int64(max(l.MinOps, 1))
	hists := history.NewRegionPhases(x, newLatencyHist)
	for _, o := range x.Operations {
		if !o.IsOK() || o.IsProbe() || o.Shed() {
			continue
		}
		region := ""
		if l.ByRegion {
			region = o.Region()
		}
		hists.At(region, x.PhaseOf(o)).record(o.Latency())
	}

	r := history.Result{Checker: l.Name(), Valid: history.VerdictValid, Figures: map[string]float64{}}
	pname := fmt.Sprintf("p%g", pct)
	regions := hists.Regions()
	if len(regions) == 0 {
		regions = []string{""}
	}
	order := hists.Phases()
	judged := func(p string) bool {
		return (p != baseline || l.Max > 0) && (len(l.Phases) == 0 || containsString(l.Phases, p))
	}

	var bad, thin, lines []string
	for _, region := range regions {
		scope := ""
		if l.ByRegion {
			scope = "region " + label(region) + " "
		}
		base := hists.Get(region, baseline)
		if base == nil || base.count() < minOps {
			n := int64(0)
			if base != nil {
				n = base.count()
			}
			thin = append(thin, fmt.Sprintf("%sbaseline phase %s: %d ok operations < %d", scope, label(baseline), n, minOps))
			continue
		}
		bq := base.quantile(pct)
		budget := max(time.Duration(float64(bq)*factor), l.Floor)
		if l.Max > 0 {
			budget = l.Max
		}
		r.Figures[figureName("latency_"+pname+"_ms", regionFig(l.ByRegion, region), baseline)] = ms(bq)
		lines = append(lines, fmt.Sprintf("%sbaseline %s %s %v, budget %v", scope, label(baseline), pname, bq, budget))
		for _, p := range order {
			hs := hists.Get(region, p)
			if hs == nil || !judged(p) {
				continue
			}
			if hs.count() < minOps {
				thin = append(thin, fmt.Sprintf("%sphase %s: %d ok operations < %d", scope, label(p), hs.count(), minOps))
				continue
			}
			q := hs.quantile(pct)
			r.Figures[figureName("latency_"+pname+"_ms", regionFig(l.ByRegion, region), p)] = ms(q)
			line := fmt.Sprintf("%sphase %s: %s %v vs budget %v (%.2fx baseline %v, %d ops)",
				scope, label(p), pname, q, budget, float64(q)/float64(max(bq, 1)), bq, hs.count())
			if q > budget {
				bad = append(bad, line)
			}
			lines = append(lines, line)
		}
	}
	switch {
	case len(bad) > 0:
		r.Valid = history.VerdictInvalid
		r.Reason = "over budget: " + strings.Join(firstN(bad, 3), "; ")
		r.Details = capDetails(append(bad, thin...), maxDetails)
	case len(thin) > 0:
		r.Valid = history.VerdictUnknown
		r.Reason = "too little data: " + strings.Join(firstN(thin, 3), "; ")
		r.Details = capDetails(append(thin, lines...), maxDetails)
	case l.Max > 0:
		r.Reason = fmt.Sprintf("every phase's %s within %v", pname, l.Max)
		r.Details = capDetails(lines, maxDetails)
	default:
		r.Reason = fmt.Sprintf("every phase's %s within %.2fx the %s baseline", pname, factor, label(baseline))
		r.Details = capDetails(lines, maxDetails)
	}
	return r
}

func regionFig(byRegion bool, region string) string {
	if byRegion {
		return region
	}
	return "all"
}

func containsString(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}
