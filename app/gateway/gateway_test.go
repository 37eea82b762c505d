package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongchaos/kong/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalRoutingSpreadsOverZones(t *testing.T) {
	a1 := newStub(t, east, "a", "a1", 0)
	a2 := newStub(t, east, "a", "a2", 0)
	b1 := newStub(t, east, "b", "b1", 0)
	c1 := newStub(t, east, "c", "c1", 0)
	_, srv := newGW(t, Config{Region: east, Members: members(a1, a2, b1, c1), Homes: map[string]string{"NY": east}})

	zones := map[string]int{}
	insts := map[string]int{}
	for i := range 60 {
		geo := []string{"NY", "", "XX"}[i%3] // own geo, no geo, unknown geo: all local
		r := get(t, srv.URL+"/v1/profile/1", geo)
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, app.RouteLocal, r.header.Get(app.HeaderRoute))
		assert.Equal(t, east, r.header.Get(app.HeaderEntry))
		assert.Equal(t, east, r.header.Get(app.HeaderRegion))
		assert.Equal(t, "miss", r.header.Get(app.HeaderCache))
		assert.NotEmpty(t, r.header.Get(app.HeaderVersion))
		zones[r.header.Get(app.HeaderZone)]++
		insts[r.header.Get(app.HeaderInstance)]++
	}
	// Round robin over zones first, then over the instances of a zone.
	assert.Equal(t, map[string]int{"a": 20, "b": 20, "c": 20}, zones)
	assert.Equal(t, map[string]int{"a1": 10, "a2": 10, "b1": 20, "c1": 20}, insts)
}

func TestUnhealthyInstanceSkippedAndRecovers(t *testing.T) {
	a1 := newStub(t, east, "a", "a1", 0)
	a2 := newStub(t, east, "a", "a2", 0)
	b1 := newStub(t, east, "b", "b1", 0)
	gw, srv := newGW(t, Config{Region: east, Members: members(a1, a2, b1), HealthInterval: 20 * time.Millisecond})
	waitChecked(t, gw, 1)

	// a1's server dies: the health check marks it down after one failure.
	a1.srv.Close()
	require.Eventually(t, func() bool { return !healthOf(gw, "a1") }, 5*time.Second, 5*time.Millisecond)
	for range 30 {
		r := get(t, srv.URL+"/v1/x", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.NotEqual(t, "a1", r.header.Get(app.HeaderInstance))
	}
	assert.Equal(t, int64(15), a2.hits.Load(), "zone a still gets its share, through a2")
	assert.Equal(t, int64(15), b1.hits.Load())
	assert.Zero(t, gw.Stats(10).Totals.Retries, "the unhealthy instance is never tried")

	// b1 fails its health check with a 500, then comes back after one success.
	b1.health.Store(http.StatusInternalServerError)
	require.Eventually(t, func() bool { return !healthOf(gw, "b1") }, 5*time.Second, 5*time.Millisecond)
	before := b1.hits.Load()
	for range 10 {
		r := get(t, srv.URL+"/v1/x", "")
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "a2", r.header.Get(app.HeaderInstance))
	}
	assert.Equal(t, before, b1.hits.Load())
	b1.health.Store(http.StatusOK)
	require.Eventually(t, func() bool { return healthOf(gw, "b1") }, 5*time.Second, 5*time.Millisecond)
	seen := map[string]bool{}
	for range 4 {
		seen[get(t, srv.URL+"/v1/x", "").header.Get(app.HeaderInstance)] = true
	}
	assert.True(t, seen["b1"], "b1 serves again after one successful check")
}

func TestConnectionFailureRetriedOnceOnAnotherInstance(t *testing.T) {
	a1 := newStub(t, east, "a", "a1", 0)
	b1 := newStub(t, east, "b", "b1", 0)
	// One check at start, then none during the test: only the retry can help.
	gw, srv := newGW(t, Config{Region: east, Members: members(a1, b1), HealthInterval: time.Hour})
	waitChecked(t, gw, 1)
	a1.srv.Close()

	for i := range 6 {
		r := do(t, http.MethodPut, srv.URL+"/v1/profile/7", "", `{"name":"x"}`)
		require.Equal(t, http.StatusOK, r.status, "request %d: %s", i, r.body)
		assert.Equal(t, "b1", r.header.Get(app.HeaderInstance))
		assert.Contains(t, r.body, `PUT /v1/profile/7 {"name":"x"}`, "the body is replayed on the retry")
	}
	st := gw.Stats(10).Totals
	assert.Equal(t, int64(1), st.Retries, "one retry, then a1 is ejected until its next good health check")
	assert.Zero(t, st.Errors)
	assert.False(t, healthOf(gw, "a1"))
}

func TestConnectionFailureRetriedOnlyOnce(t *testing.T) {
	c1 := newStub(t, east, "c", "c1", 0)
	ms := []Member{
		{Zone: "a", Instance: "a1", BaseURL: deadURL(t)},
		{Zone: "b", Instance: "b1", BaseURL: deadURL(t)},
		c1.member(),
	}
	gw, srv := newGW(t, Config{Region: east, Members: ms, HealthInterval: time.Hour})
	// No waiting for the first health check: the dead instances may or may not
	// be marked yet. Whatever happens, no request makes more than two attempts.
	for range 10 {
		r := get(t, srv.URL+"/v1/x", "")
		if r.status != http.StatusOK {
			assert.Equal(t, http.StatusBadGateway, r.status)
			assert.Contains(t, r.body, "retried once on instance")
			assert.Equal(t, app.RouteLocal, r.header.Get(app.HeaderRoute))
		}
	}
	var attempts int64
	for _, m := range gw.Members() {
		attempts += m.Requests
	}
	st := gw.Stats(10).Totals
	assert.LessOrEqual(t, attempts, int64(10)+st.Retries)
	assert.LessOrEqual(t, st.Retries, int64(10))

	// Deterministic variant: both dead instances still marked healthy.
	gw2, srv2 := newGW(t, Config{Region: east, Members: ms, HealthInterval: time.Hour})
	require.Eventually(t, func() bool { // the first checks run; mark them up again afterwards
		for _, m := range gw2.Members() {
			if m.Checks < 1 {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond)
	for _, in := range gw2.bal.all {
		gw2.setHealth(in, true, "")
	}
	gw2.bal.next.Store(0)
	r := get(t, srv2.URL+"/v1/x", "") // a1 refused, retry b1 refused -> 502, no third try
	assert.Equal(t, http.StatusBadGateway, r.status, r.body)
	assert.Contains(t, r.body, "instance a1")
	assert.Contains(t, r.body, "retried once on instance b1")
	assert.Equal(t, int64(1), gw2.Stats(10).Totals.Retries)
	assert.Equal(t, int64(1), gw2.Stats(10).Totals.Errors)
	r = get(t, srv2.URL+"/v1/x", "")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "c1", r.header.Get(app.HeaderInstance))
}

func TestNoRetryOn5xx(t *testing.T) {
	a1 := newStub(t, east, "a", "a1", 0)
	b1 := newStub(t, east, "b", "b1", 0)
	a1.status.Store(http.StatusInternalServerError)
	gw, srv := newGW(t, Config{Region: east, Members: members(a1, b1), HealthInterval: time.Hour})
	var fails int
	for range 4 {
		r := get(t, srv.URL+"/v1/x", "")
		if r.status == http.StatusInternalServerError {
			fails++
			assert.Equal(t, "a1", r.header.Get(app.HeaderInstance), "the member's answer passes through")
			assert.Equal(t, app.RouteLocal, r.header.Get(app.HeaderRoute))
		}
	}
	assert.Equal(t, 2, fails)
	assert.Equal(t, int64(2), a1.hits.Load())
	st := gw.Stats(10).Totals
	assert.Zero(t, st.Retries)
	assert.Equal(t, int64(2), st.Errors)
}

// twoRegions builds east and west gateways that know each other.
func twoRegions(t *testing.T, eastCfg, westCfg Config) (eg, wg *Gateway, es, ws *lateServer, em, wm *stub) {
	t.Helper()
	es, ws = newLateServer(t), newLateServer(t)
	em = newStub(t, east, "east-a", "e1", 0)
	wm = newStub(t, west, "west-a", "w1", 0)
	eastCfg.Region, eastCfg.Members = east, members(em)
	westCfg.Region, westCfg.Members = west, members(wm)
	eastCfg.PeerProxy = map[string]string{west: ws.URL}
	westCfg.PeerProxy = map[string]string{east: es.URL}
	if eastCfg.Homes == nil {
		eastCfg.Homes = homes
	}
	if westCfg.Homes == nil {
		westCfg.Homes = homes
	}
	return gwOn(t, es, eastCfg), gwOn(t, ws, westCfg), es, ws, em, wm
}

func TestIsthmusProxiesToHomeRegion(t *testing.T) {
	eg, wg, es, _, em, wm := twoRegions(t, Config{}, Config{})

	r := get(t, es.URL+"/v1/profile/42?fields=all", "CA")
	require.Equal(t, http.StatusOK, r.status, r.body)
	// The outer route says isthmus; the home gateway's own route follows.
	assert.Equal(t, app.RouteIsthmus, r.header.Get(app.HeaderRoute))
	assert.Equal(t, []string{app.RouteIsthmus, app.RouteLocal}, r.header.Values(app.HeaderRoute))
	assert.Equal(t, east, r.header.Get(app.HeaderEntry), "entry is the region that first received it")
	assert.Equal(t, west, r.header.Get(app.HeaderRegion), "served by the home region's member")
	assert.Equal(t, "west-a", r.header.Get(app.HeaderZone))
	assert.Equal(t, "w1", r.header.Get(app.HeaderInstance))
	assert.Equal(t, "w1 GET /v1/profile/42?fields=all ", r.body)
	assert.Equal(t, "1", wm.lastHeader(app.HeaderHops))
	assert.Equal(t, east, wm.lastHeader(app.HeaderEntry))
	assert.Equal(t, "CA", wm.lastHeader(app.HeaderGeo))
	assert.Zero(t, em.hits.Load(), "no local member touched")

	// A POST body crosses the isthmus too.
	r = do(t, http.MethodPost, es.URL+"/v1/history/42", "CA", "watched=1")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "w1 POST /v1/history/42 watched=1", r.body)

	// East's own users stay in east.
	r = get(t, es.URL+"/v1/profile/1", "NY")
	assert.Equal(t, []string{app.RouteLocal}, r.header.Values(app.HeaderRoute))
	assert.Equal(t, east, r.header.Get(app.HeaderRegion))

	assert.Equal(t, int64(2), eg.Stats(10).Totals.Proxied)
	assert.Equal(t, int64(1), eg.Stats(10).Totals.Local)
	assert.Equal(t, int64(2), wg.Stats(10).Totals.Local)
}

func TestIsthmusPeerUnreachable(t *testing.T) {
	em := newStub(t, east, "a", "e1", 0)
	peer := deadURL(t)
	gw, srv := newGW(t, Config{Region: east, Members: members(em), Homes: homes,
		PeerProxy: map[string]string{west: peer}})
	r := get(t, srv.URL+"/v1/profile/42", "CA")
	assert.Equal(t, http.StatusBadGateway, r.status)
	assert.Equal(t, app.RouteIsthmus, r.header.Get(app.HeaderRoute))
	assert.Equal(t, east, r.header.Get(app.HeaderEntry))
	assert.Contains(t, r.body, "isthmus to home region us-west-2 failed: peer gateway "+peer+" unreachable")
	assert.Zero(t, em.hits.Load())
	st := gw.Stats(10).Totals
	assert.Equal(t, int64(1), st.Proxied)
	assert.Equal(t, int64(1), st.Errors)
}

func TestIsthmusPeerTimeout(t *testing.T) {
	em := newStub(t, east, "a", "e1", 0)
	slowPeer := newStub(t, west, "w", "w1", 2*time.Second) // stands in for a hung peer gateway
	_, srv := newGW(t, Config{Region: east, Members: members(em), Homes: homes,
		PeerProxy: map[string]string{west: slowPeer.srv.URL}, Timeouts: Timeouts{Isthmus: 100 * time.Millisecond}})
	start := time.Now()
	r := get(t, srv.URL+"/v1/profile/42", "CA")
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, http.StatusGatewayTimeout, r.status)
	assert.Contains(t, r.body, "did not answer within 100ms")
}

func TestRedirectMode(t *testing.T) {
	em := newStub(t, east, "a", "e1", 0)
	gw, srv := newGW(t, Config{Region: east, Members: members(em), Homes: homes, Mode: app.ModeRedirect,
		PeerProxy:  map[string]string{west: "http://10.0.0.2:8080"},
		PeerPublic: map[string]string{west: "https://west.example.com/"}})
	r := get(t, srv.URL+"/v1/profile/a%2Fb?x=1&y=2", "CA")
	assert.Equal(t, http.StatusTemporaryRedirect, r.status)
	assert.Equal(t, "https://west.example.com/v1/profile/a%2Fb?x=1&y=2", r.header.Get("Location"))
	assert.Equal(t, app.RouteRedirect, r.header.Get(app.HeaderRoute))
	assert.Equal(t, east, r.header.Get(app.HeaderEntry))
	assert.Zero(t, em.hits.Load())
	assert.Equal(t, int64(1), gw.Stats(10).Totals.Redirected)

	// PeerPublic falls back to PeerProxy.
	_, srv2 := newGW(t, Config{Region: east, Members: members(em), Homes: homes, Mode: app.ModeRedirect,
		PeerProxy: map[string]string{west: "http://10.0.0.2:8080"}})
	r = get(t, srv2.URL+"/v1/p", "CA")
	assert.Equal(t, "http://10.0.0.2:8080/v1/p", r.header.Get("Location"))
}

func TestFailoverServesLocally(t *testing.T) {
	eg, _, es, _, em, wm := twoRegions(t, Config{Failover: true}, Config{})
	r := get(t, es.URL+"/v1/profile/42", "CA")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, []string{app.RouteFailover}, r.header.Values(app.HeaderRoute))
	assert.Equal(t, east, r.header.Get(app.HeaderRegion))
	assert.Equal(t, east, r.header.Get(app.HeaderEntry))
	// The region's own users are still "local".
	r = get(t, es.URL+"/v1/profile/1", "NY")
	assert.Equal(t, app.RouteLocal, r.header.Get(app.HeaderRoute))
	assert.Equal(t, int64(2), em.hits.Load())
	assert.Zero(t, wm.hits.Load(), "the other region is never touched")
	st := eg.Stats(10).Totals
	assert.Equal(t, int64(1), st.Failover)
	assert.Equal(t, int64(1), st.Local)
}

// With ignore_geo a gateway serves a user whose home is another region
// here and marks the answer a local one: the protection of routing by
// X-Kong-Geo is off.
func TestIgnoreGeoServesEveryoneAsAHomeUser(t *testing.T) {
	eg, _, es, _, em, wm := twoRegions(t, Config{}, Config{})
	_, err := eg.Update(Patch{IgnoreGeo: ptr(true)})
	require.NoError(t, err)
	r := get(t, es.URL+"/v1/profile/42", "CA")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, []string{app.RouteLocal}, r.header.Values(app.HeaderRoute), "no isthmus, no failover mark")
	assert.Equal(t, east, r.header.Get(app.HeaderRegion))
	assert.Equal(t, int64(1), em.hits.Load())
	assert.Zero(t, wm.hits.Load(), "the home region is never asked")
	assert.Equal(t, int64(1), eg.Stats(10).Totals.Local)
	assert.Zero(t, eg.Stats(10).Totals.Failover+eg.Stats(10).Totals.Proxied)

	// Off again: the user goes home over the isthmus.
	_, err = eg.Update(Patch{IgnoreGeo: ptr(false)})
	require.NoError(t, err)
	r = get(t, es.URL+"/v1/profile/42", "CA")
	assert.Equal(t, []string{app.RouteIsthmus, app.RouteLocal}, r.header.Values(app.HeaderRoute))
	assert.Equal(t, west, r.header.Get(app.HeaderRegion))
}

func TestLoopGuard(t *testing.T) {
	// The regions' tables disagree: each thinks CA lives in the other.
	eg, wg, es, _, em, wm := twoRegions(t,
		Config{Homes: map[string]string{"CA": west}},
		Config{Homes: map[string]string{"CA": east}})
	r := get(t, es.URL+"/v1/profile/42", "CA")
	assert.Equal(t, http.StatusLoopDetected, r.status, r.body)
	assert.Equal(t, []string{app.RouteIsthmus}, r.header.Values(app.HeaderRoute))
	assert.Equal(t, east, r.header.Get(app.HeaderEntry))
	assert.Contains(t, r.body, "loop detected")
	assert.Zero(t, em.hits.Load()+wm.hits.Load())
	assert.Equal(t, int64(1), eg.Stats(10).Totals.Proxied)
	assert.Equal(t, int64(1), eg.Stats(10).Totals.Errors)
	assert.Equal(t, int64(1), wg.Stats(10).Totals.Errors)
	assert.Zero(t, wg.Stats(10).Totals.Proxied, "west refused instead of proxying back")

	// A request that already crossed a gateway is refused when mis-routed,
	// in redirect mode as well.
	r = get(t, es.URL+"/v1/profile/42", "CA", app.HeaderHops, "1")
	assert.Equal(t, http.StatusLoopDetected, r.status)
	_, err := eg.Update(Patch{Mode: ptr(app.ModeRedirect)})
	require.NoError(t, err)
	r = get(t, es.URL+"/v1/profile/42", "CA", app.HeaderHops, "3")
	assert.Equal(t, http.StatusLoopDetected, r.status)
	// ...but served when its home is here.
	r = get(t, es.URL+"/v1/profile/42", "NY", app.HeaderHops, "1")
	assert.Equal(t, http.StatusOK, r.status)
}

func TestShedMaxConcurrency(t *testing.T) {
	slow := newStub(t, east, "a", "a1", time.Second)
	gw, srv := newGW(t, Config{Region: east, Members: members(slow), MaxConcurrency: 2,
		Timeouts: Timeouts{Member: 10 * time.Second}})

	const n = 20
	type out struct {
		r   result
		dur time.Duration
	}
	outs := make([]out, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-startGate
			t0 := time.Now()
			r := get(t, srv.URL+"/v1/x", "")
			outs[i] = out{r, time.Since(t0)}
		})
	}
	close(startGate)
	wg.Wait()

	var ok, shed int
	for _, o := range outs {
		switch o.r.status {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			shed++
			assert.Equal(t, "1", o.r.header.Get("Retry-After"))
			assert.Equal(t, "1", o.r.header.Get(app.HeaderShed))
			assert.Equal(t, east, o.r.header.Get(app.HeaderEntry))
			assert.Contains(t, o.r.body, "max_concurrency=2")
			assert.Less(t, o.dur, 500*time.Millisecond, "shed at once, not after the slow member")
		default:
			t.Errorf("unexpected status %d: %s", o.r.status, o.r.body)
		}
	}
	t.Logf("ok=%d shed=%d member peak concurrency=%d", ok, shed, slow.peak.Load())
	assert.Equal(t, n, ok+shed)
	assert.InDelta(t, 18, shed, 2)
	assert.LessOrEqual(t, slow.peak.Load(), int64(2), "the member never sees more than 2 at once")
	assert.Equal(t, int64(ok), slow.hits.Load(), "shed requests never reach a member")
	st := gw.Stats(10).Totals
	assert.Equal(t, int64(shed), st.Shed)
	assert.Equal(t, int64(ok), st.Accepted)
	assert.Zero(t, st.Errors, "shedding is not counted as an error")
	assert.Zero(t, st.InFlight)
}

func TestShedMaxRPS(t *testing.T) {
	m := newStub(t, east, "a", "a1", 0)
	gw, srv := newGW(t, Config{Region: east, Members: members(m), MaxRPS: 20}) // burst 2
	start := time.Now()
	var ok, shed int
	for range 60 {
		r := get(t, srv.URL+"/v1/x", "")
		switch r.status {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			shed++
			assert.Equal(t, "1", r.header.Get("Retry-After"))
			assert.Contains(t, r.body, "max_rps=20")
		}
	}
	elapsed := time.Since(start)
	t.Logf("60 requests in %s: ok=%d shed=%d", elapsed, ok, shed)
	assert.Equal(t, 60, ok+shed)
	assert.LessOrEqual(t, float64(ok), 2+20*elapsed.Seconds()+1)
	assert.Positive(t, shed)
	assert.Equal(t, int64(ok), m.hits.Load())
	assert.Equal(t, int64(shed), gw.Stats(10).Totals.Shed)

	time.Sleep(150 * time.Millisecond) // refills (at most burst)
	assert.Equal(t, http.StatusOK, get(t, srv.URL+"/v1/x", "").status)
}

func TestTokenBucket(t *testing.T) {
	var b tokenBucket
	t0 := time.Unix(1000, 0)
	// rate 10: burst 1
	assert.True(t, b.allow(t0, 10))
	assert.False(t, b.allow(t0, 10))
	assert.False(t, b.allow(t0.Add(50*time.Millisecond), 10))
	assert.True(t, b.allow(t0.Add(100*time.Millisecond), 10))
	assert.False(t, b.allow(t0.Add(100*time.Millisecond), 10))
	// long idle: capped at the burst
	assert.True(t, b.allow(t0.Add(time.Hour), 10))
	assert.False(t, b.allow(t0.Add(time.Hour), 10))

	// rate 100: burst 10, then 100/s
	t1 := t0.Add(2 * time.Hour)
	n := 0
	for b.allow(t1, 100) {
		n++
	}
	assert.Equal(t, 10, n)
	n = 0
	for i := 1; i <= 1000; i++ { // one second in 1 ms steps
		if b.allow(t1.Add(time.Duration(i)*time.Millisecond), 100) {
			n++
		}
	}
	assert.InDelta(t, 100, n, 1)

	assert.Equal(t, 1, burstFor(1))
	assert.Equal(t, 1, burstFor(10))
	assert.Equal(t, 2, burstFor(11))
	assert.Equal(t, 100, burstFor(1000))
}

func TestSecondQuantiles(t *testing.T) {
	var sl secSlot
	p50, p99 := sl.quantiles()
	assert.Zero(t, p50+p99, "no latency recorded")
	// 1..1000 ms: the p50 is 500 ms, the p99 990 ms, within 1 %.
	for ms := 1; ms <= 1000; ms++ {
		sl.record(time.Duration(ms) * time.Millisecond)
	}
	p50, p99 = sl.quantiles()
	assert.InEpsilon(t, 500, p50, 0.01)
	assert.InEpsilon(t, 990, p99, 0.01)
	// Beyond an hour is clamped to it; below zero to zero.
	var long secSlot
	long.record(3 * time.Hour)
	long.record(-time.Second)
	p50, p99 = long.quantiles()
	assert.Zero(t, p50)
	assert.InEpsilon(t, float64(time.Hour/time.Millisecond), p99, 0.01)
}

func ptr[T any](v T) *T { return &v }

func TestServeHTTPNonUserPaths(t *testing.T) {
	m := newStub(t, east, "a", "a1", 0)
	_, srv := newGW(t, Config{Region: east, Members: members(m)})
	r := get(t, srv.URL+"/healthz", "")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "ok\n", r.body)
	assert.Equal(t, http.StatusNotFound, get(t, srv.URL+"/nope", "").status)
	assert.Equal(t, http.StatusMethodNotAllowed, do(t, http.MethodDelete, srv.URL+"/admin/config", "", "").status)
	assert.Zero(t, m.hits.Load())
	assert.True(t, strings.HasPrefix(get(t, srv.URL+"/admin/members", "").body, "["))
}

// A read that a stalled instance does not answer within the try timeout is
// sent to another instance, well before the member timeout; with the try
// timeout off, it waits for the stalled instance until the member timeout.
func TestStalledReadRetriedAfterTheTryTimeout(t *testing.T) {
	a1 := newStub(t, east, "a", "a1", 5*time.Second) // stalls
	b1 := newStub(t, east, "b", "b1", 0)
	gw, srv := newGW(t, Config{Region: east, Members: members(a1, b1), HealthInterval: time.Hour,
		Timeouts: Timeouts{Member: 2 * time.Second, MemberTry: 200 * time.Millisecond}})
	waitChecked(t, gw, 1)
	for i := range 4 {
		t0 := time.Now()
		r := get(t, srv.URL+"/v1/x", "")
		took := time.Since(t0)
		require.Equal(t, http.StatusOK, r.status, "read %d: %s", i, r.body)
		assert.Equal(t, "b1", r.header.Get(app.HeaderInstance))
		assert.Less(t, took, 1500*time.Millisecond, "read %d waited for the stalled instance", i)
	}
	st := gw.Stats(10).Totals
	stalled := a1.hits.Load()
	assert.Positive(t, stalled)
	assert.Equal(t, stalled, st.TryTimeouts, "every read sent to a1 timed out its try")
	assert.Equal(t, stalled, st.Retries)
	assert.Zero(t, st.Errors)
	assert.True(t, healthOf(gw, "a1"), "a slow answer is not a dead instance")

	// A write is not retried: it waits for its instance, bounded by the
	// member timeout.
	t0 := time.Now()
	var w result
	for range 2 { // one of the two lands on a1
		if w = do(t, http.MethodPut, srv.URL+"/v1/profile/7", "", `{"name":"x"}`); w.status != http.StatusOK {
			break
		}
	}
	assert.Equal(t, http.StatusGatewayTimeout, w.status, w.body)
	assert.GreaterOrEqual(t, time.Since(t0), 2*time.Second)

	// Try timeout off: a read sent to a1 waits until the member timeout.
	_, err := gw.Update(Patch{MemberTryMS: ptr(0)})
	require.NoError(t, err)
	var timedOut int
	for range 2 {
		if r := get(t, srv.URL+"/v1/x", ""); r.status == http.StatusGatewayTimeout {
			timedOut++
			assert.Contains(t, r.body, "timed out after 2s")
		}
	}
	assert.Equal(t, 1, timedOut, "the read sent to the stalled instance timed out")
	assert.Equal(t, stalled, gw.Stats(10).Totals.TryTimeouts, "no try timeout while it is off")
}

// A read answered within the try timeout streams its whole body, however
// long the body takes after the headers.
func TestTryTimeoutBoundsTheWaitForHeadersOnly(t *testing.T) {
	slowBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		w.Header().Set(app.HeaderInstance, "s1")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for i := range 5 {
			time.Sleep(100 * time.Millisecond)
			fmt.Fprintf(w, "chunk %d;", i)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(slowBody.Close)
	_, srv := newGW(t, Config{Region: east, Members: []Member{{Zone: "a", Instance: "s1", BaseURL: slowBody.URL}},
		HealthInterval: time.Hour, Timeouts: Timeouts{Member: 2 * time.Second, MemberTry: 150 * time.Millisecond}})
	r := get(t, srv.URL+"/v1/x", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;", r.body)
}
