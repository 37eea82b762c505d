package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/harness/history"
)

// BenchmarkWorkloadVsNetHTTP measures, in one run and against one trivial
// server, how many operations per second the workload issues and records (to
// a real Recorder on a temporary file, latency histograms included) and how
// many a plain net/http client loop issues with the same concurrency and the
// same requests (method, path, headers and body of the default mix). Each
// iteration is one operation on each side. Target: workload/nethttp >= 0.7.
//
//	go test -run '^$' -bench BenchmarkWorkloadVsNetHTTP -benchtime 20000x ./harness/workload
func BenchmarkWorkloadVsNetHTTP(b *testing.B) {
	const conc = 64
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/route" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"geo": "r1", "region": "r1", "gateway": srvURL})
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set(app.HeaderRegion, "r1")
		h.Set(app.HeaderZone, "a")
		h.Set(app.HeaderInstance, "i1")
		h.Set(app.HeaderVersion, "1700000000000000")
		h.Set(app.HeaderRoute, app.RouteLocal)
		h.Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"member":"m1","name":"Member m1","plan":"basic","version":1700000000000000}`))
	}))
	defer srv.Close()
	srvURL = srv.URL
	n := b.N
	b.ResetTimer()

	// A plain net/http loop: conc goroutines, the default mix.
	type plainReq struct {
		method, path string
		body         []byte
	}
	reqs := []plainReq{
		{http.MethodGet, "/profile", nil},
		{http.MethodPut, "/profile", []byte(`{"name":"Member m1","plan":"basic"}`)},
		{http.MethodPost, "/history", []byte(`{"title":"title-1"}`)},
		{http.MethodGet, "/history", nil},
	}
	weights := []int{70, 15, 10, 5}
	var pick []int
	for k, w := range weights {
		for i := 0; i < w; i++ {
			pick = append(pick, k)
		}
	}
	runPlain := func(n int) time.Duration {
		// A fresh client per round, as each workload run has its own.
		plain := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true}}
		defer plain.CloseIdleConnections()
		var next atomic.Int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for g := 0; g < conc; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					r := reqs[pick[i%int64(len(pick))]]
					var body io.Reader
					if r.body != nil {
						body = bytes.NewReader(r.body)
					}
					req, _ := http.NewRequestWithContext(context.Background(), r.method,
						srvURL+"/v1/members/m"+strconv.FormatInt(i%100, 10)+r.path, body)
					req.Header.Set(app.HeaderGeo, "r1")
					req.Header.Set(app.HeaderSession, "s1")
					if r.body != nil {
						req.Header.Set("Content-Type", "application/json")
					}
					resp, err := plain.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		return time.Since(t0)
	}

	// The workload: as fast as it can (an unlimited rate), the same
	// concurrency, recording every operation.
	dir := b.TempDir()
	var ok, fail, info uint64
	runWorkload := func(n, round int) time.Duration {
		rec, err := history.NewRecorder(filepath.Join(dir, "history-"+strconv.Itoa(round)+".jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		res, err := Run(context.Background(), Config{Director: srvURL, Geos: []string{"r1"}, Members: 20,
			Seed: uint64(round), Pacer: Constant(math.Inf(1)), MaxOps: uint64(n), Workers: conc, MaxWorkers: conc,
			RouteTTL: time.Hour, History: rec})
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
		ok, fail, info = ok+res.OK, fail+res.Fail, info+res.Info
		return d
	}

	// Interleaved halves, so that a noisy moment of the machine hits both.
	var plainDur, wlDur time.Duration
	half := n / 2
	for round, m := range []int{half, n - half} {
		if m == 0 {
			continue
		}
		plainDur += runPlain(m)
		wlDur += runWorkload(m, round)
	}
	b.StopTimer()
	if ok != uint64(n) {
		b.Fatalf("workload: %d ok of %d (%d fail, %d info)", ok, n, fail, info)
	}
	plainRate := float64(n) / plainDur.Seconds()
	wlRate := float64(n) / wlDur.Seconds()
	b.ReportMetric(plainRate, "nethttp-ops/s")
	b.ReportMetric(wlRate, "workload-ops/s")
	b.ReportMetric(wlRate/plainRate, "ratio")
}
