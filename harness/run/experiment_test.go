package run

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/internal/apptest"
)

// steps records the lifecycle calls of a fault or Observer of our own, in
// order, and fails the one named fail.
type steps struct {
	mu    sync.Mutex
	calls []string
	fail  string
}

func (l *steps) step(s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
	if s == l.fail {
		return errors.New(s + " failed")
	}
	return nil
}

func (l *steps) log() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// recordingBreaker is a fault of our own that logs its lifecycle calls.
type recordingBreaker struct {
	steps
	name string
}

// failingAt is a recordingBreaker whose step stage fails.
func failingAt(name, stage string) *recordingBreaker {
	return &recordingBreaker{name: name, steps: steps{fail: stage}}
}

func (b *recordingBreaker) Name() string                        { return b.name }
func (b *recordingBreaker) Target() fault.Target                { return fault.Target{} }
func (b *recordingBreaker) Setup(context.Context) error         { return b.step("setup") }
func (b *recordingBreaker) Inject(context.Context) error        { return b.step("inject") }
func (b *recordingBreaker) WaitInjected(context.Context) error  { return b.step("wait-injected") }
func (b *recordingBreaker) Recover(context.Context) error       { return b.step("recover") }
func (b *recordingBreaker) WaitRecovered(context.Context) error { return b.step("wait-recovered") }
func (b *recordingBreaker) Cleanup(context.Context) error       { return b.step("cleanup") }

func testExperiment(t *testing.T, f *recordingBreaker) *Experiment {
	gw := apptest.Gateway(t, "us-east-1")
	d := apptest.NewDirector(t, func(string, string) (string, string) { return "us-east-1", gw.URL })
	return &Experiment{
		Name: "test", Seed: 7, Dir: t.TempDir(),
		// A late start counts from 250 ms: the generator's report feeds
		// the availability verdict, and these tests run beside others.
		Workload: workload.Config{Director: d.URL, Geos: []string{"us-east-1"}, Pacer: workload.Constant(50), Members: 10,
			LateThreshold: 250 * time.Millisecond},
		Faults:   []fault.Fault{f},
		Checkers: []check.Checker{&check.Availability{SLO: 0.99}},
		Steady:   time.Second, Observe: time.Second, Converge: time.Second,
		Replay: "kong run test --seed 7",
	}
}

func readRunInfo(t *testing.T, dir string) history.RunInfo {
	data, err := os.ReadFile(filepath.Join(dir, "run.json"))
	require.NoError(t, err, "run.json must always be written")
	var info history.RunInfo
	require.NoError(t, json.Unmarshal(data, &info))
	return info
}

// requirePhaseLog requires the run in dir to have left a per-phase log
// that holds each of wants, in that order.
func requirePhaseLog(t *testing.T, dir string, wants ...string) {
	t.Helper()
	plog, err := os.ReadFile(filepath.Join(dir, history.PhaseLogFile))
	require.NoError(t, err, "the run left no per-phase log")
	last := -1
	for _, want := range wants {
		i := strings.Index(string(plog), want)
		require.Greater(t, i, last, "phases.log lacks %q after the previous step:\n%s", want, plog)
		last = i
	}
}

func TestExperimentRunsThePhasesAndHeals(t *testing.T) {
	f := &recordingBreaker{name: "noop"}
	e := testExperiment(t, f)
	out, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	require.Equal(t, []string{"setup", "inject", "wait-injected", "recover", "wait-recovered", "cleanup"}, f.log())
	h, err := history.Load(filepath.Join(e.Dir, "history.jsonl"))
	require.NoError(t, err)
	var kinds []string
	for _, ev := range h.Events {
		name := string(ev.Kind)
		if ev.Kind == history.PhaseStart {
			name = ev.Name
		}
		kinds = append(kinds, name)
	}
	require.Equal(t, []string{history.PhaseSteady, history.PhaseInject, "inject", "injected", history.PhaseObserve, history.PhaseRecover, "recover", "recovered", history.PhaseConverge, "note", history.PhaseVerify}, kinds)
	// The generator's report reaches the checkers through the history, as
	// the note recorded when the traffic stopped.
	g, found, err := h.Generator()
	require.NoError(t, err)
	require.True(t, found, "the history holds the generator report")
	require.Equal(t, out.Generator, g)
	require.NotEmpty(t, h.Ops)
	info := readRunInfo(t, e.Dir)
	require.Equal(t, history.StatusPassed, info.Status)
	require.Equal(t, uint64(7), info.Seed)
	require.Equal(t, "kong run test --seed 7", info.Replay)
	require.Len(t, info.Checkers, 1)

	requirePhaseLog(t, e.Dir, "phase "+history.PhaseSteady, "traffic at the end of the phase", "phase "+history.PhaseInject, "inject noop",
		"noop took effect", "phase "+history.PhaseObserve, "recover noop", "noop healed", "phase "+history.PhaseConverge,
		"traffic stopped", "phase "+history.PhaseVerify, "checker ", "outcome: passed")
	_, err = os.Stat(filepath.Join(e.Dir, "logs"))
	require.True(t, os.IsNotExist(err), "a passed run copied component logs")
}

func TestExperimentHealsWhenTheFaultNeverTakesEffect(t *testing.T) {
	f := failingAt("stuck", "wait-injected")
	e := testExperiment(t, f)
	_, err := e.Run(context.Background())
	require.ErrorContains(t, err, "stuck on nothing was injected but not seen to take effect")
	require.Contains(t, f.log(), "recover", "an injected fault was left broken")
	require.Equal(t, history.StatusError, readRunInfo(t, e.Dir).Status)
}

// requireInterrupted runs e and interrupts it (Ctrl-C) after 1.5 s: the
// run must end aborted, saying it was interrupted.
func requireInterrupted(t *testing.T, e *Experiment) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(1500 * time.Millisecond); cancel() }()
	out, err := e.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, history.StatusAborted, out.Status)
	require.Contains(t, out.Reason, "interrupted")
}

func TestExperimentHealsOnPanicAndCancel(t *testing.T) {
	f := &recordingBreaker{name: "p"}
	e := testExperiment(t, f)
	e.Verify = func(context.Context, *history.Recorder) error { panic("verifier bug") }
	require.PanicsWithValue(t, "verifier bug", func() { _, _ = e.Run(context.Background()) })
	require.Contains(t, f.log(), "recover")
	info := readRunInfo(t, e.Dir)
	require.Equal(t, history.StatusError, info.Status)
	require.Contains(t, info.Reason, "panic: verifier bug")

	// Ctrl-C during observe: the run stops, says why, and heals.
	g := &recordingBreaker{name: "c"}
	e = testExperiment(t, g)
	e.Observe = time.Minute
	requireInterrupted(t, e)
	require.Contains(t, g.log(), "recover")
}

func TestStopConditionAbortsTheRun(t *testing.T) {
	f := &recordingBreaker{name: "s"}
	e := testExperiment(t, f)
	e.Observe = time.Minute
	e.Stop = []StopCondition{{Name: "in observe", Check: func(l workload.LiveStats) string {
		if l.Phase == history.PhaseObserve {
			return "blast radius too large"
		}
		return ""
	}}}
	out, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, history.StatusAborted, out.Status)
	require.Contains(t, out.Reason, "blast radius too large")
	require.Contains(t, f.log(), "recover")
	require.Equal(t, history.StatusAborted, readRunInfo(t, e.Dir).Status)

	floor := SuccessFloor(0.9, 2)
	require.Empty(t, floor.Check(workload.LiveStats{OpsPerSec: 10, ErrorRate: 0.5}))
	require.NotEmpty(t, floor.Check(workload.LiveStats{OpsPerSec: 10, ErrorRate: 0.5}))
	require.Empty(t, SuccessFloor(0.9, 2).Check(workload.LiveStats{OpsPerSec: 10, ErrorRate: 0.01}))
}

// A switch is on for the whole run: injected before the steady phase and
// healed at the end, after the verdict and after the faults; also when the
// run fails on the way.
func TestExperimentSwitchesSpanTheRun(t *testing.T) {
	for _, failStage := range []string{"", "wait-injected"} {
		f := failingAt("noop", failStage)
		sw := &recordingBreaker{name: "switch"}
		e := testExperiment(t, f)
		e.Switches = []fault.Fault{sw}
		_, _ = e.Run(context.Background())
		require.Equal(t, []string{"setup", "inject", "wait-injected", "recover", "wait-recovered", "cleanup"}, sw.log(), "fault failing at %q", failStage)
		want := []string{"inject switch", "phase " + history.PhaseSteady, "inject noop", "heal noop", "heal switch on nothing after the run stopped"}
		if failStage == "" {
			want = []string{"inject switch", "phase " + history.PhaseSteady, "inject noop", "recover noop", "checker ", "heal switch on nothing after the run stopped"}
		}
		requirePhaseLog(t, e.Dir, want...)
	}
}

// With ProbeFromHeal the verify step also runs from the start of the
// converge phase, under the traffic, and the verify phase waits for it
// before running it again.
func TestExperimentProbesFromTheHeal(t *testing.T) {
	e := testExperiment(t, &recordingBreaker{name: "noop"})
	var mu sync.Mutex
	var phases []string
	e.Verify = func(ctx context.Context, rec *history.Recorder) error {
		require.NoError(t, rec.Flush())
		h, err := history.Load(filepath.Join(e.Dir, "history.jsonl"))
		require.NoError(t, err)
		last := ""
		for _, ev := range h.Events {
			if ev.Kind == history.PhaseStart {
				last = ev.Name
			}
		}
		mu.Lock()
		phases = append(phases, last)
		mu.Unlock()
		return nil
	}
	e.ProbeFromHeal = true
	_, err := e.Run(context.Background())
	require.NoError(t, err)
	// The verdict is not the point here (a loaded machine may make the
	// generator late, and availability unknown): when the verifies ran is.
	require.Equal(t, []string{history.PhaseConverge, history.PhaseVerify}, phases)
	plog, err := os.ReadFile(filepath.Join(e.Dir, "phases.log"))
	require.NoError(t, err)
	require.Contains(t, string(plog), "read-back from the heal done")
}

// repairingBreaker is a recordingBreaker that leaves a repair to the end
// of the incident (fault.Repairs), as a kill of Cassandra nodes does.
type repairingBreaker struct {
	recordingBreaker
	repaired []string
}

func (b *repairingBreaker) Repair(context.Context) ([]string, error) {
	if err := b.step("repair"); err != nil {
		return nil, err
	}
	return b.repaired, nil
}

func TestExperimentRepairsBetweenTheConvergenceAndTheReadBack(t *testing.T) {
	for _, tc := range []struct {
		name, fail string
		hold       bool
		want       []string
	}{
		{name: "healed", want: []string{"cleanup", "verify", "repair", "verify"}},
		{name: "repair fails", fail: "repair", want: []string{"cleanup", "verify", "repair", "verify"}},
		// A fault held through the run brought nothing back to repair.
		{name: "held", hold: true, want: []string{"wait-injected", "verify", "verify", "recover"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &repairingBreaker{recordingBreaker: recordingBreaker{name: "kill", steps: steps{fail: tc.fail}},
				repaired: []string{"us-east-1/cassandra/b"}}
			e := testExperiment(t, &f.recordingBreaker)
			e.Faults = []fault.Fault{f}
			e.HoldFaults = tc.hold
			e.ProbeFromHeal = true
			e.Verify = func(context.Context, *history.Recorder) error { return f.step("verify") }
			out, err := e.Run(context.Background())
			require.NoError(t, err, "a failed repair does not stop the run")
			require.NotEqual(t, history.StatusAborted, out.Status, out.Reason)
			calls := f.log()
			require.GreaterOrEqual(t, len(calls), len(tc.want), calls)
			i := slices.Index(calls, tc.want[0])
			require.GreaterOrEqual(t, i, 0, calls)
			require.Equal(t, tc.want, calls[i:i+len(tc.want)], calls)

			h, err := history.Load(filepath.Join(e.Dir, history.HistoryFile))
			require.NoError(t, err)
			var notes []history.Event
			for _, ev := range h.Events {
				if ev.Kind == history.Note && ev.Name == history.EventRepair {
					notes = append(notes, ev)
				}
			}
			if tc.hold {
				require.Empty(t, notes)
				return
			}
			require.Len(t, notes, 1)
			require.Equal(t, "kill", notes[0].Detail["fault"])
			if tc.fail != "" {
				require.Empty(t, notes[0].Detail["repaired"])
				require.Contains(t, notes[0].Detail["error"], "repair failed")
				requirePhaseLog(t, e.Dir, "repair after kill failed")
			} else {
				require.Equal(t, "us-east-1/cassandra/b", notes[0].Detail["repaired"])
				require.Empty(t, notes[0].Detail["error"])
				requirePhaseLog(t, e.Dir, "read-back from the heal done", "repair after kill: us-east-1/cassandra/b repaired")
			}
		})
	}
}
