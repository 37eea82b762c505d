package fault

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// Combined is several faults injected and recovered as one: set up and
// injected in order, recovered in reverse order (the misrouting of a geo
// together with the receiving gateway's mode, say). Every step runs on every
// part even when one fails, so that a partial injection is undone whole.
type Combined struct {
	name  string
	parts []Fault
}

// Together combines faults under one name.
func Together(name string, parts ...Fault) *Combined { return &Combined{name: name, parts: parts} }

// Name implements Fault.
func (c *Combined) Name() string { return c.name }

// Target implements Fault: the union of the parts' targets.
func (c *Combined) Target() Target {
	var t Target
	for _, p := range c.parts {
		pt := p.Target()
		t.Components = append(t.Components, pt.Components...)
		t.Links = append(t.Links, pt.Links...)
		t.Regions = append(t.Regions, pt.Regions...)
	}
	return t
}

// Args implements FaultArgs: the parts' names and arguments.
func (c *Combined) Args() map[string]string {
	out := map[string]string{}
	var names []string
	for _, p := range c.parts {
		names = append(names, p.Name())
		if a, ok := p.(FaultArgs); ok {
			for k, v := range a.Args() {
				out[p.Name()+"."+k] = v
			}
		}
	}
	out["parts"] = strings.Join(names, ",")
	return out
}

// UseHistory implements HistoryUser for each part that does.
func (c *Combined) UseHistory(rec *history.Recorder, phase func() string) {
	for _, p := range c.parts {
		if u, ok := p.(HistoryUser); ok {
			u.UseHistory(rec, phase)
		}
	}
}

// ReportSteps implements StepReporter for each part that does.
func (c *Combined) ReportSteps(f func(history.Event)) {
	for _, p := range c.parts {
		if s, ok := p.(StepReporter); ok {
			s.ReportSteps(f)
		}
	}
}

func (c *Combined) each(reverse bool, step func(Fault) error) error {
	var errs []error
	for i := range c.parts {
		p := c.parts[i]
		if reverse {
			p = c.parts[len(c.parts)-1-i]
		}
		errs = append(errs, step(p))
	}
	return errors.Join(errs...)
}

// Setup implements Fault.
func (c *Combined) Setup(ctx context.Context) error {
	return c.each(false, func(f Fault) error { return f.Setup(ctx) })
}

// Inject implements Fault.
func (c *Combined) Inject(ctx context.Context) error {
	return c.each(false, func(f Fault) error { return f.Inject(ctx) })
}

// WaitInjected implements Fault.
func (c *Combined) WaitInjected(ctx context.Context) error {
	return c.each(false, func(f Fault) error { return f.WaitInjected(ctx) })
}

// Recover implements Fault.
func (c *Combined) Recover(ctx context.Context) error {
	return c.each(true, func(f Fault) error { return f.Recover(ctx) })
}

// WaitRecovered implements Fault.
func (c *Combined) WaitRecovered(ctx context.Context) error {
	return c.each(true, func(f Fault) error { return f.WaitRecovered(ctx) })
}

// Cleanup implements Fault.
func (c *Combined) Cleanup(ctx context.Context) error {
	return c.each(true, func(f Fault) error { return f.Cleanup(ctx) })
}

// Repair implements Repairs for each part that does.
func (c *Combined) Repair(ctx context.Context) ([]string, error) {
	var repaired []string
	var errs []error
	for _, p := range c.parts {
		if r, ok := p.(Repairs); ok {
			ids, err := r.Repair(ctx)
			repaired = append(repaired, ids...)
			errs = append(errs, err)
		}
	}
	return repaired, errors.Join(errs...)
}

// Delayed is a fault injected a while after it is asked to be: in a
// Together after another part, the time for the first to matter (writes
// that owe invalidations across a cut link, before a kill).
type Delayed struct {
	Fault
	wait time.Duration
}

// After delays f's injection by wait.
func After(wait time.Duration, f Fault) *Delayed { return &Delayed{Fault: f, wait: wait} }

// Inject implements Fault: wait, then inject.
func (d *Delayed) Inject(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d.wait):
	}
	return d.Fault.Inject(ctx)
}

// Repair implements Repairs when the delayed fault does.
func (d *Delayed) Repair(ctx context.Context) ([]string, error) {
	if r, ok := d.Fault.(Repairs); ok {
		return r.Repair(ctx)
	}
	return nil, nil
}

// Args implements FaultArgs: the delayed fault's, and the wait.
func (d *Delayed) Args() map[string]string {
	args := map[string]string{"after": d.wait.String()}
	if a, ok := d.Fault.(FaultArgs); ok {
		maps.Copy(args, a.Args())
	}
	return args
}

// OnlyProxies keeps, of each link of t, the proxies keep accepts (such as
// the SQS proxies alone: a cut of the invalidations' path only).
func OnlyProxies(t Target, keep func(proxy string) bool) Target {
	links := make([]topology.Link, len(t.Links))
	for i, l := range t.Links {
		l.Proxies = slices.DeleteFunc(slices.Clone(l.Proxies), func(p string) bool { return !keep(p) })
		links[i] = l
	}
	t.Links = links
	return t
}
