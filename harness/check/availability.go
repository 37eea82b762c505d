package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// Availability checks, for each region and phase, the share of completed
// user operations that succeeded against an SLO.
//
// An operation belongs to the region its user was sent to (Entry, else
// Home), not the region that finally served it, so a region whose users are
// failed over elsewhere is judged by what those users saw. Its phase is its
// recorded Phase, else the phase under way when it was invoked. Probes are
// not user operations and pending invokes (no completion) are not counted.
//
// availability = ok / (ok + fail + info). A shed response is a failure,
// unless AllowShed is set: then shed operations are left out of both sides
// (availability of the admitted traffic; the Shedding checker judges the
// shed ones).
//
// Besides one figure per judged (region, phase), the result says what was
// judged in one number: FigJudged is the availability of the pair that
// came nearest its SLO (or fell furthest below it), FigJudgedSLO that SLO,
// and FigShedExcluded is 1 when shed operations were left out (0 when they
// counted as failures). A pair whose SLO is 0 accepts anything (measured,
// not judged) and is not among them.
//
// The verdict is invalid if any (region, phase) with at least MinOps
// operations is below its SLO, else unknown if any (region, phase) has
// between 1 and MinOps-1 operations or there are none at all, else valid.
//
// Availability counts only the requests that were sent. When the history's
// generator report (history.EventGenerator) says the generator did not
// keep its schedule, requests it sent late may have met the system after a
// fault instead of during it, and requests still due at the stop were
// never sent: a verdict that would be valid is then unknown, with the
// generator's reason. An invalid verdict stays invalid (the failures it
// counts happened). An operation belongs to the phase of its intended time
// (see history.Index.PhaseOf).
type Availability struct {
	// SLO is the least acceptable availability, e.g. 0.999.
	SLO float64
	// PhaseSLO overrides SLO for the named phases (e.g. a looser SLO while a
	// region is being evacuated; 0 accepts anything).
	PhaseSLO map[string]float64
	// MinOps is the least number of operations for a (region, phase) to be
	// judged; fewer give unknown. When it is 0 (as scenarios build it), a
	// pair with fewer than DefaultMinOps operations is not judged at all
	// (see DefaultMinOps) instead.
	MinOps int
	// AllowShed leaves shed responses out instead of counting them failed.
	AllowShed bool
	// Degraded names the region the scenario's fault degrades or
	// evacuates, if one: the availability its users saw (by their home
	// region, wherever the director sent them), counted like the pairs', is
	// recorded per judged phase as "degraded.<phase>" and at its lowest as
	// FigDegraded. It is reported, not judged on its own: those users are
	// judged in the pairs of the regions they were sent to.
	Degraded string
}

// DefaultMinOps is the least number of operations of a (region, phase)
// that an Availability with no MinOps judges; a pair with fewer is listed as
// not judged and counts for nothing.
//
// Why not judged rather than unknown: such a pair is a near-empty phase
// that the scenario made so (the recover phase after an interval fault
// lasts a fraction of a second), not evidence that went missing, and an
// unknown verdict would fail the run as surely as an invalid one. Why a
// floor at all: at an SLO of 99.9 % a single failure among fewer than 1000
// operations breaks it, and among a handful that failure is the one request
// in flight as the fault healed, not a measure of the phase. Twenty
// operations is about half a second of a scenario's traffic.
const DefaultMinOps = 20

// NewAvailability returns an Availability checker with the given SLO and a
// MinOps of 100.
func NewAvailability(slo float64) *Availability {
	return &Availability{SLO: slo, MinOps: 100}
}

// Name implements Checker.
func (a *Availability) Name() string { return "availability" }

func init() {
	Register(Entry{Description: "in every phase, at least 99% of each region's user operations succeed",
		New: func() Checker { return NewAvailability(0.99) }})
}

// Figures of an Availability result that say what was judged: see
// Availability.
const (
	FigJudged       = "judged"
	FigJudgedSLO    = "judged_slo"
	FigShedExcluded = "shed_excluded"
	FigDegraded     = "degraded_min"
)

type availCount struct{ ok, total, shed int }

// Check implements Checker.
func (a *Availability) Check(x *history.Index) history.Result {
	counts := history.NewRegionPhases[availCount](x, nil)
	degraded := map[string]*availCount{} // phase -> the Degraded region's users
	shed := 0
	for _, o := range x.Operations {
		if !o.Completed() || o.IsProbe() {
			continue
		}
		c := counts.At(o.UserRegion(), x.PhaseOf(o))
		if o.Shed() {
			shed++
		}
		a.count(c, o)
		if a.Degraded != "" && o.Home() == a.Degraded {
			d := degraded[x.PhaseOf(o)]
			if d == nil {
				d = &availCount{}
				degraded[x.PhaseOf(o)] = d
			}
			a.count(d, o)
		}
	}

	r := history.Result{Checker: a.Name(), Valid: history.VerdictValid, Figures: map[string]float64{"shed": float64(shed)}}
	r.Figures[FigShedExcluded] = 0
	if a.AllowShed {
		r.Figures[FigShedExcluded] = 1
	}
	if counts.Len() == 0 {
		r.Valid = history.VerdictUnknown
		r.Reason = "no completed user operations"
		return r
	}
	a.degradedFigures(r.Figures, degraded)
	var bad, thin, unjudged []string
	for k, c := range counts.All() {
		slo := a.slo(k.Phase)
		where := fmt.Sprintf("region %s phase %s", label(k.Region), label(k.Phase))
		if a.MinOps == 0 && c.total < DefaultMinOps {
			unjudged = append(unjudged, fmt.Sprintf("%s not judged: %d operations (%d ok) < %d", where, c.total, c.ok, DefaultMinOps))
			continue
		}
		if c.total == 0 || c.total < a.MinOps {
			thin = append(thin, fmt.Sprintf("%s: %d operations < %d", where, c.total, a.MinOps))
			continue
		}
		av := float64(c.ok) / float64(c.total)
		r.Figures[figureName("availability", k.Region, k.Phase)] = av
		line := fmt.Sprintf("%s: availability %.4f (%d/%d ok) SLO %.4f", where, av, c.ok, c.total, slo)
		if c.shed > 0 {
			line += fmt.Sprintf(", %d shed", c.shed)
		}
		if av < slo {
			bad = append(bad, line)
		}
		if j, ok := r.Figures[FigJudged]; slo > 0 && (!ok || av-slo < j-r.Figures[FigJudgedSLO]) {
			r.Figures[FigJudged], r.Figures[FigJudgedSLO] = av, slo
		}
		r.Details = append(r.Details, line)
	}
	gen, genFound, genErr := x.History.Generator()
	if genFound && genErr == nil {
		r.Figures["generator_kept"] = 0
		if gen.Kept {
			r.Figures["generator_kept"] = 1
		}
		r.Figures["generator_dropped"] = float64(gen.Dropped)
	}
	switch {
	case len(bad) > 0:
		r.Valid = history.VerdictInvalid
		r.Reason = "below SLO: " + strings.Join(firstN(bad, 3), "; ")
		r.Details = capDetails(append(append(bad, thin...), unjudged...), maxDetails)
	case len(unjudged) == counts.Len():
		r.Valid = history.VerdictUnknown
		r.Reason = "too few operations to judge any region and phase: " + strings.Join(firstN(unjudged, 3), "; ")
		r.Details = capDetails(unjudged, maxDetails)
	case len(thin) > 0:
		r.Valid = history.VerdictUnknown
		r.Reason = "too few operations: " + strings.Join(firstN(thin, 3), "; ")
		r.Details = capDetails(append(thin, r.Details...), maxDetails)
	default:
		r.Reason = fmt.Sprintf("all %d region/phase pairs at or above SLO", counts.Len()-len(unjudged))
		if len(unjudged) > 0 {
			r.Reason += fmt.Sprintf(" (%d with fewer than %d operations not judged)", len(unjudged), DefaultMinOps)
		}
		r.Details = capDetails(append(r.Details, unjudged...), maxDetails)
	}
	switch {
	case genErr != nil:
		r.Details = append(r.Details, genErr.Error())
	case genFound && !gen.Kept && gen.RateKept && lateOutsideFaults(x.History, gen, &r):
		// Late, but not while anything was broken: nothing was missed.
	case genFound && !gen.Kept:
		why := fmt.Sprintf("the load generator did not keep its schedule, so availability counts only what it sent "+
			"(requests it sent late may have missed a fault; %d due at the stop were never sent): %s", gen.Dropped, gen.Reason)
		if r.Valid == history.VerdictValid {
			r.Valid = history.VerdictUnknown
			r.Reason = why + "; measured: " + r.Reason
		} else {
			r.Details = append([]string{why}, r.Details...)
		}
	}
	return r
}

// lateOutsideFaults says whether the requests a generator that kept its
// rate sent late could not have missed a fault: of the requests due while
// the world was disturbed (from the first fault injected or traffic
// shifted to the last healed or shifted, to the end when a fault was never
// healed), at most the generator's tolerance started late. Then it notes
// the lateness in r's details and the verdict stands: a late request's
// latency counts from its due time.
func lateOutsideFaults(h *history.History, gen history.GeneratorReport, r *history.Result) bool {
	from, to, disturbed := disturbedSpan(h)
	due, late := 0, 0
	for _, o := range h.Ops {
		if o.Type != history.Invoke || o.Due.IsZero() {
			continue
		}
		if !disturbed || o.Due.Before(from) || (!to.IsZero() && o.Due.After(to)) {
			continue
		}
		due++
		if o.Time.Sub(o.Due) > gen.LateThreshold {
			late++
		}
	}
	if float64(late) > gen.LateTolerance*float64(due) {
		return false
	}
	where := "no fault was injected and no traffic shifted"
	if disturbed {
		where = fmt.Sprintf("%d of the %d requests due while the world was disturbed (faults, traffic shifts) were late", late, due)
	}
	r.Details = append(r.Details, fmt.Sprintf("the load generator sent %d requests more than %s late, but %s: none can have missed a fault, "+
		"and each one's latency counts from when it was due (%s)", gen.Late, gen.LateThreshold, where, gen.Reason))
	return true
}

// disturbedSpan is the span during which the world was disturbed: from the
// first fault injected or traffic shift to the last fault recovered or
// healed or traffic shift (to is zero, open, when a fault injected was
// never recovered). ok is false when nothing disturbed it.
func disturbedSpan(h *history.History) (from, to time.Time, ok bool) {
	open := map[string]int{}
	for _, e := range h.Events {
		switch e.Kind {
		case history.FaultInject, history.TrafficShift:
			if !ok || e.Time.Before(from) {
				from = e.Time
			}
			ok = true
			if e.Kind == history.FaultInject {
				open[e.Name]++
			}
		}
		switch e.Kind {
		case history.FaultRecover, history.FaultHealed, history.TrafficShift:
			if e.Time.After(to) {
				to = e.Time
			}
			if e.Kind != history.TrafficShift && open[e.Name] > 0 {
				open[e.Name] = 0
			}
		}
	}
	for _, n := range open {
		if n > 0 {
			return from, time.Time{}, ok
		}
	}
	return from, to, ok
}

// count adds a completed user operation to c.
func (a *Availability) count(c *availCount, o history.Operation) {
	if o.Shed() {
		c.shed++
		if a.AllowShed {
			return
		}
	}
	c.total++
	if o.IsOK() && !o.Shed() {
		c.ok++
	}
}

// slo is the SLO of a phase.
func (a *Availability) slo(phase string) float64 {
	if s, ok := a.PhaseSLO[phase]; ok {
		return s
	}
	return a.SLO
}

// degradedFigures records the availability of the Degraded region's users
// in each judged phase (SLO above 0) with enough operations, and the
// lowest of them.
func (a *Availability) degradedFigures(figs map[string]float64, byPhase map[string]*availCount) {
	least := a.MinOps
	if least == 0 {
		least = DefaultMinOps
	}
	for phase, c := range byPhase {
		if a.slo(phase) <= 0 || c.total == 0 || c.total < least {
			continue
		}
		av := float64(c.ok) / float64(c.total)
		figs[figureName("degraded", phase)] = av
		if m, ok := figs[FigDegraded]; !ok || av < m {
			figs[FigDegraded] = av
		}
	}
}

// firstN returns at most n leading elements, noting how many more there are.
func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	out := append([]string(nil), s[:n]...)
	return append(out, fmt.Sprintf("and %d more", len(s)-n))
}
