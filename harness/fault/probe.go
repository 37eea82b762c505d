package fault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/probe"
)

// How faults watch the world: every wait polls a real probe (a CQL query, a
// TCP dial, an admin API) until it answers as expected or its deadline
// passes, and then says what it waited for and what the last probe said.
// The exported ones serve the packages that watch the world beside the
// faults (the preflight, the faults that measure their effect).

const (
	// faultPoll is the pause between two probes of a wait.
	faultPoll = 250 * time.Millisecond
	// faultProbeTimeout bounds one probe.
	faultProbeTimeout = 10 * time.Second
	// faultDefaultWait is the deadline of a wait whose context has none.
	faultDefaultWait = 5 * time.Minute
	// nodeProbeTimeout bounds one question to a Cassandra node. Before its
	// failure detector convicts a dead peer, the read at ALL waits for that
	// peer until the node's own range timeout (10 s); giving up sooner and
	// asking again keeps the measured time to effect within a few seconds.
	nodeProbeTimeout = 3 * time.Second
)

// seesAllUp asks one node whether it sees every node UP, within nodeProbeTimeout.
func seesAllUp(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, nodeProbeTimeout)
	defer cancel()
	return topology.SeesAllUp(ctx, addr)
}

// PollUntil runs check until it returns nil or ctx ends. A context without
// a deadline gets faultDefaultWait, so no wait is unbounded.
func PollUntil(ctx context.Context, what string, check func(ctx context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, faultDefaultWait)
		defer cancel()
	}
	start := time.Now()
	if last := probe.Poll(ctx, faultProbeTimeout, faultPoll, check); last != nil {
		return fmt.Errorf("waited %s for %s, gave up (%v); last probe: %w",
			time.Since(start).Round(time.Millisecond), what, context.Cause(ctx), last)
	}
	return nil
}

// componentStates returns the current status of the given components, by ID.
func componentStates(ctx context.Context, c topology.Cluster, ids []string) (map[string]topology.Status, error) {
	all, err := worldComponents(ctx, c)
	if err != nil {
		return nil, err
	}
	out := map[string]topology.Status{}
	for _, st := range all {
		out[st.ID] = st
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, fmt.Errorf("world %s has no component %s", c.Name(), id)
		}
	}
	return out, nil
}

// AllInState checks that every component is in state want.
func AllInState(ctx context.Context, c topology.Cluster, comps []topology.Component, want topology.State) error {
	st, err := componentStates(ctx, c, componentIDs(comps))
	if err != nil {
		return err
	}
	for _, comp := range comps {
		if got := st[comp.ID].State; got != want {
			return fmt.Errorf("%s is %s, not %s", comp.ID, got, want)
		}
	}
	return nil
}

func componentIDs(comps []topology.Component) []string {
	out := make([]string, len(comps))
	for i, c := range comps {
		out[i] = c.ID
	}
	return out
}

// dialTCP opens and closes a TCP connection to addr.
func dialTCP(ctx context.Context, addr string) error {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// refusesConnections checks that nothing accepts TCP connections at addr.
func refusesConnections(ctx context.Context, what, addr string) error {
	if err := dialTCP(ctx, addr); err == nil {
		return fmt.Errorf("%s at %s still accepts connections", what, addr)
	}
	return nil
}

// peersSeeDown checks that every running Cassandra node other than the
// victims sees a node DOWN. With no such node left, there is nobody to ask
// and the victims' stopped or paused state is the proof.
func peersSeeDown(ctx context.Context, c topology.Cluster, victims []topology.Component) error {
	all, err := worldComponents(ctx, c)
	if err != nil {
		return err
	}
	skip := map[string]bool{}
	for _, v := range victims {
		skip[v.ID] = true
	}
	for _, st := range all {
		if st.Kind != topology.KindCassandra || skip[st.ID] || st.State != topology.StateRunning {
			continue
		}
		err := seesAllUp(ctx, st.Address)
		switch {
		case errors.Is(err, topology.ErrSeesDown):
		case err == nil:
			return fmt.Errorf("%s still sees every node UP", st.ID)
		default:
			return fmt.Errorf("ask %s whether it sees a node DOWN: %w", st.ID, err)
		}
	}
	return nil
}

// AllSeeUp checks that every running Cassandra node sees every node UP.
func AllSeeUp(ctx context.Context, c topology.Cluster) error {
	all, err := worldComponents(ctx, c)
	if err != nil {
		return err
	}
	for _, st := range all {
		if st.Kind != topology.KindCassandra || st.State != topology.StateRunning {
			continue
		}
		if err := seesAllUp(ctx, st.Address); err != nil {
			return fmt.Errorf("%s: %w", st.ID, err)
		}
	}
	return nil
}

// anyOfKind reports whether any component is of kind.
func anyOfKind(comps []topology.Component, kind string) bool {
	for _, c := range comps {
		if c.Kind == kind {
			return true
		}
	}
	return false
}

// LinksAnswer checks that an HTTP request crosses each link to the SQS
// endpoint of its destination.
func LinksAnswer(ctx context.Context, c topology.Cluster, links []topology.Link) error {
	for _, l := range links {
		ep := c.SQSEndpoint(l.From, l.To)
		if ep == "" {
			continue
		}
		if err := probe.HTTPAnswers(ctx, ep); err != nil {
			return fmt.Errorf("SQS of %s through link %s (%s) does not answer: %w", l.To, l.Name, ep, err)
		}
	}
	return nil
}

// memberAdmin, gatewayAdmin and directorAdmin are the admin clients of a
// component of c: the typed clients of the application, with c's secret.
func memberAdmin(c topology.Cluster, m topology.Component) member.AdminClient {
	return member.NewAdminClient("http://"+m.Address, c.Secret())
}

func gatewayAdmin(c topology.Cluster, g topology.Component) gateway.AdminClient {
	return gateway.NewAdminClient("http://"+g.Address, c.Secret())
}

func directorAdmin(c topology.Cluster, d topology.Component) director.AdminClient {
	return director.NewAdminClient("http://"+d.Address, c.Secret())
}
