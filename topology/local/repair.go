package local

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kongchaos/kong/topology"
)

var (
	_ topology.Repairer = (*Remote)(nil)
	_ topology.Repairer = (*World)(nil)
)

// Repair implements topology.Repairer with nodetool over the node's JMX
// port.
func (r *Remote) Repair(ctx context.Context, id, keyspace string, tables ...string) error {
	return repair(ctx, r, r.home, id, keyspace, tables)
}

// Repair implements topology.Repairer with nodetool over the node's JMX
// port.
func (w *World) Repair(ctx context.Context, id, keyspace string, tables ...string) error {
	return repair(ctx, w, w.home, id, keyspace, tables)
}

// repair runs nodetool repair --full on node id of c. nodetool's JVM
// starts from the world's spawner thread, at the world's niceness
// (WorldNice), so that its start does not take the cores from the harness
// that measures the world.
func repair(ctx context.Context, c topology.Cluster, home, id, keyspace string, tables []string) error {
	node, err := cassandraNode(ctx, c, id)
	if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	cmd, err := nodetool(ctx, home, c.Name(), c.Spec(), node, append([]string{"repair", "--full", keyspace}, tables...))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("repair %s: start nodetool: %w", id, err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("repair %s (nodetool repair --full %s %s): %w: %s", id, keyspace, strings.Join(tables, " "), err, topology.LastLines(out.Bytes(), 5))
	}
	return nil
}
