// Package fault is what breaks. A fault is built once per kind of damage
// (kill, pause, partition, toxic on a link, dependency errors, evacuation)
// with the targets a selector resolved and its arguments, and it goes
// through the lifecycle of roachprod's failure injection:
//
//	Setup -> Inject -> WaitInjected -> Recover -> WaitRecovered -> Cleanup
//
// An Injector drives a fault through that lifecycle, remembers what it
// injected so it can always heal it, and records the timeline in a history.
// WithFault heals in a defer, on a fresh context, whatever happened.
// The catalogue names every kind of fault with a constructor, for `kong
// faults`, a configuration or a seeded random schedule.
//
// Faults that need more than the lifecycle say so with small optional
// interfaces: FaultArgs, LinkFault, StepReporter and HistoryUser. The
// package imports history, topology, workload (for Surge) and the app's
// admin clients, and nothing else of the harness. Its subpackage preflight
// finds the damage a run that died without healing left in a world, and
// resets it.
package fault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// Fault is one kind of damage bound to its targets and arguments.
type Fault interface {
	// Name is the kind of fault, such as "kill-instance" or "partition".
	Name() string
	// Target is what the fault hits, as resolved when it was built.
	Target() Target
	// Setup checks the arguments and prepares what Inject needs (it may read
	// the world); it changes nothing.
	Setup(ctx context.Context) error
	// Inject breaks the world. After an error the fault may be partly
	// injected: Recover must still undo whatever was done.
	Inject(ctx context.Context) error
	// WaitInjected returns once the damage is seen to take effect in the
	// world (a peer sees the node DOWN, a dial across the cut fails, ...).
	WaitInjected(ctx context.Context) error
	// Recover undoes Inject; it is safe to call after a partial Inject and
	// more than once.
	Recover(ctx context.Context) error
	// WaitRecovered returns once the world is seen healed.
	WaitRecovered(ctx context.Context) error
	// Cleanup releases what Setup prepared.
	Cleanup(ctx context.Context) error
}

// FaultArgs is implemented by faults whose arguments belong in the history
// (an error rate, a toxic's latency): they are the detail of the inject event.
type FaultArgs interface {
	Args() map[string]string
}

// Repairs is implemented by faults whose heal leaves a repair to the end of
// the incident: a Kill, whose killed Cassandra nodes lost the hints and
// the replies they held, so that writes they coordinated may be missing in
// the other regions until a repair (as an operator runs after a node died
// hard). The run repairs after the convergence was watched and the traffic
// stopped, before the read-back that judges loss. Repair returns what it
// repaired (none when there was nothing to), also beside an error, when a
// part of it failed.
type Repairs interface {
	Repair(ctx context.Context) (repaired []string, err error)
}

// LinkFault is implemented by faults that change toxiproxy links. When their
// Recover fails, healing falls back to ResetLinks on this API.
type LinkFault interface {
	Fault
	ToxiproxyAPI() string
}

// StepReporter is implemented by faults that change the world in steps
// (an evacuation) and report each step as a timeline event. An Injector
// calls ReportSteps before Inject with a function that records the event
// (a zero Time is set to the time it is recorded).
type StepReporter interface {
	Fault
	ReportSteps(record func(history.Event))
}

// HistoryUser is implemented by faults that record operations or events of
// their own (a surge of extra traffic, a watched partition): the runner
// calls UseHistory once, before the run starts, with its recorder and a
// function that returns the name of the phase under way.
type HistoryUser interface {
	Fault
	UseHistory(rec *history.Recorder, phase func() string)
}

// Target is what a fault hits: components, links between regions, or whole
// regions (an evacuation). Selectors build it from a running world.
type Target struct {
	Components []topology.Component `json:"components,omitempty"`
	Links      []topology.Link      `json:"links,omitempty"`
	Regions    []string             `json:"regions,omitempty"`
}

// Empty reports whether the target names nothing.
func (t Target) Empty() bool {
	return len(t.Components) == 0 && len(t.Links) == 0 && len(t.Regions) == 0
}

// IDs are the IDs of the target's components, in order.
func (t Target) IDs() []string {
	out := make([]string, len(t.Components))
	for i, c := range t.Components {
		out[i] = c.ID
	}
	return out
}

// Region is the one region the target lies in: its region, or that of all
// its components.
func (t Target) Region() (string, error) {
	regions := slices.Clone(t.Regions)
	for _, c := range t.Components {
		if c.Region != "" && !slices.Contains(regions, c.Region) {
			regions = append(regions, c.Region)
		}
	}
	if len(regions) != 1 || len(t.Links) > 0 {
		return "", fmt.Errorf("needs one region, got %s", t)
	}
	return regions[0], nil
}

// String lists the target as a history records it: component IDs, then link
// names, then regions, comma separated; "nothing" when empty.
func (t Target) String() string {
	parts := t.IDs()
	for _, l := range t.Links {
		parts = append(parts, l.Name)
	}
	parts = append(parts, t.Regions...)
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ",")
}

// Errors of the Injector's state machine.
var (
	// ErrAlreadyInjected: a fault is active; recover it before injecting again.
	ErrAlreadyInjected = errors.New("a fault is already injected")
	// ErrNotInjected: nothing is injected, so there is nothing to recover.
	ErrNotInjected = errors.New("no fault is injected")
	// ErrOtherTarget: Recover was asked for a fault or target other than the
	// one injected.
	ErrOtherTarget = errors.New("recover asked for another fault or target than the one injected")
)

// Default deadlines of an Injector.
const (
	DefaultWaitTimeout = 5 * time.Minute
	DefaultHealTimeout = 10 * time.Minute
)

// Injector drives one fault at a time through its lifecycle. It is a small
// state machine: ready -> injected -> ready. It remembers the fault and the
// target it injected, refuses a second Inject while one is active, refuses
// Recover when nothing is injected or for another fault or target, and Heal
// recovers whatever is still active. It records every step into its Recorder
// (if any): inject, injected (with the measured time to effect), recover,
// recovered (with the time to heal). It is safe for concurrent use: Inject,
// Recover and Heal are serialized (a Heal waits for an Inject under way,
// which a cancelled context ends), and Active answers at once.
type Injector struct {
	// WaitTimeout bounds WaitInjected and WaitRecovered (default 5 min);
	// a shorter deadline on the context wins.
	WaitTimeout time.Duration
	// HealTimeout bounds the healing that WithFault and Do run in their
	// defer, on a fresh context (default 10 min).
	HealTimeout time.Duration

	rec *history.Recorder
	// now is the clock (tests may replace it).
	now func() time.Time

	op       sync.Mutex // held by Inject, Recover and Heal
	mu       sync.Mutex // guards the fields below; written only under op too
	active   Fault      // nil when ready
	target   string     // active's target as injected
	injectAt time.Time
}

// setActive records what is injected (f nil: nothing). The caller holds in.op.
func (in *Injector) setActive(f Fault, target string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.active, in.target = f, target
}

// NewInjector returns an injector that records into rec (nil: records nothing).
func NewInjector(rec *history.Recorder) *Injector {
	return &Injector{WaitTimeout: DefaultWaitTimeout, HealTimeout: DefaultHealTimeout, rec: rec, now: time.Now}
}

// Active returns the fault that is injected and its target, if any.
func (in *Injector) Active() (Fault, Target, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.active == nil {
		return nil, Target{}, false
	}
	return in.active, in.active.Target(), true
}

// Inject sets f up, injects it and waits until it is seen to take effect.
// From the moment Inject is called on f, f counts as active, also when
// Inject or WaitInjected fail, so that Recover or Heal undo a partial
// injection.
func (in *Injector) Inject(ctx context.Context, f Fault) error {
	in.op.Lock()
	defer in.op.Unlock()
	if in.active != nil {
		return fmt.Errorf("inject %s on %s: %w: %s on %s; recover it first",
			f.Name(), f.Target(), ErrAlreadyInjected, in.active.Name(), in.target)
	}
	target := f.Target().String()
	if err := f.Setup(ctx); err != nil {
		cerr := f.Cleanup(context.WithoutCancel(ctx))
		return errors.Join(fmt.Errorf("set up %s on %s: %w", f.Name(), target, err), cerr)
	}
	in.setActive(f, target)
	in.injectAt = in.now()
	detail := map[string]string{}
	if a, ok := f.(FaultArgs); ok {
		maps.Copy(detail, a.Args())
	}
	in.event(history.Event{Kind: history.FaultInject, Time: in.injectAt, Name: f.Name(), Target: target, Detail: nilIfEmpty(detail)})
	if s, ok := f.(StepReporter); ok {
		s.ReportSteps(func(e history.Event) {
			if e.Time.IsZero() {
				e.Time = in.now()
			}
			in.event(e)
		})
	}
	if err := f.Inject(ctx); err != nil {
		in.note(f, "inject failed: "+err.Error())
		return fmt.Errorf("inject %s on %s: %w", f.Name(), target, err)
	}
	injected := in.now()
	seen, err := in.wait(ctx, f, target, f.WaitInjected, "injected", "was injected but not seen to take effect")
	if err != nil {
		return err
	}
	in.event(history.Event{Kind: history.FaultEffect, Time: seen, Name: f.Name(), Target: target, Detail: map[string]string{
		"time_to_effect":    seen.Sub(in.injectAt).String(),
		"time_to_effect_ms": strconv.FormatInt(seen.Sub(in.injectAt).Milliseconds(), 10),
		"inject_took_ms":    strconv.FormatInt(injected.Sub(in.injectAt).Milliseconds(), 10),
	}})
	return nil
}

// Recover undoes the injected fault, waits until the world is seen healed,
// then cleans up. f must be the fault injected (the same name and target):
// a scenario can never recover something other than what it broke. After an
// error the fault stays active, so Heal tries again.
func (in *Injector) Recover(ctx context.Context, f Fault) error {
	in.op.Lock()
	defer in.op.Unlock()
	if in.active == nil {
		return fmt.Errorf("recover %s on %s: %w", f.Name(), f.Target(), ErrNotInjected)
	}
	if f.Name() != in.active.Name() || f.Target().String() != in.target {
		return fmt.Errorf("recover %s on %s: %w (%s on %s is injected)",
			f.Name(), f.Target(), ErrOtherTarget, in.active.Name(), in.target)
	}
	return in.recoverActive(ctx)
}

// Heal recovers the active fault, if any; with nothing injected it does
// nothing. When the recovery of a link fault fails, it resets every
// toxiproxy link (ResetLinks) as a last resort and reports both.
func (in *Injector) Heal(ctx context.Context) error {
	in.op.Lock()
	defer in.op.Unlock()
	if in.active == nil {
		return nil
	}
	f := in.active
	err := in.recoverActive(ctx)
	if err == nil || in.active == nil {
		return err // healed (a failed Cleanup is reported as is)
	}
	lf, ok := f.(LinkFault)
	if !ok {
		return err
	}
	api := lf.ToxiproxyAPI()
	if rerr := ResetLinks(api); rerr != nil {
		return errors.Join(err, fmt.Errorf("last resort failed too: %w", rerr))
	}
	in.note(f, "recover failed; reset every link at "+api)
	in.event(history.Event{Kind: history.FaultHealed, Time: in.now(), Name: f.Name(), Target: in.target,
		Detail: map[string]string{"by": "reset every link", "recover_error": err.Error()}})
	cerr := f.Cleanup(ctx)
	in.setActive(nil, "")
	return errors.Join(fmt.Errorf("%w; every link at %s was reset instead", err, api), cerr)
}

// recoverActive runs Recover, WaitRecovered and Cleanup of the active fault.
// The caller holds in.op.
func (in *Injector) recoverActive(ctx context.Context) error {
	f, target := in.active, in.target
	start := in.now()
	in.event(history.Event{Kind: history.FaultRecover, Time: start, Name: f.Name(), Target: target})
	if err := f.Recover(ctx); err != nil {
		in.note(f, "recover failed: "+err.Error())
		return fmt.Errorf("recover %s on %s: %w", f.Name(), target, err)
	}
	seen, err := in.wait(ctx, f, target, f.WaitRecovered, "recovered", "was recovered but not seen healed")
	if err != nil {
		return err
	}
	in.event(history.Event{Kind: history.FaultHealed, Time: seen, Name: f.Name(), Target: target, Detail: map[string]string{
		"time_to_recover":    seen.Sub(start).String(),
		"time_to_recover_ms": strconv.FormatInt(seen.Sub(start).Milliseconds(), 10),
		"active_ms":          strconv.FormatInt(seen.Sub(in.injectAt).Milliseconds(), 10),
	}})
	in.setActive(nil, "")
	if err := f.Cleanup(ctx); err != nil {
		return fmt.Errorf("clean up %s on %s: %w", f.Name(), target, err)
	}
	return nil
}

// wait runs wait (f's WaitInjected or WaitRecovered) within the wait
// timeout and returns when it saw the world so. When it gives up, it notes
// that f was not seen as state, and its error says that f on target then
// failed.
func (in *Injector) wait(ctx context.Context, f Fault, target string, wait func(context.Context) error, state, failed string) (time.Time, error) {
	wctx, cancel := in.waitContext(ctx)
	defer cancel()
	if err := wait(wctx); err != nil {
		in.note(f, "not seen "+state+": "+err.Error())
		return time.Time{}, fmt.Errorf("%s on %s %s: %w", f.Name(), target, failed, err)
	}
	return in.now(), nil
}

func (in *Injector) waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := in.WaitTimeout
	if d <= 0 {
		d = DefaultWaitTimeout
	}
	return context.WithTimeout(ctx, d)
}

func (in *Injector) event(e history.Event) {
	if in.rec != nil {
		in.rec.Event(e)
	}
}

func (in *Injector) note(f Fault, text string) {
	in.event(history.Event{Kind: history.Note, Time: in.now(), Name: f.Name(), Target: in.target, Detail: map[string]string{"error": text}})
}

// Do injects f, runs body, and heals f in a defer on a fresh context with
// its own deadline (HealTimeout), whatever happened: body succeeded or
// failed, panicked (Do heals, then panics again), or ctx was cancelled
// (Ctrl-C). The error joins what went wrong in the inject, the body and the
// heal.
func (in *Injector) Do(ctx context.Context, f Fault, body func(ctx context.Context) error) (err error) {
	defer func() {
		p := recover()
		d := in.HealTimeout
		if d <= 0 {
			d = DefaultHealTimeout
		}
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
		defer cancel()
		if herr := in.Heal(hctx); herr != nil {
			err = errors.Join(err, fmt.Errorf("heal: %w", herr))
		}
		if p != nil {
			panic(p)
		}
	}()
	if err := in.Inject(ctx, f); err != nil {
		return err
	}
	return body(ctx)
}

// WithFault injects f, runs body and always heals f afterwards (see
// Injector.Do), recording the timeline into rec (nil: not recorded).
func WithFault(ctx context.Context, f Fault, rec *history.Recorder, body func(ctx context.Context) error) error {
	return NewInjector(rec).Do(ctx, f, body)
}

// ResetLinks is the last resort after a failed recovery: it enables every
// toxiproxy proxy at api and removes every toxic, whoever added them.
func ResetLinks(api string) error {
	if err := toxiclient.NewClient(api).ResetState(); err != nil {
		return fmt.Errorf("reset every link at toxiproxy %s: %w", api, err)
	}
	return nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func init() {
	Register(Entry{Name: "noop", Targets: []Scope{ScopeWorld},
		Description: "break nothing: a scenario that expects harm from it must fail its check",
		New:         func(topology.Cluster, Target, *Args) (Fault, error) { return Noop{}, nil }})
}

// Noop is the fault that breaks nothing: a scenario that expects harm from
// it must fail its check, which proves the checkers can fail.
type Noop struct{}

// Name implements Fault.
func (Noop) Name() string { return "noop" }

// Target implements Fault: nothing.
func (Noop) Target() Target { return Target{} }

// Setup implements Fault.
func (Noop) Setup(context.Context) error { return nil }

// Inject implements Fault.
func (Noop) Inject(context.Context) error { return nil }

// WaitInjected implements Fault: there is nothing to wait for.
func (Noop) WaitInjected(context.Context) error { return nil }

// Recover implements Fault.
func (Noop) Recover(context.Context) error { return nil }

// WaitRecovered implements Fault.
func (Noop) WaitRecovered(context.Context) error { return nil }

// Cleanup implements Fault.
func (Noop) Cleanup(context.Context) error { return nil }
