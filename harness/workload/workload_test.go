package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/apptest"
)

func TestPopulationDeterministic(t *testing.T) {
	geos := []string{"us-east-1", "us-west-2", "eu-west-1"}
	a, err := NewPopulation(42, 300, geos, nil, "")
	require.NoError(t, err)
	b, err := NewPopulation(42, 300, geos, nil, "")
	require.NoError(t, err)
	c, err := NewPopulation(43, 300, geos, nil, "")
	require.NoError(t, err)

	sig := func(p *Population) string {
		var sb strings.Builder
		for _, m := range p.Members {
			fmt.Fprintf(&sb, "%s@%s:", m.ID, m.Geo)
			for _, s := range m.Sessions {
				fmt.Fprintf(&sb, "%d=%s,", s.Index, s.ID)
			}
		}
		return sb.String()
	}
	assert.Equal(t, sig(a), sig(b), "same seed, same population")
	assert.NotEqual(t, sig(a), sig(c), "another seed, another population")

	perGeo := map[string]int{}
	ids := map[string]bool{}
	for i, m := range a.Members {
		assert.Equal(t, fmt.Sprintf("m%d", i), m.ID)
		perGeo[m.Geo]++
		assert.GreaterOrEqual(t, len(m.Sessions), 1)
		assert.LessOrEqual(t, len(m.Sessions), 3)
		for _, s := range m.Sessions {
			assert.Same(t, m, s.Member)
			assert.Same(t, s, a.Sessions[s.Index], "a session's Index is its place in Sessions")
			assert.False(t, ids[s.ID], "session ids are unique")
			ids[s.ID] = true
		}
	}
	for _, g := range geos {
		assert.InDelta(t, 100, perGeo[g], 30, "equal weights: about a third each (%v)", perGeo)
	}
	// Every device count occurs.
	counts := map[int]int{}
	for _, m := range a.Members {
		counts[len(m.Sessions)]++
	}
	assert.Len(t, counts, 3)

	// Weights: 3:1:0.
	w, err := NewPopulation(7, 4000, geos, map[string]float64{"us-east-1": 3, "us-west-2": 1}, "u")
	require.NoError(t, err)
	perGeo = map[string]int{}
	for _, m := range w.Members {
		perGeo[m.Geo]++
	}
	assert.Equal(t, "u0", w.Members[0].ID)
	assert.Zero(t, perGeo["eu-west-1"])
	assert.InDelta(t, 3000, perGeo["us-east-1"], 150)
	assert.InDelta(t, 1000, perGeo["us-west-2"], 150)

	for _, bad := range []struct {
		n       int
		geos    []string
		weights map[string]float64
	}{
		{0, geos, nil},
		{10, nil, nil},
		{10, []string{"a", "a"}, nil},
		{10, geos, map[string]float64{"nowhere": 1}},
		{10, geos, map[string]float64{"us-east-1": -1}},
		{10, geos, map[string]float64{"us-east-1": 0}},
	} {
		_, err := NewPopulation(1, bad.n, bad.geos, bad.weights, "")
		assert.Error(t, err, "%+v", bad)
	}
}

func TestWorkloadOutcomeClassification(t *testing.T) {
	sentErr := errors.New("read tcp: connection reset by peer")
	dial502 := "gateway us-east-1: isthmus to home region us-west-2 failed: peer gateway http://127.0.0.1:19200 unreachable: dial tcp 127.0.0.1:19200: connect: connection refused"
	reset502 := "gateway us-east-1: no member instance answered: instance i1 (zone a): read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"
	cases := []struct {
		name   string
		write  bool
		status int
		shed   bool
		body   string
		sent   bool
		err    error
		want   history.OpType
	}{
		{"read 200", false, 200, false, "", true, nil, history.OK},
		{"read 404 is an answer", false, 404, false, "", true, nil, history.OK},
		{"read 400", false, 400, false, "", true, nil, history.Fail},
		{"read shed", false, 503, true, "", true, nil, history.Fail},
		{"read 504", false, 504, false, "", true, nil, history.Fail},
		{"read 500", false, 500, false, "", true, nil, history.Fail},
		{"read timeout after send", false, 0, false, "", true, context.DeadlineExceeded, history.Fail},
		{"read not sent", false, 0, false, "", false, sentErr, history.Fail},
		{"write 200", true, 200, false, "", true, nil, history.OK},
		{"write 201", true, 201, false, "", true, nil, history.OK},
		{"write 404", true, 404, false, "", true, nil, history.Fail},
		{"write 400", true, 400, false, "", true, nil, history.Fail},
		{"write 307 not followed", true, 307, false, "", true, nil, history.Fail},
		{"write shed", true, 503, true, "", true, nil, history.Fail},
		{"write 508", true, 508, false, "", true, nil, history.Fail},
		{"write 502 dial refused (isthmus link down)", true, 502, false, dial502, true, nil, history.Fail},
		{"write 502 after reset", true, 502, false, reset502, true, nil, history.Info},
		{"write 502 without text", true, 502, false, "", true, nil, history.Info},
		{"write 503 injected", true, 503, false, "member service: injected dependency error", true, nil, history.Fail},
		{"write 503 cassandra", true, 503, false, "member service: write profile of m1 to Cassandra: timeout", true, nil, history.Info},
		{"write 504", true, 504, false, "", true, nil, history.Info},
		{"write 500", true, 500, false, "", true, nil, history.Info},
		{"write timeout after send", true, 0, false, "", true, context.DeadlineExceeded, history.Info},
		{"write reset after send", true, 0, false, "", true, sentErr, history.Info},
		{"write never sent", true, 0, false, "", false, errors.New("dial tcp: connection refused"), history.Fail},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, workloadOutcome(c.write, c.status, c.shed, c.body, c.sent, c.err), c.name)
	}
	// Every rule of the table decides at least one of the cases above.
	decides := make([]bool, len(outcomeRules))
	for _, c := range cases {
		in := completion{write: c.write, shed: c.shed, sent: c.sent, status: c.status, body: c.body, err: c.err}
		if i := slices.IndexFunc(outcomeRules, func(r outcomeRule) bool { return r.match(in) }); i >= 0 {
			decides[i] = true
		}
	}
	for i, r := range outcomeRules {
		assert.True(t, decides[i], "no case reaches the rule %q", r.why)
	}
}

// TestWorkloadHistoryRecords drives single operations against a gateway
// whose answer each case sets, and checks the invoke/completion pair.
func TestWorkloadHistoryRecords(t *testing.T) {
	var handler atomic.Pointer[http.HandlerFunc]
	type seen struct {
		method, path, geo, session, body string
	}
	var last atomic.Pointer[seen]
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		last.Store(&seen{r.Method, r.URL.Path, r.Header.Get(app.HeaderGeo), r.Header.Get(app.HeaderSession), string(b)})
		(*handler.Load())(w, r)
	}))
	defer gw.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	var gateway atomic.Pointer[string]
	gateway.Store(&gw.URL)
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "us-east-1", *gateway.Load() })
	sink := &memSink{}
	w := startedWorkload(t, Config{Director: dir.URL, Geos: []string{"us-west-2"}, Members: 1, Seed: 1,
		History: sink, RequestTimeout: 150 * time.Millisecond, RouteTTL: time.Nanosecond})
	sess := w.Population().Sessions[0]
	w.SetPhase("steady-state")

	headers := func(hs ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(hs); i += 2 {
				w.Header().Add(hs[i], hs[i+1])
			}
		}
	}
	reply := func(status int, body string, hs ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			headers(hs...)(w, r)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	member := []string{app.HeaderRegion, "us-west-2", app.HeaderZone, "b", app.HeaderInstance, "i7"}
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
	hangup := func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = c.Close()
		}
	}

	cases := []struct {
		name    string
		kind    uint8
		handler http.HandlerFunc
		gateway string
		check   func(t *testing.T, c history.Op)
	}{
		{"read proxied over the isthmus, from the cache", 0,
			reply(200, `{}`, append(member, app.HeaderVersion, "123", app.HeaderCache, "hit",
				app.HeaderRoute, app.RouteIsthmus, app.HeaderRoute, app.RouteLocal)...), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.OK, c.Type)
				assert.Equal(t, 200, c.Status)
				assert.Equal(t, "us-west-2", c.Region)
				assert.Equal(t, "b", c.Zone)
				assert.Equal(t, "i7", c.Instance)
				assert.Equal(t, int64(123), c.Version)
				assert.True(t, c.CacheHit)
				assert.True(t, c.Proxied)
				assert.False(t, c.Failover)
				assert.Empty(t, c.Error)
			}},
		{"read not found is ok", 3, reply(404, "no history", member...), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.OK, c.Type)
				assert.Equal(t, 404, c.Status)
				assert.Zero(t, c.Version)
				assert.False(t, c.CacheHit)
			}},
		{"write served in failover mode", 1,
			reply(200, `{}`, append(member, app.HeaderVersion, "456", app.HeaderRoute, app.RouteFailover)...), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.OK, c.Type)
				assert.Equal(t, int64(456), c.Version)
				assert.True(t, c.Failover)
				assert.False(t, c.Proxied)
			}},
		{"write refused 400", 2, reply(400, "history: send {\"title\": \"...\"}\nmore", member...), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Fail, c.Type)
				assert.Equal(t, 400, c.Status)
				assert.Equal(t, `HTTP 400: history: send {"title": "..."}`, c.Error)
			}},
		{"write shed", 1, reply(503, "shed", app.HeaderShed, "1", "Retry-After", "1"), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Fail, c.Type)
				assert.True(t, c.Shed)
				assert.Empty(t, c.Region)
				assert.Contains(t, c.Error, "HTTP 503 shed")
			}},
		{"read shed", 0, reply(503, "shed", app.HeaderShed, "1"), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Fail, c.Type)
				assert.True(t, c.Shed)
			}},
		{"write 502 isthmus link down", 1,
			reply(502, "gateway us-east-1: isthmus to home region us-west-2 failed: peer gateway http://x unreachable: dial tcp 127.0.0.1:9: connect: connection refused",
				app.HeaderRoute, app.RouteIsthmus), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Fail, c.Type)
				assert.True(t, c.Proxied)
			}},
		{"write 502 after reset", 1, reply(502, "gateway: no member instance answered: EOF"), "",
			func(t *testing.T, c history.Op) { assert.Equal(t, history.Info, c.Type) }},
		{"write 503 from the data tier", 2, reply(503, "member service: append history: timeout", member...), "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Info, c.Type)
				assert.Equal(t, "us-west-2", c.Region)
			}},
		{"write 504", 1, reply(504, "gateway: member request timed out"), "",
			func(t *testing.T, c history.Op) { assert.Equal(t, history.Info, c.Type) }},
		{"write 508", 1, reply(508, "loop"), "",
			func(t *testing.T, c history.Op) { assert.Equal(t, history.Fail, c.Type) }},
		{"write timeout", 2, slow, "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Info, c.Type)
				assert.Zero(t, c.Status)
				assert.Contains(t, c.Error, "no answer to a sent request (timeout 150ms)")
				assert.GreaterOrEqual(t, c.Latency, 150*time.Millisecond)
			}},
		{"read timeout", 3, slow, "",
			func(t *testing.T, c history.Op) { assert.Equal(t, history.Fail, c.Type) }},
		{"write connection dropped after the request", 1, hangup, "",
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Info, c.Type)
				assert.Contains(t, c.Error, "no answer to a sent request")
			}},
		{"read connection dropped", 0, hangup, "",
			func(t *testing.T, c history.Op) { assert.Equal(t, history.Fail, c.Type) }},
		{"write to a dead gateway", 1, reply(200, ""), deadURL,
			func(t *testing.T, c history.Op) {
				assert.Equal(t, history.Fail, c.Type)
				assert.Contains(t, c.Error, "request not sent")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.handler
			handler.Store(&h)
			g := gw.URL
			if tc.gateway != "" {
				g = tc.gateway
			}
			gateway.Store(&g)
			before := len(sink.all())
			last.Store(nil)
			due := time.Now()
			w.execute(workloadJob{intended: due, sess: sess, kind: tc.kind, arg: 5})
			recs := sink.all()[before:]
			require.Len(t, recs, 2)
			inv, c := recs[0], recs[1]
			assert.Equal(t, history.Invoke, inv.Type)
			assert.Equal(t, workloadOps[tc.kind], inv.Op)
			for _, o := range []history.Op{inv, c} {
				assert.Equal(t, sess.Index, o.Process)
				assert.Equal(t, sess.ID, o.Session)
				assert.Equal(t, "m0", o.Member)
				assert.Equal(t, "us-west-2", o.Home)
				assert.Equal(t, "us-east-1", o.Entry, "entry is the director's answer")
				assert.Equal(t, "steady-state", o.Phase)
			}
			assert.Equal(t, inv.Seq, c.Seq)
			assert.Equal(t, inv.Seq, sess.seq.Load(), "the latest seq of the session")
			if tc.kind >= 2 {
				assert.Equal(t, "history/m0", inv.Key)
			} else {
				assert.Equal(t, "profile/m0", inv.Key)
			}
			assert.False(t, c.Time.Before(inv.Time))
			assert.Equal(t, c.Time.Sub(due), c.Latency, "latency from the intended start")
			if s := last.Load(); s != nil && tc.gateway == "" {
				assert.Equal(t, "us-west-2", s.geo)
				assert.Equal(t, sess.ID, s.session)
				switch tc.kind {
				case 0:
					assert.Equal(t, "GET /v1/members/m0/profile", s.method+" "+s.path)
				case 1:
					assert.Equal(t, "PUT /v1/members/m0/profile", s.method+" "+s.path)
					assert.JSONEq(t, `{"name": "Member m0", "plan": "premium"}`, s.body)
				case 2:
					assert.Equal(t, "POST /v1/members/m0/history", s.method+" "+s.path)
					assert.JSONEq(t, `{"title": "title-5"}`, s.body)
				case 3:
					assert.Equal(t, "GET /v1/members/m0/history", s.method+" "+s.path)
				}
			}
			tc.check(t, c)
		})
	}

	t.Run("director failing after an answer: the session keeps its route", func(t *testing.T) {
		h := reply(200, `{}`, member...)
		handler.Store(&h)
		g := gw.URL
		gateway.Store(&g)
		w.execute(workloadJob{intended: time.Now(), sess: sess, kind: 0}) // a good answer first
		dir.SetAnswer(func(geo, key string) (string, string) { return "", "" })
		defer dir.SetAnswer(func(geo, key string) (string, string) { return "us-east-1", *gateway.Load() })
		errsBefore := w.stats.directorErrors.Load()
		before := len(sink.all())
		w.execute(workloadJob{intended: time.Now(), sess: sess, kind: 0})
		recs := sink.all()[before:]
		require.Len(t, recs, 2)
		assert.Equal(t, history.OK, recs[1].Type)
		assert.Equal(t, "us-east-1", recs[1].Entry)
		assert.Equal(t, errsBefore+1, w.stats.directorErrors.Load())
	})

	t.Run("director unreachable with no route yet", func(t *testing.T) {
		w2 := startedWorkload(t, Config{Director: deadURL, Geos: []string{"g"}, Members: 1, History: sink})
		before := len(sink.all())
		w2.execute(workloadJob{intended: time.Now(), sess: w2.Population().Sessions[0], kind: 1})
		recs := sink.all()[before:]
		require.Len(t, recs, 2)
		assert.Equal(t, history.Fail, recs[1].Type)
		assert.Empty(t, recs[1].Entry)
		assert.Contains(t, recs[1].Error, "director")
	})
}

func TestWorkloadPacingAccuracy(t *testing.T) {
	gw := apptest.Gateway(t, "r1")
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "r1", gw.URL })
	sink := &memSink{}
	// A late start counts from 250 ms here: the test runs beside real worlds
	// in CI, where the scheduler can hold a goroutine for tens of ms.
	w, err := New(Config{Director: dir.URL, Geos: []string{"r1"}, Members: 20, Seed: 3,
		Pacer: Constant(200), Duration: 2 * time.Second, History: sink, LateThreshold: 250 * time.Millisecond})
	require.NoError(t, err)
	w.SetPhase("steady-state")
	require.NoError(t, w.Start(context.Background()))
	var live []LiveStats
	for i := 0; i < 3; i++ {
		time.Sleep(600 * time.Millisecond)
		live = append(live, w.Live())
	}
	res, err := w.Wait()
	require.NoError(t, err)

	ops := sink.operations(t)
	assert.InDelta(t, 400, len(ops), 40, "200/s for 2 s")
	assert.Equal(t, uint64(len(ops)), res.Ops)
	assert.Equal(t, res.Ops, res.OK)
	// The intended starts are exactly 5 ms apart.
	sort.Slice(ops, func(i, j int) bool { return intended(ops[i]).Before(intended(ops[j])) })
	for i := 1; i < len(ops); i++ {
		gap := intended(ops[i]).Sub(intended(ops[i-1]))
		assert.InDelta(t, float64(5*time.Millisecond), float64(gap), float64(50*time.Microsecond), "op %d", i)
	}
	g := res.Generator
	assert.True(t, g.Kept, g.Reason)
	assert.Contains(t, g.Reason, "kept the requested rate")
	assert.InDelta(t, 400, g.Requested, 2)
	assert.InDelta(t, 200, g.AchievedRate, 20)
	assert.InDelta(t, 200, g.RequestedRate, 2)
	// Live figures once a second has passed.
	assert.InDelta(t, 200, live[2].OpsPerSec, 50, "%v", live[2])
	assert.Zero(t, live[2].ErrorRate)
	assert.Equal(t, "steady-state", live[2].Phase)
	assert.Equal(t, 200.0, live[2].RequestedRate)
	assert.NotEmpty(t, live[2].String())
	h := w.Latency("steady-state", "r1")
	require.NotNil(t, h)
	assert.Equal(t, int64(len(ops)), h.TotalCount())
}

// TestWorkloadCoordinatedOmission: one worker, a server that stalls 500 ms
// once. Operations due during the stall wait for the worker; their recorded
// latency is their wait, not the few microseconds of service they got.
func TestWorkloadCoordinatedOmission(t *testing.T) {
	var stallStart, stallEnd atomic.Int64
	t0 := time.Now()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if time.Since(t0) > 400*time.Millisecond && stallStart.CompareAndSwap(0, time.Now().UnixNano()) {
			time.Sleep(500 * time.Millisecond)
			stallEnd.Store(time.Now().UnixNano())
		}
		w.Header().Set(app.HeaderRegion, "r1")
	}))
	defer gw.Close()
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "r1", gw.URL })
	sink := &memSink{}
	res, err := Run(context.Background(), Config{Director: dir.URL, Geos: []string{"r1"}, Members: 5, Seed: 9,
		Pacer: Constant(100), Duration: 1500 * time.Millisecond, Workers: 1, MaxWorkers: 1,
		RouteTTL: time.Minute, History: sink, LateThreshold: 10 * time.Millisecond})
	require.NoError(t, err)
	require.NotZero(t, stallEnd.Load())
	s0, s1 := time.Unix(0, stallStart.Load()), time.Unix(0, stallEnd.Load())

	ops := sink.operations(t)
	assert.InDelta(t, 150, len(ops), 15)
	during := 0
	for _, o := range ops {
		due := intended(o)
		c := o.Completion
		// Latency is measured from the intended start: at least the time
		// between invoke and completion.
		assert.GreaterOrEqual(t, c.Latency, c.Time.Sub(o.Invoke.Time))
		if due.After(s0.Add(10*time.Millisecond)) && due.Before(s1.Add(-10*time.Millisecond)) {
			during++
			wait := s1.Sub(due)
			assert.GreaterOrEqual(t, c.Latency, wait, "op due %s into the stall", due.Sub(s0))
			assert.Less(t, c.Latency, wait+250*time.Millisecond, "op due %s into the stall", due.Sub(s0))
		}
	}
	assert.InDelta(t, 48, during, 6, "ops due during the stall")
	var stalled time.Duration
	for _, o := range ops {
		stalled = max(stalled, o.Latency())
	}
	assert.GreaterOrEqual(t, stalled, 500*time.Millisecond)

	g := res.Generator
	assert.False(t, g.Kept, g.Reason)
	assert.Contains(t, g.Reason, "the generator was the bottleneck")
	assert.GreaterOrEqual(t, g.Late, uint64(40))
	assert.GreaterOrEqual(t, g.MaxLateness, 450*time.Millisecond)
	assert.EqualValues(t, 1, g.PeakWorkers)
}

// TestWorkloadBacklogAtStopIsDropped: one worker, a server that hangs; the
// operations that fall due while the worker waits are never drawn, and at
// the stop they are counted as dropped (due, never started), with the due
// time of each operation started recorded in its invoke.
func TestWorkloadBacklogAtStopIsDropped(t *testing.T) {
	t0 := time.Now()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if time.Since(t0) > 300*time.Millisecond {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(3 * time.Second):
			}
		}
		w.Header().Set(app.HeaderRegion, "r1")
	}))
	defer gw.Close()
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "r1", gw.URL })
	sink := &memSink{}
	w, err := New(Config{Director: dir.URL, Geos: []string{"r1"}, Members: 5, Seed: 5,
		Pacer: Constant(100), Workers: 1, MaxWorkers: 1, RouteTTL: time.Minute, History: sink,
		DrainTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	time.Sleep(time.Second)
	res, err := w.Stop()
	require.NoError(t, err)
	g := res.Generator
	assert.False(t, g.Kept, g.Reason)
	assert.Greater(t, g.Dropped, uint64(40), "about 70 operations fell due while the worker hung: %s", g.Reason)
	assert.InDelta(t, g.Requested-float64(g.Started), float64(g.Dropped), 1, "dropped is every operation due and never started")
	for _, o := range sink.operations(t) {
		require.False(t, o.Invoke.Due.IsZero(), "the invoke records when the operation was due")
		assert.WithinDuration(t, intended(o), o.Invoke.Due, time.Microsecond)
	}
}

// TestWorkloadPoolGrows: a slow server needs more workers than the pool
// starts with; the pool grows and nothing starts late.
func TestWorkloadPoolGrows(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		w.Header().Set(app.HeaderRegion, "r1")
	}))
	defer gw.Close()
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "r1", gw.URL })
	sink := &memSink{}
	res, err := Run(context.Background(), Config{Director: dir.URL, Geos: []string{"r1"}, Members: 50, Seed: 2,
		Pacer: Constant(100), Duration: time.Second, Workers: 2, MaxWorkers: 64, History: sink,
		LateThreshold: 250 * time.Millisecond, LateTolerance: 0.05})
	require.NoError(t, err)
	g := res.Generator
	// Two workers alone would serve 20/s and fall seconds behind (the last
	// operations about 4 s late); grown, no operation waits for a busy
	// worker. The bounds leave room for a machine loaded by real worlds.
	assert.True(t, g.Kept, g.Reason)
	assert.Less(t, g.MaxLateness, time.Second, g.Reason)
	assert.Greater(t, g.PeakWorkers, int64(8))
	assert.LessOrEqual(t, g.PeakWorkers, int64(64))
	for _, o := range sink.operations(t) {
		assert.Less(t, o.Latency(), 1500*time.Millisecond)
	}
}

// TestWorkloadSessionStickinessAndReroute: sessions keep the director's
// answer for RouteTTL, and follow it when it changes.
func TestWorkloadSessionStickinessAndReroute(t *testing.T) {
	gwA, gwB := apptest.Gateway(t, "A"), apptest.Gateway(t, "B")
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "A", gwA.URL })
	sink := &memSink{}
	ttl := 200 * time.Millisecond
	w, err := New(Config{Director: dir.URL, Geos: []string{"A", "B"}, Members: 3, Seed: 5,
		Pacer: Constant(200), Duration: 1600 * time.Millisecond, RouteTTL: ttl, History: sink})
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	time.Sleep(600 * time.Millisecond)
	switchAt := time.Now()
	dir.SetAnswer(func(geo, key string) (string, string) { return "B", gwB.URL })
	res, err := w.Wait()
	require.NoError(t, err)

	ops := sink.operations(t)
	bySession := map[string][]history.Operation{}
	for _, o := range ops {
		require.True(t, o.IsOK(), o.Completion.Error)
		bySession[o.Session()] = append(bySession[o.Session()], o)
		switch {
		case o.InvokeTime().Before(switchAt):
			assert.Equal(t, "A", o.Region())
			assert.Equal(t, "A", o.Entry())
		case o.InvokeTime().After(switchAt.Add(ttl + 50*time.Millisecond)):
			assert.Equal(t, "B", o.Region())
			assert.Equal(t, "B", o.Entry())
		}
	}
	sessions := w.Population().Sessions
	moved := 0
	for _, s := range sessions {
		list := bySession[s.ID]
		if len(list) == 0 {
			continue
		}
		// A...A B...B: one move, and only once the director's answer changed.
		seenB := false
		for _, o := range list {
			if o.Region() == "B" {
				seenB = true
			} else {
				assert.False(t, seenB, "session %s went back to A", s.ID)
			}
		}
		asks, changes := s.RouteStats()
		assert.LessOrEqual(t, changes, 1)
		moved += changes
		// The director is asked about once per TTL, not once per operation.
		calls := dir.CallsFor(s.ID)
		assert.Equal(t, asks, calls)
		assert.LessOrEqual(t, calls, int(1600*time.Millisecond/ttl)+2, "session %s", s.ID)
		if len(list) > 30 {
			assert.Less(t, calls, len(list)/2, "session %s: %d calls for %d ops", s.ID, calls, len(list))
		}
	}
	assert.Greater(t, moved, 0)
	assert.EqualValues(t, moved, res.RouteChanges)
	assert.EqualValues(t, dir.Calls(), res.DirectorCalls)

	// The session-stickiness checker sees the moves, and accepts them once
	// the timeline says traffic was shifted.
	h := &history.History{Ops: sink.all()}
	r := (&check.SessionStickiness{}).Check(history.NewIndex(h))
	assert.Equal(t, history.VerdictInvalid, r.Valid, r.Reason)
	h.Events = []history.Event{{Kind: history.TrafficShift, Time: switchAt, Name: "director: A -> B"}}
	r = (&check.SessionStickiness{Grace: ttl}).Check(history.NewIndex(h))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
}

// TestWorkloadRedirect: a redirect is followed once, recorded, and makes
// the session ask the director again.
func TestWorkloadRedirect(t *testing.T) {
	gwB := apptest.Gateway(t, "B")
	redirectTo := func(target string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", target+r.URL.Path)
			w.Header().Set(app.HeaderRoute, app.RouteRedirect)
			w.WriteHeader(http.StatusTemporaryRedirect)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	gwA := redirectTo(gwB.URL)
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "A", gwA.URL })
	sink := &memSink{}
	res, err := Run(context.Background(), Config{Director: dir.URL, Geos: []string{"B"}, Members: 2, Seed: 1,
		Pacer: Constant(20), Duration: time.Second, History: sink})
	require.NoError(t, err)
	ops := sink.operations(t)
	require.NotEmpty(t, ops)
	for _, o := range ops {
		assert.True(t, o.IsOK(), o.Completion.Error)
		assert.True(t, o.Redirected())
		assert.Equal(t, "B", o.Region(), "served by the redirect's target")
		assert.Equal(t, "A", o.Entry(), "entry is where the director sent it")
	}
	assert.EqualValues(t, len(ops), res.Redirected)
	assert.EqualValues(t, len(ops), dir.Calls(), "asked the director again after each redirect")

	// A second redirect is not followed.
	loop := redirectTo("http://127.0.0.1:1")
	gwC := redirectTo(loop.URL)
	dir.SetAnswer(func(geo, key string) (string, string) { return "A", gwC.URL })
	sink2 := &memSink{}
	_, err = Run(context.Background(), Config{Director: dir.URL, Geos: []string{"B"}, Members: 2, Seed: 1,
		Pacer: Constant(20), Duration: 300 * time.Millisecond, History: sink2, Mix: OpMix{WriteProfile: 1}})
	require.NoError(t, err)
	ops = sink2.operations(t)
	require.NotEmpty(t, ops)
	for _, o := range ops {
		assert.Equal(t, history.Fail, o.Type())
		assert.True(t, o.Redirected())
		assert.Equal(t, 307, o.Completion.Status)
	}
}

// TestWorkloadRecorderPhasesAndStop writes a real history file across two
// phases, stops by cancelling the context with operations in flight, and
// reads the file back.
func TestWorkloadRecorderPhasesAndStop(t *testing.T) {
	var slow atomic.Bool
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client going away
		if slow.Load() {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(3 * time.Second):
			}
		}
		w.Header().Set(app.HeaderRegion, "r1")
		w.Header().Set(app.HeaderVersion, "7")
	}))
	defer gw.Close()
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "r1", gw.URL })
	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := history.NewRecorder(path)
	require.NoError(t, err)

	phase := "steady-state"
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	w, err := New(Config{Director: dir.URL, Geos: []string{"r1"}, Members: 10, Seed: 4,
		Pacer: Constant(100), History: rec, DrainTimeout: 200 * time.Millisecond,
		Phase: func() string { mu.Lock(); defer mu.Unlock(); return phase }})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	require.Error(t, w.Start(ctx), "start once")
	time.Sleep(400 * time.Millisecond)
	mu.Lock()
	phase = "inject"
	mu.Unlock()
	time.Sleep(400 * time.Millisecond)
	slow.Store(true)
	time.Sleep(200 * time.Millisecond)
	cancel()
	stopAt := time.Now()
	res, err := w.Wait()
	require.NoError(t, err)
	assert.Less(t, time.Since(stopAt), time.Second, "stops within the drain timeout")
	res2, _ := w.Stop()
	assert.Same(t, res, res2)
	require.NoError(t, rec.Close())

	h, err := history.Load(path)
	require.NoError(t, err)
	x := history.NewIndex(h)
	assert.Zero(t, x.Pending)
	assert.Zero(t, x.Orphans)
	assert.EqualValues(t, len(x.Operations), res.Ops)
	phases := map[string]int{}
	lastSeq := map[int]uint64{}
	abandoned := 0
	for _, op := range h.Ops {
		if op.Type == history.Invoke {
			assert.Greater(t, op.Seq, lastSeq[op.Process], "seq increases per process in file order")
			lastSeq[op.Process] = op.Seq
		}
	}
	for _, o := range x.Operations {
		phases[o.Completion.Phase]++
		if strings.HasPrefix(o.Completion.Error, "abandoned") {
			abandoned++
			if o.IsWrite() {
				assert.Equal(t, history.Info, o.Type())
			} else {
				assert.Equal(t, history.Fail, o.Type())
			}
		}
	}
	assert.Greater(t, phases["steady-state"], 20)
	assert.Greater(t, phases["inject"], 20)
	assert.Greater(t, abandoned, 5)
	assert.EqualValues(t, abandoned, res.Abandoned)
	assert.ElementsMatch(t, []string{"inject", "steady-state"}, res.Phases())
	assert.NotNil(t, res.Latency["inject"]["r1"])
	assert.True(t, math.Abs(float64(res.OK+res.Fail+res.Info)-float64(res.Ops)) < 1)
}

func TestWorkloadConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Geos: []string{"a"}},
		{Director: "127.0.0.1:80", Geos: []string{"a"}},
		{Director: "http://x"},
		{Director: "http://x", Geos: []string{"a"}, Mix: OpMix{ReadProfile: -1}},
		{Director: "http://x", Geos: []string{"a"}, Workers: 10, MaxWorkers: 5},
	} {
		_, err := New(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	w, err := New(Config{Director: "http://x", Geos: []string{"a"}})
	require.NoError(t, err)
	_, err = w.Wait()
	assert.Error(t, err, "not started")
	assert.Equal(t, "not started", w.Report().Reason)
}

func TestWorkloadOpMix(t *testing.T) {
	count := func(mix OpMix) map[string]int {
		w, err := New(Config{Director: "http://x", Geos: []string{"a"}, Mix: mix})
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(1, 2))
		n := map[string]int{}
		for i := 0; i < 20000; i++ {
			n[workloadOps[w.nextJob(rng, time.Time{}).kind]]++
		}
		return n
	}
	n := count(OpMix{})
	assert.InDelta(t, 14000, n[history.OpReadProfile], 400)
	assert.InDelta(t, 3000, n[history.OpWriteProfile], 300)
	assert.InDelta(t, 2000, n[history.OpAppendHistory], 300)
	assert.InDelta(t, 1000, n[history.OpReadHistory], 200)
	assert.Equal(t, map[string]int{history.OpAppendHistory: 20000}, count(OpMix{AppendHistory: 1}))
	assert.Equal(t, map[string]int{history.OpReadHistory: 20000}, count(OpMix{ReadHistory: 3}))
	assert.Equal(t, map[string]int{history.OpReadProfile: 20000}, count(OpMix{ReadProfile: 3}))
}

// The member ids the workload generates (default prefix, the thundering
// herd's) are ids the member service accepts.
func TestPopulationIDsAreValidMemberIDs(t *testing.T) {
	for _, prefix := range []string{"", "m", "herd"} {
		pop, err := NewPopulation(7, 2000, []string{"us-east-1", "us-west-2"}, nil, prefix)
		require.NoError(t, err)
		require.Len(t, pop.Members, 2000)
		for _, m := range pop.Members {
			require.NoError(t, app.ValidMemberID(m.ID), "prefix %q", prefix)
		}
	}
	_, err := NewPopulation(7, 10, []string{"us-east-1"}, nil, "member ")
	require.ErrorContains(t, err, `member prefix "member " makes ids the member service refuses`)
}

// With Dial, the workload reaches the director and the gateways it names
// through it: here names that resolve nowhere (as a cluster's Service
// names outside the cluster) dialled at the servers' addresses.
func TestWorkloadDialsThroughDial(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(app.HeaderRegion, "r1")
	}))
	defer gw.Close()
	dir := apptest.NewDirector(t, func(geo, key string) (string, string) { return "r1", "http://gateway.r1.svc.invalid:80" })
	at := map[string]string{"gateway.r1.svc.invalid:80": gw.Listener.Addr().String(),
		"director.svc.invalid:80": strings.TrimPrefix(dir.URL, "http://")}
	var dialled sync.Map
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled.Store(addr, true)
		var d net.Dialer
		if to, ok := at[addr]; ok {
			addr = to
		}
		return d.DialContext(ctx, network, addr)
	}
	sink := &memSink{}
	res, err := Run(context.Background(), Config{Director: "http://director.svc.invalid:80", Geos: []string{"r1"}, Members: 10, Seed: 3,
		Pacer: Constant(50), MaxOps: 20, History: sink, Dial: dial})
	require.NoError(t, err)
	require.EqualValues(t, 20, res.Generator.Completed)
	for _, o := range sink.operations(t) {
		require.True(t, o.IsOK(), "operation %+v", o)
	}
	for addr := range at {
		_, ok := dialled.Load(addr)
		require.True(t, ok, "%s was not dialled through Dial", addr)
	}

	// Without it, the names do not resolve: nothing succeeds.
	sink = &memSink{}
	_, err = Run(context.Background(), Config{Director: "http://director.svc.invalid:80", Geos: []string{"r1"}, Members: 10, Seed: 3,
		Pacer: Constant(50), MaxOps: 5, History: sink})
	require.NoError(t, err)
	for _, o := range sink.operations(t) {
		require.False(t, o.IsOK(), "operation %+v succeeded without Dial", o)
	}
}
