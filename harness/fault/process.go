package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

func init() {
	Register(Entry{Name: "kill-instance", Targets: []Scope{ScopeInstance},
		Description: "SIGKILL components (Chaos Monkey); recovered by starting them again, the data tier first",
		New:         OnTarget(KillInstance)})
	Register(Entry{Name: "kill-zone", Targets: []Scope{ScopeZone},
		Description: "SIGKILL a zone's Cassandra nodes, memcached servers and member services (Chaos Gorilla)",
		New:         OnTarget(KillZone)})
	Register(Entry{Name: "pause-instance", Targets: []Scope{ScopeInstance},
		Description: "freeze components with SIGSTOP (a gray failure: sockets held, nothing answered); thawed with SIGCONT",
		New:         OnTarget(PauseInstance)})
}

// Kill SIGKILLs components (Chaos Monkey for one instance, Chaos Gorilla for
// a zone) and recovers by starting them again.
//
// Recover starts the data tier first, then what depends on it: Cassandra
// nodes, memcached, SQS, member services, gateways, the director (and the
// toxiproxy server first of all, since every cross-region path crosses it).
// A member service starting in a zone whose Cassandra node is still down
// would fail its start, while a Cassandra node needs nothing from the others.
type Kill struct {
	cluster topology.Cluster
	name    string
	target  Target
	// wholeZone: the target must be exactly one zone, named by zone.
	wholeZone bool
	zone      string
}

// KillInstance kills the components of t (usually one instance, from
// Instance or RandomPick).
func KillInstance(c topology.Cluster, t Target) *Kill {
	return &Kill{cluster: c, name: "kill-instance", target: t}
}

// KillZone kills every component of a zone (t from Zone): its Cassandra
// nodes, memcached servers and member services. Setup refuses a target that
// spans more than one zone.
func KillZone(c topology.Cluster, t Target) *Kill {
	k := &Kill{cluster: c, name: "kill-zone", target: t, wholeZone: true}
	zones := map[string]bool{}
	for _, comp := range t.Components {
		zones[comp.Region+"/"+comp.Zone] = true
	}
	if len(zones) == 1 && t.Components[0].Zone != "" {
		k.zone = t.Components[0].Region + "/" + t.Components[0].Zone
	}
	return k
}

// Name implements Fault.
func (k *Kill) Name() string { return k.name }

// Target implements Fault.
func (k *Kill) Target() Target { return k.target }

// Args implements FaultArgs.
func (k *Kill) Args() map[string]string {
	if k.zone != "" {
		return map[string]string{"zone": k.zone}
	}
	return nil
}

// Setup implements Fault: every target must be running.
func (k *Kill) Setup(ctx context.Context) error {
	comps := k.target.Components
	if len(comps) == 0 || len(k.target.Links) > 0 {
		return fmt.Errorf("%s needs components to kill, got %s", k.name, k.target)
	}
	if k.wholeZone && k.zone == "" {
		return fmt.Errorf("%s needs the components of one zone (select them with Zone), got %s", k.name, k.target)
	}
	return AllInState(ctx, k.cluster, comps, topology.StateRunning)
}

// Inject implements Fault: SIGKILL every target, all of them even when one
// fails.
func (k *Kill) Inject(ctx context.Context) error {
	return eachComponent(ctx, k.target.Components, "kill", k.cluster.Kill)
}

// eachComponent runs act (a Cluster method such as Kill or Pause) on every
// component, all of them even when one fails; verb names act in the errors.
func eachComponent(ctx context.Context, comps []topology.Component, verb string, act func(ctx context.Context, id string) error) error {
	var errs []error
	for _, c := range comps {
		if err := act(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", verb, c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// WaitInjected implements Fault: every target is stopped and refuses
// connections, and when a Cassandra node was killed, every other running
// Cassandra node's failure detector holds a node DOWN (topology.SeesAllUp).
func (k *Kill) WaitInjected(ctx context.Context) error {
	comps := k.target.Components
	return PollUntil(ctx, fmt.Sprintf("%s stopped and refusing connections, and seen DOWN by its peers", k.target), func(ctx context.Context) error {
		if err := AllInState(ctx, k.cluster, comps, topology.StateStopped); err != nil {
			return err
		}
		for _, c := range comps {
			if err := refusesConnections(ctx, c.ID, c.Address); err != nil {
				return err
			}
		}
		if anyOfKind(comps, topology.KindCassandra) {
			return peersSeeDown(ctx, k.cluster, comps)
		}
		return nil
	})
}

// Recover implements Fault: start every target that is not running, in
// dependency order (see Kill), each waited for until it answers.
func (k *Kill) Recover(ctx context.Context) error {
	return startInOrder(ctx, k.cluster, k.target.Components)
}

// WaitRecovered implements Fault: every target is running and accepts
// connections, and every running Cassandra node sees every node UP.
func (k *Kill) WaitRecovered(ctx context.Context) error {
	return waitRunning(ctx, k.cluster, k.target, "running and answering again, and every node seen UP")
}

// RepairKilled runs a full repair of the member service's tables on every
// Cassandra node of comps, one after the other, when the world can
// (topology.Repairer): a node killed hard loses the hints it held and the
// replies it awaited from the other regions, so writes it coordinated and
// acknowledged in its own region would otherwise be missing in the others
// for good. A repair that fails is tried again until ctx ends (a node
// just seen UP may not take part yet).
func RepairKilled(ctx context.Context, c topology.Cluster, comps []topology.Component) error {
	r, ok := c.(topology.Repairer)
	if !ok {
		return nil
	}
	return repairNodes(ctx, c, r, cassandraIDs(comps))
}

// repairNodes repairs the member service's tables on each node of ids,
// one after the other, each tried again until ctx ends.
func repairNodes(ctx context.Context, c topology.Cluster, r topology.Repairer, ids []string) error {
	keyspace := c.Spec().Cassandra.Keyspace
	for _, id := range ids {
		if err := PollUntil(ctx, id+" repaired", func(ctx context.Context) error {
			return r.Repair(ctx, id, keyspace, member.Tables...)
		}); err != nil {
			return err
		}
	}
	return nil
}

// cassandraIDs are the IDs of the Cassandra nodes among comps.
func cassandraIDs(comps []topology.Component) []string {
	var ids []string
	for _, c := range comps {
		if c.Kind == topology.KindCassandra {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// Cleanup implements Fault. It repairs nothing: the run repairs once the
// convergence after the heal was watched (Repair), so that a repair does
// not close a stale window that users meet before an operator's repair
// would.
func (k *Kill) Cleanup(context.Context) error { return nil }

// Repair implements Repairs: a full repair of the Cassandra nodes it
// killed (as RepairKilled); nothing when it killed none. A world that cannot
// repair (not a topology.Repairer) repairs nothing, and says so.
func (k *Kill) Repair(ctx context.Context) ([]string, error) {
	ids := cassandraIDs(k.target.Components)
	if len(ids) == 0 {
		return nil, nil
	}
	r, ok := k.cluster.(topology.Repairer)
	if !ok {
		return nil, fmt.Errorf("world %s cannot repair its Cassandra nodes: %s not repaired", k.cluster.Name(), strings.Join(ids, ", "))
	}
	if err := repairNodes(ctx, k.cluster, r, ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// startOrder ranks kinds for a restart: what others depend on first.
var startOrder = []string{topology.KindToxiproxy, topology.KindCassandra, topology.KindMemcached, topology.KindSQS,
	topology.KindMember, topology.KindGateway, topology.KindDirector}

func startInOrder(ctx context.Context, c topology.Cluster, comps []topology.Component) error {
	comps = slices.Clone(comps)
	rank := func(kind string) int {
		if i := slices.Index(startOrder, kind); i >= 0 {
			return i
		}
		return len(startOrder)
	}
	slices.SortStableFunc(comps, func(a, b topology.Component) int { return rank(a.Kind) - rank(b.Kind) })
	st, err := componentStates(ctx, c, componentIDs(comps))
	if err != nil {
		return err
	}
	var errs []error
	for _, comp := range comps {
		if st[comp.ID].State == topology.StateRunning {
			continue
		}
		if err := c.Start(ctx, comp.ID); err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", comp.ID, err))
		}
	}
	return errors.Join(errs...)
}

// waitRunning waits until every component of t runs and accepts
// connections and, when one of them is a Cassandra node, every running
// node sees every node UP.
func waitRunning(ctx context.Context, c topology.Cluster, t Target, what string) error {
	comps := t.Components
	return PollUntil(ctx, t.String()+" "+what, func(ctx context.Context) error {
		if err := AllInState(ctx, c, comps, topology.StateRunning); err != nil {
			return err
		}
		for _, comp := range comps {
			if err := dialTCP(ctx, comp.Address); err != nil {
				return fmt.Errorf("%s does not accept connections at %s: %w", comp.ID, comp.Address, err)
			}
		}
		if anyOfKind(comps, topology.KindCassandra) {
			return AllSeeUp(ctx, c)
		}
		return nil
	})
}

// Pause freezes components with SIGSTOP (a gray failure: the process holds
// its sockets and answers nothing) and thaws them with SIGCONT.
type Pause struct {
	cluster topology.Cluster
	target  Target
}

// PauseInstance pauses the components of t (usually one instance).
func PauseInstance(c topology.Cluster, t Target) *Pause { return &Pause{cluster: c, target: t} }

// Name implements Fault.
func (p *Pause) Name() string { return "pause-instance" }

// Target implements Fault.
func (p *Pause) Target() Target { return p.target }

// Setup implements Fault: every target must be running.
func (p *Pause) Setup(ctx context.Context) error {
	if len(p.target.Components) == 0 || len(p.target.Links) > 0 {
		return fmt.Errorf("pause-instance needs components to pause, got %s", p.target)
	}
	return AllInState(ctx, p.cluster, p.target.Components, topology.StateRunning)
}

// Inject implements Fault: SIGSTOP every target.
func (p *Pause) Inject(ctx context.Context) error {
	return eachComponent(ctx, p.target.Components, "pause", p.cluster.Pause)
}

// WaitInjected implements Fault: the backend reports every target paused
// (for the local backend: every thread of the process stopped).
func (p *Pause) WaitInjected(ctx context.Context) error {
	return PollUntil(ctx, p.target.String()+" paused", func(ctx context.Context) error {
		return AllInState(ctx, p.cluster, p.target.Components, topology.StatePaused)
	})
}

// Recover implements Fault: SIGCONT every target that is paused.
func (p *Pause) Recover(ctx context.Context) error {
	st, err := componentStates(ctx, p.cluster, componentIDs(p.target.Components))
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range p.target.Components {
		switch st[c.ID].State {
		case topology.StateRunning:
		case topology.StateStopped:
			errs = append(errs, fmt.Errorf("resume %s: it is stopped, not paused (something else killed it)", c.ID))
		default:
			if err := p.cluster.Resume(ctx, c.ID); err != nil {
				errs = append(errs, fmt.Errorf("resume %s: %w", c.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// WaitRecovered implements Fault: every target runs and accepts
// connections, and every running Cassandra node sees every node UP.
func (p *Pause) WaitRecovered(ctx context.Context) error {
	return waitRunning(ctx, p.cluster, p.target, "running again, and every node seen UP")
}

// Cleanup implements Fault.
func (p *Pause) Cleanup(context.Context) error { return nil }
