package reports

import (
	"fmt"
	"math"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/history"
)

// Key figure names: the few numbers that say whether a run held, shown at
// the top of the HTML report, followed across runs by the index and
// compared by Diff.
const (
	// KeyAvailabilityJudged is the availability the run's availability
	// checker judged: that of the (region, phase) pair that came nearest its
	// SLO (check.FigJudged), over the admitted requests when the checker
	// left shed ones out. KeyAvailabilityJudgedSLO is the SLO it was held
	// to. Both are nil for a run whose checker did not record them.
	KeyAvailabilityJudged    = "availability.judged"
	KeyAvailabilityJudgedSLO = "availability.judged.slo"
	// KeyAvailabilityDegraded is, in a scenario whose fault degrades or
	// evacuates one region, the availability that region's users saw
	// wherever they were sent, in its lowest judged phase
	// (check.FigDegraded); nil in the others.
	KeyAvailabilityDegraded = "availability.degraded_region"
	// KeyAvailability is OK / requests over the whole run, 0..1, shed
	// requests counted as failed: all requests, not what was judged.
	KeyAvailability = "availability"
	// KeyAvailabilityFault is the availability of the requests of the
	// inject and observe phases (while the fault was on), all regions,
	// shed requests counted as failed: all requests, not what was judged.
	KeyAvailabilityFault = "availability.fault"
	// KeyAvailabilityFaultWorst is the lowest availability of one region
	// over the inject and observe phases.
	KeyAvailabilityFaultWorst = "availability.fault.worst_region"
	// KeyShedRate is shed / requests over the whole run, 0..1.
	KeyShedRate = "shed_rate"
	// KeyLatencySteady and KeyLatencyObserve are the p99 latencies (ms) of
	// the ok requests of the steady-state and observe phases.
	KeyLatencySteady  = "latency_p99_ms.steady-state"
	KeyLatencyObserve = "latency_p99_ms.observe"
	// KeyReplicationP99 is the p99 replication lag in ms.
	KeyReplicationP99 = "replication.p99_ms"
	// The share of the replication check's records visible in the other
	// region at the read (500 ms), side by side: found by reads issued on
	// time (a hard lower bound), its 95 % lower bound (the figure the
	// verdict uses), and found by any read, late ones included (an upper
	// bound when reads ran late).
	KeyReplicationOnTime     = "replication.visible_at_read_min"
	KeyReplicationLowBound   = "replication.visible_at_read_low"
	KeyReplicationFoundAtAll = history.FigReplicationVisibleAtRead
	// KeyConvergence is how long after the heal every region agreed, in
	// seconds, as the convergence and split-isolation checkers measure it.
	KeyConvergence = check.FigConvergence
	// KeyTimeToEffect and KeyTimeToHeal are the longest measured delay of
	// any fault from its injection to its effect, and from its recovery to
	// its healing, in seconds.
	KeyTimeToEffect = "fault.time_to_effect_s"
	KeyTimeToHeal   = "fault.time_to_heal_s"
	// KeyRequests is the number of completed user requests.
	KeyRequests = "requests"
)

// Unit says how a key figure is read and printed.
type Unit string

const (
	UnitRatio   Unit = "ratio" // 0..1, printed as a percentage
	UnitMs      Unit = "ms"
	UnitSeconds Unit = "s"
	UnitCount   Unit = "count"
)

// Better says which way a figure improves.
type Better int

const (
	Neutral Better = iota
	HigherIsBetter
	LowerIsBetter
)

// KeyFigureDef describes a key figure. A change counts as a regression
// when the figure got worse by more than AbsTol and by more than RelTol of
// its earlier value.
type KeyFigureDef struct {
	Key    string
	Label  string
	Unit   Unit
	Better Better
	AbsTol float64
	RelTol float64
	// WhenMeasured figures are left out of a report's key figures, and of a
	// diff, where the runs did not measure them (the replication check's
	// shares, in a run without one; the judged availability, in a run
	// without an availability checker or from before it recorded one).
	WhenMeasured bool
}

// KeyFigureDefs are the key figures, in the order they are shown.
var KeyFigureDefs = []KeyFigureDef{
	{Key: KeyAvailabilityJudged, WhenMeasured: true, Label: "Availability judged (worst region × phase)", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyAvailabilityJudgedSLO, WhenMeasured: true, Label: "SLO it was judged against", Unit: UnitRatio, Better: Neutral},
	{Key: KeyAvailabilityDegraded, WhenMeasured: true, Label: "Degraded region's users (worst judged phase)", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyShedRate, Label: "Shed (of all requests)", Unit: UnitRatio, Better: LowerIsBetter, AbsTol: 0.001},
	{Key: KeyAvailability, Label: "All requests (not judged)", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyAvailabilityFault, Label: "All requests during the fault (not judged)", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyAvailabilityFaultWorst, Label: "Worst region during the fault (not judged)", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyLatencySteady, Label: "Latency p99, steady state", Unit: UnitMs, Better: LowerIsBetter, AbsTol: 1, RelTol: 0.1},
	{Key: KeyLatencyObserve, Label: "Latency p99, under the fault", Unit: UnitMs, Better: LowerIsBetter, AbsTol: 1, RelTol: 0.1},
	{Key: KeyReplicationP99, Label: "Replication lag p99", Unit: UnitMs, Better: LowerIsBetter, AbsTol: 1, RelTol: 0.1},
	{Key: KeyReplicationOnTime, WhenMeasured: true, Label: "Visible at the read, found on time", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyReplicationLowBound, WhenMeasured: true, Label: "Visible at the read, 95 % lower bound", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyReplicationFoundAtAll, WhenMeasured: true, Label: "Visible at the read, found at all", Unit: UnitRatio, Better: HigherIsBetter, AbsTol: 0.0005},
	{Key: KeyConvergence, Label: "Convergence time", Unit: UnitSeconds, Better: LowerIsBetter, AbsTol: 0.25, RelTol: 0.1},
	{Key: KeyTimeToEffect, Label: "Longest time to effect", Unit: UnitSeconds, Better: Neutral},
	{Key: KeyTimeToHeal, Label: "Longest time to heal", Unit: UnitSeconds, Better: LowerIsBetter, AbsTol: 0.25, RelTol: 0.1},
	{Key: KeyRequests, Label: "Requests", Unit: UnitCount, Better: Neutral},
}

// KeyFigure is a key figure of one run; Value is nil when the run does not
// tell (no replication check, no fault phases, ...).
type KeyFigure struct {
	KeyFigureDef
	Value *float64
}

// KeyFigures computes the key figures of a report, in KeyFigureDefs order.
func KeyFigures(r *Report) []KeyFigure {
	vals := map[string]*float64{}
	if v, ok := r.Figures[KeyAvailability]; ok {
		vals[KeyAvailability] = ptr(v)
	}
	if n, ok := r.Figures[KeyRequests]; ok {
		vals[KeyRequests] = ptr(n)
		if n > 0 {
			vals[KeyShedRate] = ptr(r.Figures["shed"] / n)
		}
	}
	if c, ok := availabilityChecker(r); ok {
		if v, ok := c.Figures[check.FigJudged]; ok {
			vals[KeyAvailabilityJudged] = ptr(v)
		}
		if v, ok := c.Figures[check.FigJudgedSLO]; ok {
			vals[KeyAvailabilityJudgedSLO] = ptr(v)
		}
		if v, ok := c.Figures[check.FigDegraded]; ok {
			vals[KeyAvailabilityDegraded] = ptr(v)
		}
	}
	var fault Counts
	regions := map[string]*Counts{}
	for _, pf := range r.PhaseFigures {
		if pf.Phase != history.PhaseInject && pf.Phase != history.PhaseObserve {
			continue
		}
		fault.add(pf.Counts)
		for _, rf := range pf.Regions {
			if regions[rf.Region] == nil {
				regions[rf.Region] = &Counts{}
			}
			regions[rf.Region].add(rf.Counts)
		}
	}
	vals[KeyAvailabilityFault] = fault.Availability()
	for _, c := range regions {
		if av := c.Availability(); av != nil {
			if w := vals[KeyAvailabilityFaultWorst]; w == nil || *av < *w {
				vals[KeyAvailabilityFaultWorst] = av
			}
		}
	}
	for _, k := range []string{KeyLatencySteady, KeyLatencyObserve, KeyConvergence} {
		vals[k] = figure(r, k)
	}
	if rl := r.Replication; rl != nil {
		vals[KeyReplicationP99] = ptr(rl.P99)
		vals[KeyReplicationFoundAtAll] = ptr(rl.VisibleAtRead)
		if rl.ReadAfterMs > 0 { // measured by a replication check: the bounds are known
			vals[KeyReplicationOnTime], vals[KeyReplicationLowBound] = ptr(rl.VisibleAtReadMin), ptr(rl.VisibleAtReadLow)
		}
	} else {
		for _, k := range []string{KeyReplicationP99, KeyReplicationOnTime, KeyReplicationLowBound, KeyReplicationFoundAtAll} {
			vals[k] = figure(r, k)
		}
	}
	for _, f := range r.Faults {
		for k, d := range map[string]*float64{KeyTimeToEffect: f.TimeToEffectS, KeyTimeToHeal: f.TimeToHealS} {
			if d != nil && (vals[k] == nil || *d > *vals[k]) {
				vals[k] = ptr(*d)
			}
		}
	}
	out := make([]KeyFigure, len(KeyFigureDefs))
	for i, d := range KeyFigureDefs {
		out[i] = KeyFigure{KeyFigureDef: d, Value: vals[d.Key]}
	}
	return out
}

// figure is the report's figure named k, else the first checker's figure of
// that name, else nil.
func figure(r *Report, k string) *float64 {
	if v, ok := r.Figures[k]; ok {
		return ptr(v)
	}
	for _, c := range r.LeafCheckers() {
		if v, ok := c.Figures[k]; ok {
			return ptr(v)
		}
	}
	return nil
}

// availabilityChecker is the result of the run's availability checker.
func availabilityChecker(r *Report) (history.Result, bool) {
	for _, c := range r.LeafCheckers() {
		if c.Checker == (&check.Availability{}).Name() {
			return c, true
		}
	}
	return history.Result{}, false
}

// ShedExcluded says whether the run's availability checker left shed
// requests out of the availability it judged (check.FigShedExcluded).
func ShedExcluded(r *Report) bool {
	c, _ := availabilityChecker(r)
	return c.Figures[check.FigShedExcluded] == 1
}

func (c *Counts) add(o Counts) {
	c.Requests += o.Requests
	c.OK += o.OK
	c.Fail += o.Fail
	c.Info += o.Info
	c.Shed += o.Shed
	c.Redirected += o.Redirected
	c.Proxied += o.Proxied
	c.CacheHits += o.CacheHits
	c.Reads += o.Reads
}

// Format prints a value of the figure's unit: "99.875%", "180.5 ms",
// "1.250 s", "97"; "-" when nil.
func (d KeyFigureDef) Format(v *float64) string {
	if v == nil {
		return "-"
	}
	return d.format(*v)
}

func (d KeyFigureDef) format(v float64) string {
	switch d.Unit {
	case UnitRatio:
		return fmt.Sprintf("%.3f%%", v*100)
	case UnitMs:
		return fmt.Sprintf("%.1f ms", v)
	case UnitSeconds:
		return fmt.Sprintf("%.3f s", v)
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.6g", v)
}

// FormatDelta prints a change of the figure's unit with its sign:
// "-0.125 pp" for a ratio (percentage points), "+12.0 ms", "+0.500 s".
func (d KeyFigureDef) FormatDelta(v float64) string {
	sign := "+"
	if v < 0 {
		sign, v = "-", -v
	}
	if d.Unit == UnitRatio {
		return fmt.Sprintf("%s%.3f pp", sign, v*100)
	}
	return sign + d.format(v)
}
