package fault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

// repairingWorld records the repairs asked of it; the first fails of each
// node fail.
type repairingWorld struct {
	listedWorld
	fails    map[string]int
	repaired []string
}

func (w *repairingWorld) Repair(_ context.Context, id, keyspace string, tables ...string) error {
	if keyspace != "kong" || len(tables) != len(member.Tables) {
		return errors.New("not the member service's tables")
	}
	if w.fails[id] > 0 {
		w.fails[id]--
		return errors.New("endpoint not alive yet")
	}
	w.repaired = append(w.repaired, id)
	return nil
}

func TestRepairKilledRepairsEveryKilledCassandraNode(t *testing.T) {
	comps := []topology.Component{
		{ID: "us-east-1/member/a", Kind: topology.KindMember},
		{ID: "us-east-1/cassandra/a", Kind: topology.KindCassandra},
		{ID: "us-east-1/memcached/a", Kind: topology.KindMemcached},
		{ID: "us-east-1/cassandra/b", Kind: topology.KindCassandra},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := &repairingWorld{fails: map[string]int{"us-east-1/cassandra/b": 2}}
	require.NoError(t, RepairKilled(ctx, w, comps))
	require.Equal(t, []string{"us-east-1/cassandra/a", "us-east-1/cassandra/b"}, w.repaired, "every Cassandra node, a failed repair tried again")

	// A repair that keeps failing fails the heal once ctx ends.
	w = &repairingWorld{fails: map[string]int{"us-east-1/cassandra/a": 1 << 20}}
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	require.ErrorContains(t, RepairKilled(short, w, comps), "endpoint not alive yet")

	// A world that cannot repair is left as it is.
	require.NoError(t, RepairKilled(ctx, &listedWorld{}, comps))

	// A kill repairs the Cassandra nodes it killed, and only when it killed some.
	w = &repairingWorld{}
	ids, err := KillZone(w, Target{Components: comps}).Repair(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"us-east-1/cassandra/a", "us-east-1/cassandra/b"}, ids)
	require.Equal(t, ids, w.repaired)
	w = &repairingWorld{}
	ids, err = KillInstance(w, Target{Components: comps[:1]}).Repair(ctx)
	require.NoError(t, err)
	require.Empty(t, ids)
	require.Empty(t, w.repaired, "a kill of no Cassandra node repairs nothing")

	// A world that cannot repair: nothing is said to be repaired, and why.
	ids, err = KillZone(&listedWorld{}, Target{Components: comps}).Repair(ctx)
	require.ErrorContains(t, err, "cannot repair its Cassandra nodes: us-east-1/cassandra/a, us-east-1/cassandra/b not repaired")
	require.Empty(t, ids)
}
