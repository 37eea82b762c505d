package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// Setup readies a world's Cassandra cluster once every node runs: every node
// knows every other in its datacenter and rack, the keyspaces exist (the
// application's, and the probe keyspace that SeesAllUp reads), every node
// sees every node UP, and the application's tables exist. The container
// backend runs it from the host; the compose file runs it in a one-shot
// container (`kong serve world-setup`).
type Setup struct {
	Keyspace          string      `json:"keyspace"`
	ReplicationFactor int         `json:"replication_factor"`
	Regions           []string    `json:"regions"`
	Nodes             []SetupNode `json:"nodes"`
}

// SetupNode is one Cassandra node as Setup checks it.
type SetupNode struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	Zone   string `json:"zone"`
	// CQL is its CQL address, Broadcast its broadcast IP (how peers name it).
	CQL       string `json:"cql"`
	Broadcast string `json:"broadcast"`
}

// SetupOf is the setup of a plan.
func SetupOf(p *topology.Plan) Setup {
	s := Setup{Keyspace: p.Spec.Cassandra.Keyspace, ReplicationFactor: p.Spec.Cassandra.ReplicationFactor, Regions: p.Spec.RegionNames()}
	for _, n := range p.Cassandra {
		s.Nodes = append(s.Nodes, SetupNode{ID: n.ID, Region: n.Region, Zone: n.Zone, CQL: n.Address, Broadcast: n.Broadcast})
	}
	return s
}

// LoadSetup reads a setup file.
func LoadSetup(path string) (Setup, error) {
	var s Setup
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read world setup: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("read world setup %s: %w", path, err)
	}
	if len(s.Nodes) == 0 {
		return s, fmt.Errorf("world setup %s lists no Cassandra node", path)
	}
	return s, nil
}

// KeyspaceStatements create the application's keyspace (the spec's
// replication factor in every region) and the probe keyspace and table
// (replicated to every node).
func (s Setup) KeyspaceStatements() []string {
	nodes := map[string]int{}
	for _, n := range s.Nodes {
		nodes[n.Region]++
	}
	rf := func(per func(r string) int) string {
		parts := []string{"'class': 'NetworkTopologyStrategy'"}
		for _, r := range s.Regions {
			parts = append(parts, fmt.Sprintf("'%s': %d", r, per(r)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return []string{
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", s.Keyspace, rf(func(string) int { return s.ReplicationFactor })),
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", topology.ProbeKeyspace, rf(func(r string) int { return nodes[r] })),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.probe (k int PRIMARY KEY, v text)", topology.ProbeKeyspace),
	}
}

// Run does the setup, retrying each step until it succeeds or ctx ends;
// the error then says which step never succeeded and why.
func (s Setup) Run(ctx context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	first := s.Nodes[0]
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"every node answering CQL and seeing every other node in its datacenter and rack", func(ctx context.Context) error {
			for _, n := range s.Nodes {
				if err := s.checkPeers(ctx, n); err != nil {
					return err
				}
			}
			return nil
		}},
		{"the keyspaces created through " + first.ID, func(ctx context.Context) error {
			return execAll(ctx, first.CQL, s.KeyspaceStatements())
		}},
		{"every node seeing every node UP", func(ctx context.Context) error {
			for _, n := range s.Nodes {
				if err := topology.SeesAllUp(ctx, n.CQL); err != nil {
					return fmt.Errorf("%s: %w", n.ID, err)
				}
			}
			return nil
		}},
		{"the application's tables created through " + first.ID, func(ctx context.Context) error {
			return execAll(ctx, first.CQL, member.Schema(s.Keyspace))
		}},
	}
	for _, st := range steps {
		if err := retry(ctx, st.what, st.do); err != nil {
			return err
		}
		log.Info("setup step done", "step", st.what)
	}
	return nil
}

// retry runs f until it succeeds or ctx ends.
func retry(ctx context.Context, what string, f func(context.Context) error) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := f(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("never got %s (%v): last try said %v", what, context.Cause(ctx), err)
		case <-time.After(time.Second):
		}
	}
}

func execAll(ctx context.Context, addr string, stmts []string) error {
	sess, err := cql.NodeSession(addr)
	if err != nil {
		return err
	}
	defer cql.CloseSession(sess)
	for _, q := range stmts {
		if err := sess.Query(q).Consistency(gocql.Quorum).ExecContext(ctx); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return sess.AwaitSchemaAgreement(ctx)
}

// checkPeers asks a node for its own and its peers' datacenter and rack.
func (s Setup) checkPeers(ctx context.Context, n SetupNode) error {
	sess, err := cql.NodeSession(n.CQL)
	if err != nil {
		return err
	}
	defer cql.CloseSession(sess)
	var dc, rack string
	if err := sess.Query("SELECT data_center, rack FROM system.local").ScanContext(ctx, &dc, &rack); err != nil {
		return fmt.Errorf("%s: %w", n.ID, err)
	}
	if dc != n.Region || rack != n.Zone {
		return fmt.Errorf("node %s says it is in dc %s rack %s, want %s/%s", n.ID, dc, rack, n.Region, n.Zone)
	}
	seen := map[string][2]string{}
	iter := sess.Query("SELECT peer, data_center, rack FROM system.peers_v2").IterContext(ctx)
	var peer net.IP
	for iter.Scan(&peer, &dc, &rack) {
		seen[peer.String()] = [2]string{dc, rack}
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("%s: %w", n.ID, err)
	}
	return missingPeers(s.Nodes, n, seen)
}

// missingPeers compares what a node sees (broadcast IP -> dc, rack) with
// the world.
func missingPeers(nodes []SetupNode, n SetupNode, seen map[string][2]string) error {
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
