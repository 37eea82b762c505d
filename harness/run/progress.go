package run

import (
	"context"
	"sync"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
)

// Progress is what a running experiment tells a progress display: it is
// sent on every phase change, about once a second in between, once more
// when the run's context ends (the run is then healing its faults and
// writing what it knows), and a last time when the run is over.
type Progress struct {
	Scenario string
	// Phase is the phase the run is in (PhaseSteady ... PhaseVerify), or ""
	// before the first.
	Phase        string
	Started      time.Time
	PhaseStarted time.Time
	// Now is when this report was made; Left counts from it.
	Now time.Time
	// Plan is how long the timed phases last. The observe phase of a
	// PacedObserver (the replication check's writes) is planned from its
	// pace so far, so its Observe grows or shrinks as the run goes on.
	Plan PhasePlan
	// Work is a PacedObserver's pace in its observe phase (the replication
	// check's records written); zero otherwise. WorkRate is its units per
	// second over the last paceWindow (0 until it is measured).
	Work     Pace
	WorkRate float64
	// Live is the workload's traffic (zero before it starts; its rates fall
	// to zero after it stops).
	Live workload.LiveStats
	// Stopping is set once the run's context ended (Ctrl-C, timeout), or
	// the run stopped (an error, a stop condition) with faults still to
	// heal: it is then healing them and writing what it knows.
	Stopping bool
	// Done is set on the last report, with the run's Status.
	Done   bool
	Status history.Status
}

// PhasePlan is how long each timed phase lasts; inject, recover and verify
// take what they take and are not planned.
type PhasePlan struct {
	Steady, Observe, Converge time.Duration
}

// Total is the time of the timed phases together.
func (p PhasePlan) Total() time.Duration { return p.Steady + p.Observe + p.Converge }

// of returns how long a phase is planned to last (0 for untimed phases).
func (p PhasePlan) of(name string) time.Duration {
	for _, ph := range phases {
		if ph.name == name && ph.planned != nil {
			return ph.planned(p)
		}
	}
	return 0
}

// Left is how much of the planned time is still ahead at Now: the rest of
// the current timed phase and every later timed phase. Untimed phases count
// as nothing, so a run in verify has nothing left to plan.
func (p Progress) Left() time.Duration {
	if p.Done || p.Stopping {
		return 0
	}
	at := -1
	for i, ph := range phases {
		if ph.name == p.Phase {
			at = i
		}
	}
	if p.Phase != "" && at < 0 {
		return 0
	}
	var left time.Duration
	for _, ph := range phases[at+1:] {
		left += p.Plan.of(ph.name)
	}
	if at >= 0 {
		left += max(0, p.Plan.of(p.Phase)-p.Now.Sub(p.PhaseStarted))
	}
	return left
}

// PhaseNumber is the current phase's place among the phases (1 to 6; 0
// before the first) and how many there are.
func (p Progress) PhaseNumber() (int, int) {
	for i, ph := range phases {
		if ph.name == p.Phase {
			return i + 1, len(phases)
		}
	}
	return 0, len(phases)
}

// progressInterval is how often a run reports between phase changes.
var progressInterval = time.Second

// progressReporter sends a run's Progress to its listener and to a
// ReportingObserver; a nil one (nobody listens) does nothing. They are never
// called from two goroutines at once.
type progressReporter struct {
	fn     func(Progress)
	report func(Progress) // the Observer's, if it reports
	pace   func() Pace    // the Observer's, if it is paced
	paced  []paceSample   // the pace of the last paceWindow
	mu     sync.Mutex     // guards p, wl and the calls
	p      Progress
	wl     *workload.Workload
	quit   chan struct{}
	done   chan struct{}
}

// startProgress begins reporting the run's progress, if anyone listens.
func (e *Experiment) startProgress(ctx context.Context) *progressReporter {
	r := &progressReporter{fn: e.Progress, quit: make(chan struct{}), done: make(chan struct{})}
	if o, ok := e.Observer.(ReportingObserver); ok {
		r.report = o.Report
	}
	if o, ok := e.Observer.(PacedObserver); ok {
		r.pace = o.Pace
	}
	if r.fn == nil && r.report == nil {
		return nil
	}
	now := time.Now()
	r.p = Progress{
		Scenario: e.Name, Started: now, PhaseStarted: now,
		Plan: PhasePlan{Steady: e.Steady, Observe: e.Observe, Converge: e.Converge}}
	go r.loop(ctx)
	return r
}

func (r *progressReporter) loop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	stopping := ctx.Done()
	for {
		select {
		case <-r.quit:
			// A run interrupted just before it finished still says it
			// was stopping: select may have picked quit first.
			if stopping != nil && ctx.Err() != nil {
				r.send(func(p *Progress) { p.Stopping = true })
			}
			return
		case <-stopping:
			stopping = nil
			r.send(func(p *Progress) { p.Stopping = true })
		case <-tick.C:
			r.send(nil)
		}
	}
}

// send updates the snapshot with change and reports it.
func (r *progressReporter) send(change func(*Progress)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p.Done {
		return
	}
	if change != nil {
		change(&r.p)
	}
	r.p.Now = time.Now()
	if r.wl != nil {
		r.p.Live = r.wl.Live()
	}
	if r.pace != nil && r.p.Phase == history.PhaseObserve {
		// The work takes what it takes: plan what is left of it at its
		// recent rate (at the average rate until there is one).
		w := r.pace()
		r.paced = recentPace(append(r.paced, paceSample{r.p.Now, w.Done}), r.p.Now)
		r.p.Work, r.p.WorkRate = w, paceRate(r.paced)
		took := r.p.Now.Sub(r.p.PhaseStarted)
		r.p.Plan.Observe = projectedDuration(took, w.Done, w.Total)
		if r.p.WorkRate > 0 {
			r.p.Plan.Observe = took + time.Duration(float64(max(0, w.Total-w.Done))/r.p.WorkRate*float64(time.Second))
		}
	}
	if r.fn != nil {
		r.fn(r.p)
	}
	if r.report != nil && (change == nil || r.p.Done) {
		r.report(r.p)
	}
}

// phase reports a phase change.
func (r *progressReporter) phase(name string) {
	if r == nil {
		return
	}
	r.send(func(p *Progress) { p.Phase, p.PhaseStarted = name, time.Now() })
}

// stopping reports that the run stopped and is healing its faults.
func (r *progressReporter) stopping() {
	if r == nil {
		return
	}
	r.send(func(p *Progress) { p.Stopping = true })
}

// watch adds the workload's live statistics to the reports.
func (r *progressReporter) watch(wl *workload.Workload) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.wl = wl
	r.mu.Unlock()
}

// finish stops the periodic reports and sends the last one.
func (r *progressReporter) finish(out *Outcome) {
	if r == nil {
		return
	}
	close(r.quit)
	<-r.done
	status := history.StatusError
	if out != nil {
		status = out.Status
	}
	r.send(func(p *Progress) { p.Done, p.Status = true, status })
}

// paceWindow is how far back the rate of a PacedObserver's work is
// measured: long enough to smooth its bursts, short enough to follow a
// world that slows down as it fills.
const paceWindow = 10 * time.Second

// paceSample is how much work was done at a moment.
type paceSample struct {
	at   time.Time
	done int
}

// recentPace drops the samples older than paceWindow at now, keeping the
// newest of those as the window's start.
func recentPace(s []paceSample, now time.Time) []paceSample {
	i := 0
	for i+1 < len(s) && now.Sub(s[i+1].at) >= paceWindow {
		i++
	}
	return s[i:]
}

// paceRate is the units per second between the first and the last sample,
// or 0 when they are less than a second apart.
func paceRate(s []paceSample) float64 {
	if len(s) < 2 {
		return 0
	}
	first, last := s[0], s[len(s)-1]
	d := last.at.Sub(first.at).Seconds()
	if d < 1 {
		return 0
	}
	return float64(last.done-first.done) / d
}

// projectedDuration is how long a phase lasts in all at the pace so far:
// done of its total units took took (0 until a unit is done).
func projectedDuration(took time.Duration, done, total int) time.Duration {
	if done <= 0 || total <= 0 {
		return 0
	}
	return time.Duration(float64(took) * float64(max(total, done)) / float64(done))
}
