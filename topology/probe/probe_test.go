package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology/topologytest"
)

// A node is satisfied once it knows every other node of the world in its
// datacenter and rack.
func TestMissingPeers(t *testing.T) {
	p := topologytest.Plan(t, "global", 3)
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

// An application server is healthy when GET /healthz says 200 OK; any
// answer at all shows that the path to a server carries traffic.
func TestHTTPProbes(t *testing.T) {
	var sick atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || sick.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	require.NoError(t, HTTPHealthy(ctx, addr))
	sick.Store(true)
	require.EqualError(t, HTTPHealthy(ctx, addr), "GET /healthz: 503 Service Unavailable")
	require.NoError(t, HTTPAnswers(ctx, srv.URL+"/anything"))
	srv.Close()
	require.Error(t, HTTPAnswers(ctx, srv.URL))
}
