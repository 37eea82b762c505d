package bench

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// PoolResult is the rate and latency of a pool's calls.
type PoolResult struct {
	Rate     float64
	P50, P99 time.Duration
}

// Pool calls f for 0..n-1 from workers goroutines and reports the rate and
// latency; the error is the first f returned.
func Pool(n, workers int, f func(int) error) (PoolResult, error) {
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
	return PoolResult{
		Rate: float64(n) / elapsed.Seconds(),
		P50:  lat[n/2].Round(10 * time.Microsecond),
		P99:  lat[n*99/100].Round(10 * time.Microsecond),
	}, first
}
