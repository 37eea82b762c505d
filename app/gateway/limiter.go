package gateway

import (
	"sync"
	"time"
)

// tokenBucket admits MaxRPS requests per second with a burst of
// burstFor(MaxRPS). The rate is passed on every call so that a runtime
// change takes effect on the next request; a change refills the bucket.
type tokenBucket struct {
	mu     sync.Mutex
	rate   int
	burst  float64
	tokens float64
	last   time.Time
}

func (b *tokenBucket) allow(now time.Time, rate int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rate != b.rate || b.last.IsZero() {
		b.rate = rate
		b.burst = float64(burstFor(rate))
		b.tokens = b.burst
		b.last = now
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt.Seconds()*float64(rate))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// shedReason says why admit refused a request ("" = admitted).
type shedReason string

const (
	shedNone        shedReason = ""
	shedConcurrency shedReason = "max_concurrency"
	shedRate        shedReason = "max_rps"
)

// admit applies the maximum traffic level. An admitted request holds one
// in-flight slot that the caller must release with g.inflight.Add(-1).
func (g *Gateway) admit(d *Dynamic, now time.Time) shedReason {
	n := g.inflight.Add(1)
	if d.MaxConcurrency > 0 && n > int64(d.MaxConcurrency) {
		g.inflight.Add(-1)
		return shedConcurrency
	}
	if d.MaxRPS > 0 && !g.bucket.allow(now, d.MaxRPS) {
		g.inflight.Add(-1)
		return shedRate
	}
	return shedNone
}
