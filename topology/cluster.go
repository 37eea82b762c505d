package topology

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
)

// Component kinds.
const (
	KindCassandra = "cassandra"
	KindMemcached = "memcached"
	KindSQS       = "sqs"
	KindToxiproxy = "toxiproxy"
	KindMember    = "member"
	KindGateway   = "gateway"
	KindDirector  = "director"
)

// Component is one running server of the world.
type Component struct {
	// ID names the component for people and commands: "us-east-1/cassandra/a",
	// "us-east-1/sqs", "toxiproxy". A second instance in a zone is "a-2".
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Region string `json:"region,omitempty"`
	Zone   string `json:"zone,omitempty"`
	// Address is the host:port clients use.
	Address string `json:"address"`
	// Extra addresses by role, such as "broadcast" (the toxiproxy listener in
	// front of a Cassandra node) or "jmx".
	Extra map[string]string `json:"extra,omitempty"`
}

// State of a component as its backend sees it.
type State string

const (
	StateRunning State = "running"
	StatePaused  State = "paused"
	StateStopped State = "stopped"
)

// Status is a component with what the backend knows of it now.
type Status struct {
	Component
	PID   int    `json:"pid,omitempty"`
	State State  `json:"state"`
	Log   string `json:"log,omitempty"`
}

// Link is one direction between two regions: the traffic that From sends to
// To crosses the named toxiproxy proxies.
type Link struct {
	Name    string   `json:"name"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	Proxies []string `json:"proxies"`
}

// LinkName names the link from one region to another.
func LinkName(from, to string) string { return from + "->" + to }

// Cluster is a running world, whatever runs it (processes, containers or pods).
// The harness uses only this interface.
type Cluster interface {
	// Name is the world's name; Spec is what it was built from.
	Name() string
	Spec() *Spec
	// Components lists every server with its current state.
	Components(ctx context.Context) ([]Status, error)

	// Start starts a stopped or killed component and waits until it answers.
	Start(ctx context.Context, id string) error
	// Stop stops a component gracefully (SIGTERM), Kill at once (SIGKILL).
	Stop(ctx context.Context, id string) error
	Kill(ctx context.Context, id string) error
	// Pause freezes a component (SIGSTOP) and Resume thaws it (SIGCONT).
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error

	// CQLContactPoints are the CQL addresses of a region's Cassandra nodes.
	CQLContactPoints(region string) []string
	// MemcachedAddrs maps each zone of a region to its memcached servers.
	MemcachedAddrs(region string) map[string][]string
	// SQSEndpoint is the SQS endpoint of region to as seen from region from:
	// the region's own endpoint when from == to, otherwise a link listener.
	SQSEndpoint(from, to string) string
	// InvalidationQueue is the name of a region's cache invalidation queue.
	InvalidationQueue(region string) string
	// ToxiproxyAPI is the toxiproxy HTTP API address (host:port).
	ToxiproxyAPI() string
	// Links are the cross-region links, one per ordered pair of regions.
	Links() []Link
	// Secret is the world's secret: its servers' admin endpoints (faults,
	// modes, evacuations) want it as "Authorization: Bearer <secret>".
	Secret() string
}

// Dialer is a world whose addresses, as its servers hand them out (the
// gateway the director names to a user), this machine cannot dial as
// they are: names that resolve inside a cluster only. DialContext dials
// them. The addresses the world's Components give are dialable as they
// are.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// DialFunc is c's DialContext when c is a Dialer, else nil: dial as is.
func DialFunc(c Cluster) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if d, ok := c.(Dialer); ok {
		return d.DialContext
	}
	return nil
}

// Repairer is a world that runs Cassandra's anti-entropy repair. A node
// killed hard takes with it the hints it held for the replicas it could
// not reach (another region, cut off) and the writes it coordinated whose
// remote replicas had not answered yet: those writes, acknowledged in its
// own region, reach the other regions only through a repair. Operators
// repair a node that died hard (Priam, Cassandra Reaper); a run repairs
// the nodes its faults killed before its last read-back (fault.Repairs).
type Repairer interface {
	// Repair runs a full repair of tables of keyspace on node id (the
	// ranges it replicates, with their replicas in every region) and
	// returns when it is done.
	Repair(ctx context.Context, id, keyspace string, tables ...string) error
}

// Director finds the world's director among its components.
func Director(ctx context.Context, c Cluster) (Component, error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return Component{}, fmt.Errorf("list the components of world %s: %w", c.Name(), err)
	}
	for _, comp := range comps {
		if comp.Kind == KindDirector {
			return comp.Component, nil
		}
	}
	return Component{}, fmt.Errorf("world %s runs no director", c.Name())
}

// DirectorURL is the base URL of the world's director ("http://host:port").
func DirectorURL(ctx context.Context, c Cluster) (string, error) {
	d, err := Director(ctx, c)
	if err != nil {
		return "", err
	}
	return "http://" + d.Address, nil
}

// ParseID splits a component ID into region, kind and zone (each may be empty).
func ParseID(id string) (region, kind, zone string, err error) {
	parts := strings.Split(id, "/")
	switch len(parts) {
	case 1:
		return "", parts[0], "", nil
	case 2:
		return parts[0], parts[1], "", nil
	case 3:
		return parts[0], parts[1], parts[2], nil
	}
	return "", "", "", fmt.Errorf("component %q: write it as region/kind/zone, such as us-east-1/cassandra/a", id)
}

// LogFileName is the file a component's log is copied to (in a run's
// artifacts): "us-east-1/cassandra/a" becomes "us-east-1_cassandra_a.log".
func LogFileName(id string) string { return strings.ReplaceAll(id, "/", "_") + ".log" }

// LastLines is the last n lines of a command's output, for an error.
func LastLines(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
