package containers

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/linkrouter"
)

// Where kong's own files go inside the containers.
const (
	confDir             = "/etc/kong"
	cassandraYAMLPath   = confDir + "/" + topology.CassandraYAMLFile
	cassandraRackDCPath = confDir + "/" + topology.CassandraRackDCFile
	toxiproxyConfigPath = confDir + "/toxiproxy.json"
	routesPath          = confDir + "/routes.json"
	appConfigPath       = confDir + "/config.json"
	setupConfigPath     = confDir + "/setup.json"
	// The region's queue, created by the SQS image on every start.
	localstackInitPath = images.SQSInitDir + "/kong-queue.sh"
	cassandraDataDir   = "/var/lib/cassandra"
)

// cassandraConfig is a node's configuration (topology.CassandraConfig):
// its files in confDir, its data in the volume at cassandraDataDir, CQL
// bound on every address of the container.
func cassandraConfig(world string, p *topology.Plan, n topology.CassandraNode) topology.CassandraConfig {
	return p.CassandraConfig(n, topology.CassandraSite{World: world, ConfDir: confDir, DataDir: cassandraDataDir, RPCAddress: "0.0.0.0"})
}

// cassandraJVMOpts point the image's Cassandra at kong's files and make it
// start without waiting for gossip to settle (the configuration's
// properties). They replace the JVM_OPTS the cassandra module sets (its
// initial_token=0 would put every node on one token).
func cassandraJVMOpts(n topology.CassandraNode, cfg topology.CassandraConfig) string {
	return strings.Join(append(cfg.Props, "-Dcassandra.initial_token="+n.Token, "-XX:TieredStopAtLevel=1"), " ")
}

// routeOf is the link route of one node: its router listens at the node's
// broadcast address and forwards by the sender's region.
func routeOf(p *topology.Plan, nodeID string) (linkrouter.Route, error) {
	for i, r := range linkrouter.PlanRoutes(p) {
		if p.Cassandra[i].ID == nodeID {
			return r, nil
		}
	}
	return linkrouter.Route{}, fmt.Errorf("no Cassandra node %s", nodeID)
}

func mustJSON(v any) []byte {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return data
}
