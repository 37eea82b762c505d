package topology

import (
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/internal/cql"
)

// RegionSession opens a CQL session that can only ever talk to one region's
// datacenter of a world: cql.DCSession from the region's contact points.
func RegionSession(c Cluster, region string, keyspace string) (*gocql.Session, error) {
	points := c.CQLContactPoints(region)
	if len(points) == 0 {
		return nil, fmt.Errorf("region %q has no Cassandra nodes in world %s", region, c.Name())
	}
	return cql.DCSession(points, region, keyspace)
}
