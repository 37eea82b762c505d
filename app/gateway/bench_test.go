package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kongchaos/kong/app"
)

// BenchmarkGatewayVsReverseProxy measures, in the same run and against the
// same trivial backend, requests/s through the Gateway (local route: limiter,
// zone-aware pick, retry-capable transport, stats and metrics) and through a
// bare httputil.ReverseProxy given an equally tuned Transport (the default
// one keeps only 2 idle connections per host, which would flatter the ratio).
// Runs alternate between the two in two rounds to cancel drift. Each op is
// one request through each proxy.
//
//	go test -run '^$' -bench GatewayVsReverseProxy -benchtime 20000x ./app/gateway
func BenchmarkGatewayVsReverseProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(app.HeaderRegion, east)
		h.Set(app.HeaderZone, "a")
		h.Set(app.HeaderInstance, "a1")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()
	target, _ := url.Parse(backend.URL)

	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = newTransport(time.Second)
	rpSrv := httptest.NewServer(rp)
	defer rpSrv.Close()

	gw, err := New(Config{Region: east, HealthInterval: time.Hour,
		Members: []Member{{Zone: "a", Instance: "a1", BaseURL: backend.URL}}})
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	gwSrv := httptest.NewServer(gw)
	defer gwSrv.Close()

	conc := 8 * runtime.GOMAXPROCS(0)
	c := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	defer c.CloseIdleConnections()
	run := func(u string, n int) time.Duration {
		var next atomic.Int64
		var failed atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		for range conc {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					resp, err := c.Get(u)
					if err != nil {
						failed.Store(err.Error())
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						failed.Store(fmt.Sprintf("%s: HTTP %d", u, resp.StatusCode))
					}
				}
			})
		}
		wg.Wait()
		if f := failed.Load(); f != nil {
			b.Fatal(f)
		}
		return time.Since(start)
	}
	rpURL, gwURL := rpSrv.URL+"/v1/profile/1", gwSrv.URL+"/v1/profile/1"
	run(rpURL, 2*conc) // warm the connection pools
	run(gwURL, 2*conc)

	b.ResetTimer()
	half := max(b.N/2, 1)
	var rpDur, gwDur time.Duration
	for range 2 {
		rpDur += run(rpURL, half)
		gwDur += run(gwURL, half)
	}
	b.StopTimer()
	n := float64(2 * half)
	rpRPS, gwRPS := n/rpDur.Seconds(), n/gwDur.Seconds()
	b.ReportMetric(gwRPS, "gateway_req/s")
	b.ReportMetric(rpRPS, "reverseproxy_req/s")
	b.ReportMetric(gwRPS/rpRPS, "ratio")
	if got := gw.Stats(StatsWindow).Totals.Local; got < int64(n) {
		b.Fatalf("gateway counted %d local requests, want >= %v", got, n)
	}
}
