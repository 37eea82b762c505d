package gateway

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// tokenBucket admits MaxRPS requests per second with a burst of
// burstFor(MaxRPS) (a rate.Limiter). The rate is passed on every call so
// that a runtime change takes effect on the next request; a change starts
// a new, full bucket.
type tokenBucket struct {
	mu   sync.Mutex
	rate int
	lim  *rate.Limiter
}

func (b *tokenBucket) allow(now time.Time, rps int) bool {
	b.mu.Lock()
	if rps != b.rate || b.lim == nil {
		b.rate = rps
		b.lim = rate.NewLimiter(rate.Limit(rps), burstFor(rps))
	}
	lim := b.lim
	b.mu.Unlock()
	return lim.AllowN(now, 1)
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
