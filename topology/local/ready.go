package local

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/bradfitz/gomemcache/memcache"

	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// poll runs check until it succeeds, the process exits, or ctx ends; the
// error then says what never became ready and why.
func (w *World) poll(ctx context.Context, id, what string, check func(context.Context) error) error {
	p := w.procs[id]
	exited := p.exited()
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was %s: see its log %s (last check: %v)", id, what, w.LogPath(id), last)
		case <-ctx.Done():
			return fmt.Errorf("%s never became %s (%v): last check said %v; see its log %s", id, what, context.Cause(ctx), last, w.LogPath(id))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

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

// waitReady waits until a component answers its own protocol.
func (w *World) waitReady(ctx context.Context, id string) error {
	c := w.procs[id].comp
	var err error
	switch c.Kind {
	case topology.KindToxiproxy:
		err = w.poll(ctx, id, "answering its API", func(context.Context) error {
			_, err := toxiclient.NewClient(c.Address).Version()
			return err
		})
		if err == nil {
			err = createProxies(w.plan)
		}
	case topology.KindMemcached:
		err = w.poll(ctx, id, "answering version", func(context.Context) error {
			mc := memcache.New(c.Address)
			mc.Timeout = 2 * time.Second
			return mc.Ping()
		})
	case topology.KindSQS:
		err = w.poll(ctx, id, "answering ListQueues with its queue", func(ctx context.Context) error {
			return sqsReady(ctx, sqsEndpoint(w.plan, c.Region, c.Region), c.Region)
		})
	case topology.KindMember, topology.KindGateway, topology.KindDirector:
		err = w.poll(ctx, id, "answering GET /healthz", func(ctx context.Context) error {
			return httpReady(ctx, c.Address)
		})
	case topology.KindCassandra:
		err = w.poll(ctx, id, "answering CQL", func(ctx context.Context) error {
			s, err := cql.NodeSession(c.Address)
			if err != nil {
				return err
			}
			defer cql.CloseSession(s)
			var v string
			return s.Query("SELECT release_version FROM system.local").ScanContext(ctx, &v)
		})
	}
	if err == nil {
		w.markReady(id)
	}
	return err
}

// SQSClient is an SQS client for an endpoint of this world.
func SQSClient(endpoint, region string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  aws.AnonymousCredentials{},
	})
}

func sqsReady(ctx context.Context, endpoint, region string) error {
	out, err := SQSClient(endpoint, region).ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil {
		return err
	}
	want := topology.InvalidationQueue(region)
	for _, u := range out.QueueUrls {
		if strings.HasSuffix(u, "/"+want) {
			return nil
		}
	}
	return fmt.Errorf("queue %s not listed yet (have %v)", want, out.QueueUrls)
}

// waitCluster waits until every node sees every other node in its right
// datacenter and rack and alive, creates the keyspace, and checks that each
// region's SQS queue answers through every link.
func (w *World) waitCluster(ctx context.Context) error {
	for _, n := range w.plan.Cassandra {
		if err := w.poll(ctx, n.ID, "seeing every node in its datacenter and rack", func(ctx context.Context) error {
			return checkPeers(ctx, w.plan, n)
		}); err != nil {
			return err
		}
	}
	first := w.plan.Cassandra[0]
	if err := w.poll(ctx, first.ID, "creating the keyspaces", func(ctx context.Context) error {
		return createKeyspaces(ctx, w.plan)
	}); err != nil {
		return err
	}
	for _, n := range w.plan.Cassandra {
		if err := w.poll(ctx, n.ID, "seeing every node UP", func(ctx context.Context) error {
			return AllUp(ctx, n.Address)
		}); err != nil {
			return err
		}
	}
	for _, l := range w.plan.Links() {
		var sqsID string
		for _, c := range w.plan.SQS {
			if c.Region == l.To {
				sqsID = c.ID
			}
		}
		if err := w.poll(ctx, sqsID, "reachable from "+l.From+" through link "+l.Name, func(ctx context.Context) error {
			return sqsReady(ctx, sqsEndpoint(w.plan, l.From, l.To), l.To)
		}); err != nil {
			return err
		}
	}
	return nil
}

// checkPeers asks a node for its own and its peers' datacenter and rack.
func checkPeers(ctx context.Context, p *topology.Plan, n topology.CassandraNode) error {
	s, err := cql.NodeSession(n.Address)
	if err != nil {
		return err
	}
	defer cql.CloseSession(s)
	var dc, rack string
	if err := s.Query("SELECT data_center, rack FROM system.local").ScanContext(ctx, &dc, &rack); err != nil {
		return err
	}
	if dc != n.Region || rack != n.Zone {
		return fmt.Errorf("node %s says it is in dc %s rack %s, want %s/%s", n.ID, dc, rack, n.Region, n.Zone)
	}
	seen := map[string][2]string{}
	iter := s.Query("SELECT peer, data_center, rack FROM system.peers_v2").IterContext(ctx)
	var peer net.IP
	for iter.Scan(&peer, &dc, &rack) {
		seen[peer.String()] = [2]string{dc, rack}
	}
	if err := iter.Close(); err != nil {
		return err
	}
	var missing []string
	for _, o := range p.Cassandra {
		if o.ID == n.ID {
			continue
		}
		got, ok := seen[o.Broadcast]
		if !ok {
			missing = append(missing, o.ID)
			continue
		}
		if got != [2]string{o.Region, o.Zone} {
			return fmt.Errorf("node %s sees %s in dc %s rack %s, want %s/%s", n.ID, o.ID, got[0], got[1], o.Region, o.Zone)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("node %s does not know %v yet", n.ID, missing)
	}
	return nil
}

// ProbeKeyspace is topology.ProbeKeyspace: replicated to every node of
// every region, so that a read at ALL succeeds only when the coordinator sees
// every node alive.
const ProbeKeyspace = topology.ProbeKeyspace

func createKeyspaces(ctx context.Context, p *topology.Plan) error {
	s, err := cql.NodeSession(p.Cassandra[0].Address)
	if err != nil {
		return err
	}
	defer cql.CloseSession(s)
	nodes := map[string]int{}
	for _, n := range p.Cassandra {
		nodes[n.Region]++
	}
	rf := func(per func(r string) int) string {
		parts := []string{"'class': 'NetworkTopologyStrategy'"}
		for _, r := range p.Spec.RegionNames() {
			parts = append(parts, fmt.Sprintf("'%s': %d", r, per(r)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	stmts := []string{
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", p.Spec.Cassandra.Keyspace,
			rf(func(string) int { return p.Spec.Cassandra.ReplicationFactor })),
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", ProbeKeyspace,
			rf(func(r string) int { return nodes[r] })),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.probe (k int PRIMARY KEY, v text)", ProbeKeyspace),
	}
	for _, q := range stmts {
		if err := s.Query(q).Consistency(gocql.Quorum).ExecContext(ctx); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return s.AwaitSchemaAgreement(ctx)
}

// ErrSeesDown is topology.ErrSeesDown: a node's failure detector holds some
// node DOWN.
var ErrSeesDown = topology.ErrSeesDown

// AllUp asks the node at addr whether it sees every node of the cluster UP
// (topology.SeesAllUp); the error wraps ErrSeesDown when it does not.
func AllUp(ctx context.Context, addr string) error { return topology.SeesAllUp(ctx, addr) }
