package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// Setup readies a world's Cassandra cluster once every node runs: every node
// knows every other in its datacenter and rack, the keyspaces exist (the
// application's, and the probe keyspace that SeesAllUp reads), every node
// sees every node UP, and the application's tables exist. The container
// backend runs it from the host; the compose file runs it in a one-shot
// container and the Kubernetes backend in a Job (`kong serve world-setup`).
type Setup struct {
	Keyspace          string   `json:"keyspace"`
	ReplicationFactor int      `json:"replication_factor"`
	Regions           []string `json:"regions"`
	Nodes             []Node   `json:"nodes"`
}

// SetupOf is the setup of a plan.
func SetupOf(p *topology.Plan) Setup {
	return Setup{Keyspace: p.Spec.Cassandra.Keyspace, ReplicationFactor: p.Spec.Cassandra.ReplicationFactor,
		Regions: p.Spec.RegionNames(), Nodes: Nodes(p)}
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

// KeyspaceStatements create the application's keyspace and the probe
// keyspace and table (topology.KeyspaceStatements).
func (s Setup) KeyspaceStatements() []string {
	nodes := map[string]int{}
	for _, n := range s.Nodes {
		nodes[n.Region]++
	}
	return topology.KeyspaceStatements(s.Keyspace, s.ReplicationFactor, s.Regions, nodes)
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
				if err := CQLPeers(ctx, n, s.Nodes); err != nil {
					return err
				}
			}
			return nil
		}},
		{"the keyspaces created through " + first.ID, func(ctx context.Context) error {
			return cql.Apply(ctx, first.CQL, s.KeyspaceStatements())
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
			return cql.Apply(ctx, first.CQL, member.Schema(s.Keyspace))
		}},
	}
	for _, st := range steps {
		if err := Retry(ctx, st.what, st.do); err != nil {
			return err
		}
		log.Info("setup step done", "step", st.what)
	}
	return nil
}

// Retry runs f until it succeeds or ctx ends (Poll, a try at most 20s,
// a second apart); the error then says what never came, and why.
func Retry(ctx context.Context, what string, f func(context.Context) error) error {
	if last := Poll(ctx, 20*time.Second, time.Second, f); last != nil {
		return fmt.Errorf("never got %s (%v): last try said %v", what, context.Cause(ctx), last)
	}
	return nil
}
