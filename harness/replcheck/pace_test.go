package replcheck

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPaceWritesSendsEveryRecordOnceOpenLoop(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	record := func(_ context.Context, first, count int) {
		mu.Lock()
		defer mu.Unlock()
		for seq := first; seq < first+count; seq++ {
			seen[seq]++
		}
	}
	late, _ := PaceWrites(context.Background(), 1000, 16, 20_000, 64, time.Second, record)
	require.Zero(t, late, "fast writes at a modest rate keep their times")
	require.Len(t, seen, 1000)
	for seq, n := range seen {
		require.Equal(t, 1, n, "record %d", seq)
	}

	// Writes that take 30 ms with one in flight cannot keep 100 a second:
	// the pacer says so instead of slowing down quietly.
	slow := func(context.Context, int, int) { time.Sleep(30 * time.Millisecond) }
	late, worst := PaceWrites(context.Background(), 10, 1, 100, 1, 5*time.Millisecond, slow)
	require.Positive(t, late)
	require.Greater(t, worst, 5*time.Millisecond)

	// A cancelled context stops it.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	PaceWrites(ctx, 1000, 1, 10, 8, time.Second, func(context.Context, int, int) { calls++ })
	require.LessOrEqual(t, calls, 1, "at most the first write, due at once")
}
