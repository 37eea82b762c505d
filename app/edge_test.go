package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/topology/local"
)

func gatewayURL(w *local.World, region string) string {
	for _, g := range w.Plan().Gateways {
		if g.Region == region {
			return "http://" + g.Address
		}
	}
	return ""
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func userGet(t *testing.T, url, geo, session string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set(app.HeaderGeo, geo)
	req.Header.Set(app.HeaderSession, session)
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func admin(t *testing.T, w *local.World, method, url string, body any) []byte {
	t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.Secret())
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, url, out)
	return out
}

func TestMisroutedRequestsInEachMode(t *testing.T) {
	w := startWorld(t)
	const east, west = "us-east-1", "us-west-2"
	eastGW, westGW := gatewayURL(w, east), gatewayURL(w, west)
	// A us-west-2 member, written at home.
	r := call(t, http.MethodPut, memberURL(w, west)+"/v1/members/w1/profile", map[string]string{"name": "Wes", "plan": "basic"})
	require.Equal(t, http.StatusOK, r.status)
	path := "/v1/members/w1/profile"
	defer admin(t, w, http.MethodPut, eastGW+"/admin/config", map[string]any{"mode": app.ModeIsthmus, "failover": false})

	// Home region: served locally.
	resp := userGet(t, westGW+path, west, "s-home")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, app.RouteLocal, resp.Header.Get(app.HeaderRoute))
	require.Equal(t, west, resp.Header.Get(app.HeaderRegion))

	// Isthmus (default): us-east-1 proxies to the home region over the link.
	resp = userGet(t, eastGW+path, west, "s-isthmus")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []string{app.RouteIsthmus, app.RouteLocal}, resp.Header.Values(app.HeaderRoute))
	require.Equal(t, west, resp.Header.Get(app.HeaderRegion), "an isthmus request was not served by the home region")
	require.Equal(t, east, resp.Header.Get(app.HeaderEntry))

	// With the link cut, isthmus cannot reach home: a clear error, fast.
	setLink(t, w, east, west, false)
	start := time.Now()
	resp = userGet(t, eastGW+path, west, "s-cut")
	setLink(t, w, east, west, true)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Less(t, time.Since(start), 5*time.Second)

	// Redirect: a redirect to the home region's gateway.
	admin(t, w, http.MethodPut, eastGW+"/admin/config", map[string]any{"mode": app.ModeRedirect})
	resp = userGet(t, eastGW+path, west, "s-redirect")
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.Equal(t, westGW+path, resp.Header.Get("Location"))
	require.Equal(t, app.RouteRedirect, resp.Header.Get(app.HeaderRoute))

	// Failover mode: us-east-1 serves everything itself, from its own data.
	admin(t, w, http.MethodPut, eastGW+"/admin/config", map[string]any{"failover": true})
	var got *http.Response
	require.Eventually(t, func() bool {
		got = userGet(t, eastGW+path, west, "s-failover")
		return got.StatusCode == http.StatusOK // the profile must have replicated to us-east-1
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, app.RouteFailover, got.Header.Get(app.HeaderRoute))
	require.Equal(t, east, got.Header.Get(app.HeaderRegion), "failover mode did not serve locally")
}

func TestSheddingKeepsTheDataTierBounded(t *testing.T) {
	w := startWorld(t)
	const region = "us-west-2"
	gw := gatewayURL(w, region)
	stats := func() uint64 {
		var s struct {
			CassandraOps uint64 `json:"cassandra_ops"`
		}
		require.NoError(t, json.Unmarshal(admin(t, w, http.MethodGet, memberURL(w, region)+"/admin/stats", nil), &s))
		return s.CassandraOps
	}
	admin(t, w, http.MethodPut, gw+"/admin/config", map[string]any{"max_rps": 20, "max_concurrency": 4})
	defer admin(t, w, http.MethodPut, gw+"/admin/config", map[string]any{"max_rps": 0, "max_concurrency": 0})
	before := stats()
	// A thundering herd: 300 users at once, each a different member (cold cache).
	const herd = 300
	var mu sync.Mutex
	var ok, shed, noRetryAfter int
	var slowestShed time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < herd; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp := userGet(t, fmt.Sprintf("%s/v1/members/herd-%d/profile", gw, i), region, fmt.Sprintf("h%d", i))
			took := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(app.HeaderShed) == "1":
				shed++
				if resp.Header.Get("Retry-After") != "1" {
					noRetryAfter++
				}
				slowestShed = max(slowestShed, took)
			case resp.StatusCode < 500:
				ok++ // 404: the member does not exist, but the data tier was asked
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	reached := stats() - before
	t.Logf("herd of %d in %s: %d answered, %d shed (slowest shed %s), %d Cassandra reads", herd, elapsed.Round(time.Millisecond),
		ok, shed, slowestShed.Round(time.Millisecond), reached)
	require.Greater(t, shed, herd/2, "most of the herd should have been shed")
	require.Zero(t, noRetryAfter, "shed answers without Retry-After: 1")
	require.Equal(t, herd, ok+shed, "every request was either answered or shed")
	require.Less(t, slowestShed, time.Second, "shed requests must be answered at once")
	// The data tier saw at most what the gateway admitted: the burst plus the rate.
	bound := uint64(20*elapsed.Seconds()) + 2 + 4
	require.LessOrEqual(t, reached, bound, "the data tier saw %d reads, more than the maximum traffic level allows (%d)", reached, bound)
}

func TestDirectorEvacuationMovesItsAnswers(t *testing.T) {
	w := startWorld(t)
	dir := "http://" + w.Plan().Director.Address
	const east, west = "us-east-1", "us-west-2"
	route := func(key string) string {
		var r struct {
			Region  string `json:"region"`
			Gateway string `json:"gateway"`
		}
		require.NoError(t, json.Unmarshal(admin(t, w, http.MethodGet, dir+"/v1/route?geo="+east+"&key="+key, nil), &r))
		require.Equal(t, gatewayURL(w, r.Region), r.Gateway)
		return r.Region
	}
	count := func() int {
		n := 0
		for i := 0; i < 200; i++ {
			if route(fmt.Sprint("session-", i)) == west {
				n++
			}
		}
		return n
	}
	defer admin(t, w, http.MethodPost, dir+"/admin/restore", map[string]any{})
	require.Zero(t, count(), "before evacuation a us-east-1 user was sent to us-west-2")
	admin(t, w, http.MethodPost, dir+"/admin/evacuate", map[string]any{"region": east, "fraction": 0.5})
	half := count()
	require.InDelta(t, 100, half, 30, "half an evacuation moved %d of 200 sessions", half)
	admin(t, w, http.MethodPost, dir+"/admin/evacuate", map[string]any{"region": east, "fraction": 1.0})
	require.Equal(t, 200, count(), "a full evacuation left sessions in us-east-1")
	admin(t, w, http.MethodPost, dir+"/admin/restore", map[string]any{"region": east})
	require.Zero(t, count(), "restore did not bring the sessions back")
	var changes struct {
		Changes []struct {
			Kind string `json:"kind"`
		} `json:"changes"`
	}
	require.NoError(t, json.Unmarshal(admin(t, w, http.MethodGet, dir+"/admin/changes", nil), &changes))
	require.GreaterOrEqual(t, len(changes.Changes), 4, "every change is logged")
}
