package reports

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// maxSeriesSeconds bounds the per-second series (a day); operations later
// than that are left out of the series (not of the figures), with a note.
const maxSeriesSeconds = 24 * 60 * 60

// Build reads a run's artifacts directory (history.jsonl, run.json and, if
// present, replication.json) and computes its report. What is missing or
// unreadable is noted in the report rather than failing it; Build fails
// only when dir is not a directory or holds neither run.json nor
// history.jsonl.
func Build(dir string) (*Report, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("report: %s is not a directory", dir)
	}
	b := &builder{r: newReport()}

	ri, riErr := history.LoadRunInfo(dir)
	switch {
	case riErr == nil:
	case errors.Is(riErr, fs.ErrNotExist):
		b.note("run.json is missing: no run metadata and no checker results")
	default:
		b.note("run.json could not be read (%v): no run metadata and no checker results", riErr)
		ri = history.RunInfo{}
	}
	h, hr, hErr := history.LoadLenient(filepath.Join(dir, history.HistoryFile))
	switch {
	case hErr == nil:
		b.r.History.Present = true
	case errors.Is(hErr, fs.ErrNotExist):
		b.note("history.jsonl is missing: no operations or timeline")
		h = &history.History{}
	default:
		b.note("history.jsonl could not be read (%v): no operations or timeline", hErr)
		h = &history.History{}
	}
	if errors.Is(riErr, fs.ErrNotExist) && errors.Is(hErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("report: %s has neither %s nor %s: not a run's artifacts directory", dir, history.RunInfoFile, history.HistoryFile)
	}
	if hr.Truncated {
		b.note("history.jsonl ends with a truncated line (the run was killed while writing); it was skipped")
	}
	if hr.BadLines > 0 {
		b.note("history.jsonl: %d unreadable lines skipped (first: %s)", hr.BadLines, hr.FirstBad)
	}
	b.r.History.BadLines, b.r.History.Truncated = hr.BadLines, hr.Truncated

	b.run(ri, h)
	b.timeline(h)
	b.operations(h)
	b.runFigures(ri.Figures)
	b.replication(dir)
	return b.r, nil
}

func newReport() *Report {
	return &Report{
		Schema:       SchemaVersion,
		Checkers:     []history.Result{},
		Phases:       []history.PhaseWindow{},
		Faults:       []Fault{},
		Traffic:      []history.Event{},
		Events:       []history.Event{},
		Series:       Series{StepS: 1, Regions: []RegionSeries{}, Global: []GlobalPoint{}},
		PhaseFigures: []PhaseFigures{},
		Figures:      map[string]float64{},
		Notes:        []string{},
	}
}

type builder struct{ r *Report }

func (b *builder) note(format string, args ...any) {
	b.r.Notes = append(b.r.Notes, fmt.Sprintf(format, args...))
}

// run fills run info, checkers, verdict, status, reason and the run's
// bounds.
func (b *builder) run(ri history.RunInfo, h *history.History) {
	ri.Started, ri.Finished = utc(ri.Started), utc(ri.Finished)
	if len(ri.Figures) == 0 {
		ri.Figures = nil
	}
	b.r.Checkers = append(b.r.Checkers, b.normResults(ri.Checkers)...)
	ri.Checkers = nil
	b.r.Run = ri
	b.verdict()
	b.status(ri, h.EventsOf(history.Abort))
	b.bounds(ri, h)
}

// verdict is the worst of the checkers' verdicts, unknown without any.
func (b *builder) verdict() {
	r := b.r
	r.Verdict = history.VerdictValid
	for _, c := range r.Checkers {
		r.Verdict = history.Worst(r.Verdict, c.Valid)
	}
	for _, c := range r.LeafCheckers() {
		r.Verdict = history.Worst(r.Verdict, c.Valid)
	}
	if len(r.Checkers) == 0 {
		r.Verdict = history.VerdictUnknown
		b.note("no checker results were recorded: the run stopped before its checkers ran, or its runner did not write them")
	}
}

// status is run.json's, else derived from the aborts and the verdict; the
// reason is run.json's, else derived likewise.
func (b *builder) status(ri history.RunInfo, aborts []history.Event) {
	r := b.r
	r.Status = ri.Status
	if !r.Status.Known() {
		switch {
		case len(aborts) > 0:
			r.Status = history.StatusAborted
		case len(r.Checkers) > 0 && r.Verdict == history.VerdictValid:
			r.Status = history.StatusPassed
		case len(r.Checkers) > 0:
			r.Status = history.StatusFailed
		default:
			r.Status = history.StatusError
		}
		if ri.Status == "" {
			b.note("no status was recorded; taken as %s", r.Status)
		} else {
			b.note("unknown status %q; taken as %s", ri.Status, r.Status)
		}
	}
	r.Reason = ri.Reason
	if r.Reason == "" && r.Status != history.StatusPassed {
		var bad []string
		for _, c := range r.LeafCheckers() {
			if c.Valid != history.VerdictValid {
				bad = append(bad, fmt.Sprintf("%s: %s", c.Checker, c.Valid))
			}
		}
		switch {
		case len(aborts) > 0:
			r.Reason = "aborted: " + abortReason(aborts[len(aborts)-1])
		case len(bad) > 0:
			r.Reason = "checkers not valid: " + strings.Join(bad, "; ")
		case len(r.Checkers) == 0:
			r.Reason = "no reason was recorded, and no checker results"
		default:
			r.Reason = "no reason was recorded"
		}
	}
}

// bounds are run.json's start and finish, widened to the history's records.
func (b *builder) bounds(ri history.RunInfo, h *history.History) {
	r := b.r
	var first, last time.Time
	widen := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for i := range h.Ops {
		widen(h.Ops[i].Time)
	}
	for i := range h.Events {
		widen(h.Events[i].Time)
	}
	r.Start, r.End = ri.Started, ri.Finished
	if r.Start.IsZero() || (!first.IsZero() && first.Before(r.Start)) {
		r.Start = first
	}
	if r.End.IsZero() || last.After(r.End) {
		r.End = last
	}
	if r.Start.IsZero() {
		r.Start = r.End
	}
	if r.End.Before(r.Start) {
		r.End = r.Start
	}
	if ri.Finished.IsZero() && !r.End.IsZero() {
		b.note("no finish time was recorded; the run is taken to end at its last history record")
	}
	r.DurationS = r.End.Sub(r.Start).Seconds()
}

func abortReason(e history.Event) string {
	s := e.Name
	if why := e.Detail["reason"]; why != "" {
		s = why
	}
	if e.Target != "" {
		s += " (" + e.Target + ")"
	}
	return s
}

// normResults copies checker results, with a missing verdict read as
// unknown and empty collections as absent (so report.json reads back
// equal).
func (b *builder) normResults(rs []history.Result) []history.Result {
	if len(rs) == 0 {
		return nil
	}
	out := make([]history.Result, len(rs))
	for i, c := range rs {
		if c.Valid == "" {
			c.Valid = history.VerdictUnknown
			b.note("checker %s has no verdict; taken as unknown", c.Checker)
		}
		if len(c.Figures) == 0 {
			c.Figures = nil
		} else {
			c.Figures = maps.Clone(c.Figures)
		}
		if len(c.Details) == 0 {
			c.Details = nil
		} else {
			c.Details = slices.Clone(c.Details)
		}
		c.Children = b.normResults(c.Children)
		out[i] = c
	}
	return out
}

// timeline fills phases, faults, traffic changes and other events.
func (b *builder) timeline(h *history.History) {
	r := b.r
	for _, w := range h.Phases() {
		if w.End.IsZero() {
			w.End = r.End
		}
		r.Phases = append(r.Phases, w)
	}

	type key struct{ name, target string }
	open := map[key][]int{} // each fault's injections, in r.Faults
	for _, e := range h.EventsOf(faultStages...) {
		k, s := key{e.Name, e.Target}, slices.Index(faultStages, e.Kind)
		idx := -1
		if s > 0 {
			// The earliest injection still waiting for this stage and no
			// later one.
			for _, i := range open[k] {
				if r.Faults[i].awaits(s) {
					idx = i
					break
				}
			}
			// A repeated stage of the latest injection (no later stage seen
			// yet), as when a failed recovery is tried again: the first time
			// is kept.
			if n := len(open[k]); idx < 0 && n > 0 {
				if latest := &r.Faults[open[k][n-1]]; *latest.stage(s) != nil && latest.awaits(s+1) {
					continue
				}
			}
		}
		if idx < 0 {
			idx = len(r.Faults)
			r.Faults = append(r.Faults, Fault{Name: e.Name, Target: e.Target})
			open[k] = append(open[k], idx)
		}
		f := &r.Faults[idx]
		t := e.Time
		*f.stage(s) = &t
		for dk, dv := range e.Detail {
			if _, ok := f.Detail[dk]; !ok {
				if f.Detail == nil {
					f.Detail = map[string]string{}
				}
				f.Detail[dk] = dv
			}
		}
	}
	for i := range r.Faults {
		f := &r.Faults[i]
		f.TimeToEffectS = delay(f.Inject, f.Injected)
		f.TimeToHealS = delay(f.Recover, f.Recovered)
		if f.Inject == nil {
			b.note("fault %s on %s: its injection is not in the history", Label(f.Name), Label(f.Target))
		}
	}

	for _, e := range h.EventsOf(history.TrafficShift) {
		r.Traffic = append(r.Traffic, copyEvent(e))
	}
	for _, e := range h.EventsOf(history.Abort, history.Note) {
		r.Events = append(r.Events, copyEvent(e))
	}
}

// faultStages are the events of a fault's lifecycle, in order: the stages
// of a Fault.
var faultStages = []history.EventKind{history.FaultInject, history.FaultEffect, history.FaultRecover, history.FaultHealed}

// stage is the instant of f's stage s (an index in faultStages).
func (f *Fault) stage(s int) **time.Time {
	return [...]**time.Time{&f.Inject, &f.Injected, &f.Recover, &f.Recovered}[s]
}

// awaits reports whether f has seen neither stage s nor any after it.
func (f *Fault) awaits(s int) bool {
	for ; s < len(faultStages); s++ {
		if *f.stage(s) != nil {
			return false
		}
	}
	return true
}

func delay(from, to *time.Time) *float64 {
	if from == nil || to == nil {
		return nil
	}
	v := to.Sub(*from).Seconds()
	return &v
}

// copyEvent copies a history event into the report, with its own detail map.
func copyEvent(e history.Event) history.Event {
	if len(e.Detail) > 0 {
		e.Detail = maps.Clone(e.Detail)
	} else {
		e.Detail = nil
	}
	return e
}

// acc accumulates counts and ok latencies.
type acc struct {
	Counts
	lat []time.Duration
}

func (a *acc) add(o history.Operation) {
	c := &a.Counts
	c.Requests++
	switch o.Type() {
	case history.OK:
		c.OK++
	case history.Fail:
		c.Fail++
	default:
		c.Info++
	}
	if o.Shed() {
		c.Shed++
	}
	if o.Redirected() {
		c.Redirected++
	}
	if o.Proxied() {
		c.Proxied++
	}
	if o.CacheHit() {
		c.CacheHits++
	}
	if o.IsUserRead() {
		c.Reads++
	}
	if o.IsOK() && !o.Shed() {
		a.lat = append(a.lat, o.Latency())
	}
}

// quantiles returns the nearest-rank percentiles ps (0-100) of the
// latencies in milliseconds, or nil when there are none.
func (a *acc) quantiles(ps ...float64) []float64 {
	if a == nil || len(a.lat) == 0 {
		return nil
	}
	slices.Sort(a.lat)
	out := make([]float64, len(ps))
	for i, p := range ps {
		k := int(math.Ceil(p/100*float64(len(a.lat)))) - 1
		k = max(0, min(k, len(a.lat)-1))
		out[i] = ms(a.lat[k])
	}
	return out
}

// figures are the key figures of a's operations.
func (a *acc) figures() GroupFigures {
	f := GroupFigures{Counts: a.Counts, Availability: a.Availability()}
	if q := a.quantiles(50, 99); q != nil {
		f.P50Ms, f.P99Ms = &q[0], &q[1]
	}
	return f
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ptr(v float64) *float64 { return &v }

// operations fills the history stats, the per-second series and the
// figures of each phase, from one pass over the operations.
func (b *builder) operations(h *history.History) {
	x := history.NewIndex(h)
	st := &b.r.History
	st.Ops, st.Events = len(h.Ops), len(h.Events)
	st.Operations, st.Pending, st.Orphans = len(x.Operations), x.Pending, x.Orphans
	t := b.tally(x)
	b.series(t)
	b.phaseFigures(t)
}

// tally is what one pass over the operations counts: the completed user
// operations, all of them, by phase, by region and phase, and by region and
// second of the series.
type tally struct {
	seconds  int
	all      acc
	perPhase map[string]*acc
	perRP    *history.RegionPhases[acc]
	perSec   map[regionSec]*acc
}

type regionSec struct {
	region string
	sec    int
}

// accAt returns m's accumulator for k, made on first use.
func accAt[K comparable](m map[K]*acc, k K) *acc {
	a := m[k]
	if a == nil {
		a = &acc{}
		m[k] = a
	}
	return a
}

// tally counts the completed user operations, each in the region it
// entered (else the one that served it) and its phase, and the history
// stats' completions and probes.
func (b *builder) tally(x *history.Index) *tally {
	r, st := b.r, &b.r.History
	t := &tally{seconds: b.seriesSeconds(), perPhase: map[string]*acc{},
		perRP: history.NewRegionPhases[acc](x, nil), perSec: map[regionSec]*acc{}}
	outside, untimed := 0, 0
	for _, o := range x.Operations {
		if o.Completed() {
			st.Completed++
		}
		if o.IsProbe() {
			st.Probes++
			continue
		}
		if !o.Completed() {
			continue
		}
		region := o.Entry()
		if region == "" {
			region = o.Region()
		}
		region = Label(region)
		phase := x.PhaseOf(o)
		t.all.add(o)
		accAt(t.perPhase, phase).add(o)
		t.perRP.At(region, phase).add(o)

		done := o.CompleteTime()
		if done.IsZero() {
			untimed++
			continue
		}
		sec := int(done.Sub(r.Start) / time.Second)
		if sec < 0 || sec >= t.seconds {
			outside++
			continue
		}
		accAt(t.perSec, regionSec{region, sec}).add(o)
	}
	if untimed > 0 {
		b.note("%d operations have no completion time and are left out of the series", untimed)
	}
	if outside > 0 {
		b.note("%d operations completed outside the series and are left out of it", outside)
	}
	if st.Present && t.all.Requests == 0 {
		b.note("the history holds no completed user operations")
	}
	return t
}

// seriesSeconds is the length of the per-second series: the run's, at most
// maxSeriesSeconds.
func (b *builder) seriesSeconds() int {
	r := b.r
	if r.Start.IsZero() {
		return 0
	}
	seconds := int(r.End.Sub(r.Start)/time.Second) + 1
	if seconds > maxSeriesSeconds {
		b.note("the run lasted %s: the per-second series stop after %d s", r.End.Sub(r.Start).Round(time.Second), maxSeriesSeconds)
		seconds = maxSeriesSeconds
	}
	return seconds
}

// series fills the per-second series of each region and of all regions.
func (b *builder) series(t *tally) {
	r := b.r
	r.Series.Start, r.Series.Seconds = r.Start, t.seconds
	global := make([]GlobalPoint, t.seconds)
	for i := range global {
		global[i].T = i
	}
	for _, reg := range t.perRP.Regions() {
		rs := RegionSeries{Region: reg, Points: make([]Point, t.seconds)}
		for i := range rs.Points {
			p := Point{T: i}
			if a := t.perSec[regionSec{reg, i}]; a != nil {
				p.Counts = a.Counts
				if q := a.quantiles(50, 99); q != nil {
					p.P50Ms, p.P99Ms = q[0], q[1]
				}
				global[i].Requests += a.Requests
				global[i].OK += a.OK
			}
			rs.Points[i] = p
		}
		r.Series.Regions = append(r.Series.Regions, rs)
	}
	for i := range global {
		if global[i].Requests > 0 {
			global[i].SuccessRate = ptr(float64(global[i].OK) / float64(global[i].Requests))
		}
	}
	r.Series.Global = global
}

// phaseFigures fills the key figures of each phase (timeline order, then
// phases only operations name), all regions and per region, and the run's.
func (b *builder) phaseFigures(t *tally) {
	r := b.r
	regions := t.perRP.Regions()
	for _, name := range t.perRP.Phases() {
		a := accAt(t.perPhase, name)
		pf := PhaseFigures{Phase: Label(name), GroupFigures: a.figures(), Regions: []RegionFigures{}}
		if p99 := pf.P99Ms; p99 != nil {
			r.Figures["latency_p99_ms."+pf.Phase] = *p99
		}
		for _, reg := range regions {
			ra := t.perRP.Get(reg, name)
			if ra == nil {
				continue
			}
			rf := RegionFigures{Region: reg, GroupFigures: ra.figures()}
			if av := rf.Availability; av != nil {
				r.Figures["availability."+reg+"."+pf.Phase] = *av
			}
			pf.Regions = append(pf.Regions, rf)
		}
		r.PhaseFigures = append(r.PhaseFigures, pf)
	}
	r.Figures["requests"] = float64(t.all.Requests)
	r.Figures["shed"] = float64(t.all.Shed)
	if av := t.all.Availability(); av != nil {
		r.Figures["availability"] = *av
	}
}

// runFigures copies run.json's figures through; computed ones win.
func (b *builder) runFigures(f map[string]float64) {
	names := slices.Sorted(maps.Keys(f))
	for _, k := range names {
		v := f[k]
		if _, dup := b.r.Figures[k]; dup {
			b.note("run figure %s is also computed from the history; the computed value is kept", k)
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue // cannot come from JSON; guards hand-made reports
		}
		b.r.Figures[k] = v
	}
}

// replication reads replication.json, the replication check's summary: the
// one source of the report's replication section (a run without it may
// still carry the lag p99 as a run figure, which the key figures read).
func (b *builder) replication(dir string) {
	rl, err := history.LoadReplication(dir)
	switch {
	case err == nil:
		if len(rl.Histogram) == 0 {
			rl.Histogram = nil
		}
		b.r.Replication = rl
		return
	case !errors.Is(err, fs.ErrNotExist):
		b.note("replication.json could not be read (%v)", err)
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Label renders an empty name as "-", as the harness does in figure names.
func Label(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
