package workload

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
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

// fakeDirector answers GET /v1/route with answer(geo, key) and counts the
// questions per key.
type fakeDirector struct {
	*httptest.Server
	mu     sync.Mutex
	answer func(geo, key string) (region, gateway string)
	calls  map[string]int
	total  atomic.Int64
}

func newFakeDirector(t *testing.T, answer func(geo, key string) (string, string)) *fakeDirector {
	d := &fakeDirector{answer: answer, calls: map[string]int{}}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/route" {
			http.NotFound(w, r)
			return
		}
		geo, key := r.URL.Query().Get("geo"), r.URL.Query().Get("key")
		d.mu.Lock()
		d.calls[key]++
		ans := d.answer
		d.mu.Unlock()
		d.total.Add(1)
		region, gw := ans(geo, key)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"geo": geo, "region": region, "gateway": gw})
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *fakeDirector) setAnswer(f func(geo, key string) (string, string)) {
	d.mu.Lock()
	d.answer = f
	d.mu.Unlock()
}

func (d *fakeDirector) callsFor(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[key]
}

// fakeGateway serves the member API as one region would, locally.
func fakeGateway(t *testing.T, region string) *httptest.Server {
	var version atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(app.HeaderRegion, region)
		h.Set(app.HeaderZone, region+"a")
		h.Set(app.HeaderInstance, region+"-i1")
		h.Set(app.HeaderRoute, app.RouteLocal)
		h.Set(app.HeaderEntry, region)
		h.Set(app.HeaderVersion, "1")
		if r.Method != http.MethodGet {
			h.Set(app.HeaderVersion, strconv.FormatInt(version.Add(1), 10))
		} else {
			h.Set(app.HeaderCache, "hit")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

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
