package topology

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A component carries its region and zone when it has them; a link router
// its node's region and never a zone, so that a zone's outage leaves it up.
func TestLabels(t *testing.T) {
	l := Labels{World: "w", Kind: "k", Component: "c", Region: "r", Zone: "z", Serves: "s",
		Value: func(id string) string { return strings.ReplaceAll(id, "/", ".") }}
	node := CassandraNode{Component: Component{ID: "eu/cassandra/a", Kind: KindCassandra, Region: "eu", Zone: "a"}}
	require.Equal(t, map[string]string{"w": "x", "k": KindCassandra, "c": "eu.cassandra.a", "r": "eu", "z": "a"}, l.Of("x", node.Component))
	require.Equal(t, map[string]string{"w": "x", "k": KindToxiproxy, "c": "toxiproxy"}, l.Of("x", Component{ID: "toxiproxy", Kind: KindToxiproxy}))
	require.Equal(t, map[string]string{"w": "x", "k": KindLinkRouter, "r": "eu", "s": "eu.cassandra.a"}, l.OfRouter("x", node))
	l.Value = nil
	require.Equal(t, "eu/cassandra/a", l.OfRouter("x", node)["s"], "without Value, the ID as it is")
}
