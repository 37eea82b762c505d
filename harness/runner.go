package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

// StopCondition aborts an experiment whose blast radius grew beyond the plan.
type StopCondition struct {
	Name string
	// Check looks at the live traffic once a second; a non-empty reason stops the run.
	Check func(workload.LiveStats) string
}

// SuccessFloor stops a run when the share of failed operations stays above
// 1-floor for the given number of consecutive seconds.
func SuccessFloor(floor float64, seconds int) StopCondition {
	bad := 0
	return StopCondition{
		Name: fmt.Sprintf("success below %.1f%% for %ds", floor*100, seconds),
		Check: func(l workload.LiveStats) string {
			if l.OpsPerSec > 0 && 1-l.ErrorRate < floor {
				bad++
			} else {
				bad = 0
			}
			if bad >= seconds {
				return fmt.Sprintf("global success %.1f%% below the floor of %.1f%% for %d s", (1-l.ErrorRate)*100, floor*100, seconds)
			}
			return ""
		},
	}
}

// Experiment wires a workload, faults and checkers through the phases.
type Experiment struct {
	Name string
	// Description, World, Profile and Backend are copied into run.json.
	Description, World, Profile, Backend string
	Seed                                 int64
	// Dir receives history.jsonl, run.json and the per-phase log.
	Dir      string
	Workload workload.Config
	Faults   []fault.Fault
	Checkers []check.Checker
	// How long each timed phase lasts.
	Steady, Observe, Converge time.Duration
	// Interval, when set, injects the faults one after another instead of
	// all at once: each is injected, held for Interval, then recovered,
	// during the inject phase (Chaos Monkey's kills at intervals). The
	// observe phase follows with nothing injected.
	Interval time.Duration
	Stop     []StopCondition
	// Verify runs after the traffic stops (read-backs recorded as probes).
	Verify func(ctx context.Context, rec *history.Recorder) error
	// Replay is the command line that runs this experiment again.
	Replay string
	Log    *slog.Logger
	// Cluster, when set, gives its components' logs to the artifacts
	// (logs/) of a run that did not pass.
	Cluster topology.Cluster
	// Progress, when set, is told the run's phase, live traffic and planned
	// time left (see Progress); without it, a listener set with WithProgress
	// on the run's context is.
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

// Run executes the experiment. Every injected fault is healed on a fresh
// context whatever happens (error, panic, timeout, Ctrl-C), and run.json is
// written with what was known even when the run did not finish.
func (e *Experiment) Run(ctx context.Context) (out *Outcome, err error) {
	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifacts folder: %w", err)
	}
	info := history.RunInfo{Scenario: e.Name, Description: e.Description, World: e.World, Profile: e.Profile, Backend: e.Backend, Seed: e.Seed, Started: time.Now().UTC(), Replay: e.Replay, Figures: map[string]float64{}}
	out = &Outcome{Status: history.StatusError}
	rec, err := history.NewRecorder(filepath.Join(e.Dir, history.HistoryFile))
	if err != nil {
		return nil, err
	}
	plog := newPhaseLog(filepath.Join(e.Dir, history.PhaseLogFile))
	plog.printf("run %s: seed %d, world %s; replay: %s", e.Name, e.Seed, e.World, e.Replay)
	prog := e.startProgress(ctx)
	defer func() { prog.finish(out) }()
	// One injector per fault: each remembers what it injected and heals it.
	injectors := make([]*fault.Injector, len(e.Faults))
	for i := range injectors {
		injectors[i] = fault.NewInjector(rec)
	}
	defer func() {
		// Heal on a fresh context: the run's may be cancelled already.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fault.DefaultHealTimeout)
		defer cancel()
		for i := len(injectors) - 1; i >= 0; i-- {
			if f, _, ok := injectors[i].Active(); ok {
				prog.stopping()
				plog.printf("heal %s on %s after the run stopped", f.Name(), f.Target())
				if herr := injectors[i].Heal(hctx); herr != nil {
					plog.printf("heal %s failed: %v", f.Name(), herr)
					if err == nil {
						err = fmt.Errorf("heal: %w", herr)
					}
				}
			}
		}
		p := recover()
		if p != nil {
			out.Status, out.Reason = history.StatusError, fmt.Sprintf("panic: %v", p)
		}
		_ = rec.Close()
		plog.printf("outcome: %s%s", out.Status, suffix(out.Reason))
		if out.Status != history.StatusPassed && e.Cluster != nil {
			lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			lerr := CollectLogs(lctx, e.Cluster, filepath.Join(e.Dir, history.LogsDir), maxLogBytes)
			lcancel()
			plog.printf("component logs copied to logs/%s", suffix(errString(lerr)))
		}
		plog.close()
		info.Finished, info.Status, info.Reason = time.Now().UTC(), out.Status, out.Reason
		info.Checkers = out.Verdict.Children
		for _, f := range e.Faults {
			if fr, ok := f.(interface{ Figures() map[string]float64 }); ok {
				maps.Copy(info.Figures, fr.Figures())
			}
		}
		if g := out.Generator; g.Requested > 0 || g.Started > 0 {
			info.Generator = &g
		}
		if werr := history.SaveRunInfo(e.Dir, info); werr != nil && err == nil {
			err = werr
		}
		if p != nil {
			panic(p)
		}
	}()

	if err := runPreflight(ctx, e.Cluster, e.NoReset, rec, plog); err != nil {
		out.Reason = err.Error()
		return out, err
	}
	var current atomic.Pointer[string]
	phase := func(name string) {
		log.Info("phase", "scenario", e.Name, "phase", name)
		plog.printf("phase %s", name)
		current.Store(&name)
		rec.Event(history.Event{Kind: history.PhaseStart, Time: time.Now(), Name: name})
		prog.phase(name)
	}
	for _, f := range e.Faults {
		if u, ok := f.(fault.HistoryUser); ok {
			u.UseHistory(rec, func() string {
				if p := current.Load(); p != nil {
					return *p
				}
				return ""
			})
		}
	}
	wcfg := e.Workload
	wcfg.History = rec
	wcfg.Seed = uint64(e.Seed)
	wl, err := workload.New(wcfg)
	if err != nil {
		return out, err
	}
	prog.watch(wl)
	phase(history.PhaseSteady)
	wl.SetPhase(history.PhaseSteady)
	if err := wl.Start(ctx); err != nil {
		return out, err
	}
	stopped := false
	stopTraffic := func() {
		if !stopped {
			stopped = true
			res, _ := wl.Stop()
			if res != nil {
				out.Generator = res.Generator
			}
		}
	}
	defer stopTraffic()

	abort := func(reason string) (*Outcome, error) {
		plog.printf("abort: %s", reason)
		rec.Event(history.Event{Kind: history.Abort, Time: time.Now(), Name: reason})
		out.Status, out.Reason = history.StatusAborted, reason
		return out, nil
	}
	if reason := e.hold(ctx, wl, e.Steady, plog); reason != "" {
		return abort(reason)
	}
	phase(history.PhaseInject)
	wl.SetPhase(history.PhaseInject)
	for i, f := range e.Faults {
		if err := e.inject(ctx, injectors[i], f, plog); err != nil {
			return out, err
		}
		if e.Interval > 0 {
			if reason := e.hold(ctx, wl, e.Interval, plog); reason != "" {
				return abort(reason)
			}
			if err := e.heal(ctx, injectors[i], f, plog); err != nil {
				return out, err
			}
		}
	}
	phase(history.PhaseObserve)
	wl.SetPhase(history.PhaseObserve)
	if reason := e.hold(ctx, wl, e.Observe, plog); reason != "" {
		return abort(reason)
	}
	phase(history.PhaseRecover)
	wl.SetPhase(history.PhaseRecover)
	for i := len(e.Faults) - 1; i >= 0; i-- {
		if _, _, ok := injectors[i].Active(); !ok {
			continue
		}
		if err := e.heal(ctx, injectors[i], e.Faults[i], plog); err != nil {
			return out, err
		}
	}
	phase(history.PhaseConverge)
	wl.SetPhase(history.PhaseConverge)
	if reason := e.hold(ctx, wl, e.Converge, plog); reason != "" {
		return abort(reason)
	}
	stopTraffic()
	plog.printf("traffic stopped: %.0f requested, %d started, %d completed, %d late", out.Generator.Requested, out.Generator.Started, out.Generator.Completed, out.Generator.Late)
	phase(history.PhaseVerify)
	if e.Verify != nil {
		if err := e.Verify(ctx, rec); err != nil {
			return out, fmt.Errorf("verify: %w", err)
		}
	}
	if err := rec.Flush(); err != nil {
		return out, err
	}
	h, err := history.Load(filepath.Join(e.Dir, history.HistoryFile))
	if err != nil {
		return out, err
	}
	out.Verdict = check.Compose(e.Checkers).Check(h)
	for _, r := range out.Verdict.Children {
		plog.printf("checker %s: %s%s", r.Checker, r.Valid, suffix(r.Reason))
	}
	switch out.Verdict.Valid {
	case history.VerdictValid:
		out.Status = history.StatusPassed
	default:
		out.Status, out.Reason = history.StatusFailed, out.Verdict.Reason
	}
	return out, nil
}

// inject injects one fault through its injector, which records the inject
// and its measured effect.
func (e *Experiment) inject(ctx context.Context, in *fault.Injector, f fault.Fault, plog *phaseLog) error {
	plog.printf("inject %s on %s", f.Name(), f.Target())
	start := time.Now()
	if err := in.Inject(ctx, f); err != nil {
		plog.printf("inject %s failed: %v", f.Name(), err)
		return fmt.Errorf("fault %s: %w", f.Name(), err)
	}
	plog.printf("%s took effect after %s", f.Name(), time.Since(start).Round(time.Millisecond))
	return nil
}

// heal recovers one fault and waits until the recovery took effect.
func (e *Experiment) heal(ctx context.Context, in *fault.Injector, f fault.Fault, plog *phaseLog) error {
	plog.printf("recover %s on %s", f.Name(), f.Target())
	start := time.Now()
	if err := in.Recover(ctx, f); err != nil {
		plog.printf("heal %s failed: %v", f.Name(), err)
		return fmt.Errorf("heal %s: %w", f.Name(), err)
	}
	plog.printf("%s healed after %s", f.Name(), time.Since(start).Round(time.Millisecond))
	return nil
}

// hold lets a phase run for d, checking stop conditions once a second; it
// returns why the run must stop, if it must.
func (e *Experiment) hold(ctx context.Context, wl *workload.Workload, d time.Duration, plog *phaseLog) string {
	end := time.Now().Add(d)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer func() { plog.live(wl.Live()) }()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return "interrupted: " + context.Cause(ctx).Error()
		case <-tick.C:
			live := wl.Live()
			for _, s := range e.Stop {
				if why := s.Check(live); why != "" {
					return "stop condition " + s.Name + ": " + why
				}
			}
		}
	}
	return ""
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ErrAborted is returned by callers that treat an aborted run as an error.
var ErrAborted = errors.New("experiment aborted")

// runPreflight runs preflight.Check on c (nothing when c is nil) before a run's
// first phase, resetting what it finds unless noReset, and records each
// finding in the run's phases.log and as a note in its history.
func runPreflight(ctx context.Context, c topology.Cluster, noReset bool, rec *history.Recorder, plog *phaseLog) error {
	if c == nil {
		return nil
	}
	start := time.Now()
	found, err := preflight.Check(ctx, c, !noReset)
	action := "reset"
	switch {
	case noReset:
		action = "left as found (no reset)"
	case err != nil:
		action = "reset tried"
	}
	for _, f := range found {
		plog.printf("preflight: found %s: %s", f, action)
		rec.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: "preflight", Target: c.Name(), Detail: map[string]string{"found": f, "action": action}})
	}
	switch {
	case err != nil:
		plog.printf("preflight: %v", err)
		return fmt.Errorf("preflight: %w", err)
	case len(found) == 0:
		plog.printf("preflight: world %s is as it was brought up", c.Name())
	default:
		plog.printf("preflight: world %s reset (%d findings) and whole again after %s", c.Name(), len(found), time.Since(start).Round(time.Millisecond))
	}
	return nil
}
