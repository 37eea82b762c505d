package fault

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// Faults the reference application injects on request, through its admin
// APIs: dependency errors in member services, the member services'
// broken-world switches (dropped writes, no invalidations, the cache
// written in one zone), and the evacuation of a region (Chaos Kong)
// through the director and the gateways.

func init() {
	members := []Scope{ScopeInstance, ScopeZone, ScopeRegion, ScopeWorld}
	Register(Entry{Name: "dependency-errors", Targets: members,
		Description: "member services answer a share of user requests 503 and/or late, as if a dependency misbehaved",
		Params: []Param{{Name: "error_rate", Default: "0.5", Help: "share of user requests answered 503, in [0,1]"},
			{Name: "latency_ms", Default: "0", Help: "added to every user request"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			return DependencyErrors(c, t, a.Float("error_rate"), a.Int("latency_ms")), nil
		}})
	Register(Entry{Name: "stalling-reads", Targets: members,
		Description: "member services hold a share of user reads before serving them (Latency Monkey's stalled dependency)",
		Params: []Param{{Name: "slow_rate", Default: "0.05", Help: "share of user reads held, in [0,1]"},
			{Name: "slow_ms", Default: "3000", Help: "how long a read is held"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			return StallingReads(c, t, a.Float("slow_rate"), a.Int("slow_ms")), nil
		}})
	Register(Entry{Name: "remote-writes", Targets: members,
		Description: "member services write at a consistency that waits for the other regions: a cross-region call on the request path",
		Params:      []Param{{Name: "write_consistency", Default: "QUORUM", Help: "QUORUM, EACH_QUORUM or ALL instead of LOCAL_QUORUM"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			return RemoteWrites(c, t, a.String("write_consistency")), nil
		}})
	Register(Entry{Name: "weak-reads", Targets: members,
		Description: "member services read at a level that may miss an acknowledged write on a cache miss (a replica back from a crash, before its hints)",
		Params:      []Param{{Name: "read_consistency", Default: "LOCAL_ONE", Help: "LOCAL_ONE or ONE instead of LOCAL_QUORUM"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			return WeakReads(c, t, a.String("read_consistency")), nil
		}})
	Register(Entry{Name: "dropped-writes", Targets: members,
		Description: "member services answer a share of user writes as stored but store them nowhere (a node that silently drops writes)",
		Params:      []Param{{Name: "rate", Default: "0.01", Help: "share of user writes dropped, in [0,1]"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			return DroppedWrites(c, t, a.Float("rate")), nil
		}})
	Register(Entry{Name: "no-invalidations", Targets: members,
		Description: "member services send no cross-region invalidation for their writes: other regions keep their cached values",
		New:         OnTarget(NoInvalidations)})
	Register(Entry{Name: "no-replication", Targets: members,
		Description: "member services in the replicate cache mode send the other regions an invalidation instead of the new value: their caches drop it",
		New:         OnTarget(NoReplication)})
	Register(Entry{Name: "volatile-outbox", Targets: members,
		Description: "member services keep the invalidations they owe other regions in memory only: killed while they owe some, they lose them",
		New:         OnTarget(VolatileOutbox)})
	Register(Entry{Name: "cache-one-zone", Targets: members,
		Description: "member services write the cache of a user write in their own zone only: other zones keep the old value",
		New:         OnTarget(CacheOneZone)})
	Register(Entry{Name: "evacuate-region", Targets: []Scope{ScopeRegion},
		Description: "move a region's users to the others step by step at the director, the receiving gateways in failover (Chaos Kong)",
		Params: []Param{{Name: "steps", Default: "0.25,0.5,0.75,1", Help: "evacuated fractions, in (0,1], not decreasing"},
			{Name: "step_wait", Default: "8s", Help: "pause after each step but the last"},
			{Name: "no_failover", Default: "false", Help: "leave the receiving gateways' failover flag alone (a broken world)"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			region, err := t.Region()
			e := EvacuateRegion(c, region, a.Floats("steps"), a.Duration("step_wait"))
			e.NoFailover = a.Bool("no_failover")
			return e, err
		}})
}

// DependencyFault makes member service instances fail a share of user
// requests with 503 and/or answer them late, as if a dependency misbehaved,
// or turns on one of their broken-world switches, through each instance's
// PUT /admin/faults (member.Faults). Recover sets every instance back to no
// faults.
type DependencyFault struct {
	name    string
	cluster topology.Cluster
	target  Target
	members []topology.Component
	want    member.Faults
}

// DependencyErrors injects errorRate (0..1: the share of user requests
// answered 503) and latencyMS (added to every user request) into the member
// services of t: all of a region's with Region, a zone's with Zone, or one
// with Instance. Components of t that are not member services are ignored.
func DependencyErrors(c topology.Cluster, t Target, errorRate float64, latencyMS int) *DependencyFault {
	return newDependencyFault("dependency-errors", c, t, member.Faults{ErrorRate: errorRate, LatencyMS: latencyMS})
}

// StallingReads makes the member services of t hold a share (slowRate,
// 0..1) of user reads for slowMS before serving them, as if a dependency
// stalled now and then (Latency Monkey). The gateway's try timeout is the
// protection: it sends a stalled read to another instance.
func StallingReads(c topology.Cluster, t Target, slowRate float64, slowMS int) *DependencyFault {
	return newDependencyFault("stalling-reads", c, t, member.Faults{SlowRate: slowRate, SlowMS: slowMS})
}

// WithStallingReads adds stalling reads to the fault (see StallingReads).
func (f *DependencyFault) WithStallingReads(slowRate float64, slowMS int) *DependencyFault {
	f.want.SlowRate, f.want.SlowMS = slowRate, slowMS
	return f
}

// RemoteWrites makes the member services of t write at consistency cl
// (QUORUM, EACH_QUORUM) instead of LOCAL_QUORUM: every write then waits for
// the other regions, a cross-region call on the request path. A broken
// world: active-active keeps each region's request path local.
func RemoteWrites(c topology.Cluster, t Target, cl string) *DependencyFault {
	return newDependencyFault("remote-writes", c, t, member.Faults{WriteConsistency: cl})
}

// WeakReads makes the member services of t read at consistency cl
// (LOCAL_ONE) instead of LOCAL_QUORUM when a read misses the cache. A
// broken world: a replica that was down answers before its hints arrive,
// with an acknowledged write's predecessor.
func WeakReads(c topology.Cluster, t Target, cl string) *DependencyFault {
	return newDependencyFault("weak-reads", c, t, member.Faults{ReadConsistency: cl})
}

// DroppedWrites makes the member services of t answer a share (rate,
// 0..1) of user writes exactly as if they were stored, and store them
// nowhere: no Cassandra write, no cache write, no invalidation. A broken
// world: a node that silently drops one write in a hundred.
func DroppedWrites(c topology.Cluster, t Target, rate float64) *DependencyFault {
	return newDependencyFault("dropped-writes", c, t, member.Faults{DropWriteRate: rate})
}

// NoInvalidations makes the member services of t store and cache their
// writes as usual but tell no other region about them. A broken world: the
// other regions serve what their caches held before the write.
func NoInvalidations(c topology.Cluster, t Target) *DependencyFault {
	return newDependencyFault("no-invalidations", c, t, member.Faults{NoInvalidations: true})
}

// NoReplication makes the member services of t, in the replicate cache
// mode, send the other regions an invalidation of each write instead of
// its new value. A broken world for a data set declared replicated: the
// other regions' caches drop the key, and their next read misses.
func NoReplication(c topology.Cluster, t Target) *DependencyFault {
	return newDependencyFault("no-replication", c, t, member.Faults{NoReplication: true})
}

// VolatileOutbox makes the member services of t keep the invalidations
// they owe other regions in memory only, not in their outbox journal. A
// broken world: a member killed while its SQS link is cut loses what it
// owed, and the other regions' caches keep the old values.
func VolatileOutbox(c topology.Cluster, t Target) *DependencyFault {
	return newDependencyFault("volatile-outbox", c, t, member.Faults{VolatileOutbox: true})
}

// CacheOneZone makes the member services of t write the cache of a user
// write in their own zone only. A broken world: members of the other zones
// serve the value cached before the write.
func CacheOneZone(c topology.Cluster, t Target) *DependencyFault {
	return newDependencyFault("cache-one-zone", c, t, member.Faults{CacheOneZone: true})
}

func newDependencyFault(name string, c topology.Cluster, t Target, want member.Faults) *DependencyFault {
	f := &DependencyFault{name: name, cluster: c, target: t, want: want}
	for _, comp := range t.Components {
		if comp.Kind == topology.KindMember {
			f.members = append(f.members, comp)
		}
	}
	return f
}

// Name implements Fault.
func (f *DependencyFault) Name() string { return f.name }

// Target implements Fault: the member services it changes.
func (f *DependencyFault) Target() Target { return Target{Components: f.members} }

// Args implements FaultArgs.
func (f *DependencyFault) Args() map[string]string {
	args := map[string]string{"error_rate": strconv.FormatFloat(f.want.ErrorRate, 'g', -1, 64),
		"latency_ms": strconv.Itoa(f.want.LatencyMS), "selected": f.target.String()}
	if f.want.WriteConsistency != "" {
		args["write_consistency"] = f.want.WriteConsistency
	}
	if f.want.ReadConsistency != "" {
		args["read_consistency"] = f.want.ReadConsistency
	}
	if f.want.SlowRate > 0 {
		args["slow_rate"] = strconv.FormatFloat(f.want.SlowRate, 'g', -1, 64)
		args["slow_ms"] = strconv.Itoa(f.want.SlowMS)
	}
	if f.want.DropWriteRate > 0 {
		args["drop_write_rate"] = strconv.FormatFloat(f.want.DropWriteRate, 'g', -1, 64)
	}
	if f.want.NoInvalidations {
		args["no_invalidations"] = "true"
	}
	if f.want.CacheOneZone {
		args["cache_one_zone"] = "true"
	}
	if f.want.VolatileOutbox {
		args["volatile_outbox"] = "true"
	}
	return args
}

// Setup implements Fault: there are member services to change and the
// setting is valid and not empty.
func (f *DependencyFault) Setup(context.Context) error {
	if len(f.members) == 0 {
		return fmt.Errorf("%s: no member service in %s", f.name, f.target)
	}
	if !(f.want.ErrorRate >= 0 && f.want.ErrorRate <= 1) || f.want.LatencyMS < 0 {
		return fmt.Errorf("%s: error rate %v must be in [0,1] and latency %d ms >= 0", f.name, f.want.ErrorRate, f.want.LatencyMS)
	}
	if !(f.want.SlowRate >= 0 && f.want.SlowRate <= 1) || f.want.SlowMS < 0 || (f.want.SlowRate > 0) != (f.want.SlowMS > 0) {
		return fmt.Errorf("%s: slow rate %v must be in [0,1] with a hold of slow_ms %d > 0 (or both 0)", f.name, f.want.SlowRate, f.want.SlowMS)
	}
	if !(f.want.DropWriteRate >= 0 && f.want.DropWriteRate <= 1) {
		return fmt.Errorf("%s: drop write rate %v must be in [0,1]", f.name, f.want.DropWriteRate)
	}
	if f.want == (member.Faults{}) {
		return fmt.Errorf("%s: an error rate of 0, no latency, no write consistency and no switch inject nothing", f.name)
	}
	return nil
}

func (f *DependencyFault) setAll(ctx context.Context, v member.Faults) error {
	var errs []error
	for _, m := range f.members {
		if err := memberAdmin(f.cluster, m).SetFaults(ctx, v); err != nil {
			errs = append(errs, fmt.Errorf("set the faults of %s: %w", m.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (f *DependencyFault) waitAll(ctx context.Context, v member.Faults) error {
	what := fmt.Sprintf("member services %s reporting faults %s", f.Target(), v)
	return PollUntil(ctx, what, func(ctx context.Context) error {
		for _, m := range f.members {
			got, err := memberAdmin(f.cluster, m).Faults(ctx)
			if err != nil {
				return err
			}
			if got != v {
				return fmt.Errorf("%s reports faults %s", m.ID, got)
			}
		}
		return nil
	})
}

// Inject implements Fault: PUT /admin/faults on every member service.
func (f *DependencyFault) Inject(ctx context.Context) error { return f.setAll(ctx, f.want) }

// WaitInjected implements Fault: GET /admin/faults shows the setting on every
// member service.
func (f *DependencyFault) WaitInjected(ctx context.Context) error { return f.waitAll(ctx, f.want) }

// Recover implements Fault: no faults on every member service.
func (f *DependencyFault) Recover(ctx context.Context) error { return f.setAll(ctx, member.Faults{}) }

// WaitRecovered implements Fault: GET /admin/faults shows no faults anywhere.
func (f *DependencyFault) WaitRecovered(ctx context.Context) error {
	return f.waitAll(ctx, member.Faults{})
}

// Cleanup implements Fault.
func (f *DependencyFault) Cleanup(context.Context) error { return nil }

// Evacuation moves a region's users to the other regions gradually (Chaos
// Kong): the gateways of the other regions (the receiving ones) go into
// failover mode first, so that they serve the evacuated region's users
// locally instead of proxying them back to it, then the director's
// evacuated fraction of the region steps through Steps, StepWait apart; the
// director hands the users to the other regions by their spare capacity.
// Recover restores the region at the director, then puts the receiving
// gateways' failover flag back as it was before.
type Evacuation struct {
	cluster  topology.Cluster
	region   string
	steps    []float64
	stepWait time.Duration
	// NoFailover leaves the receiving gateways' failover flag alone: they
	// then proxy (or redirect) the evacuated region's users back to it. A
	// broken-world setting: an evacuation that does not really move users.
	NoFailover bool

	mu        sync.Mutex
	dir       *director.AdminClient          // nil until Setup found it
	receivers map[string]gateway.AdminClient // other region -> its gateway
	before    map[string]bool                // other region -> its failover flag before
	report    func(history.Event)
}

// DefaultEvacuationSteps are the fractions of a gradual evacuation.
var DefaultEvacuationSteps = []float64{0.25, 0.5, 0.75, 1}

// EvacuateRegion evacuates region through steps (fractions in (0,1], not
// decreasing; nil: DefaultEvacuationSteps), waiting stepWait after each step
// but the last.
func EvacuateRegion(c topology.Cluster, region string, steps []float64, stepWait time.Duration) *Evacuation {
	if steps == nil {
		steps = DefaultEvacuationSteps
	}
	return &Evacuation{cluster: c, region: region, steps: append([]float64(nil), steps...), stepWait: stepWait}
}

// Name implements Fault.
func (e *Evacuation) Name() string { return "evacuate-region" }

// Target implements Fault: the evacuated region.
func (e *Evacuation) Target() Target { return Target{Regions: []string{e.region}} }

// Args implements FaultArgs.
func (e *Evacuation) Args() map[string]string {
	parts := make([]string, len(e.steps))
	for i, s := range e.steps {
		parts[i] = strconv.FormatFloat(s, 'g', -1, 64)
	}
	return map[string]string{"steps": strings.Join(parts, ","), "step_wait": e.stepWait.String()}
}

// ReportSteps implements StepReporter: each step of the evacuation is an event.
func (e *Evacuation) ReportSteps(f func(history.Event)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.report = f
}

func (e *Evacuation) emit(ev history.Event) {
	e.mu.Lock()
	report := e.report
	e.mu.Unlock()
	if report != nil {
		report(ev)
	}
}

// Setup implements Fault: the steps are valid, the director and the other
// regions' gateways are found, and their failover flags are remembered.
func (e *Evacuation) Setup(ctx context.Context) error {
	if len(e.steps) == 0 {
		return fmt.Errorf("evacuate %s: no steps", e.region)
	}
	prev := 0.0
	for _, s := range e.steps {
		if !(s > 0 && s <= 1) || s < prev {
			return fmt.Errorf("evacuate %s: steps %v must be fractions in (0,1], not decreasing", e.region, e.steps)
		}
		prev = s
	}
	if e.stepWait < 0 {
		return fmt.Errorf("evacuate %s: step wait %s < 0", e.region, e.stepWait)
	}
	if _, ok := e.cluster.Spec().Region(e.region); !ok {
		return fmt.Errorf("evacuate %s: world %s has no such region (its regions are %s)",
			e.region, e.cluster.Name(), strings.Join(e.cluster.Spec().RegionNames(), ", "))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dir, e.receivers, e.before = nil, nil, map[string]bool{}
	d, err := topology.Director(ctx, e.cluster)
	if err != nil {
		return fmt.Errorf("evacuate %s: %w", e.region, err)
	}
	others := slices.DeleteFunc(e.cluster.Spec().RegionNames(), func(r string) bool { return r == e.region })
	if len(others) == 0 {
		return fmt.Errorf("evacuate %s: no other region runs a gateway to take its users", e.region)
	}
	receivers, err := gatewaysOf(ctx, e.cluster, others)
	if err != nil {
		return fmt.Errorf("evacuate %s: %w", e.region, err)
	}
	for region, gw := range receivers {
		cfg, err := gw.Config(ctx)
		if err != nil {
			return fmt.Errorf("evacuate %s: read the gateway of %s: %w", e.region, region, err)
		}
		e.before[region] = cfg.Failover
	}
	e.dir, e.receivers = new(directorAdmin(e.cluster, d)), receivers
	return nil
}

func (e *Evacuation) setFailover(ctx context.Context, want func(region string) bool) error {
	e.mu.Lock()
	receivers := e.receivers
	e.mu.Unlock()
	var errs []error
	for region, gw := range receivers {
		v := want(region)
		if _, err := gw.Update(ctx, gateway.Patch{Failover: &v}); err != nil {
			errs = append(errs, fmt.Errorf("set failover=%v on the gateway of %s: %w", v, region, err))
			continue
		}
		e.emit(history.Event{Kind: history.TrafficShift, Name: "gateway-failover", Target: region,
			Detail: map[string]string{"failover": strconv.FormatBool(v), "for": e.region}})
	}
	return errors.Join(errs...)
}

// Inject implements Fault: failover on the receiving gateways, then the
// director's evacuated fraction through every step.
func (e *Evacuation) Inject(ctx context.Context) error {
	e.mu.Lock()
	dir := e.dir
	e.mu.Unlock()
	if !e.NoFailover {
		if err := e.setFailover(ctx, func(string) bool { return true }); err != nil {
			return err
		}
	}
	for i, s := range e.steps {
		if i > 0 && e.stepWait > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("evacuate %s: stopped before step %v: %w", e.region, s, context.Cause(ctx))
			case <-time.After(e.stepWait):
			}
		}
		if _, err := dir.Evacuate(ctx, e.region, s); err != nil {
			return fmt.Errorf("evacuate %s to %v at the director: %w", e.region, s, err)
		}
		detail := map[string]string{"fraction": strconv.FormatFloat(s, 'g', -1, 64)}
		// The capacities the world declares (0: unknown), from which a
		// checker derives the split by spare capacity on its own.
		for _, r := range e.cluster.Spec().Regions {
			detail[history.CapacityDetail+r.Name] = strconv.Itoa(r.Capacity)
		}
		e.emit(history.Event{Kind: history.TrafficShift, Name: history.ShiftEvacuate, Target: e.region, Detail: detail})
	}
	return nil
}

// WaitInjected implements Fault: the director's table shows the region
// evacuated to the last step and every receiving gateway in failover.
func (e *Evacuation) WaitInjected(ctx context.Context) error {
	last := e.steps[len(e.steps)-1]
	if e.NoFailover {
		return e.waitState(ctx, fmt.Sprintf("region %s %v evacuated at the director", e.region, last), last, e.failoverBefore)
	}
	return e.waitState(ctx, fmt.Sprintf("region %s %v evacuated at the director, other gateways in failover", e.region, last),
		last, func(string) bool { return true })
}

// Recover implements Fault: restore the region at the director, then put
// every receiving gateway's failover flag back.
func (e *Evacuation) Recover(ctx context.Context) error {
	e.mu.Lock()
	dir := e.dir
	e.mu.Unlock()
	if dir == nil {
		return nil // Setup found nothing, so nothing was changed
	}
	var errs []error
	if _, err := dir.Restore(ctx, e.region); err != nil {
		errs = append(errs, fmt.Errorf("restore %s at the director: %w", e.region, err))
	} else {
		e.emit(history.Event{Kind: history.TrafficShift, Name: history.ShiftRestore, Target: e.region})
	}
	errs = append(errs, e.setFailover(ctx, e.failoverBefore))
	return errors.Join(errs...)
}

func (e *Evacuation) failoverBefore(region string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.before[region]
}

// WaitRecovered implements Fault: the director shows nothing of the region
// evacuated and every receiving gateway's failover flag is as before.
func (e *Evacuation) WaitRecovered(ctx context.Context) error {
	return e.waitState(ctx, fmt.Sprintf("region %s restored at the director, other gateways' failover as before", e.region),
		0, e.failoverBefore)
}

func (e *Evacuation) waitState(ctx context.Context, what string, fraction float64, failover func(string) bool) error {
	e.mu.Lock()
	dir, receivers := e.dir, e.receivers
	e.mu.Unlock()
	return PollUntil(ctx, what, func(ctx context.Context) error {
		table, err := dir.Table(ctx)
		if err != nil {
			return err
		}
		if got := table.Evacuated[e.region]; math.Abs(got-fraction) > 1e-9 {
			return fmt.Errorf("the director has %s %v evacuated", e.region, got)
		}
		for region, gw := range receivers {
			cfg, err := gw.Config(ctx)
			if err != nil {
				return err
			}
			if cfg.Failover != failover(region) {
				return fmt.Errorf("the gateway of %s has failover=%v", region, cfg.Failover)
			}
		}
		return nil
	})
}

// Cleanup implements Fault.
func (e *Evacuation) Cleanup(context.Context) error { return nil }
