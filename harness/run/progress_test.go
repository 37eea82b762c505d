package run

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

func TestProgressLeftCountsTheRestOfThePlan(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	plan := PhasePlan{Steady: 30 * time.Second, Observe: 2 * time.Minute, Converge: time.Minute}
	at := func(phase string, inPhase time.Duration) Progress {
		return Progress{Phase: phase, PhaseStarted: t0, Now: t0.Add(inPhase), Plan: plan}
	}
	for _, c := range []struct {
		name string
		p    Progress
		want time.Duration
	}{
		{"before the first phase", Progress{Plan: plan, Now: t0}, 3*time.Minute + 30*time.Second},
		{"10 s into steady state", at(history.PhaseSteady, 10*time.Second), 20*time.Second + 3*time.Minute},
		{"inject takes what it takes", at(history.PhaseInject, time.Hour), 3 * time.Minute},
		{"half of observe", at(history.PhaseObserve, time.Minute), 2 * time.Minute},
		{"observe overran", at(history.PhaseObserve, 5*time.Minute), time.Minute},
		{"recover", at(history.PhaseRecover, 0), time.Minute},
		{"converge", at(history.PhaseConverge, 15*time.Second), 45 * time.Second},
		{"verify has no plan", at(history.PhaseVerify, 0), 0},
		{"unknown phase", at("warm-up", 0), 0},
		{"stopping", Progress{Phase: history.PhaseSteady, PhaseStarted: t0, Now: t0, Plan: plan, Stopping: true}, 0},
		{"done", Progress{Phase: history.PhaseSteady, PhaseStarted: t0, Now: t0, Plan: plan, Done: true}, 0},
	} {
		require.Equal(t, c.want, c.p.Left(), c.name)
	}
	require.Equal(t, 3*time.Minute+30*time.Second, plan.Total())
	n, of := at(history.PhaseObserve, 0).PhaseNumber()
	require.Equal(t, []int{3, 6}, []int{n, of})
}

// progressLog collects what a run reports.
type progressLog struct {
	mu      sync.Mutex
	got     []Progress
	calling bool
	overlap bool
}

func (l *progressLog) report(p Progress) {
	l.mu.Lock()
	if l.calling {
		l.overlap = true
	}
	l.calling = true
	l.got = append(l.got, p)
	l.mu.Unlock()
	time.Sleep(time.Millisecond)
	l.mu.Lock()
	l.calling = false
	l.mu.Unlock()
}

func (l *progressLog) all() []Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Progress(nil), l.got...)
}

func TestExperimentReportsProgress(t *testing.T) {
	defer func(d time.Duration) { progressInterval = d }(progressInterval)
	progressInterval = 100 * time.Millisecond
	var l progressLog
	e := testExperiment(t, &recordingBreaker{name: "noop"})
	e.Progress = l.report
	out, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)

	got := l.all()
	require.False(t, l.overlap, "the listener was called from two goroutines at once")
	require.NotEmpty(t, got)
	last := got[len(got)-1]
	require.True(t, last.Done, "the last report says the run is over")
	require.Equal(t, history.StatusPassed, last.Status)
	require.Equal(t, "test", last.Scenario)
	require.Equal(t, 3*time.Second, last.Plan.Total())

	var phases []string
	sawTraffic := false
	for _, p := range got[:len(got)-1] {
		require.False(t, p.Done, "only the last report is done")
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		if p.Phase == history.PhaseObserve && p.Live.OpsPerSec > 0 {
			sawTraffic = true
		}
	}
	require.Equal(t, []string{history.PhaseSteady, history.PhaseInject, history.PhaseObserve, history.PhaseRecover, history.PhaseConverge, history.PhaseVerify}, phases)
	require.True(t, sawTraffic, "reports during observe carry the live request rate")
	// The planned time left shrinks as the run goes on.
	require.Greater(t, got[0].Left(), 2*time.Second)
	require.Zero(t, last.Left())
}

func TestInterruptedRunReportsStoppingThenDone(t *testing.T) {
	var l progressLog
	e := testExperiment(t, &recordingBreaker{name: "noop"})
	e.Steady, e.Observe, e.Converge = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	e.Progress = l.report
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Interrupt during observe: the run says it is stopping, then done.
		for {
			got := l.all()
			if len(got) > 0 && got[len(got)-1].Phase == history.PhaseObserve {
				cancel()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	out, err := e.Run(ctx)
	cancel()
	require.NoError(t, err)
	require.Equal(t, history.StatusAborted, out.Status)
	got := l.all()
	require.NotEmpty(t, got)
	last := got[len(got)-1]
	require.True(t, last.Done)
	require.Equal(t, history.StatusAborted, last.Status)
	stopping := false
	for _, p := range got {
		stopping = stopping || p.Stopping
	}
	require.True(t, stopping, "an interrupted run reports that it is stopping")
}

func TestNoListenerNoReporter(t *testing.T) {
	e := &Experiment{Name: "quiet"}
	r := e.startProgress(context.Background())
	require.Nil(t, r)
	// A nil reporter does nothing, and says so by not panicking.
	r.phase(history.PhaseSteady)
	r.watch(nil)
	r.finish(nil)
}

// A fault never seen healed stops the run in recover; while the runner
// heals it again, the display says the run is stopping, not that it is
// still recovering with no traffic.
func TestProgressSaysStoppingWhileTheRunnerHeals(t *testing.T) {
	var l progressLog
	e := testExperiment(t, failingAt("noop", "wait-recovered"))
	e.Steady, e.Observe, e.Converge = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	e.Progress = l.report
	out, err := e.Run(context.Background())
	require.Error(t, err, "the heal failed too")
	require.Equal(t, history.StatusError, out.Status)
	got := l.all()
	require.GreaterOrEqual(t, len(got), 2)
	before := got[len(got)-2]
	require.True(t, before.Stopping, "the report before the last says the run is healing: %+v", before)
	require.Equal(t, history.PhaseRecover, before.Phase)
	require.True(t, got[len(got)-1].Done)
}

func TestProjectedDurationPlansTheRestAtThePaceSoFar(t *testing.T) {
	require.Zero(t, projectedDuration(time.Minute, 0, 1000), "nothing done: no plan yet")
	require.Equal(t, 4*time.Minute, projectedDuration(time.Minute, 250, 1000))
	require.Equal(t, time.Minute, projectedDuration(time.Minute, 1000, 1000))
	require.Equal(t, time.Minute, projectedDuration(time.Minute, 1200, 1000), "never less than the time taken")
	p := Progress{Phase: history.PhaseObserve, PhaseStarted: time.Unix(0, 0), Now: time.Unix(60, 0),
		Plan: PhasePlan{Steady: 5 * time.Second, Observe: projectedDuration(time.Minute, 250, 1000)}}
	require.Equal(t, 3*time.Minute, p.Left(), "three quarters of the writes are still ahead")
}

func TestPaceRateFollowsTheLastTenSeconds(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	var samples []paceSample
	require.Zero(t, paceRate(samples), "no samples: no rate")
	// 2,000 units a second for 30 s, then 500 a second.
	done := 0
	for s := 0; s <= 40; s++ {
		samples = recentPace(append(samples, paceSample{at(s), done}), at(s))
		if s == 0 {
			require.Zero(t, paceRate(samples), "one sample: no rate yet")
		}
		if s < 30 {
			done += 2000
		} else {
			done += 500
		}
	}
	require.Equal(t, at(30), samples[0].at, "the window starts ten seconds back")
	require.InDelta(t, 500, paceRate(samples), 0.01, "the rate of the last ten seconds, not the average (%d over 40 s)", done)
	require.Zero(t, paceRate([]paceSample{{at(0), 0}, {at(0).Add(500 * time.Millisecond), 900}}), "less than a second apart: no rate")
}
