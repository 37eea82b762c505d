package topology

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/kongchaos/kong/internal/cql"
)

// ProbeKeyspace replicates to every node of every region, so that a read at
// ALL succeeds only when the coordinator sees every node alive. A backend
// creates it (with a table probe (k int PRIMARY KEY, v text)) when it brings
// a world up, so that SeesAllUp can ask any node.
const ProbeKeyspace = "kong_probe"

// KeyspaceStatements create a world's keyspaces: the application's
// (keyspace, with rf replicas in every region) and ProbeKeyspace with its
// table, replicated to every node (nodes counts the Cassandra nodes of
// each region).
func KeyspaceStatements(keyspace string, rf int, regions []string, nodes map[string]int) []string {
	replication := func(per func(r string) int) string {
		parts := []string{"'class': 'NetworkTopologyStrategy'"}
		for _, r := range regions {
			parts = append(parts, fmt.Sprintf("'%s': %d", r, per(r)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return []string{
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", keyspace, replication(func(string) int { return rf })),
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", ProbeKeyspace, replication(func(r string) int { return nodes[r] })),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.probe (k int PRIMARY KEY, v text)", ProbeKeyspace),
	}
}

// ErrSeesDown means a node's failure detector holds some node DOWN.
var ErrSeesDown = errors.New("a node is seen DOWN")

// SeesAllUp asks the node at addr (its CQL address) whether it sees every
// node of the cluster UP: a range read at ALL over the probe keyspace
// (replicated to every node) fails with Unavailable as soon as its failure
// detector convicts one, and the error then wraps ErrSeesDown. Any other
// error (the node does not answer, the read timed out) is returned as is.
func SeesAllUp(ctx context.Context, addr string) error {
	s, err := cql.NodeSession(addr)
	if err != nil {
		return err
	}
	defer cql.CloseSession(s)
	err = s.Query("SELECT k FROM " + ProbeKeyspace + ".probe").Consistency(gocql.All).IterContext(ctx).Close()
	var un *gocql.RequestErrUnavailable
	if errors.As(err, &un) {
		return fmt.Errorf("%w by %s: %d of %d replicas alive", ErrSeesDown, addr, un.Alive, un.Required)
	}
	return err
}
