package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/app"
)

func newBenchMember() *cobra.Command {
	var sf specFlags
	var keys, workers int
	cmd := &cobra.Command{
		Use:   "member",
		Short: "Member service reads served from cache vs from Cassandra: requests per second and p99 of each",
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := sf.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			w, done, err := benchWorld(cmd.Context(), "bench-member", spec)
			defer done(out)
			if err != nil {
				return err
			}
			region := spec.Regions[0].Name
			var base string
			for _, m := range w.Plan().Members {
				if m.Region == region {
					base = "http://" + m.Address
					break
				}
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}, Timeout: 10 * time.Second}
			do := func(method, url string, body []byte) (string, error) {
				req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(body))
				if err != nil {
					return "", err
				}
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				if err != nil {
					return "", err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return "", fmt.Errorf("%s %s: %s", method, url, resp.Status)
				}
				return resp.Header.Get(app.HeaderCache), nil
			}
			url := func(i int) string { return fmt.Sprintf("%s/v1/members/bench-%d/profile", base, i) }
			fmt.Fprintf(out, "member service in %s at %s: %d members, %d concurrent clients\n", region, base, keys, workers)
			if _, err := run(keys, workers, func(i int) error {
				_, err := do(http.MethodPut, url(i), []byte(`{"name":"bench","plan":"basic"}`))
				return err
			}); err != nil {
				return err
			}
			// Empty every cache of the region: the first pass reads Cassandra.
			for _, addrs := range w.MemcachedAddrs(region) {
				if err := memcache.New(addrs...).DeleteAll(); err != nil {
					return fmt.Errorf("flush memcached: %w", err)
				}
			}
			var misses, hits atomic.Int64
			read := func(i int) error {
				c, err := do(http.MethodGet, url(i), nil)
				switch c {
				case "miss":
					misses.Add(1)
				case "hit":
					hits.Add(1)
				}
				return err
			}
			cold, err := run(keys, workers, read)
			if err != nil {
				return err
			}
			coldMiss := misses.Load()
			hot, err := run(keys, workers, read)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "  %-28s %8.0f req/s  p50 %8s  p99 %8s  (%d of %d were misses)\n", "from Cassandra (cold cache)",
				cold.rate, cold.p50, cold.p99, coldMiss, keys)
			fmt.Fprintf(out, "  %-28s %8.0f req/s  p50 %8s  p99 %8s  (%d of %d were hits)\n", "from cache (warm)",
				hot.rate, hot.p50, hot.p99, hits.Load(), keys)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().IntVar(&keys, "members", 5000, "members written, then read twice")
	cmd.Flags().IntVar(&workers, "clients", 16, "concurrent clients")
	return cmd
}

type runResult struct {
	rate     float64
	p50, p99 time.Duration
}

// run calls f for 0..n-1 from workers goroutines and reports the rate and latency.
func run(n, workers int, f func(int) error) (runResult, error) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return runResult{
		rate: float64(n) / elapsed.Seconds(),
		p50:  lat[n/2].Round(10 * time.Microsecond),
		p99:  lat[n*99/100].Round(10 * time.Microsecond),
	}, first
}
