package local_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/invalidation"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/internal/worldtest"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
	"github.com/kongchaos/kong/topology/topologytest"
)

func startWorld(t *testing.T, name, profile string) *local.World {
	t.Helper()
	spec := topologytest.Profile(t, profile)
	return worldtest.Start(t, name, spec)
}

// eventually retries f until it succeeds or the deadline passes, and
// fails with f's last error.
func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.NoError(c, f()) }, within, 250*time.Millisecond, what)
}

func setLinks(t *testing.T, w *local.World, a, b string, enabled bool) {
	worldtest.SetLinks(t, w, a, b, enabled)
}

func TestWorldReplicationPartitionAndRestart(t *testing.T) {
	w := startWorld(t, "test-local", "small")
	ctx := context.Background()
	const east, west = "us-east-1", "us-west-2"

	// Once a world is up, the Cassandra class-data archive is in the cache
	// (this world mapped it, or built it and checked that it maps), and no
	// node records its classes any more: a restart maps nothing new.
	require.NotEmpty(t, local.ClassArchiveFlag(w), "the class-data archive was not built")
	for _, n := range w.Plan().Cassandra {
		require.NotContains(t, strings.Join(local.CommandLine(w, n.ID), " "), "DumpLoadedClassList", n.ID)
	}
	ks := w.Spec().Cassandra.Keyspace

	// The other region's node, and how many CQL clients it serves before
	// the east session exists.
	westNode := w.CQLContactPoints(west)[0]
	watch, err := cql.NodeSession(westNode)
	require.NoError(t, err)
	defer cql.CloseSession(watch)
	clients := func() int {
		n := 0
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		iter := watch.Query("SELECT address FROM system_views.clients").IterContext(ctx)
		var addr string
		for iter.Scan(&addr) {
			n++
		}
		require.NoError(t, iter.Close())
		return n
	}
	westS, err := topology.RegionSession(w, west, "")
	require.NoError(t, err)
	defer cql.CloseSession(westS)
	before := clients()
	eastS, err := topology.RegionSession(w, east, ks)
	require.NoError(t, err)
	defer cql.CloseSession(eastS)
	require.NoError(t, eastS.Query("CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text)").Exec())
	require.NoError(t, eastS.AwaitSchemaAgreement(ctx))

	read := func(s *gocql.Session, k string) (string, error) {
		var v string
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		err := s.Query("SELECT v FROM "+ks+".kv WHERE k = ?", k).Consistency(gocql.LocalOne).ScanContext(ctx, &v)
		return v, err
	}
	write := func(k, v string) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		require.NoError(t, eastS.Query("INSERT INTO kv (k, v) VALUES (?, ?)", k, v).Consistency(gocql.LocalQuorum).ExecContext(ctx))
	}

	// 1. A write in us-east-1 is read in us-west-2.
	write("before", "1")
	eventually(t, 30*time.Second, "the write replicated to us-west-2", func() error {
		v, err := read(westS, "before")
		if err == nil && v != "1" {
			return fmt.Errorf("read %q", v)
		}
		return err
	})

	// 2. With the links cut, a new write succeeds in us-east-1 and is not in
	// us-west-2, for as long as we look.
	setLinks(t, w, east, west, false)
	healed := false
	defer func() {
		if !healed {
			setLinks(t, w, east, west, true)
		}
	}()
	write("during", "2")
	v, err := read(eastS, "during")
	require.NoError(t, err)
	require.Equal(t, "2", v)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		_, err := read(westS, "during")
		require.ErrorIs(t, err, gocql.ErrNotFound, "a write made during the partition reached us-west-2")
	}
	// The SQS link is cut too: a message to us-west-2's queue does not pass.
	sqsCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = invalidation.Client(w.SQSEndpoint(east, west), west).ListQueues(sqsCtx, &sqs.ListQueuesInput{})
	cancel()
	require.Error(t, err, "the SQS link from us-east-1 to us-west-2 still answers while cut")

	// 3. Heal: the write arrives (hints replay) and SQS answers again.
	setLinks(t, w, east, west, true)
	healed = true
	eventually(t, 3*time.Minute, "the partition-time write arrived in us-west-2 after heal", func() error {
		v, err := read(westS, "during")
		if err == nil && v != "2" {
			return fmt.Errorf("read %q", v)
		}
		return err
	})
	q, err := invalidation.Client(w.SQSEndpoint(east, west), west).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(w.InvalidationQueue(west))})
	require.NoError(t, err)
	_, err = invalidation.Client(w.SQSEndpoint(east, west), west).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("invalidate k")})
	require.NoError(t, err, "send an invalidation from us-east-1 to us-west-2 through the link")

	// 4. The us-east-1 session never opened a connection to the us-west-2 node.
	require.Equal(t, before, clients(), "a us-east-1 session connected to a us-west-2 node")

	// 5. Memcached answers in every zone.
	for _, addrs := range w.MemcachedAddrs(east) {
		require.NoError(t, memcache.New(addrs...).Ping())
	}

	// 6. Kill a node: its peer sees it DOWN; restart it: its peer sees it UP.
	victim := fmt.Sprintf("%s/cassandra/a", west)
	eastNode := w.CQLContactPoints(east)[0]
	// The commit log syncs every 10 s (commitlog_sync: periodic, see
	// topology's Cassandra configuration): a write the node took less than
	// that before a SIGKILL may die with it, as on a real crash. Let the
	// replayed write reach the disk first; this step is about the restart.
	time.Sleep(11 * time.Second)
	require.NoError(t, w.Kill(ctx, victim))
	st, _ := w.Components(ctx)
	for _, c := range st {
		if c.ID == victim {
			require.Equal(t, topology.StateStopped, c.State)
		}
	}
	eventually(t, time.Minute, "us-east-1 sees the killed node DOWN", func() error {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := topology.SeesAllUp(cctx, eastNode); !errors.Is(err, topology.ErrSeesDown) {
			return fmt.Errorf("SeesAllUp said %v", err)
		}
		return nil
	})
	startCtx, cancelStart := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelStart()
	require.NoError(t, w.Start(startCtx, victim))
	eventually(t, 2*time.Minute, "us-east-1 sees the restarted node UP", func() error {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return topology.SeesAllUp(cctx, eastNode)
	})
	// The region's session lost its only node; it reconnects on its own.
	eventually(t, time.Minute, "the restarted node serves the data written before", func() error {
		v, err := read(westS, "during")
		if err == nil && v != "2" {
			return fmt.Errorf("the restarted node lost data: read %q", v)
		}
		return err
	})
}

// With three regions, cutting one pair leaves both of them connected to the
// third: the link router tells senders apart by their handshake.
func TestWorldThreeRegionPartitionIsExact(t *testing.T) {
	spec, err := topology.Parse("three regions", []byte(`
cassandra: {replication_factor: 1}
memcached: {memory_mb: 16}
regions:
  - {name: us-east-1, zones: [a]}
  - {name: us-west-2, zones: [a]}
  - {name: eu-west-1, zones: [a]}
`))
	require.NoError(t, err)
	w := worldtest.Start(t, "test-three", spec)
	ks := w.Spec().Cassandra.Keyspace
	sessions := map[string]*gocql.Session{}
	for _, r := range spec.RegionNames() {
		s, err := topology.RegionSession(w, r, ks)
		require.NoError(t, err)
		defer cql.CloseSession(s)
		sessions[r] = s
	}
	exec := func(s *gocql.Session, q string, args ...any) error {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return s.Query(q, args...).ExecContext(ctx)
	}
	read := func(region, k string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var v string
		return sessions[region].Query("SELECT v FROM kv WHERE k = ?", k).Consistency(gocql.LocalOne).ScanContext(ctx, &v)
	}
	require.NoError(t, exec(sessions["us-east-1"], "CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text)"))
	require.NoError(t, sessions["us-east-1"].AwaitSchemaAgreement(context.Background()))

	setLinks(t, w, "us-east-1", "us-west-2", false)
	healed := false
	defer func() {
		if !healed {
			setLinks(t, w, "us-east-1", "us-west-2", true)
		}
	}()
	require.NoError(t, exec(sessions["us-east-1"], "INSERT INTO kv (k, v) VALUES ('cut', 'x')"))
	eventually(t, 30*time.Second, "the write reached eu-west-1, whose links are intact", func() error { return read("eu-west-1", "cut") })
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		require.ErrorIs(t, read("us-west-2", "cut"), gocql.ErrNotFound, "the write crossed the cut us-east-1 <-> us-west-2 link")
	}
	// us-west-2 still replicates to eu-west-1 while cut from us-east-1.
	require.NoError(t, exec(sessions["us-west-2"], "INSERT INTO kv (k, v) VALUES ('west', 'y')"))
	eventually(t, 30*time.Second, "a us-west-2 write reached eu-west-1", func() error { return read("eu-west-1", "west") })

	setLinks(t, w, "us-east-1", "us-west-2", true)
	healed = true
	eventually(t, 3*time.Minute, "the write arrived in us-west-2 after heal", func() error { return read("us-west-2", "cut") })
}

func TestWorldNameAndPortErrors(t *testing.T) {
	spec := topologytest.Profile(t, "small")
	_, err := local.Up(context.Background(), local.Options{Name: "Bad_Name", Spec: spec, Home: t.TempDir(), KongBinary: "/bin/true"})
	require.ErrorContains(t, err, "world name")
	_, err = local.Up(context.Background(), local.Options{Name: "ok", Spec: spec, Home: t.TempDir(), KongBinary: "/nonexistent/kong"})
	require.ErrorContains(t, err, "make build")
}

// Bringing a world up checks its assets (assets.Ensure) and installs
// nothing: without Java, Up fails at its assets with an error that says
// how to get it.
func TestUpFailsAtItsAssets(t *testing.T) {
	spec := topologytest.Profile(t, "small")
	t.Setenv("JAVA_HOME", "")
	t.Setenv("PATH", t.TempDir())
	bin := filepath.Join(t.TempDir(), "kong")
	require.NoError(t, os.WriteFile(bin, nil, 0o755))
	w, err := local.Up(context.Background(), local.Options{Name: "assets-test", Spec: spec, Home: t.TempDir(), KongBinary: bin})
	if w != nil {
		t.Cleanup(func() { require.NoError(t, w.Down()) })
	}
	require.ErrorContains(t, err, "java not found: Cassandra 5.0 needs Java 17 (install it with: apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME)")
}
