package run

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

// countingObserver is an Observer of our own: it counts units of work in
// observe, logs its steps, and records a note the checkers could judge.
type countingObserver struct {
	steps
	done    int
	total   int
	reports []Progress
	art     Artifacts
}

func (o *countingObserver) Start(_ context.Context, a Artifacts) error {
	o.art = a
	a.Log.Printf("counting %d units", o.total)
	return o.step("start")
}

func (o *countingObserver) Observe(ctx context.Context) error {
	for range o.total {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		o.mu.Lock()
		o.done++
		o.mu.Unlock()
	}
	return o.step("observe")
}

func (o *countingObserver) Converge(context.Context) error { return o.step("converge") }

func (o *countingObserver) Verify(context.Context) (map[string]float64, error) {
	o.art.History.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: "counted"})
	return map[string]float64{"counted": float64(o.done)}, o.step("verify")
}

func (o *countingObserver) Close() { _ = o.step("close") }

func (o *countingObserver) Pace() Pace {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Pace{Done: o.done, Total: o.total, What: "counted"}
}

func (o *countingObserver) Report(p Progress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reports = append(o.reports, p)
}

func (o *countingObserver) log() ([]string, []Progress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...), append([]Progress(nil), o.reports...)
}

// An Observer takes the observe and converge phases of the one runner; its
// figures reach run.json, held faults stay injected until the run ends, and
// the progress plans its observe phase from its pace.
func TestObserverRunsTheObserveAndConvergePhases(t *testing.T) {
	defer func(d time.Duration) { progressInterval = d }(progressInterval)
	progressInterval = 100 * time.Millisecond
	f := &recordingBreaker{name: "held"}
	e := testExperiment(t, f)
	e.Observe, e.Converge = time.Hour, time.Hour // the Observer's phases take what they take
	o := &countingObserver{total: 10}
	e.Observer, e.HoldFaults = o, true
	var l progressLog
	e.Progress = l.report
	out, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)

	steps, reports := o.log()
	require.Equal(t, []string{"start", "observe", "converge", "verify", "close"}, steps)
	require.Equal(t, []string{"setup", "inject", "wait-injected", "recover", "wait-recovered", "cleanup"}, f.log(), "a held fault is healed when the run ends")
	require.NotEmpty(t, reports, "the Observer hears how the run goes")
	require.True(t, reports[len(reports)-1].Done)

	planned := false
	for _, p := range l.all() {
		if p.Phase == history.PhaseObserve && p.Plan.Observe > 0 && p.Plan.Observe < time.Minute {
			planned = true
		}
	}
	require.True(t, planned, "the observe phase is planned from the Observer's pace")

	info := readRunInfo(t, e.Dir)
	require.Equal(t, 10.0, info.Figures["counted"])
	h, err := history.Load(filepath.Join(e.Dir, history.HistoryFile))
	require.NoError(t, err)
	var notes []string
	for _, ev := range h.Events {
		if ev.Kind == history.Note {
			notes = append(notes, ev.Name)
		}
	}
	require.Equal(t, []string{history.EventGenerator, "counted"}, notes, "the generator report when the traffic stopped, then the Observer's")
	requirePhaseLog(t, e.Dir, "counting 10 units", "phase "+history.PhaseObserve, "phase "+history.PhaseRecover,
		"faults held through the convergence", "phase "+history.PhaseConverge, "traffic stopped", "phase "+history.PhaseVerify,
		"heal held on", "outcome: passed")
}

// An Observer that fails to start ends the run in error, and is not closed.
func TestObserverThatCannotStartEndsTheRun(t *testing.T) {
	e := testExperiment(t, &recordingBreaker{name: "noop"})
	o := &countingObserver{total: 1, steps: steps{fail: "start"}}
	e.Observer = o
	_, err := e.Run(context.Background())
	require.ErrorContains(t, err, "start failed")
	steps, _ := o.log()
	require.Equal(t, []string{"start"}, steps)
	require.Equal(t, history.StatusError, readRunInfo(t, e.Dir).Status)
}

// Ctrl-C while the Observer observes aborts the run as interrupted.
func TestObserverInterruptedAborts(t *testing.T) {
	e := testExperiment(t, &recordingBreaker{name: "noop"})
	o := &countingObserver{total: 1000}
	e.Observer = o
	requireInterrupted(t, e)
	steps, _ := o.log()
	require.Equal(t, []string{"start", "close"}, steps)
}
