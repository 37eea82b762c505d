package harness

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

// ReplicationExperiment runs a replication check as a game day, through the
// same phases as an Experiment, except that the observe phase lasts as long
// as the records take to write and read, and the converge phase as long as
// the late records take to appear (or the check's deadline):
//
//	steady   the background workload alone, for Steady
//	inject   the faults, if any
//	observe  the records written in Check.From and read in Check.To
//	recover  the faults healed (unless HoldFaults)
//	converge the late records re-read until seen or the deadline
//	verify   the traffic stopped, the summary recorded, the checkers run
//
// It leaves what an Experiment leaves in Dir (history.jsonl, run.json with
// the replication figures, phases.log, logs/ when it did not pass) and
// replication.json. Every injected fault is healed on a fresh context
// whatever happens.
type ReplicationExperiment struct {
	Name string
	// Description, World, Profile and Backend are copied into run.json.
	Description, World, Profile, Backend string
	Seed                                 int64
	Dir                                  string
	Replay                               string
	Log                                  *slog.Logger
	// Cluster is the world; its component logs go to a failed run's logs/.
	Cluster topology.Cluster
	// Check is the measurement (its Cluster and Seed default to the
	// experiment's).
	Check ReplicationCheck
	// Workload is the background load (none when Director is empty); its
	// History and Seed are the run's.
	Workload workload.Config
	// Steady is how long the background load runs alone first.
	Steady time.Duration
	// Faults are injected before the records are written and healed after
	// the last read at ReadAfter, unless HoldFaults keeps them through the
	// convergence (a world that cannot converge: the checkers must fail).
	Faults     []fault.Fault
	HoldFaults bool
	Checkers   []check.Checker
	// Progress, when set, is told how the check is going about once a second.
	Progress func(ReplicationProgress)
	// NoReset makes the preflight refuse a world that is not as it was
	// brought up instead of resetting it (see Experiment.NoReset).
	NoReset bool
}

// Run runs the experiment.
func (e *ReplicationExperiment) Run(ctx context.Context) (out *Outcome, err error) {
	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifacts folder: %w", err)
	}
	info := history.RunInfo{Scenario: e.Name, Description: e.Description, World: e.World, Profile: e.Profile, Backend: e.Backend,
		Seed: e.Seed, Started: time.Now().UTC(), Replay: e.Replay, Figures: map[string]float64{}}
	out = &Outcome{Status: history.StatusError}
	rec, err := history.NewRecorder(filepath.Join(e.Dir, history.HistoryFile))
	if err != nil {
		return nil, err
	}
	plog := newPhaseLog(filepath.Join(e.Dir, history.PhaseLogFile))
	plog.printf("run %s: seed %d, world %s; replay: %s", e.Name, e.Seed, e.World, e.Replay)
	injectors := make([]*fault.Injector, len(e.Faults))
	for i := range injectors {
		injectors[i] = fault.NewInjector(rec)
	}
	var run *ReplicationRun
	var wl *workload.Workload
	prog := &replProgress{fn: e.Progress, listener: progressFrom(ctx), scenario: e.Name, steady: e.Steady}
	stopProgress := prog.start(ctx)
	defer func() {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fault.DefaultHealTimeout)
		defer cancel()
		for i := len(injectors) - 1; i >= 0; i-- {
			if f, _, ok := injectors[i].Active(); ok {
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
		if wl != nil {
			if res, _ := wl.Stop(); res != nil {
				out.Generator = res.Generator
			}
		}
		if run != nil {
			run.Close()
		}
		stopProgress(out.Status)
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

	phase := func(name string) {
		log.Info("phase", "scenario", e.Name, "phase", name)
		plog.printf("phase %s", name)
		rec.Event(history.Event{Kind: history.PhaseStart, Time: time.Now(), Name: name})
		if wl != nil {
			wl.SetPhase(name)
		}
		prog.phase(name)
	}
	abort := func(why string) (*Outcome, error) {
		plog.printf("abort: %s", why)
		rec.Event(history.Event{Kind: history.Abort, Time: time.Now(), Name: why})
		out.Status, out.Reason = history.StatusAborted, why
		return out, nil
	}
	interrupted := func() string { return "interrupted: " + context.Cause(ctx).Error() }

	if err := runPreflight(ctx, e.Cluster, e.NoReset, rec, plog); err != nil {
		out.Reason = err.Error()
		return out, err
	}
	rc := e.Check
	if rc.Cluster == nil {
		rc.Cluster = e.Cluster
	}
	if rc.Seed == 0 {
		rc.Seed = uint64(e.Seed)
	}
	if run, err = rc.Start(ctx); err != nil {
		return out, err
	}
	prog.watchCheck(run)
	cfg := run.cfg
	plog.printf("replication check: %d records written in %s at %s, read in %s at %s %s after each write, %d writes in flight, table %s.%s, run %s",
		cfg.Records, cfg.From, cfg.WriteConsistency, cfg.To, cfg.ReadConsistency, cfg.ReadAfter, cfg.Concurrency, cfg.Keyspace, cfg.Table, cfg.RunID)

	if e.Workload.Director != "" {
		wcfg := e.Workload
		wcfg.History = rec
		wcfg.Seed = uint64(e.Seed)
		if wl, err = workload.New(wcfg); err != nil {
			return out, err
		}
		prog.watchWorkload(wl)
	}
	phase(history.PhaseSteady)
	if wl != nil {
		if err := wl.Start(ctx); err != nil {
			return out, err
		}
	}
	if !sleepCtx(ctx, e.Steady) {
		return abort(interrupted())
	}
	phase(history.PhaseInject)
	for i, f := range e.Faults {
		plog.printf("inject %s on %s", f.Name(), f.Target())
		start := time.Now()
		if err := injectors[i].Inject(ctx, f); err != nil {
			plog.printf("inject %s failed: %v", f.Name(), err)
			return out, fmt.Errorf("fault %s: %w", f.Name(), err)
		}
		plog.printf("%s took effect after %s", f.Name(), time.Since(start).Round(time.Millisecond))
	}
	phase(history.PhaseObserve)
	if err := run.Write(ctx); err != nil {
		if ctx.Err() != nil {
			return abort(interrupted())
		}
		return out, err
	}
	p := run.Progress()
	plog.printf("%d records written (%d failed), %d read at %s: %d visible, %d late", p.Written, p.WriteErrors, p.Read, cfg.ReadAfter, p.Visible, p.Read-p.Visible)
	phase(history.PhaseRecover)
	if e.HoldFaults {
		plog.printf("faults held through the convergence")
	} else {
		for i := len(e.Faults) - 1; i >= 0; i-- {
			f := e.Faults[i]
			plog.printf("recover %s on %s", f.Name(), f.Target())
			start := time.Now()
			if err := injectors[i].Recover(ctx, f); err != nil {
				plog.printf("heal %s failed: %v", f.Name(), err)
				return out, fmt.Errorf("heal %s: %w", f.Name(), err)
			}
			plog.printf("%s healed after %s", f.Name(), time.Since(start).Round(time.Millisecond))
		}
	}
	phase(history.PhaseConverge)
	if err := run.Converge(ctx); err != nil {
		return abort(interrupted())
	}
	if wl != nil {
		res, _ := wl.Stop()
		if res != nil {
			out.Generator = res.Generator
		}
		plog.printf("traffic stopped: %.0f requested, %d started, %d completed, %d late", out.Generator.Requested, out.Generator.Started, out.Generator.Completed, out.Generator.Late)
	}
	phase(history.PhaseVerify)
	s := run.Summary()
	plog.printf("replication: %d records, %.3f%% visible at %s, %d missing; lag p50 %.1f ms, p99 %.1f ms, max %.1f ms; write rate %.0f/s",
		s.Samples, 100*s.VisibleAtRead, cfg.ReadAfter, s.Missing, s.P50, s.P99, s.Max, s.WriteRate)
	rec.Event(replicationEvent(s, time.Now()))
	for k, v := range s.Figures() {
		info.Figures[k] = v
	}
	if err := history.SaveReplication(e.Dir, s); err != nil {
		return out, err
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
	if out.Verdict.Valid == history.VerdictValid {
		out.Status = history.StatusPassed
	} else {
		out.Status, out.Reason = history.StatusFailed, out.Verdict.Reason
	}
	return out, nil
}

// replProgress reports a replication experiment's progress, once a second,
// to its own listener (ReplicationProgress) and to a run-progress listener
// on the context (Progress, as an Experiment does).
type replProgress struct {
	fn       func(ReplicationProgress)
	listener func(Progress)
	scenario string
	steady   time.Duration

	p    Progress
	run  *ReplicationRun
	wl   *workload.Workload
	mu   sync.Mutex
	quit chan struct{}
	done chan struct{}
}

func (r *replProgress) start(ctx context.Context) func(status history.Status) {
	if r.fn == nil && r.listener == nil {
		return func(history.Status) {}
	}
	r.mu.Lock()
	now := time.Now()
	r.p = Progress{Scenario: r.scenario, Started: now, PhaseStarted: now, Plan: PhasePlan{Steady: r.steady}}
	r.quit, r.done = make(chan struct{}), make(chan struct{})
	r.mu.Unlock()
	go func() {
		defer close(r.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		stopping := ctx.Done()
		for {
			select {
			case <-r.quit:
				return
			case <-stopping:
				stopping = nil
				r.send(func(p *Progress) { p.Stopping = true })
			case <-tick.C:
				r.send(nil)
			}
		}
	}()
	return func(status history.Status) {
		close(r.quit)
		<-r.done
		r.send(func(p *Progress) { p.Done, p.Status = true, status })
	}
}

func (r *replProgress) send(change func(*Progress)) {
	if r.fn == nil && r.listener == nil {
		return
	}
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
	if r.run != nil && r.p.Phase == history.PhaseObserve {
		// The writes take what they take: plan them from the pace so far.
		rp := r.run.Progress()
		r.p.Plan.Observe = projectedDuration(r.p.Now.Sub(r.p.PhaseStarted), rp.Written, rp.Records)
	}
	if r.listener != nil {
		r.listener(r.p)
	}
	if r.fn != nil && r.run != nil && (change == nil || r.p.Done) {
		p := r.run.Progress()
		p.Phase = r.p.Phase
		r.fn(p)
	}
}

func (r *replProgress) phase(name string) {
	r.send(func(p *Progress) { p.Phase, p.PhaseStarted = name, time.Now() })
}

func (r *replProgress) watchCheck(run *ReplicationRun) {
	r.mu.Lock()
	r.run = run
	r.mu.Unlock()
}

func (r *replProgress) watchWorkload(wl *workload.Workload) {
	r.mu.Lock()
	r.wl = wl
	r.mu.Unlock()
}

// projectedDuration is how long a phase lasts in all at the pace so far:
// done of its total units took took (0 until a unit is done).
func projectedDuration(took time.Duration, done, total int) time.Duration {
	if done <= 0 || total <= 0 {
		return 0
	}
	return time.Duration(float64(took) * float64(max(total, done)) / float64(done))
}
