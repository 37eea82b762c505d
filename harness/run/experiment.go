package run

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

// Experiment wires a workload, faults and checkers through the phases.
type Experiment struct {
	Name string
	// Description, World, Profile and Backend are copied into run.json.
	Description, World, Profile, Backend string
	Seed                                 uint64
	// Dir receives history.jsonl, run.json and the per-phase log.
	Dir      string
	Workload workload.Config
	Faults   []fault.Fault
	// Switches are faults that break the world for the whole run (a broken
	// world's switch, such as member services that read at LOCAL_ONE):
	// injected after the preflight, before the steady phase, and healed
	// when the run ends, after the verdict and after every fault.
	Switches []fault.Fault
	// HoldFaults keeps the faults through recover and converge instead of
	// healing them in recover (a world that cannot converge: the checkers
	// must fail); they are healed when the run ends.
	HoldFaults bool
	Checkers   []check.Checker
	// How long each timed phase lasts.
	Steady, Observe, Converge time.Duration
	// Interval, when set, injects the faults one after another instead of
	// all at once: each is injected, held for Interval, then recovered,
	// during the inject phase (Chaos Monkey's kills at intervals). The
	// observe phase follows with nothing injected.
	Interval time.Duration
	Stop     []StopCondition
	// Verify runs after the traffic stops (read-backs recorded as probes),
	// and after the repair that each healed fault leaves to the end of the
	// incident (fault.Repairs: the Cassandra nodes a kill took down), so
	// that the last probes judge the world an operator would leave.
	Verify func(ctx context.Context, rec *history.Recorder) error
	// ProbeFromHeal runs Verify once more from the start of the converge
	// phase, under the traffic, so that the probes time the convergence
	// from the heal (the Convergence checker) instead of from after the
	// converge phase; the verify phase waits for it, then repairs and runs
	// Verify as usual.
	ProbeFromHeal bool
	// Observer, when set, is the experiment's own measurement: it runs the
	// observe and converge phases instead of Observe and Converge, and
	// records what it found in the verify phase (see Observer).
	Observer Observer
	// Replay is the command line that runs this experiment again.
	Replay string
	Log    *slog.Logger
	// Cluster, when set, gives its components' logs to the artifacts
	// (logs/) of a run that did not pass.
	Cluster topology.Cluster
	// Progress, when set, is told the run's phase, live traffic and planned
	// time left (see Progress).
	Progress func(Progress)
	// NoReset makes the preflight (see preflight.Check, run on Cluster before the
	// first phase) refuse a world that is not as it was brought up instead
	// of resetting it.
	NoReset bool
}

// Outcome is what a run found.
type Outcome struct {
	Status    history.Status
	Reason    string
	Verdict   history.Result
	Generator history.GeneratorReport
}

// String is the outcome as kong prints it: its status in capitals, and its
// reason.
func (o *Outcome) String() string {
	return WithReason(strings.ToUpper(string(o.Status)), o.Reason)
}

// WithReason is what, followed by ": " and the reason when there is one:
// how phases.log and kong's output give a status its reason.
func WithReason(what, reason string) string {
	if reason == "" {
		return what
	}
	return what + ": " + reason
}

// Run executes the experiment through its phases (see phases). Every
// injected fault is healed on a fresh context whatever happens (error,
// panic, timeout, Ctrl-C), and run.json is written with what was known
// even when the run did not finish (see trial.finish).
func (e *Experiment) Run(ctx context.Context) (out *Outcome, err error) {
	t, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = t.finish(ctx, recover(), err) }()
	return t.out, t.run(ctx)
}

// trial is one run of an experiment under way: what its phases share.
type trial struct {
	e         *Experiment
	log       *slog.Logger
	out       *Outcome
	info      history.RunInfo
	rec       *history.Recorder
	plog      *PhaseLog
	prog      *progressReporter
	injectors []*fault.Injector // one per fault: each remembers what it injected and heals it
	switches  []*fault.Injector // one per switch, likewise
	wl        *workload.Workload
	// observing is set once the Observer started (it is then closed).
	observing bool
	// early is the outcome of the Verify run from the heal (ProbeFromHeal),
	// nil when there is none or it was waited for; stopEarly cancels it.
	early     chan error
	stopEarly context.CancelFunc
	// stopped is set once the traffic stopped.
	stopped bool
	// current is the phase the run is in, for the faults that record it.
	current atomic.Pointer[string]
}

// begin makes the run's folder, history, phases.log and progress reports.
func (e *Experiment) begin(ctx context.Context) (*trial, error) {
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifacts folder: %w", err)
	}
	rec, err := history.NewRecorder(filepath.Join(e.Dir, history.HistoryFile))
	if err != nil {
		return nil, err
	}
	t := &trial{e: e, log: e.Log, rec: rec, out: &Outcome{Status: history.StatusError},
		info: history.RunInfo{Scenario: e.Name, Description: e.Description, World: e.World, Profile: e.Profile, Backend: e.Backend,
			Seed: e.Seed, Started: time.Now().UTC(), Replay: e.Replay, Figures: map[string]float64{}},
		plog:      newPhaseLog(filepath.Join(e.Dir, history.PhaseLogFile)),
		injectors: make([]*fault.Injector, len(e.Faults))}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	for i := range t.injectors {
		t.injectors[i] = fault.NewInjector(rec)
	}
	for range e.Switches {
		t.switches = append(t.switches, fault.NewInjector(rec))
	}
	t.plog.Printf("run %s: seed %d, world %s; replay: %s", e.Name, e.Seed, e.World, e.Replay)
	t.prog = e.startProgress(ctx)
	return t, nil
}

// run prepares the run and goes through the phases; a phase that finds a
// reason to stop aborts the run (an outcome, not an error).
func (t *trial) run(ctx context.Context) error {
	if err := t.prepare(ctx); err != nil {
		return err
	}
	for _, p := range phases {
		t.enter(p.name)
		why, err := p.step(t, ctx)
		if err != nil {
			return err
		}
		if why != "" {
			t.abort(why)
			return nil
		}
	}
	return nil
}

// prepare runs the preflight, starts the Observer, gives the faults that
// record their own events the history, turns the switches on, and builds
// the workload.
func (t *trial) prepare(ctx context.Context) error {
	e := t.e
	if err := runPreflight(ctx, e.Cluster, e.NoReset, t.rec, t.plog); err != nil {
		t.out.Reason = err.Error()
		return err
	}
	if e.Observer != nil {
		if err := e.Observer.Start(ctx, Artifacts{Dir: e.Dir, History: t.rec, Log: t.plog}); err != nil {
			return err
		}
		t.observing = true
	}
	for _, f := range e.Faults {
		if u, ok := f.(fault.HistoryUser); ok {
			u.UseHistory(t.rec, func() string {
				if p := t.current.Load(); p != nil {
					return *p
				}
				return ""
			})
		}
	}
	for i, f := range e.Switches {
		if err := t.injectOne(ctx, t.switches[i], f); err != nil {
			return fmt.Errorf("switch: %w", err)
		}
	}
	wcfg := e.Workload
	wcfg.History = t.rec
	wcfg.Seed = e.Seed
	wl, err := workload.New(wcfg)
	if err != nil {
		return err
	}
	t.wl = wl
	t.prog.watch(wl)
	return nil
}

// enter begins a phase: in the log, phases.log, the history, the
// workload's records and the progress reports.
func (t *trial) enter(name string) {
	t.log.Info("phase", "scenario", t.e.Name, "phase", name)
	t.plog.Printf("phase %s", name)
	t.current.Store(&name)
	t.rec.Event(history.Event{Kind: history.PhaseStart, Time: time.Now(), Name: name})
	if !t.stopped {
		t.wl.SetPhase(name)
	}
	t.prog.phase(name)
}

// abort stops the run for a reason: a stop condition, an interruption.
func (t *trial) abort(why string) {
	t.plog.Printf("abort: %s", why)
	t.rec.Event(history.Event{Kind: history.Abort, Time: time.Now(), Name: why})
	t.out.Status, t.out.Reason = history.StatusAborted, why
}

// stopTraffic stops the workload, once, and keeps its generator report,
// in the outcome and in the history (for the checkers: see
// history.EventGenerator).
func (t *trial) stopTraffic() {
	if t.wl == nil || t.stopped {
		return
	}
	t.stopped = true
	if res, _ := t.wl.Stop(); res != nil {
		t.out.Generator = res.Generator
		t.rec.Event(res.Generator.Event(time.Now()))
	}
}

// finish ends a run whatever happened (p is what it panicked with, err what
// it returned): it stops the traffic, heals every fault still injected on a
// fresh context (the run's may be cancelled already), closes the Observer,
// turns a panic into an error outcome, closes the history, copies the
// components' logs of a run that did not pass, writes run.json and the last
// progress report, and panics again with p. It returns err, or the first
// error of its own.
func (t *trial) finish(ctx context.Context, p any, err error) error {
	e, out := t.e, t.out
	if t.early != nil {
		// The run ended before its verify phase: stop the read-back from
		// the heal before the history closes.
		t.stopEarly()
		<-t.early
	}
	t.stopTraffic()
	if herr := t.healAll(ctx); herr != nil && err == nil {
		err = herr
	}
	if t.observing {
		e.Observer.Close()
	}
	if p != nil {
		out.Status, out.Reason = history.StatusError, fmt.Sprintf("panic: %v", p)
	}
	_ = t.rec.Close()
	t.plog.Printf("outcome: %s", WithReason(string(out.Status), out.Reason))
	if out.Status != history.StatusPassed && e.Cluster != nil {
		lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		lerr := CollectLogs(lctx, e.Cluster, filepath.Join(e.Dir, history.LogsDir), maxLogBytes)
		lcancel()
		t.plog.Printf("%s", WithReason("component logs copied to logs/", errString(lerr)))
	}
	t.plog.close()
	t.info.Finished, t.info.Status, t.info.Reason = time.Now().UTC(), out.Status, out.Reason
	t.info.Checkers = out.Verdict.Children
	for _, f := range e.Faults {
		if fr, ok := f.(interface{ Figures() map[string]float64 }); ok {
			maps.Copy(t.info.Figures, fr.Figures())
		}
	}
	if g := out.Generator; g.Requested > 0 || g.Started > 0 {
		t.info.Generator = &g
	}
	if werr := history.SaveRunInfo(e.Dir, t.info); werr != nil && err == nil {
		err = werr
	}
	t.prog.finish(out)
	if p != nil {
		panic(p)
	}
	return err
}

// healAll heals, last injected first, every fault and then every switch
// still injected.
func (t *trial) healAll(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fault.DefaultHealTimeout)
	defer cancel()
	var err error
	all := append(slices.Clone(t.switches), t.injectors...)
	for i := len(all) - 1; i >= 0; i-- {
		f, _, ok := all[i].Active()
		if !ok {
			continue
		}
		t.prog.stopping()
		t.plog.Printf("heal %s on %s after the run stopped", f.Name(), f.Target())
		if herr := all[i].Heal(hctx); herr != nil {
			t.plog.Printf("heal %s failed: %v", f.Name(), herr)
			if err == nil {
				err = fmt.Errorf("heal: %w", herr)
			}
		}
	}
	return err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
