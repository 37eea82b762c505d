package replcheck

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

func TestParseGCPause(t *testing.T) {
	p, ok := parseGCPause("org.apache.cassandra.service.GCInspector", "G1 Young Generation GC in 230ms.  G1 Eden Space: 52428800 -> 0; G1 Old Gen: 1 -> 2")
	require.True(t, ok)
	require.Equal(t, history.GCPause{Ms: 230, Collector: "G1 Young Generation"}, p)
	_, ok = parseGCPause("org.apache.cassandra.service.StorageService", "G1 Young Generation GC in 230ms.")
	require.False(t, ok, "only GCInspector's lines are pauses")
	_, ok = parseGCPause("org.apache.cassandra.service.GCInspector", "ConcurrentMarkSweep has been running")
	require.False(t, ok, "a GCInspector line that is no pause")
}

func TestTimelineCountsEachSecondOfTheWrites(t *testing.T) {
	var tl timeline
	tl.second(300*time.Millisecond).Written++
	s := tl.second(2500 * time.Millisecond)
	s.Written++
	s.Late++
	s.MaxLagMs = 12_000
	tl.second(-time.Millisecond).Written++ // a clock step back counts in the first second
	require.Equal(t, []history.LagSecond{{Second: 0, Written: 2}, {Second: 1}, {Second: 2, Written: 1, Late: 1, MaxLagMs: 12_000}}, tl.seconds)
}

func TestEvidenceSamplerCountsWhatItCouldNotRead(t *testing.T) {
	e := &evidenceSampler{interval: time.Second, unread: map[string]*unreadTable{}, stop: make(chan struct{}), done: make(chan struct{})}
	close(e.done)
	e.note("us-east-1/cassandra/a", "thread_pools", errString("timeout"))
	e.note("us-east-1/cassandra/a", "thread_pools", errString("later"))
	e.samples = append(e.samples, timedSample{time.Unix(12, 0), history.NodeSample{Node: "us-east-1/cassandra/a", MutationPending: 4}})
	ev := e.finish(time.Unix(10, 0))
	require.Equal(t, []string{"us-east-1/cassandra/a: thread_pools: 2 time(s), first: timeout"}, ev.Unread)
	require.Equal(t, []history.NodeSample{{At: 2, Node: "us-east-1/cassandra/a", MutationPending: 4}}, ev.Samples, "times count from the first write")
	require.Equal(t, float64(1000), ev.IntervalMs)
}

type errString string

func (e errString) Error() string { return string(e) }

func TestSettleWaitsForEveryNodeToBeQuiet(t *testing.T) {
	a, b := "us-east-1/cassandra/a", "us-west-2/cassandra/a"
	e := &evidenceSampler{interval: 20 * time.Millisecond, unread: map[string]*unreadTable{}, stop: make(chan struct{}), done: make(chan struct{}),
		nodes: []*evidenceNode{{id: a}, {id: b}}}
	add := func(s history.NodeSample) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.samples = append(e.samples, timedSample{time.Now(), s})
	}
	// Quiet samples from before the wait began do not count.
	add(history.NodeSample{Node: a})
	add(history.NodeSample{Node: b})
	start := time.Now()
	ok, busy := e.quietSince(start.Add(time.Millisecond))
	require.False(t, ok)
	require.Equal(t, []string{a + ": not sampled yet", b + ": not sampled yet"}, busy)

	// One node replays hints, then is quiet: the wait ends once both are.
	go func() {
		time.Sleep(30 * time.Millisecond)
		add(history.NodeSample{Node: a})
		add(history.NodeSample{Node: b, HintFiles: 3, Compactions: 1})
		time.Sleep(60 * time.Millisecond)
		add(history.NodeSample{Node: b})
	}()
	took, busy := e.settle(t.Context(), 5*time.Second)
	require.Empty(t, busy)
	require.GreaterOrEqual(t, took, 80*time.Millisecond, "it waited for the hints")

	// A node that stays busy: the wait ends at its bound, saying why.
	go func() {
		time.Sleep(10 * time.Millisecond)
		add(history.NodeSample{Node: a, MutationPending: 7})
	}()
	took, busy = e.settle(t.Context(), 50*time.Millisecond)
	require.GreaterOrEqual(t, took, 50*time.Millisecond)
	require.Contains(t, busy, a+": 0 hint files, 7 mutations pending, 0 compactions")
}
