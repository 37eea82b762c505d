package invalidation

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the consumer does with each received message: a message that can
// never be applied is deleted and counted, not redelivered for ever.
func TestConsumerDropsWhatCanNeverBeApplied(t *testing.T) {
	transient := errors.New("memcached: connection refused")
	cases := []struct {
		name     string
		body     string
		applyErr error
		deleted  bool
		applied  bool // apply was called
		counts   [3]uint64
	}{
		{"applied", `{"key": "p:m1", "version": 5}`, nil, true, true, [3]uint64{1, 0, 0}},
		{"cache down: comes back", `{"key": "p:m1", "version": 5}`, transient, false, true, [3]uint64{0, 0, 1}},
		{"unusable: dropped", `{"key": "p:a b", "version": 5}`, fmt.Errorf("%w: bad key", ErrUnusable), true, true, [3]uint64{0, 1, 0}},
		{"undecodable: dropped", `{"key": `, nil, true, false, [3]uint64{0, 1, 0}},
		{"not JSON at all: dropped", strings.Repeat("\xff", 1000), nil, true, false, [3]uint64{0, 1, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			var stats ConsumerStats
			called := false
			deleted := handle(c.body, func(m Message) error {
				called = true
				return c.applyErr
			}, &stats, log)
			assert.Equal(t, c.deleted, deleted, "delete")
			assert.Equal(t, c.applied, called, "apply called")
			assert.Equal(t, c.counts, [3]uint64{stats.Applied.Load(), stats.Dropped.Load(), stats.Retried.Load()},
				"applied, dropped, retried")
			if c.counts[1] > 0 {
				assert.Contains(t, logs.String(), "dropped", "a dropped message leaves no log line")
				assert.Less(t, logs.Len(), 1000, "the log line carries the whole body")
			}
		})
	}
}

func TestBatchesStayWithinTheSQSLimits(t *testing.T) {
	p := newPublisher("us-east-1", slog.New(slog.DiscardHandler))
	west := &link{cut: true}
	require.NoError(t, p.add(Target{Region: "us-west-2"}, west.send, 0, ""))
	defer p.Close()
	value := bytes.Repeat([]byte("v"), 90<<10) // 120 KiB in base64: two per batch
	for i := 1; i <= 12; i++ {
		p.Publish(Message{Key: fmt.Sprintf("p:m%d", i), Version: int64(i), Value: value})
	}
	for i := 13; i <= 40; i++ {
		p.Publish(Message{Key: fmt.Sprintf("p:m%d", i), Version: int64(i)})
	}
	west.set(false)
	require.Eventually(t, func() bool { return len(west.got()) == 40 }, 10*time.Second, 10*time.Millisecond)
	for i, m := range west.got() {
		require.Equal(t, int64(i+1), m.Version, "delivered out of order")
	}
	west.mu.Lock()
	defer west.mu.Unlock()
	for _, b := range west.batches {
		require.LessOrEqual(t, len(b), maxBatch)
		total := 0
		for _, m := range b {
			total += encodedSize(m)
		}
		require.LessOrEqual(t, total, MaxMessageBytes, "a batch of %d messages SQS refuses", len(b))
	}
}

func TestOversizedMessagesNeverBlockTheOutbox(t *testing.T) {
	p := newPublisher("us-east-1", slog.New(slog.DiscardHandler))
	west := &link{}
	require.NoError(t, p.add(Target{Region: "us-west-2"}, west.send, 0, ""))
	defer p.Close()

	// A replicated value too large for a message goes as a plain invalidation.
	p.Publish(Message{Key: "p:big", Version: 1, Value: bytes.Repeat([]byte("x"), MaxMessageBytes)})
	// A message too large even so is not sent at all.
	p.Publish(Message{Key: strings.Repeat("k", MaxMessageBytes), Version: 2})
	// And the next ones are delivered.
	p.Publish(Message{Key: "p:small", Version: 3, Value: []byte(`{"v":3}`)})

	require.Eventually(t, func() bool { return len(west.got()) == 2 }, 5*time.Second, 10*time.Millisecond)
	got := west.got()
	assert.Equal(t, "p:big", got[0].Key)
	assert.Nil(t, got[0].Value, "the oversized value was sent")
	assert.Equal(t, "p:small", got[1].Key)
	assert.Equal(t, []byte(`{"v":3}`), got[1].Value)
	downgraded, refused := p.Oversized()
	assert.Equal(t, uint64(1), downgraded)
	assert.Equal(t, uint64(1), refused)
	assert.Zero(t, p.Backlog()["us-west-2"])
}
