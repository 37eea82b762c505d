package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/topology/local"
)

// MemberReads is what the member bench measured: the same members read
// twice through a region's member service, first with every cache of the
// region empty (from Cassandra), then again (from the cache).
type MemberReads struct {
	Members    int
	Cold, Warm PoolResult
	// ColdMisses and WarmHits count the reads the service said missed the
	// cache on the first pass, and hit it on the second.
	ColdMisses, WarmHits int64
}

// Members writes members members through the member service of region (the
// first of the plan's there), empties every cache of the region, then reads
// them all twice, clients at a time. It says on out which service it reads.
func Members(ctx context.Context, w *local.World, region string, members, clients int, out io.Writer) (MemberReads, error) {
	res := MemberReads{Members: members}
	var base string
	for _, m := range w.Plan().Members {
		if m.Region == region {
			base = "http://" + m.Address
			break
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}, Timeout: 10 * time.Second}
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
	profile, _ := json.Marshal(app.ProfileWrite{Name: "bench", Plan: "basic"})
	url := func(i int) string { return base + app.MemberPath(fmt.Sprintf("bench-%d", i), app.ResourceProfile) }
	fmt.Fprintf(out, "member service in %s at %s: %d members, %d concurrent clients\n", region, base, members, clients)
	if _, err := Pool(members, clients, func(i int) error {
		_, err := do(http.MethodPut, url(i), profile)
		return err
	}); err != nil {
		return res, err
	}
	// Empty every cache of the region: the first pass reads Cassandra.
	for _, addrs := range w.MemcachedAddrs(region) {
		if err := memcache.New(addrs...).DeleteAll(); err != nil {
			return res, fmt.Errorf("flush memcached: %w", err)
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
	var err error
	if res.Cold, err = Pool(members, clients, read); err != nil {
		return res, err
	}
	res.ColdMisses = misses.Load()
	if res.Warm, err = Pool(members, clients, read); err != nil {
		return res, err
	}
	res.WarmHits = hits.Load()
	return res, nil
}

// Write prints the rate and latency of each pass.
func (m MemberReads) Write(w io.Writer) {
	fmt.Fprintf(w, "  %-28s %8.0f req/s  p50 %8s  p99 %8s  (%d of %d were misses)\n", "from Cassandra (cold cache)",
		m.Cold.Rate, m.Cold.P50, m.Cold.P99, m.ColdMisses, m.Members)
	fmt.Fprintf(w, "  %-28s %8.0f req/s  p50 %8s  p99 %8s  (%d of %d were hits)\n", "from cache (warm)",
		m.Warm.Rate, m.Warm.P50, m.Warm.P99, m.WarmHits, m.Members)
}
