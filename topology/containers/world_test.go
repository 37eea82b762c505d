package containers_test

import (
	"context"
	"errors"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"net/http"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/harness/deploy"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/internal/worldtest"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/topologytest"
)

// TestWorld brings a two-region world up as containers and breaks it: a
// write replicates through the link, a cut link stops replication and
// makes the other region's node DOWN, the heal delivers the write, a node
// repairs, latency on the links delays replication, stop, kill, start,
// pause and resume act on the right containers, and a member service
// instance takes a release and gives it back. Down leaves no container,
// network or volume. It needs a Docker engine and skips,
// saying why, without one.
func TestWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up real Cassandra, memcached, LocalStack and toxiproxy containers; skipped with -short")
	}
	ctx := context.Background()
	if err := containers.CheckEngine(ctx); err != nil {
		t.Skip(err.Error())
	}
	const name = "test-containers"
	spec := topologytest.Profile(t, "small")
	uctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	w, reaper, err := worldtest.UpContainers(uctx, name, spec, t.TempDir())
	t.Cleanup(func() {
		if w == nil {
			return
		}
		require.NoError(t, w.Down())
		require.NoError(t, reaper.Release())
		cli, err := containers.Connect(ctx)
		require.NoError(t, err)
		defer cli.Close()
		left, err := containers.Leftovers(ctx, cli, name)
		require.NoError(t, err)
		require.Empty(t, left, "world %s left things on the engine", name)
	})
	require.NoError(t, err)
	const east, west = "us-east-1", "us-west-2"

	comps, err := w.Components(ctx)
	require.NoError(t, err)
	for _, c := range comps {
		require.Equal(t, topology.StateRunning, c.State, c.ID)
		require.FileExists(t, c.Log)
	}

	es, err := topology.RegionSession(w, east, "kong")
	require.NoError(t, err)
	defer cql.CloseSession(es)
	ws, err := topology.RegionSession(w, west, "kong")
	require.NoError(t, err)
	defer cql.CloseSession(ws)
	require.NoError(t, es.Query("CREATE TABLE IF NOT EXISTS kong.containers_test (k text PRIMARY KEY, v text)").Consistency(gocql.Quorum).Exec())
	require.NoError(t, es.AwaitSchemaAgreement(ctx))
	seen := func(k string) bool {
		var v string
		return ws.Query("SELECT v FROM kong.containers_test WHERE k = ?", k).Consistency(gocql.LocalOne).Scan(&v) == nil
	}
	require.NoError(t, es.Query("INSERT INTO kong.containers_test (k, v) VALUES ('before', 'x')").Exec())
	require.Eventually(t, func() bool { return seen("before") }, 30*time.Second, 100*time.Millisecond, "a write in %s never reached %s", east, west)

	// Split-brain: every proxy of both links disabled.
	setLinks := func(enabled bool) { worldtest.SetLinks(t, w, east, west, enabled) }
	setLinks(false)
	healed := false
	defer func() {
		if !healed {
			setLinks(true)
		}
	}()
	require.NoError(t, es.Query("INSERT INTO kong.containers_test (k, v) VALUES ('during', 'x')").Exec(), "the cut region still takes writes")
	require.Never(t, func() bool { return seen("during") }, 5*time.Second, 200*time.Millisecond, "a write crossed a cut link")
	eastNode := w.CQLContactPoints(east)[0]
	require.Eventually(t, func() bool {
		return errors.Is(topology.SeesAllUp(ctx, eastNode), topology.ErrSeesDown)
	}, 2*time.Minute, time.Second, "the us-east-1 node never saw the us-west-2 node DOWN through the cut link")
	setLinks(true)
	healed = true
	require.Eventually(t, func() bool { return seen("during") }, 2*time.Minute, 500*time.Millisecond, "the heal did not deliver the write")
	require.Eventually(t, func() bool { return topology.SeesAllUp(ctx, eastNode) == nil }, 2*time.Minute, time.Second)

	// The heal of a Cassandra kill repairs the node (topology.Repairer):
	// nodetool, in the node's container.
	require.NoError(t, w.Repair(ctx, east+"/cassandra/a", "kong", "containers_test"))
	require.ErrorContains(t, w.Repair(ctx, east+"/memcached/a", "kong"), "not a Cassandra node")

	// Latency: 600 ms on every proxy of both links, both ways (under the
	// 2 s write timeout, past which a replica drops a mutation). A write
	// in us-east-1 is not in us-west-2 within 500 ms, and is there once
	// the latency has been crossed.
	api := toxiclient.NewClient(w.ToxiproxyAPI())
	var slowed []*toxiclient.Proxy
	defer func() {
		for _, p := range slowed {
			_ = p.RemoveToxic("kong-test-latency-up")
			_ = p.RemoveToxic("kong-test-latency-down")
		}
	}()
	for _, l := range w.Links() {
		for _, name := range l.Proxies {
			p, err := api.Proxy(name)
			require.NoError(t, err)
			_, err = p.AddToxic("kong-test-latency-up", "latency", "upstream", 1, toxiclient.Attributes{"latency": 600})
			require.NoError(t, err)
			slowed = append(slowed, p)
			_, err = p.AddToxic("kong-test-latency-down", "latency", "downstream", 1, toxiclient.Attributes{"latency": 600})
			require.NoError(t, err)
		}
	}
	require.NoError(t, es.Query("INSERT INTO kong.containers_test (k, v) VALUES ('slow', 'x')").Exec())
	require.Never(t, func() bool { return seen("slow") }, 500*time.Millisecond, 50*time.Millisecond, "a write crossed a link with 600 ms of latency in under 500 ms")
	require.Eventually(t, func() bool { return seen("slow") }, time.Minute, 200*time.Millisecond, "a write never crossed the slowed link")
	for _, p := range slowed {
		require.NoError(t, p.RemoveToxic("kong-test-latency-up"))
		require.NoError(t, p.RemoveToxic("kong-test-latency-down"))
	}
	slowed = nil

	cache := "us-west-2/memcached/a"
	// Stop is graceful; the container and its address stay for Start.
	require.NoError(t, w.Stop(ctx, cache))
	require.Equal(t, topology.StateStopped, worldtest.StateOf(t, w, cache))
	require.NoError(t, w.Start(ctx, cache))
	require.Equal(t, topology.StateRunning, worldtest.StateOf(t, w, cache))
	require.NoError(t, w.Kill(ctx, cache))
	require.Equal(t, topology.StateStopped, worldtest.StateOf(t, w, cache))
	require.NoError(t, w.Start(ctx, cache))
	require.Equal(t, topology.StateRunning, worldtest.StateOf(t, w, cache))

	m := "us-east-1/member/a"
	require.NoError(t, w.Pause(ctx, m))
	require.Equal(t, topology.StatePaused, worldtest.StateOf(t, w, m))
	require.ErrorContains(t, w.Pause(ctx, "us-east-1/member/z"), "unknown component")
	require.NoError(t, w.Resume(ctx, m))
	require.Equal(t, topology.StateRunning, worldtest.StateOf(t, w, m))

	// A release deployed to a member service instance runs after its
	// restart, and the base release deployed back replaces it.
	admins, err := deploy.WorldAdmins(ctx, w)
	require.NoError(t, err)
	admin, err := admins(m)
	require.NoError(t, err)
	version := func() string {
		st, err := admin.Stats(ctx)
		require.NoError(t, err)
		return st.Version
	}
	require.Equal(t, member.BaseVersion, version())
	bad := member.Release{Version: "v2-errors", Defects: member.Faults{ErrorRate: 0.1}}
	require.NoError(t, w.Deploy(ctx, m, bad))
	require.Equal(t, bad.Version, version())
	require.NoError(t, w.Deploy(ctx, m, member.Release{Version: member.BaseVersion}))
	require.Equal(t, member.BaseVersion, version())
	require.ErrorContains(t, w.Deploy(ctx, cache, bad), "not a member service instance")

	resp, err := http.Get("http://" + w.Plan().Director.Address + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, w.ZoneContainers(east, "a"), 3)
}
