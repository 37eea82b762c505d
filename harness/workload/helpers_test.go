package workload

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

// memSink keeps history records in memory.
type memSink struct {
	mu  sync.Mutex
	ops []history.Op
}

func (m *memSink) Op(o history.Op) {
	m.mu.Lock()
	m.ops = append(m.ops, o)
	m.mu.Unlock()
}

func (m *memSink) all() []history.Op {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]history.Op(nil), m.ops...)
}

// operations pairs the records and returns them in invoke order; it fails
// the test on a pending invoke or an orphan completion.
func (m *memSink) operations(t *testing.T) []history.Operation {
	t.Helper()
	x := history.NewIndex(&history.History{Ops: m.all()})
	require.Zero(t, x.Pending, "pending invokes")
	require.Zero(t, x.Orphans, "orphan completions")
	ops := x.Operations
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].InvokeTime().Before(ops[j].InvokeTime()) })
	return ops
}

// intended is when an operation was due: its completion time less its
// (coordinated-omission-corrected) latency.
func intended(o history.Operation) time.Time { return o.Completion.Time.Add(-o.Completion.Latency) }

// startedWorkload builds a workload that is ready to execute operations
// directly (without its scheduler).
func startedWorkload(t *testing.T, cfg Config) *Workload {
	t.Helper()
	w, err := New(cfg)
	require.NoError(t, err)
	w.reqCtx, w.abort = context.WithCancel(context.Background())
	w.stats.begin(time.Now())
	t.Cleanup(w.abort)
	return w
}
