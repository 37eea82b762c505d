package run

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// phase is one step of every run. Its step does the phase's work and
// returns why the run must stop (an abort), if it must, or an error.
type phase struct {
	name string
	step func(t *trial, ctx context.Context) (abort string, err error)
	// planned is how long the phase is planned to last; nil for a phase
	// that takes what it takes.
	planned func(PhasePlan) time.Duration
}

// phases are the steps of every run, in order.
var phases = []phase{
	// The workload alone.
	{name: history.PhaseSteady, step: (*trial).steady, planned: func(p PhasePlan) time.Duration { return p.Steady }},
	// The faults injected (at intervals, each healed before the next).
	{name: history.PhaseInject, step: (*trial).inject},
	// The faults held, or the Observer's measurement.
	{name: history.PhaseObserve, step: (*trial).observe, planned: func(p PhasePlan) time.Duration { return p.Observe }},
	// The faults healed, unless HoldFaults.
	{name: history.PhaseRecover, step: (*trial).recover},
	// The world left to converge (or the Observer's convergence); then the
	// traffic stops.
	{name: history.PhaseConverge, step: (*trial).converge, planned: func(p PhasePlan) time.Duration { return p.Converge }},
	// The read-back, the Observer's findings, and the checkers' verdict.
	{name: history.PhaseVerify, step: (*trial).verify},
}

func (t *trial) steady(ctx context.Context) (string, error) {
	if err := t.wl.Start(ctx); err != nil {
		return "", err
	}
	return t.hold(ctx, t.e.Steady), nil
}

func (t *trial) inject(ctx context.Context) (string, error) {
	for i, f := range t.e.Faults {
		if err := t.injectOne(ctx, t.injectors[i], f); err != nil {
			return "", err
		}
		if t.e.Interval > 0 {
			if why := t.hold(ctx, t.e.Interval); why != "" {
				return why, nil
			}
			if err := t.heal(ctx, t.injectors[i], f); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

func (t *trial) observe(ctx context.Context) (string, error) {
	if t.e.Observer == nil {
		return t.hold(ctx, t.e.Observe), nil
	}
	return observed(ctx, t.e.Observer.Observe(ctx))
}

func (t *trial) recover(ctx context.Context) (string, error) {
	if t.e.HoldFaults {
		t.plog.Printf("faults held through the convergence")
		return "", nil
	}
	for i := len(t.e.Faults) - 1; i >= 0; i-- {
		if _, _, ok := t.injectors[i].Active(); !ok {
			continue
		}
		if err := t.heal(ctx, t.injectors[i], t.e.Faults[i]); err != nil {
			return "", err
		}
	}
	return "", nil
}

func (t *trial) converge(ctx context.Context) (string, error) {
	if t.e.ProbeFromHeal && t.e.Verify != nil {
		early, stop := context.WithCancel(ctx)
		t.early, t.stopEarly = make(chan error, 1), stop
		t.plog.Printf("read-back from the heal, under the traffic")
		go func() { t.early <- t.e.Verify(early, t.rec) }()
	}
	var why string
	var err error
	if t.e.Observer == nil {
		why = t.hold(ctx, t.e.Converge)
	} else {
		why, err = observed(ctx, t.e.Observer.Converge(ctx))
	}
	if why != "" || err != nil {
		return why, err
	}
	t.stopTraffic()
	g := t.out.Generator
	t.plog.Printf("traffic stopped: %.0f requested, %d started, %d completed, %d late", g.Requested, g.Started, g.Completed, g.Late)
	return "", nil
}

func (t *trial) verify(ctx context.Context) (string, error) {
	e := t.e
	if t.early != nil {
		err := <-t.early
		t.early = nil
		t.stopEarly()
		if err != nil {
			return "", fmt.Errorf("verify from the heal: %w", err)
		}
		t.plog.Printf("read-back from the heal done")
	}
	t.repair(ctx)
	if e.Verify != nil {
		if err := e.Verify(ctx, t.rec); err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
	}
	if e.Observer != nil {
		figures, err := e.Observer.Verify(ctx)
		maps.Copy(t.info.Figures, figures)
		if err != nil {
			return "", err
		}
	}
	if err := t.rec.Flush(); err != nil {
		return "", err
	}
	h, err := history.Load(filepath.Join(e.Dir, history.HistoryFile))
	if err != nil {
		return "", err
	}
	t.out.Verdict = check.Compose(e.Checkers).Check(history.NewIndex(h))
	for _, r := range t.out.Verdict.Children {
		t.plog.Printf("checker %s: %s", r.Checker, WithReason(string(r.Valid), r.Reason))
	}
	if t.out.Verdict.Valid == history.VerdictValid {
		t.out.Status = history.StatusPassed
	} else {
		t.out.Status, t.out.Reason = history.StatusFailed, t.out.Verdict.Reason
	}
	return "", nil
}

// repairWithin bounds the repair after one fault.
const repairWithin = 5 * time.Minute

// repair runs the repair that each healed fault leaves to the end of the
// incident (fault.Repairs: the Cassandra nodes a kill took down), after
// the convergence was watched and before the read-back that judges loss.
// Each repair is a note in the history, with what it repaired, how long it
// took, and its error: a repair that fails does not stop the run, whose
// read-back then judges the world as the failed repair left it.
func (t *trial) repair(ctx context.Context) {
	for i, f := range t.e.Faults {
		r, ok := f.(fault.Repairs)
		if !ok {
			continue
		}
		if _, _, active := t.injectors[i].Active(); active {
			continue // held through the run: nothing came back to repair
		}
		rctx, cancel := context.WithTimeout(ctx, repairWithin)
		start := time.Now()
		ids, err := r.Repair(rctx)
		cancel()
		if len(ids) == 0 && err == nil {
			continue
		}
		took := time.Since(start).Round(time.Millisecond)
		detail := map[string]string{"fault": f.Name(), "repaired": strings.Join(ids, ","), "took": took.String()}
		if err != nil {
			detail["error"] = err.Error()
			t.plog.Printf("repair after %s failed after %s: %v", f.Name(), took, err)
		} else {
			t.plog.Printf("repair after %s: %s repaired in %s", f.Name(), strings.Join(ids, ", "), took)
		}
		t.rec.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: history.EventRepair, Target: f.Target().String(), Detail: detail})
	}
}

// observed turns what an Observer's phase returned into the phase's
// result: an error after ctx ended is an interruption (an abort).
func observed(ctx context.Context, err error) (string, error) {
	if err != nil && ctx.Err() != nil {
		return interrupted(ctx), nil
	}
	return "", err
}

func interrupted(ctx context.Context) string {
	return "interrupted: " + context.Cause(ctx).Error()
}

// injectOne injects one fault through its injector, which records the
// inject and its measured effect.
func (t *trial) injectOne(ctx context.Context, in *fault.Injector, f fault.Fault) error {
	return t.faultStep(ctx, f, in.Inject, faultWords{start: "inject", failed: "inject", err: "fault", done: "took effect"})
}

// heal recovers one fault and waits until the recovery took effect.
func (t *trial) heal(ctx context.Context, in *fault.Injector, f fault.Fault) error {
	return t.faultStep(ctx, f, in.Recover, faultWords{start: "recover", failed: "heal", err: "heal", done: "healed"})
}

// faultWords are what the per-phase log says of a fault step: "<start> f
// on target", "<failed> f failed: ...", "f <done> after 1.2s"; the step's
// error is "<err> f: ...".
type faultWords struct{ start, failed, err, done string }

// faultStep runs step (an injector's Inject or Recover) on f and logs it,
// and how long it took, in the per-phase log.
func (t *trial) faultStep(ctx context.Context, f fault.Fault, step func(context.Context, fault.Fault) error, w faultWords) error {
	t.plog.Printf("%s %s on %s", w.start, f.Name(), f.Target())
	start := time.Now()
	if err := step(ctx, f); err != nil {
		t.plog.Printf("%s %s failed: %v", w.failed, f.Name(), err)
		return fmt.Errorf("%s %s: %w", w.err, f.Name(), err)
	}
	t.plog.Printf("%s %s after %s", f.Name(), w.done, time.Since(start).Round(time.Millisecond))
	return nil
}

// hold lets a phase run for d, checking stop conditions once a second; it
// returns why the run must stop, if it must.
func (t *trial) hold(ctx context.Context, d time.Duration) string {
	end := time.Now().Add(d)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer func() { t.plog.live(t.wl.Live()) }()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return interrupted(ctx)
		case <-tick.C:
			live := t.wl.Live()
			for _, s := range t.e.Stop {
				if why := s.Check(live); why != "" {
					return "stop condition " + s.Name + ": " + why
				}
			}
		}
	}
	return ""
}

// runPreflight runs preflight.Check on c (nothing when c is nil) before a
// run's first phase, resetting what it finds unless noReset, and records
// each finding in the run's phases.log and as a note in its history.
func runPreflight(ctx context.Context, c topology.Cluster, noReset bool, rec *history.Recorder, plog *PhaseLog) error {
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
		plog.Printf("preflight: found %s: %s", f, action)
		rec.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: "preflight", Target: c.Name(), Detail: map[string]string{"found": f, "action": action}})
	}
	switch {
	case err != nil:
		plog.Printf("preflight: %v", err)
		return fmt.Errorf("preflight: %w", err)
	case len(found) == 0:
		plog.Printf("preflight: world %s is as it was brought up", c.Name())
	default:
		plog.Printf("preflight: world %s reset (%d findings) and whole again after %s", c.Name(), len(found), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Sleep waits d, or until ctx ends first and then returns its error: the
// wait of a phase's step, an observer's hold or a rollout's bake.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
