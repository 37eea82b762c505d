package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/term"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

var t0 = time.Date(2026, 5, 1, 14, 7, 30, 0, time.UTC)

var plan = run.PhasePlan{Steady: 30 * time.Second, Observe: 2 * time.Minute, Converge: time.Minute}

func progressAt(phase string, sinceStart, inPhase time.Duration) run.Progress {
	return run.Progress{Scenario: "split-brain", Phase: phase, Started: t0, PhaseStarted: t0.Add(sinceStart - inPhase),
		Now: t0.Add(sinceStart), Plan: plan, Live: workload.LiveStats{OpsPerSec: 39.84, ErrorRate: 0.0042}}
}

func TestProgressLine(t *testing.T) {
	p := progressAt(history.PhaseObserve, 2*time.Minute, time.Minute)
	require.Equal(t, "[2/3] split-brain · observe (3/6) · 39.8 req/s · 0.4% errors · 2m00s left · game day ~14m05s left",
		Line(p, 1, 3, Estimate{Left: 14*time.Minute + 5*time.Second}))
	require.Equal(t, "[2/3] split-brain · observe (3/6) · 39.8 req/s · 0.4% errors · 2m00s left · game day ≥ 9m00s left (2 scenario(s) by their phase plan only)",
		Line(p, 1, 3, Estimate{Left: 9 * time.Minute, ByPlan: 2}))
	require.Equal(t, "[2/3] split-brain · observe (3/6) · 39.8 req/s · 0.4% errors · 2m00s left · game day ≥ 2m00s left (1 scenario(s) by their phase plan only, 1 not timed at all)",
		Line(p, 1, 3, Estimate{Left: 2 * time.Minute, ByPlan: 1, Untimed: 1}))
	// kong run: one scenario, no game day.
	require.Equal(t, "split-brain · observe (3/6) · 39.8 req/s · 0.4% errors · 2m00s left", Line(p, 0, 1, Estimate{}))
	// A paced observer's work (the replication check's records written).
	w := p
	w.Work = run.Pace{Done: 250_000, Total: 1_000_000}
	require.Equal(t, "split-brain · observe (3/6) · 250000/1000000 done (25.0%) · 39.8 req/s · 0.4% errors · 2m00s left", Line(w, 0, 1, Estimate{}))
	// With what the work is, its rate and a note (kong gameday's
	// replication-check).
	w.Work.What, w.Work.Note, w.WorkRate = "records written", "99.97% seen in us-west-2 at 500ms", 1480.4
	require.Equal(t, "split-brain · observe (3/6) · 250000/1000000 records written (25.0%) at 1480/s · 99.97% seen in us-west-2 at 500ms · 39.8 req/s · 0.4% errors · 2m00s left", Line(w, 0, 1, Estimate{}))
	p.Stopping = true
	require.Equal(t, "split-brain · stopping: healing faults and writing what the run knows", Line(p, 0, 1, Estimate{}))
	require.Contains(t, Line(run.Progress{Scenario: "x", Plan: plan, Now: t0}, 0, 1, Estimate{}), "x · starting · 0.0 req/s")
}

func TestSuiteLeftUsesPastRunsThenPlans(t *testing.T) {
	v := &View{suite: []string{"a", "split-brain", "c", "d"}, index: 1,
		past:    map[string]time.Duration{"split-brain": 6 * time.Minute, "c": 5 * time.Minute, "d": 4 * time.Minute},
		planned: map[string]time.Duration{"split-brain": 90 * time.Second, "c": 2 * time.Minute, "d": time.Minute}}
	// 2 minutes in, the plan says 2 min left, the last run says 4: take 4.
	require.Equal(t, Estimate{Left: 4*time.Minute + 5*time.Minute + 4*time.Minute},
		v.suiteLeft(progressAt(history.PhaseObserve, 2*time.Minute, time.Minute)))
	// Past the last run's length, the plan still counts.
	require.Equal(t, Estimate{Left: time.Minute + 9*time.Minute}, v.suiteLeft(progressAt(history.PhaseConverge, 10*time.Minute, 0)))
	// A scenario that never ran counts by its plan, and makes the estimate
	// a lower bound.
	delete(v.past, "d")
	require.Equal(t, Estimate{Left: 4*time.Minute + 5*time.Minute + time.Minute, ByPlan: 1},
		v.suiteLeft(progressAt(history.PhaseObserve, 2*time.Minute, time.Minute)))
	// One with no plan either adds nothing and is counted apart.
	delete(v.planned, "d")
	require.Equal(t, Estimate{Left: 4*time.Minute + 5*time.Minute, Untimed: 1},
		v.suiteLeft(progressAt(history.PhaseObserve, 2*time.Minute, time.Minute)))
	// The current scenario never ran: its own plan, by plan.
	delete(v.past, "split-brain")
	require.Equal(t, Estimate{Left: 2*time.Minute + 5*time.Minute, ByPlan: 1, Untimed: 1},
		v.suiteLeft(progressAt(history.PhaseObserve, 2*time.Minute, time.Minute)))
	// A run that stops has nothing left to estimate.
	stopping := progressAt(history.PhaseObserve, 2*time.Minute, time.Minute)
	stopping.Stopping = true
	require.Equal(t, Estimate{}, v.suiteLeft(stopping))
}

func TestProgressLinesOnPhaseChangesAndEveryFewSeconds(t *testing.T) {
	var out bytes.Buffer
	v, err := NewView(&out, Lines, []string{"split-brain"}, nil)
	require.NoError(t, err)
	require.NotNil(t, v.Scenario(0), "the view listens to the run")
	for s := 0; s <= 12; s++ {
		ph := history.PhaseSteady
		if s >= 11 {
			ph = history.PhaseInject
		}
		v.report(progressAt(ph, time.Duration(s)*time.Second, time.Duration(s%11)*time.Second))
	}
	p := progressAt(history.PhaseInject, 13*time.Second, 0)
	p.Stopping = true
	v.report(p)
	p.Done, p.Status = true, history.StatusAborted
	v.report(p)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// steady at 0 s, 5 s and 10 s; inject at 11 s; stopping at 13 s; nothing when done.
	require.Len(t, lines, 5, out.String())
	require.Contains(t, lines[0], "steady-state (1/6)")
	require.Contains(t, lines[1], "3m25s left")
	require.Contains(t, lines[3], "inject (2/6)")
	require.Contains(t, lines[4], "stopping")
}

func TestProgressBarIsDrawnAndCleared(t *testing.T) {
	var out bytes.Buffer
	v, err := NewView(&out, Bar, []string{"a", "split-brain"}, nil)
	require.NoError(t, err)
	v.Scenario(1)
	v.report(progressAt(history.PhaseObserve, 2*time.Minute, time.Minute))
	require.Contains(t, out.String(), "[2/2] split-brain · observe (3/6)")
	require.NotNil(t, v.bar)
	p := progressAt(history.PhaseVerify, 4*time.Minute, 0)
	p.Done = true
	v.report(p)
	require.Nil(t, v.bar, "a finished run's bar is gone")
}

func TestProgressModes(t *testing.T) {
	var buf bytes.Buffer
	m, err := Mode(Auto, &buf)
	require.NoError(t, err)
	require.Equal(t, Lines, m, "a writer that is no terminal gets lines")
	m, err = Mode(Off, &buf)
	require.NoError(t, err)
	require.Equal(t, Off, m)
	_, err = Mode("fancy", &buf)
	require.EqualError(t, err, `--progress "fancy": use one of auto, bar, lines, off`)

	v, err := NewView(&buf, Off, []string{"a"}, nil)
	require.NoError(t, err)
	require.Nil(t, v.Scenario(0), "off adds no listener")
}

func TestPastDurations(t *testing.T) {
	out := t.TempDir()
	write := func(dir string, info history.RunInfo) {
		require.NoError(t, os.MkdirAll(filepath.Join(out, dir), 0o755))
		require.NoError(t, history.SaveRunInfo(filepath.Join(out, dir), info))
	}
	run := func(name string, status history.Status, start time.Time, took time.Duration) history.RunInfo {
		return history.RunInfo{Scenario: name, Status: status, Started: start, Finished: start.Add(took)}
	}
	write("split-brain-1", run("split-brain", "passed", t0, 5*time.Minute))
	write("split-brain-2", run("split-brain", "failed", t0.Add(time.Hour), 7*time.Minute))
	write("split-brain-3", run("split-brain", "aborted", t0.Add(2*time.Hour), time.Minute))
	write("chaos-kong-1", run("chaos-kong", "error", t0, 10*time.Second))
	write("zone-1", run("zone", "passed", t0, 3*time.Minute))
	require.NoError(t, os.MkdirAll(filepath.Join(out, "half-written"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "half-written", history.RunInfoFile), []byte(`{"scenario": "zo`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, "index.md"), []byte("# runs"), 0o644))

	require.Equal(t, map[string]time.Duration{"split-brain": 7 * time.Minute, "zone": 3 * time.Minute}, PastDurations(out),
		"the newest run that went to the end counts; aborted runs, errors and unreadable ones do not")
	require.Empty(t, PastDurations(filepath.Join(out, "absent")))
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1499 * time.Millisecond: "1s", 59 * time.Second: "59s", 61 * time.Second: "1m01s",
		time.Hour + 5*time.Minute + 40*time.Second: "1h06m", 26 * time.Hour: "26h00m",
	} {
		require.Equal(t, want, ShortDuration(d), d.String())
	}
}

// Before the components are known, kong up's lines say what the assets
// phase checks instead of "0/0 ready".
func TestUpLines(t *testing.T) {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		t.Skip("draws a bar on a terminal")
	}
	var b strings.Builder
	up := Up(&b)
	up(topology.UpProgress{Elapsed: 100 * time.Millisecond, Phase: "assets"})
	up(topology.UpProgress{Elapsed: 5 * time.Second, Phase: "cassandra", Ready: 2, Total: 6})
	up(topology.UpProgress{Done: true})
	require.Equal(t, "    0.1s  assets           checking java, the cached jars and memcached\n    5.0s  cassandra        2/6 ready\n", b.String())
}
