package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kongchaos/kong/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func putConfig(t *testing.T, base, body string) (int, map[string]any) {
	t.Helper()
	r := do(t, http.MethodPut, base+"/admin/config", "", body, "Content-Type", "application/json")
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &v), r.body)
	return r.status, v
}

func TestAdminConfigAtRuntime(t *testing.T) {
	eg, _, es, _, _, _ := twoRegions(t, Config{}, Config{})

	r := get(t, es.URL+"/admin/config", "")
	require.Equal(t, http.StatusOK, r.status)
	var view ConfigView
	require.NoError(t, json.Unmarshal([]byte(r.body), &view))
	assert.Equal(t, east, view.Region)
	assert.Equal(t, Dynamic{Mode: app.ModeIsthmus, MemberTryMS: 1000}, view.Dynamic, "the try timeout is half the member timeout")
	assert.Equal(t, "2s", view.Timeouts.Member)
	assert.Equal(t, "3s", view.Timeouts.Isthmus)
	assert.Equal(t, "1s", view.HealthInterval)
	assert.Len(t, view.Members, 1)
	assert.Equal(t, west, view.Homes["CA"])

	assert.Equal(t, app.RouteIsthmus, get(t, es.URL+"/v1/p", "CA").header.Get(app.HeaderRoute))

	// mode -> redirect: the next mis-routed request is redirected.
	st, v := putConfig(t, es.URL, `{"mode":"redirect"}`)
	require.Equal(t, http.StatusOK, st, v)
	assert.Equal(t, "redirect", v["mode"])
	r = get(t, es.URL+"/v1/p", "CA")
	assert.Equal(t, http.StatusTemporaryRedirect, r.status)

	// failover on: served locally.
	st, v = putConfig(t, es.URL, `{"failover":true}`)
	require.Equal(t, http.StatusOK, st, v)
	assert.Equal(t, true, v["failover"])
	assert.Equal(t, "redirect", v["mode"], "fields not given are unchanged")
	r = get(t, es.URL+"/v1/p", "CA")
	assert.Equal(t, app.RouteFailover, r.header.Get(app.HeaderRoute))
	// The view keeps what the gateway started with, to put it back.
	r = get(t, es.URL+"/admin/config", "")
	require.NoError(t, json.Unmarshal([]byte(r.body), &view))
	assert.Equal(t, Dynamic{Mode: app.ModeRedirect, Failover: true, MemberTryMS: 1000}, view.Dynamic)
	assert.Equal(t, Dynamic{Mode: app.ModeIsthmus, MemberTryMS: 1000}, view.Initial, "the initial settings changed with the runtime ones")

	// limits
	st, v = putConfig(t, es.URL, `{"max_rps":55,"max_concurrency":7,"failover":false,"mode":"isthmus"}`)
	require.Equal(t, http.StatusOK, st, v)
	assert.Equal(t, Dynamic{Mode: app.ModeIsthmus, MaxRPS: 55, MaxConcurrency: 7, MemberTryMS: 1000}, eg.Dynamic())
	assert.EqualValues(t, 6, v["burst"])
	st, _ = putConfig(t, es.URL, `{"max_concurrency":0,"max_rps":0}`)
	require.Equal(t, http.StatusOK, st)

	// validation errors: 400, a clear message, nothing changed
	bad := map[string]string{
		`{"mode":"teleport"}`:              `mode must be "isthmus" or "redirect", got "teleport"`,
		`{"max_rps":-1}`:                   "max_rps must be in 0..1000000000",
		`{"max_concurrency":-5}`:           "max_concurrency must be in 0..1000000000",
		`{"member_try_ms":-1}`:             "member_try_ms must be in 0..2000",
		`{"max_rps":1.5}`:                  "field max_rps must be a int",
		`{"failover":"yes"}`:               "field failover must be a bool",
		`{"region":"eu-west-1"}`:           `unknown field "region"`,
		`{}`:                               "nothing to change",
		``:                                 "empty body",
		`not json`:                         "invalid JSON",
		`{"mode":"redirect"} {"x":1}`:      "trailing data",
		`{"mode":"redirect","max_rps":-1}`: "max_rps must be in 0..",
	}
	for body, want := range bad {
		st, v := putConfig(t, es.URL, body)
		assert.Equal(t, http.StatusBadRequest, st, body)
		assert.Contains(t, v["error"], want, body)
	}
	assert.Equal(t, Dynamic{Mode: app.ModeIsthmus, MemberTryMS: 1000}, eg.Dynamic(), "rejected updates change nothing")

	// The try timeout turns off and on.
	st, v = putConfig(t, es.URL, `{"member_try_ms":0}`)
	require.Equal(t, http.StatusOK, st, v)
	assert.Zero(t, eg.Dynamic().MemberTryMS)
	st, v = putConfig(t, es.URL, `{"member_try_ms":250}`)
	require.Equal(t, http.StatusOK, st, v)
	assert.EqualValues(t, 250, v["member_try_ms"])

	// ignore_geo shows only while it is set; the initial settings never
	// show it.
	assert.NotContains(t, v, "ignore_geo")
	st, v = putConfig(t, es.URL, `{"ignore_geo":true}`)
	require.Equal(t, http.StatusOK, st, v)
	assert.Equal(t, true, v["ignore_geo"])
	assert.NotContains(t, v["initial"], "ignore_geo")
	assert.Equal(t, app.RouteLocal, get(t, es.URL+"/v1/p", "CA").header.Get(app.HeaderRoute))
	before := eg.Dynamic()
	before.IgnoreGeo = false
	_, err := eg.Update(before.Patch())
	require.NoError(t, err)
	assert.False(t, eg.Dynamic().IgnoreGeo, "the patch back to earlier settings clears ignore_geo")
}

func TestAdminConfigConcurrentWithTraffic(t *testing.T) {
	eg, _, es, _, _, _ := twoRegions(t, Config{}, Config{})
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				r := get(t, es.URL+"/v1/p", "CA")
				switch r.header.Get(app.HeaderRoute) {
				case app.RouteIsthmus, app.RouteRedirect, app.RouteFailover:
				default:
					if r.status != http.StatusServiceUnavailable {
						bad.Add(1)
					}
				}
			}
		})
	}
	bodies := []string{`{"mode":"redirect"}`, `{"mode":"isthmus"}`, `{"failover":true}`, `{"failover":false}`,
		`{"max_concurrency":1}`, `{"max_concurrency":0}`, `{"max_rps":1000}`, `{"max_rps":0}`}
	for i := range 80 {
		st, _ := putConfig(t, es.URL, bodies[i%len(bodies)])
		require.Equal(t, http.StatusOK, st)
	}
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, bad.Load())
	assert.Equal(t, Dynamic{Mode: app.ModeIsthmus, MemberTryMS: 1000}, eg.Dynamic())
	assert.Zero(t, eg.inflight.Load())
}

func TestStatsSeriesCounts(t *testing.T) {
	eg, _, es, _, em, _ := twoRegions(t, Config{}, Config{})
	for range 5 {
		require.Equal(t, http.StatusOK, get(t, es.URL+"/v1/local", "NY").status)
	}
	for range 4 {
		require.Equal(t, http.StatusOK, get(t, es.URL+"/v1/isthmus", "CA").status)
	}
	_, err := eg.Update(Patch{Mode: ptr(app.ModeRedirect)})
	require.NoError(t, err)
	for range 2 {
		require.Equal(t, http.StatusTemporaryRedirect, get(t, es.URL+"/v1/redirect", "CA").status)
	}
	_, err = eg.Update(Patch{Failover: ptr(true)})
	require.NoError(t, err)
	for range 3 {
		require.Equal(t, http.StatusOK, get(t, es.URL+"/v1/failover", "CA").status)
	}
	em.status.Store(http.StatusServiceUnavailable)
	require.Equal(t, http.StatusServiceUnavailable, get(t, es.URL+"/v1/error", "NY").status)
	em.status.Store(http.StatusOK)
	_, err = eg.Update(Patch{Failover: ptr(false), MaxRPS: ptr(1)}) // burst 1
	require.NoError(t, err)
	var shed int64
	for range 5 {
		if get(t, es.URL+"/v1/shed", "NY").status == http.StatusServiceUnavailable {
			shed++
		}
	}
	require.GreaterOrEqual(t, shed, int64(3))
	_, err = eg.Update(Patch{MaxRPS: ptr(0)})
	require.NoError(t, err)

	r := get(t, es.URL+"/admin/stats", "")
	require.Equal(t, http.StatusOK, r.status)
	var rep StatsReport
	require.NoError(t, json.Unmarshal([]byte(r.body), &rep))
	assert.Equal(t, east, rep.Region)
	assert.Equal(t, StatsWindow, rep.WindowS)
	require.Len(t, rep.Series, StatsWindow)
	assert.Equal(t, rep.Now, rep.Series[StatsWindow-1].T)
	assert.Equal(t, rep.Now-StatsWindow+1, rep.Series[0].T)

	var sum Point
	var withLatency int
	for _, p := range rep.Series {
		sum.Accepted += p.Accepted
		sum.Shed += p.Shed
		sum.Local += p.Local
		sum.Proxied += p.Proxied
		sum.Redirected += p.Redirected
		sum.Failover += p.Failover
		sum.Errors += p.Errors
		if p.Accepted > 0 {
			withLatency++
			assert.Positive(t, p.P50ms)
			assert.GreaterOrEqual(t, p.P99ms, p.P50ms)
		}
	}
	accepted := 5 + 4 + 2 + 3 + 1 + (5 - shed)
	want := Counts{Accepted: accepted, Shed: shed, Local: 5 + 1 + (5 - shed), Proxied: 4, Redirected: 2, Failover: 3, Errors: 1}
	assert.Equal(t, Point{Counts: want}, sum)
	assert.Positive(t, withLatency)
	assert.Equal(t, Totals{Counts: want}, rep.Totals)

	// Prometheus exposes the same counters and a latency histogram.
	r = get(t, es.URL+"/metrics", "")
	require.Equal(t, http.StatusOK, r.status)
	for _, line := range []string{
		`kong_gateway_accepted_total{region="us-east-1"} ` + itoa(want.Accepted),
		`kong_gateway_shed_total{region="us-east-1"} ` + itoa(want.Shed),
		`kong_gateway_local_total{region="us-east-1"} ` + itoa(want.Local),
		`kong_gateway_proxied_total{region="us-east-1"} 4`,
		`kong_gateway_redirected_total{region="us-east-1"} 2`,
		`kong_gateway_failover_total{region="us-east-1"} 3`,
		`kong_gateway_errors_total{region="us-east-1"} 1`,
		`kong_gateway_request_duration_seconds_count{region="us-east-1",route="isthmus"} 4`,
		`kong_gateway_member_up{instance="e1",region="us-east-1",zone="east-a"} 1`,
		`kong_gateway_in_flight_requests{region="us-east-1"} 0`,
	} {
		assert.Contains(t, r.body, line+"\n")
	}

	r = get(t, es.URL+"/admin/stats?seconds=10", "")
	require.NoError(t, json.Unmarshal([]byte(r.body), &rep))
	assert.Len(t, rep.Series, 10)
	assert.Equal(t, http.StatusBadRequest, get(t, es.URL+"/admin/stats?seconds=0", "").status)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestStatsSecondBuckets(t *testing.T) {
	m := newStub(t, east, "a", "a1", 0)
	var now atomic.Int64
	now.Store(time.Unix(5000, 0).UnixNano())
	gw, err := newGateway(Config{Region: east, Members: members(m), HealthInterval: time.Hour},
		func() time.Time { return time.Unix(0, now.Load()) })
	require.NoError(t, err)
	defer gw.Close()

	gw.count(gw.now(), cShed)
	gw.finish(gw.now(), cLocal, gw.metrics.latencyLocal, 200)
	now.Add(int64(3 * time.Second))
	gw.finish(gw.now().Add(-10*time.Millisecond), cLocal, gw.metrics.latencyLocal, 502)
	rep := gw.Stats(5)
	require.Len(t, rep.Series, 5)
	assert.Equal(t, int64(5003), rep.Now)
	assert.Equal(t, Point{T: 4999}, rep.Series[0])
	assert.Equal(t, int64(1), rep.Series[1].Shed)
	assert.Equal(t, int64(1), rep.Series[1].Local)
	assert.Equal(t, int64(1), rep.Series[4].Errors)
	assert.InDelta(t, 10, rep.Series[4].P50ms, 0.4)
	assert.InDelta(t, 10, rep.Series[4].P99ms, 0.4)

	// A second that fell out of the window is not reported, and its slot is
	// reused cleanly.
	now.Add(int64(ringSeconds * time.Second))
	gw.count(gw.now(), cShed)
	rep = gw.Stats(StatsWindow)
	var total int64
	for _, p := range rep.Series {
		total += p.Shed + p.Local + p.Errors
	}
	assert.Equal(t, int64(1), total)
}

func TestNewValidation(t *testing.T) {
	ok := Member{Zone: "a", Instance: "a1", BaseURL: "http://127.0.0.1:1"}
	cases := map[string]struct {
		cfg  Config
		want string
	}{
		"no region":     {Config{Members: []Member{ok}}, "region is required"},
		"no members":    {Config{Region: east}, "at least one member"},
		"bad mode":      {Config{Region: east, Members: []Member{ok}, Mode: "x"}, `mode must be "isthmus" or "redirect"`},
		"negative rps":  {Config{Region: east, Members: []Member{ok}, MaxRPS: -1}, "max_rps must be in 0.."},
		"negative conc": {Config{Region: east, Members: []Member{ok}, MaxConcurrency: -1}, "max_concurrency must be in 0.."},
		"dup instance":  {Config{Region: east, Members: []Member{ok, {Zone: "b", Instance: "a1", BaseURL: "http://127.0.0.1:2"}}}, "duplicate instance id"},
		"member path":   {Config{Region: east, Members: []Member{{Zone: "a", Instance: "a1", BaseURL: "http://h:1/x"}}}, "without a path"},
		"member scheme": {Config{Region: east, Members: []Member{{Zone: "a", Instance: "a1", BaseURL: "h:1"}}}, "scheme must be http"},
		"no zone":       {Config{Region: east, Members: []Member{{Instance: "a1", BaseURL: "http://h:1"}}}, "zone is required"},
		"home no peer":  {Config{Region: east, Members: []Member{ok}, Homes: map[string]string{"CA": west}}, "no gateway address is configured for region us-west-2"},
		"bad peer":      {Config{Region: east, Members: []Member{ok}, PeerProxy: map[string]string{west: "ftp://x"}}, "peer_proxy[us-west-2]"},
		"neg timeout":   {Config{Region: east, Members: []Member{ok}, Timeouts: Timeouts{Member: -1}}, "timeouts.member must be > 0"},
	}
	for name, c := range cases {
		_, err := New(c.cfg)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), c.want, name)
		}
	}
	gw, err := New(Config{Region: east, Members: []Member{ok}, Homes: homes,
		PeerPublic: map[string]string{west: "https://west.example.com"}, HealthInterval: time.Hour})
	require.NoError(t, err)
	defer gw.Close()
	v := gw.ConfigView()
	assert.Equal(t, "https://west.example.com", v.PeerProxy[west], "peer_proxy falls back to peer_public")
}

func TestServeGracefulShutdown(t *testing.T) {
	slow := newStub(t, east, "a", "a1", 400*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, ln, Config{Region: east, Members: members(slow)}, slog.New(slog.DiscardHandler))
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)

	inflight := make(chan result, 1)
	go func() { inflight <- get(t, base+"/v1/slow", "") }()
	require.Eventually(t, func() bool { return slow.hits.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	r := <-inflight
	assert.Equal(t, http.StatusOK, r.status, "the request in flight completes")
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(ShutdownTimeout + time.Second):
		t.Fatal("Serve did not return")
	}

	// A listen error is reported.
	err = Serve(context.Background(), "256.0.0.1:bad", Config{Region: east, Members: members(slow)}, nil)
	assert.Error(t, err)
	// A config error is reported.
	err = Serve(context.Background(), "127.0.0.1:0", Config{}, nil)
	assert.ErrorContains(t, err, "region is required")
}

func TestAdminMembers(t *testing.T) {
	m := newStub(t, east, "a", "a1", 0)
	gw, srv := newGW(t, Config{Region: east, Members: members(m)})
	waitChecked(t, gw, 1)
	r := get(t, srv.URL+"/admin/members", "")
	var ms []MemberState
	require.NoError(t, json.NewDecoder(io.NopCloser(strings.NewReader(r.body))).Decode(&ms))
	require.Len(t, ms, 1)
	assert.Equal(t, "a1", ms[0].Instance)
	assert.True(t, ms[0].Healthy)
}

func TestHomeOverridesChangeTheDirectionalTableAtRuntime(t *testing.T) {
	eg, _, es, _, _, _ := twoRegions(t, Config{}, Config{})
	require.Equal(t, app.RouteIsthmus, get(t, es.URL+"/v1/p", "CA").header.Get(app.HeaderRoute))

	// CA's home pointed at the entry region: served here, as local, with no
	// failover mark (the misconfiguration a routing check must catch).
	st, body := putConfig(t, es.URL, `{"home_overrides": {"CA": "`+east+`"}}`)
	require.Equal(t, http.StatusOK, st, body)
	require.Equal(t, map[string]string{"CA": east}, eg.Dynamic().HomeOverrides)
	r := get(t, es.URL+"/v1/p", "CA")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, app.RouteLocal, r.header.Get(app.HeaderRoute))
	assert.Equal(t, east, r.header.Get(app.HeaderRegion))

	st, body = putConfig(t, es.URL, `{"home_overrides": {"CA": ""}}`)
	assert.Equal(t, http.StatusBadRequest, st, body)

	st, body = putConfig(t, es.URL, `{"home_overrides": {}}`)
	require.Equal(t, http.StatusOK, st, body)
	assert.Nil(t, eg.Dynamic().HomeOverrides)
	assert.Equal(t, app.RouteIsthmus, get(t, es.URL+"/v1/p", "CA").header.Get(app.HeaderRoute))
}

func TestAdminClientChangesAndPutsBackTheSettings(t *testing.T) {
	m := newStub(t, east, "east-a", "e1", 0)
	gw, err := New(Config{Region: east, Members: members(m), Homes: map[string]string{"NY": east}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	srv := httptest.NewServer(app.GuardAdmin("s3cret", gw))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := NewAdminClient(srv.URL, "s3cret")

	before, err := c.Config(ctx)
	require.NoError(t, err)
	require.Equal(t, before.Initial, before.Dynamic)
	p := Patch{Mode: new(app.ModeRedirect), Failover: new(true), MaxRPS: new(50)}
	require.Equal(t, "mode=redirect failover=true max_rps=50", p.String())
	require.False(t, before.Has(p))
	now, err := c.Update(ctx, p)
	require.NoError(t, err)
	require.True(t, now.Has(p))
	require.False(t, now.Has(before.Patch()))

	back, err := c.Update(ctx, before.Dynamic.Patch())
	require.NoError(t, err)
	require.Equal(t, before.Dynamic, back.Dynamic)
	ms, err := c.Members(ctx)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, "e1", ms[0].Instance)

	_, err = NewAdminClient(srv.URL, "").Config(ctx)
	require.ErrorContains(t, err, "401")
	_, err = c.Update(ctx, Patch{Mode: new("sideways")})
	require.ErrorContains(t, err, "400 Bad Request")
}
