package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/internal/bench"
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
			w, done, err := bench.World(cmd.Context(), "bench-member", spec, benchLog())
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
			if _, err := bench.Pool(keys, workers, func(i int) error {
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
			cold, err := bench.Pool(keys, workers, read)
			if err != nil {
				return err
			}
			coldMiss := misses.Load()
			hot, err := bench.Pool(keys, workers, read)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "  %-28s %8.0f req/s  p50 %8s  p99 %8s  (%d of %d were misses)\n", "from Cassandra (cold cache)",
				cold.Rate, cold.P50, cold.P99, coldMiss, keys)
			fmt.Fprintf(out, "  %-28s %8.0f req/s  p50 %8s  p99 %8s  (%d of %d were hits)\n", "from cache (warm)",
				hot.Rate, hot.P50, hot.P99, hits.Load(), keys)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().IntVar(&keys, "members", 5000, "members written, then read twice")
	cmd.Flags().IntVar(&workers, "clients", 16, "concurrent clients")
	return cmd
}
