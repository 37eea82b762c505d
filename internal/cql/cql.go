// Package cql is how kong talks to Cassandra: the session policy (one
// datacenter, token-aware routing, idempotent retries) that the member
// service and the harness share, and a Close that never hangs.
package cql

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// DCSession opens a CQL session that can only ever talk to one datacenter
// (a region of a kong world), from its contact points (host:port): a DC
// host filter (no pool to any other node), token-aware routing over
// DC-aware round robin without remote fallback, and LOCAL_QUORUM by default.
func DCSession(points []string, region string, keyspace string) (*gocql.Session, error) {
	cfg, err := clusterConfig(points...)
	if err != nil {
		return nil, err
	}
	cfg.Keyspace = keyspace
	cfg.HostFilter = gocql.DataCenterHostFilter(region)
	cfg.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(region))
	cfg.Consistency = gocql.LocalQuorum
	s, err := cfg.CreateSession()
	if err != nil {
		return nil, fmt.Errorf("open CQL session to region %s (%v): %w", region, points, err)
	}
	return s, nil
}

// NodeSession opens a CQL session to exactly one node, whatever its
// datacenter: it is how the harness asks one node what it sees.
func NodeSession(addr string) (*gocql.Session, error) {
	return nodeSession(addr, func(*gocql.ClusterConfig) {})
}

// nodeSession opens a session to the one node at addr, with tune applied
// to its configuration first.
func nodeSession(addr string, tune func(*gocql.ClusterConfig)) (*gocql.Session, error) {
	cfg, err := clusterConfig(addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	cfg.HostFilter = gocql.WhiteListHostFilter(host)
	cfg.NumConns = 1
	cfg.Consistency = gocql.One
	tune(cfg)
	s, err := cfg.CreateSession()
	if err != nil {
		return nil, fmt.Errorf("open CQL session to node %s: %w", addr, err)
	}
	return s, nil
}

func clusterConfig(addrs ...string) (*gocql.ClusterConfig, error) {
	hosts := make([]string, 0, len(addrs))
	port := 0
	for _, a := range addrs {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("CQL address %q: %w", a, err)
		}
		port, _ = strconv.Atoi(p)
		hosts = append(hosts, h)
	}
	cfg := gocql.NewCluster(hosts...)
	cfg.Port = port
	cfg.ProtoVersion = 5
	cfg.Timeout = 10 * time.Second
	cfg.ConnectTimeout = 5 * time.Second
	cfg.ReconnectInterval = time.Second
	// Every statement kong issues is idempotent (writes carry their own
	// timestamps, or rewrite the same row), so a statement whose coordinator
	// died under it (a node killed by a scenario) is retried on the next
	// host instead of failing the user's request.
	cfg.DefaultIdempotence = true
	cfg.RetryPolicy = &gocql.SimpleRetryPolicy{NumRetries: 2}
	return cfg, nil
}

// CloseSession closes a CQL session without waiting more than a few
// seconds: the driver's Close can block for good when its control
// connection's node was killed while it was reconnecting, and a harness
// that kills nodes on purpose must never hang on that.
func CloseSession(s *gocql.Session) {
	if s == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// Apply runs schema statements one after the other at QUORUM through the
// node at addr (host:port), then waits until every node agrees on the
// schema. The statements must be idempotent (IF NOT EXISTS): a caller
// retries Apply as a whole.
//
// The driver would wait for the whole cluster to agree after each
// statement, a gossip round or two each. Statements through one
// coordinator need no agreement between them (it applies them in order),
// so Apply sends them all and asks for agreement once, at the end.
func Apply(ctx context.Context, addr string, stmts []string) error {
	s, err := nodeSession(addr, func(cfg *gocql.ClusterConfig) {
		// One look at the schema versions per call of the driver's wait;
		// the warning it logs after a statement, when they differ, is
		// expected.
		cfg.MaxWaitSchemaAgreement = time.Millisecond
		cfg.Logger = gocql.NewLogger(gocql.LogLevelError)
	})
	if err != nil {
		return err
	}
	defer CloseSession(s)
	for _, q := range stmts {
		if err := s.Query(q).Consistency(gocql.Quorum).ExecContext(ctx); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		// As long as the driver itself would wait for agreement.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	for {
		err := s.AwaitSchemaAgreement(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
}
