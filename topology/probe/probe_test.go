package probe

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
)

// A node is satisfied once it knows every other node of the world in its
// datacenter and rack.
func TestMissingPeers(t *testing.T) {
	spec, err := topology.Profile("global")
	require.NoError(t, err)
	p, err := topology.NewPlan(spec, 3)
	require.NoError(t, err)
	nodes := Nodes(p)
	require.Len(t, nodes, len(p.Cassandra))

	n := nodes[0]
	seen := map[string][2]string{}
	for _, o := range nodes[1:] {
		seen[o.Broadcast] = [2]string{o.Region, o.Zone}
	}
	require.NoError(t, missingPeers(nodes, n, seen))
	delete(seen, nodes[1].Broadcast)
	require.ErrorContains(t, missingPeers(nodes, n, seen), "does not know ["+nodes[1].ID+"]")
	seen[nodes[1].Broadcast] = [2]string{"elsewhere", "a"}
	require.ErrorContains(t, missingPeers(nodes, n, seen), "in dc elsewhere")
}
