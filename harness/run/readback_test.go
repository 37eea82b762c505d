package run

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// The read-back probes a viewing history again until every acknowledged
// append is shown, not only the newest.
func TestMissingAppend(t *testing.T) {
	h := &history.History{Ops: []history.Op{
		{Type: history.OK, Op: history.OpAppendHistory, Key: "history/m1", Version: 10},
		{Type: history.OK, Op: history.OpAppendHistory, Key: "history/m1", Version: 20},
		{Type: history.Info, Op: history.OpAppendHistory, Key: "history/m1", Version: 25},
		{Type: history.OK, Op: history.OpAppendHistory, Key: "history/m1", Version: 30},
		{Type: history.OK, Op: history.OpWriteProfile, Key: "profile/m1", Version: 40},
	}}
	keys, newest, appends := acknowledgedKeys(h)
	assert.Equal(t, []string{"history/m1", "profile/m1"}, keys)
	assert.Equal(t, int64(30), newest["history/m1"])
	assert.Equal(t, []int64{10, 20, 30}, appends["history/m1"], "acknowledged appends only")
	assert.Empty(t, appends["profile/m1"])

	ok := func(cut bool, entries ...int64) history.Op {
		return history.Op{Type: history.OK, Entries: entries, EntriesCut: cut}
	}
	a := appends["history/m1"]
	assert.True(t, missingAppend(ok(false, 30, 10), a), "the newest is shown, the middle one is not")
	assert.False(t, missingAppend(ok(false, 30, 25, 20, 10), a))
	assert.False(t, missingAppend(ok(true, 30, 20), a), "10 is older than a full page")
	assert.True(t, missingAppend(ok(true, 30, 10), a))
	assert.False(t, missingAppend(history.Op{Type: history.Fail}, a), "a failed probe is retried for its type, not here")
}

// A first round longer than the deadline still leaves every key its time to
// converge: the deadline counts from the end of the first round, not from
// the start of the read-back.
func TestReadBackDeadlineCountsAfterTheFirstRound(t *testing.T) {
	var jobs []readBackJob
	for i := range 40 {
		jobs = append(jobs, readBackJob{region: "us-east-1", key: fmt.Sprintf("profile/m%d", i)})
	}
	var mu sync.Mutex
	probes := map[readBackJob]int{}
	err := readBackRounds(context.Background(), jobs, 1, 100*time.Millisecond, 10*time.Millisecond, func(j readBackJob) bool {
		time.Sleep(5 * time.Millisecond) // 40 keys: a first round of 200 ms, twice the deadline
		mu.Lock()
		defer mu.Unlock()
		probes[j]++
		return probes[j] < 2 // stale at the first probe, fresh at the second
	})
	require.NoError(t, err)
	for _, j := range jobs {
		assert.Equal(t, 2, probes[j], "key %s was probed again until it converged", j.key)
	}
}

func TestGatewayPacersHalveEachRegionsCapacity(t *testing.T) {
	spec, err := topology.Profile("global")
	require.NoError(t, err)
	paced := gatewayPacers(spec)
	require.Len(t, paced, 3)
	require.InDelta(t, 100, float64(paced["eu-west-1"].Limit()), 0.001, "eu-west-1 admits 200/s")
	require.InDelta(t, 200, float64(paced["us-east-1"].Limit()), 0.001)
	spec, err = topology.Profile("default")
	require.NoError(t, err)
	require.Empty(t, gatewayPacers(spec), "a region without a capacity is not paced")
}
