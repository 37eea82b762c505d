package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/probe"
)

// poll runs check until it succeeds, the process exits, or ctx ends; the
// error then says what never became ready and why.
func (w *World) poll(ctx context.Context, id, what string, check func(context.Context) error) error {
	exited := w.procs[id].exited()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-exited:
			cancel(errExited)
		case <-ctx.Done():
		}
	}()
	last := probe.Poll(ctx, 10*time.Second, 250*time.Millisecond, check)
	switch {
	case last == nil:
		return nil
	case errors.Is(context.Cause(ctx), errExited):
		return fmt.Errorf("%s exited before it was %s: see its log %s (last check: %v)", id, what, w.LogPath(id), last)
	}
	return fmt.Errorf("%s never became %s (%v): last check said %v; see its log %s", id, what, context.Cause(ctx), last, w.LogPath(id))
}

// errExited ends a poll whose process exited.
var errExited = errors.New("the process exited")

// waitPort waits until a component accepts TCP connections on addr.
func (w *World) waitPort(ctx context.Context, id, addr string) error {
	return w.poll(ctx, id, "listening on "+addr, func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// waitReady waits until a component answers its own protocol
// (probe.Answers); toxiproxy then gets the proxies of every link.
func (w *World) waitReady(ctx context.Context, id string) error {
	c := w.procs[id].comp
	err := w.poll(ctx, id, probe.Asks(c.Kind), func(ctx context.Context) error {
		return probe.Answers(ctx, c)
	})
	if err == nil && c.Kind == topology.KindToxiproxy {
		err = createProxies(w.Plan())
	}
	if err == nil {
		w.markReady(id)
	}
	return err
}

// waitCluster waits until every node sees every other node in its right
// datacenter and rack and alive, creates the keyspaces, and checks that each
// region's SQS queue answers through every link. Nodes are asked at once,
// and the links beside them: each question is one round trip of its own.
func (w *World) waitCluster(ctx context.Context) error {
	p := w.Plan()
	nodes := probe.Nodes(p)
	byID := map[string]probe.Node{}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		byID[n.ID], ids[i] = n, n.ID
	}
	links := make(chan error, 1)
	go func() { links <- w.waitLinks(ctx) }()
	err := w.eachParallel(ctx, ids, func(ctx context.Context, id string) error {
		return w.poll(ctx, id, "seeing every node in its datacenter and rack", func(ctx context.Context) error {
			return probe.CQLPeers(ctx, byID[id], nodes)
		})
	})
	if err == nil {
		err = w.createKeyspaces(ctx, nodes)
	}
	if err == nil {
		err = w.eachParallel(ctx, ids, func(ctx context.Context, id string) error {
			return w.poll(ctx, id, "seeing every node UP", func(ctx context.Context) error {
				return topology.SeesAllUp(ctx, byID[id].CQL)
			})
		})
	}
	return errors.Join(err, <-links)
}

// createKeyspaces creates the world's keyspaces and the application's
// tables, in one round of schema changes through the first node.
func (w *World) createKeyspaces(ctx context.Context, nodes []probe.Node) error {
	perRegion := map[string]int{}
	for _, n := range nodes {
		perRegion[n.Region]++
	}
	stmts := topology.KeyspaceStatements(w.spec.Cassandra.Keyspace, w.spec.Cassandra.ReplicationFactor, w.spec.RegionNames(), perRegion)
	stmts = append(stmts, member.Schema(w.spec.Cassandra.Keyspace)...)
	return w.poll(ctx, nodes[0].ID, "creating the keyspaces", func(ctx context.Context) error {
		return cql.Apply(ctx, nodes[0].CQL, stmts)
	})
}

// waitLinks checks that each region's SQS queue answers through every link
// that leads to it.
func (w *World) waitLinks(ctx context.Context) error {
	p := w.Plan()
	var errs []error
	for _, l := range p.Links() {
		var sqsID string
		for _, c := range p.SQS {
			if c.Region == l.To {
				sqsID = c.ID
			}
		}
		errs = append(errs, w.poll(ctx, sqsID, "reachable from "+l.From+" through link "+l.Name, func(ctx context.Context) error {
			return probe.SQSQueue(ctx, w.SQSEndpoint(l.From, l.To), l.To)
		}))
	}
	return errors.Join(errs...)
}
