package invalidation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// link is a sender whose target can be cut off, recording what it delivered.
type link struct {
	mu        sync.Mutex
	cut       bool
	attempts  int
	delivered []Message
	batches   [][]Message // as delivered
}

func (l *link) send(_ context.Context, batch []Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts++
	if l.cut {
		return errors.New("connection refused")
	}
	l.delivered = append(l.delivered, batch...)
	l.batches = append(l.batches, batch)
	return nil
}

func (l *link) set(cut bool) {
	l.mu.Lock()
	l.cut = cut
	l.mu.Unlock()
}

func (l *link) got() []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Message(nil), l.delivered...)
}

func TestOutboxRetriesInOrderUntilDelivered(t *testing.T) {
	p := newPublisher("us-east-1", slog.New(slog.DiscardHandler))
	west := &link{cut: true}
	require.NoError(t, p.add(Target{Region: "us-west-2"}, west.send, 0, ""))
	defer p.Close()

	// Written while the link is cut: kept, not lost, and Publish never blocks.
	start := time.Now()
	for i := 1; i <= 25; i++ {
		p.Publish(Message{Key: fmt.Sprintf("k%d", i%3), Version: int64(i)})
	}
	require.Less(t, time.Since(start), 100*time.Millisecond, "Publish waited on the cut link")
	require.Eventually(t, func() bool { west.mu.Lock(); defer west.mu.Unlock(); return west.attempts >= 2 },
		5*time.Second, 10*time.Millisecond, "the outbox does not retry")
	require.Empty(t, west.got())
	require.Equal(t, 25, p.Backlog()["us-west-2"])

	// Healed: everything arrives, in the order written (so in order per key).
	west.set(false)
	require.Eventually(t, func() bool { return len(west.got()) == 25 }, 10*time.Second, 10*time.Millisecond)
	for i, m := range west.got() {
		require.Equal(t, int64(i+1), m.Version, "delivered out of order")
		require.Equal(t, "us-east-1", m.From)
	}
	require.Zero(t, p.Backlog()["us-west-2"])
	st := p.Stats()["us-west-2"]
	require.Equal(t, uint64(25), st[0], "sent")
	require.NotZero(t, st[1], "failed attempts were not counted")
}

func TestOutboxLimitDropsTheOldestAndCountsThem(t *testing.T) {
	p := newPublisher("us-east-1", slog.New(slog.DiscardHandler))
	west := &link{cut: true}
	require.NoError(t, p.add(Target{Region: "us-west-2"}, west.send, 5, ""))
	defer p.Close()
	for i := 1; i <= 8; i++ {
		p.Publish(Message{Key: "k", Version: int64(i)})
	}
	require.Equal(t, 5, p.Backlog()["us-west-2"])
	require.Equal(t, uint64(3), p.Stats()["us-west-2"][2], "drops")
	west.set(false)
	require.Eventually(t, func() bool { return len(west.got()) == 5 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, int64(4), west.got()[0].Version, "the oldest were dropped, not the newest")
}

func TestEveryTargetGetsItsOwnOutbox(t *testing.T) {
	p := newPublisher("us-east-1", slog.New(slog.DiscardHandler))
	west, eu := &link{cut: true}, &link{}
	require.NoError(t, p.add(Target{Region: "us-west-2"}, west.send, 0, ""))
	require.NoError(t, p.add(Target{Region: "eu-west-1"}, eu.send, 0, ""))
	defer p.Close()
	p.Publish(Message{Key: "k", Version: 1})
	require.Eventually(t, func() bool { return len(eu.got()) == 1 }, 5*time.Second, 10*time.Millisecond,
		"a cut link to one region held back another region's invalidations")
	require.Empty(t, west.got())
}
