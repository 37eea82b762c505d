package workload

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kongchaos/kong/harness/history"
)

// Latency histograms of the workload hold microseconds, 1 µs to 1 h, three
// significant digits (as the checkers' histograms).
const (
	workloadHistMin  = 1
	workloadHistMax  = int64(time.Hour / time.Microsecond)
	workloadHistSigs = 3
)

// liveBucket is how finely Live's one-second window is sliced.
const liveBucket = 100 * time.Millisecond

type liveSlot struct {
	idx           int64 // unix time / liveBucket
	n, errs, shed uint64
}

type histKey struct{ phase, region string }

type workloadStats struct {
	lateThreshold time.Duration
	startAt       atomic.Pointer[time.Time] // nil until Start

	scheduled  atomic.Uint64
	dropped    atomic.Uint64
	started    atomic.Uint64
	late       atomic.Uint64
	maxLate    atomic.Int64
	inFlight   atomic.Int64
	abandoning atomic.Bool

	endMu sync.Mutex
	end   time.Time // when scheduling ended (zero while running)

	ok, fail, info, shed, redirected, proxied, failover, abandoned atomic.Uint64
	directorCalls, directorErrors, routeChanges                    atomic.Uint64

	liveMu sync.Mutex
	live   [32]liveSlot

	histMu sync.Mutex
	hists  map[histKey]*hdrhistogram.Histogram
}

func newWorkloadStats(late time.Duration) *workloadStats {
	return &workloadStats{lateThreshold: late, hists: map[histKey]*hdrhistogram.Histogram{}}
}

func (s *workloadStats) begin(t time.Time) { s.startAt.Store(&t) }

// start returns when the run started (zero before Start).
func (s *workloadStats) start() time.Time {
	if t := s.startAt.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

func (s *workloadStats) endScheduling(t time.Time, hits uint64) {
	s.endMu.Lock()
	s.end = t
	s.endMu.Unlock()
	s.scheduled.Store(hits)
}

func (s *workloadStats) ended() (time.Time, bool) {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	return s.end, !s.end.IsZero()
}

func (s *workloadStats) startedOp(lateness time.Duration) {
	s.started.Add(1)
	if lateness > s.lateThreshold {
		s.late.Add(1)
	}
	for {
		cur := s.maxLate.Load()
		if int64(lateness) <= cur || s.maxLate.CompareAndSwap(cur, int64(lateness)) {
			return
		}
	}
}

func (s *workloadStats) completed(op *history.Op) {
	switch op.Type {
	case history.OK:
		s.ok.Add(1)
	case history.Fail:
		s.fail.Add(1)
	default:
		s.info.Add(1)
	}
	if op.Shed {
		s.shed.Add(1)
	}
	if op.Redirected {
		s.redirected.Add(1)
	}
	if op.Proxied {
		s.proxied.Add(1)
	}
	if op.Failover {
		s.failover.Add(1)
	}
	if len(op.Error) >= 9 && op.Error[:9] == "abandoned" {
		s.abandoned.Add(1)
	}

	idx := op.Time.UnixNano() / int64(liveBucket)
	s.liveMu.Lock()
	sl := &s.live[idx%int64(len(s.live))]
	if sl.idx != idx {
		*sl = liveSlot{idx: idx}
	}
	sl.n++
	if op.Type != history.OK {
		sl.errs++
	}
	if op.Shed {
		sl.shed++
	}
	s.liveMu.Unlock()

	if op.Type != history.OK || op.Shed {
		return
	}
	region := op.Region
	if region == "" {
		region = op.Entry
	}
	if region == "" {
		region = "-"
	}
	us := op.Latency.Microseconds()
	us = min(max(us, workloadHistMin), workloadHistMax)
	k := histKey{op.Phase, region}
	s.histMu.Lock()
	h := s.hists[k]
	if h == nil {
		h = hdrhistogram.New(workloadHistMin, workloadHistMax, workloadHistSigs)
		s.hists[k] = h
	}
	_ = h.RecordValue(us)
	s.histMu.Unlock()
}

// LiveStats is a snapshot for a progress display.
type LiveStats struct {
	Elapsed time.Duration
	Phase   string
	// OpsPerSec counts operations completed in the last second (over the
	// time since the start when shorter). ErrorRate is the share of them
	// that did not complete ok (fail or info, shed included); ShedRate the
	// share that were shed.
	OpsPerSec float64
	ErrorRate float64
	ShedRate  float64
	// RequestedRate is the pacer's rate now.
	RequestedRate float64
	InFlight      int64
	Workers       int64
	Scheduled     uint64
	Started       uint64
	Completed     uint64
	Late          uint64
	MaxLateness   time.Duration
}

// String renders the snapshot on one line.
func (l LiveStats) String() string {
	return fmt.Sprintf("%6.1fs %-14s %7.1f ops/s (asked %.1f) err %5.1f%% shed %5.1f%% in-flight %d workers %d late %d (max %s)",
		l.Elapsed.Seconds(), l.Phase, l.OpsPerSec, l.RequestedRate, 100*l.ErrorRate, 100*l.ShedRate,
		l.InFlight, l.Workers, l.Late, l.MaxLateness.Round(time.Millisecond))
}

// Live returns a snapshot of the run so far. Safe for concurrent use.
func (w *Workload) Live() LiveStats {
	s := w.stats
	now := time.Now()
	l := LiveStats{Phase: w.Phase(), InFlight: s.inFlight.Load(), Workers: w.nwork.Load(),
		Scheduled: s.scheduled.Load(), Started: s.started.Load(), Late: s.late.Load(),
		MaxLateness: time.Duration(s.maxLate.Load())}
	l.Completed = s.ok.Load() + s.fail.Load() + s.info.Load()
	start := s.start()
	if start.IsZero() {
		return l
	}
	l.Elapsed = now.Sub(start)
	if _, ended := s.ended(); !ended {
		l.RequestedRate = w.cfg.Pacer.Rate(l.Elapsed)
	}
	// The last ten whole buckets, less any part before the start.
	cur := now.UnixNano() / int64(liveBucket)
	lo := cur - int64(time.Second/liveBucket)
	var n, errs, shed uint64
	s.liveMu.Lock()
	for i := range s.live {
		sl := &s.live[i]
		if sl.idx >= lo && sl.idx < cur {
			n += sl.n
			errs += sl.errs
			shed += sl.shed
		}
	}
	s.liveMu.Unlock()
	window := time.Duration(cur*int64(liveBucket)) - time.Duration(max(lo*int64(liveBucket), start.UnixNano()))
	if window > 0 {
		l.OpsPerSec = float64(n) / window.Seconds()
	}
	if n > 0 {
		l.ErrorRate = float64(errs) / float64(n)
		l.ShedRate = float64(shed) / float64(n)
	}
	return l
}

// Latency returns a copy of the latency histogram (µs, corrected for
// coordinated omission) of the operations invoked in phase that completed
// ok without being shed and were served by region (the serving region, else
// the entry region, else "-"); nil when there is none. Safe for concurrent
// use.
func (w *Workload) Latency(phase, region string) *hdrhistogram.Histogram {
	s := w.stats
	s.histMu.Lock()
	defer s.histMu.Unlock()
	h := s.hists[histKey{phase, region}]
	if h == nil {
		return nil
	}
	return hdrhistogram.Import(h.Export())
}

// Latencies returns copies of every latency histogram, by phase then region.
func (w *Workload) Latencies() map[string]map[string]*hdrhistogram.Histogram {
	s := w.stats
	s.histMu.Lock()
	defer s.histMu.Unlock()
	out := map[string]map[string]*hdrhistogram.Histogram{}
	for k, h := range s.hists {
		if out[k.phase] == nil {
			out[k.phase] = map[string]*hdrhistogram.Histogram{}
		}
		out[k.phase][k.region] = hdrhistogram.Import(h.Export())
	}
	return out
}

// Report tells whether the generator has kept the requested rate so far
// (or, after the run, over the run). Safe for concurrent use.
func (w *Workload) Report() history.GeneratorReport {
	s := w.stats
	r := history.GeneratorReport{Scheduled: s.scheduled.Load(), Started: s.started.Load(),
		Completed: s.ok.Load() + s.fail.Load() + s.info.Load(), Late: s.late.Load(),
		LateThreshold: s.lateThreshold, MaxLateness: time.Duration(s.maxLate.Load()),
		Dropped: s.dropped.Load(), PeakWorkers: w.nwork.Load(), MaxWorkers: w.cfg.MaxWorkers}
	start := s.start()
	if start.IsZero() {
		r.Reason = "not started"
		return r
	}
	end, ended := s.ended()
	if !ended {
		end = time.Now()
	}
	r.Elapsed = end.Sub(start)
	if w.cfg.Duration > 0 && r.Elapsed > w.cfg.Duration {
		r.Elapsed = w.cfg.Duration
	}
	if hp, ok := w.cfg.Pacer.(HitsPacer); ok {
		r.Requested = hp.Hits(r.Elapsed)
		if ended {
			// The scheduler issued every operation due before it stopped.
			r.Requested = math.Max(r.Requested, float64(r.Scheduled))
		}
	} else {
		r.Requested = float64(r.Scheduled)
	}
	if w.cfg.MaxOps > 0 {
		r.Requested = math.Min(r.Requested, float64(w.cfg.MaxOps))
	}
	if sec := r.Elapsed.Seconds(); sec > 0 {
		r.RequestedRate = r.Requested / sec
		r.AchievedRate = float64(r.Started) / sec
	}
	if ended {
		// Every operation due by the end that never started was dropped:
		// the one the scheduler held when the run stopped, and those it
		// never drew because it had fallen behind its pacer (the backlog
		// at stop). Read after the drain, when every operation drawn has
		// started.
		if due := uint64(math.Floor(r.Requested + 1e-9)); due > r.Started {
			r.Dropped = max(r.Dropped, due-r.Started)
		}
	}
	short := r.Requested - float64(r.Started)
	shortOK := short <= math.Max(2, w.cfg.RateTolerance*r.Requested)
	lateOK := float64(r.Late) <= w.cfg.LateTolerance*float64(r.Started)
	r.Kept, r.RateKept, r.LateTolerance = shortOK && lateOK, shortOK, w.cfg.LateTolerance
	verdict := "the generator kept the requested rate"
	if !r.Kept {
		verdict = "the generator was the bottleneck"
	}
	r.Reason = fmt.Sprintf("%s: started %d of %.0f requested operations in %s (%.1f/s achieved, %.1f/s requested); %d started more than %s late (max %s), workers %d of %d",
		verdict, r.Started, r.Requested, r.Elapsed.Round(time.Millisecond), r.AchievedRate, r.RequestedRate,
		r.Late, r.LateThreshold, r.MaxLateness.Round(time.Microsecond), r.PeakWorkers, r.MaxWorkers)
	return r
}

// Result sums up a finished run.
type Result struct {
	Generator history.GeneratorReport
	// Completions by type; Shed, Redirected, Proxied and Failover count
	// completions with that flag; Abandoned those cut at the drain deadline.
	Ops, OK, Fail, Info                 uint64
	Shed, Redirected, Proxied, Failover uint64
	Abandoned                           uint64
	DirectorCalls, DirectorErrors       uint64
	RouteChanges                        uint64
	// Latency holds the latency histograms (µs) by phase, then region, as
	// Workload.Latency.
	Latency map[string]map[string]*hdrhistogram.Histogram
}

// Phases lists the phases that have latency histograms, sorted.
func (r *Result) Phases() []string {
	out := make([]string, 0, len(r.Latency))
	for p := range r.Latency {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (s *workloadStats) result(w *Workload) *Result {
	r := &Result{Generator: w.Report(),
		OK: s.ok.Load(), Fail: s.fail.Load(), Info: s.info.Load(),
		Shed: s.shed.Load(), Redirected: s.redirected.Load(), Proxied: s.proxied.Load(), Failover: s.failover.Load(),
		Abandoned: s.abandoned.Load(), DirectorCalls: s.directorCalls.Load(), DirectorErrors: s.directorErrors.Load(),
		RouteChanges: s.routeChanges.Load(), Latency: w.Latencies()}
	r.Ops = r.OK + r.Fail + r.Info
	return r
}
