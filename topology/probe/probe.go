// Package probe asks a world's servers, in their own protocols, whether
// they serve: a Cassandra node answering CQL and seeing its peers where
// they belong, an SQS endpoint listing a region's queue, memcached
// answering, toxiproxy's API, an application server's GET /healthz. Each
// probe asks once and returns the reason it is not satisfied; the caller
// decides how long to keep asking. Both backends wait on them, and the
// harness may use them to tell when a fault took hold or healed.
package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/bradfitz/gomemcache/memcache"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/invalidation"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// Answers asks component c, at its address, whether it serves: a
// Cassandra node answers a CQL query, memcached a version request, SQS
// lists its region's queue, toxiproxy its version, and an application
// server GET /healthz.
func Answers(ctx context.Context, c topology.Component) error {
	switch c.Kind {
	case topology.KindCassandra:
		return CQL(ctx, c.Address)
	case topology.KindMemcached:
		mc := memcache.New(c.Address)
		mc.Timeout = 2 * time.Second
		return mc.Ping()
	case topology.KindSQS:
		return SQSQueue(ctx, "http://"+c.Address, c.Region)
	case topology.KindToxiproxy:
		_, err := toxiclient.NewClient(c.Address).Version()
		return err
	case topology.KindMember, topology.KindGateway, topology.KindDirector:
		return HTTPHealthy(ctx, c.Address)
	}
	return fmt.Errorf("%s: no probe for a component of kind %q", c.ID, c.Kind)
}

// Asks says what Answers waits for from a component of kind, for messages:
// "answering CQL", "answering GET /healthz".
func Asks(kind string) string {
	switch kind {
	case topology.KindCassandra:
		return "answering CQL"
	case topology.KindMemcached:
		return "answering version"
	case topology.KindSQS:
		return "answering ListQueues with its queue"
	case topology.KindToxiproxy:
		return "answering its API"
	}
	return "answering GET " + app.PathHealth
}

// CQL asks the Cassandra node at addr (its CQL address) for its release.
func CQL(ctx context.Context, addr string) error {
	s, err := cql.NodeSession(addr)
	if err != nil {
		return err
	}
	defer cql.CloseSession(s)
	var v string
	return s.Query("SELECT release_version FROM system.local").ScanContext(ctx, &v)
}

// Node is a Cassandra node as CQLPeers checks it (and as the container
// backend's setup file lists it).
type Node struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	Zone   string `json:"zone"`
	// CQL is its CQL address, Broadcast its broadcast IP (how peers name it).
	CQL       string `json:"cql"`
	Broadcast string `json:"broadcast"`
}

// Nodes are the Cassandra nodes of a plan.
func Nodes(p *topology.Plan) []Node {
	out := make([]Node, 0, len(p.Cassandra))
	for _, n := range p.Cassandra {
		out = append(out, Node{ID: n.ID, Region: n.Region, Zone: n.Zone, CQL: n.Address, Broadcast: n.Broadcast})
	}
	return out
}

// CQLPeers asks node n for its own datacenter and rack and its peers', and
// checks them against the world's nodes: n must be in its region and zone,
// and know every other node in its own.
func CQLPeers(ctx context.Context, n Node, nodes []Node) error {
	s, err := cql.NodeSession(n.CQL)
	if err != nil {
		return err
	}
	defer cql.CloseSession(s)
	var dc, rack string
	if err := s.Query("SELECT data_center, rack FROM system.local").ScanContext(ctx, &dc, &rack); err != nil {
		return fmt.Errorf("%s: %w", n.ID, err)
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
		return fmt.Errorf("%s: %w", n.ID, err)
	}
	return missingPeers(nodes, n, seen)
}

// missingPeers compares what a node sees (broadcast IP -> dc, rack) with
// the world.
func missingPeers(nodes []Node, n Node, seen map[string][2]string) error {
	var missing []string
	for _, o := range nodes {
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

// SQSQueue asks the SQS endpoint (a region's own, or a link listener in
// front of it) to list its queues, as the application's client does, and
// is satisfied once region's invalidation queue is among them.
func SQSQueue(ctx context.Context, endpoint, region string) error {
	out, err := invalidation.Client(endpoint, region).ListQueues(ctx, &sqs.ListQueuesInput{})
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

// HTTPHealthy asks an application server at addr (host:port) for
// GET /healthz and is satisfied with 200 OK.
func HTTPHealthy(ctx context.Context, addr string) error {
	status, err := httpGet(ctx, "http://"+addr+app.PathHealth, 2*time.Second)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", app.PathHealth, status, http.StatusText(status))
	}
	return err
}

// HTTPAnswers asks for GET url and is satisfied with any HTTP answer: the
// path to the server (through a link, for instance) carries traffic.
func HTTPAnswers(ctx context.Context, url string) error {
	_, err := httpGet(ctx, url, 3*time.Second)
	return err
}

// httpGet sends GET url, waiting at most timeout, reads a little of the
// answer (so that the connection can be reused) and returns its status.
func httpGet(ctx context.Context, url string, timeout time.Duration) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, resp.Body.Close()
}
