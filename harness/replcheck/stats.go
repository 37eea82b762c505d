package replcheck

import (
	"math"
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kongchaos/kong/harness/history"
)

// Histogram geometry of lags and read delays, in microseconds.
const (
	lagHistMin  = 1
	lagHistMax  = int64(2 * time.Hour / time.Microsecond)
	lagHistSigs = 3
)

func newLagHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(lagHistMin, lagHistMax, lagHistSigs)
}

// recordLag adds a duration to a lag histogram, clamped to its range.
func recordLag(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	switch {
	case us < lagHistMin:
		us = lagHistMin
	case us > lagHistMax:
		us = lagHistMax
	}
	_ = h.RecordValue(us)
}

// LagBucketBoundsMs are the upper bounds of the lag histogram's buckets.
var LagBucketBoundsMs = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
	10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000, 7200000}

// lagStats gathers a replication check's observations and turns them into
// the share visible at the read, the lag percentiles, the histogram and the
// time until everything was visible.
//
// What is known of each acknowledged record:
//
//   - every record is read once in the other region ReadAfter after its
//     write was acknowledged: it was visible then, or it was late;
//   - a seeded sample of the records is polled in the other region from the
//     acknowledgement on, so their lag is measured (to within the poll
//     interval) whether or not they were visible at the read;
//   - every late record is re-read until it is seen or the deadline passes,
//     so the lag of every late record is measured (to within its re-read
//     interval), and the records never seen are counted as missing.
//
// The records seen fall into two ordered groups: those visible at the read
// (lag at most the read's delay, about ReadAfter) and the late ones (lag
// above it). A lag percentile over the records seen is taken from the
// sample when its rank falls among the records visible at the read (an
// estimate: the sample stands for all of them), and from the late records
// themselves when it falls among those (a measurement of each). Missing
// records are not in the percentiles; Missing counts them.
type lagStats struct {
	// acked is the number of records whose write was acknowledged;
	// visibleAtRead how many of them the read at ReadAfter found.
	acked, visibleAtRead int
	// head holds the lags of sampled records that were visible at the read;
	// tail the lags of late records that were seen later.
	head, tail *hdrhistogram.Histogram
	// missing counts late records never seen.
	missing int
	// readDelay holds how long after its acknowledgement each record's read
	// was issued; readsLate counts reads issued more than the tolerance
	// after they were due.
	readDelay *hdrhistogram.Histogram
	readsLate int
	// visibleLate counts records found visible by a read issued late: at
	// ReadAfter they may not have been.
	visibleLate int
	// sampledVisible counts sampled records visible at the read;
	// sampledSlow those of them the polls did not see before the read was
	// due (their lag is about ReadAfter or more).
	sampledVisible, sampledSlow int
	// sampledLateRead counts sampled records found by a read issued late
	// (a random part of visibleLate), sampledLateSlow those of them the
	// polls did not see before the read was due.
	sampledLateRead, sampledLateSlow int
	// seenWithin is the longest time after its acknowledgement that a
	// record was first seen (by the read or a re-read).
	seenWithin time.Duration
}

func newLagStats() *lagStats {
	return &lagStats{head: newLagHist(), tail: newLagHist(), readDelay: newLagHist()}
}

// seen is the number of records seen in the other region.
func (s *lagStats) seen() int { return s.visibleAtRead + int(s.tail.TotalCount()) }

// share is the share of acknowledged records visible at the read, 0..1
// (0 when nothing was acknowledged).
func (s *lagStats) share() float64 {
	if s.acked == 0 {
		return 0
	}
	return float64(s.visibleAtRead) / float64(s.acked)
}

// headLags holds the lags that stand for the records visible at the read:
// the sample's, or, when no sampled record was visible at the read, the
// read's delay (an upper bound of their lag).
func (s *lagStats) headLags() *hdrhistogram.Histogram {
	if s.head.TotalCount() == 0 {
		return s.readDelay
	}
	return s.head
}

// quantile is the lag at quantile q (0..1) over the records seen, in
// microseconds (0 when nothing was seen): over the late records one by one
// and the sample, each sampled lag standing for its share of the records
// visible at the read. The two are merged by lag, not laid end to end: a
// record found by a read issued late can have a lag beyond some late
// records'.
func (s *lagStats) quantile(q float64) int64 {
	n := s.seen()
	if n == 0 {
		return 0
	}
	rank := min(max(math.Ceil(q*float64(n)), 1), float64(n))
	type bar struct {
		upper  int64
		weight float64
	}
	var bars []bar
	add := func(h *hdrhistogram.Histogram, weight float64) {
		for _, b := range h.Distribution() {
			if b.Count > 0 {
				bars = append(bars, bar{b.To, float64(b.Count) * weight})
			}
		}
	}
	if head := s.headLags(); s.visibleAtRead > 0 && head.TotalCount() > 0 {
		add(head, float64(s.visibleAtRead)/float64(head.TotalCount()))
	}
	add(s.tail, 1)
	if len(bars) == 0 {
		return 0
	}
	sort.SliceStable(bars, func(i, j int) bool { return bars[i].upper < bars[j].upper })
	cum, tolerance := 0.0, 1e-9*float64(n)
	for _, b := range bars {
		cum += b.weight
		if cum >= rank-tolerance {
			return b.upper
		}
	}
	return bars[len(bars)-1].upper
}

// shareBounds bounds the share visible at ReadAfter exactly when reads were
// issued late (see history.Replication.VisibleAtReadLow).
func (s *lagStats) shareBounds() (hard, low float64) {
	return shareBounds(s.acked, s.visibleAtRead, s.visibleLate, s.sampledLateRead, s.sampledLateSlow)
}

// shareBounds bounds the share of acked records visible at ReadAfter
// exactly, when visible of them were found by reads and visibleLate of
// those by reads issued late. hard counts every late-found record as not
// visible. low is a 95 % lower bound: the records to discount are among the
// late-found ones, so it is their proportion that is bounded, from the
// sampled records a late read found (sampledLate, of which sampledLateSlow
// were not visible at ReadAfter). The sample must be drawn independently of
// when reads ran late; it is (records are sampled when written).
func shareBounds(acked, visible, visibleLate, sampledLate, sampledLateSlow int) (hard, low float64) {
	if acked == 0 {
		return 0, 0
	}
	hard = float64(visible-visibleLate) / float64(acked)
	if visibleLate == 0 {
		return hard, hard
	}
	p := wilsonUpper(sampledLateSlow, sampledLate) // 1 without a sample: low is hard
	low = (float64(visible) - p*float64(visibleLate)) / float64(acked)
	return hard, max(hard, low)
}

// wilsonUpper is the upper end of the 95 % Wilson score interval of a
// proportion of k in n.
func wilsonUpper(k, n int) float64 {
	if n == 0 {
		return 1
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	c := p + z*z/(2*nf) + z*math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return min(1, c/(1+z*z/nf))
}

// max is the largest lag measured: of the late records and of the sample
// (the sample's is an estimate from below of the largest lag among the
// records visible at the read, which can lie beyond every late record's
// when a read was issued late).
func (s *lagStats) max() int64 {
	m := s.tail.Max()
	if s.visibleAtRead > 0 {
		m = max(m, s.headLags().Max())
	}
	return m
}

// buckets is the lag histogram of the records seen, over LagBucketBoundsMs:
// the late records counted one by one, the records visible at the read
// estimated from the sample (its counts scaled to their number, rounded so
// that they add up to it exactly). Empty buckets at both ends are dropped.
func (s *lagStats) buckets() []history.LagBucket {
	bounds := LagBucketBoundsMs
	head := make([]float64, len(bounds))
	h := s.headLags() // scaled to s.visibleAtRead below: nothing when that is 0
	fill := func(h *hdrhistogram.Histogram, into []float64) {
		for _, bar := range h.Distribution() {
			if bar.Count == 0 {
				continue
			}
			into[bucketOf(float64(bar.From)/1000, bounds)] += float64(bar.Count)
		}
	}
	fill(h, head)
	tail := make([]float64, len(bounds))
	fill(s.tail, tail)
	counts := make([]int, len(bounds))
	scaled := scaleTo(head, s.visibleAtRead)
	for i := range counts {
		counts[i] = scaled[i] + int(tail[i])
	}
	first, last := -1, -1
	for i, c := range counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	out := make([]history.LagBucket, 0, last-first+1)
	for i := first; i <= last; i++ {
		out = append(out, history.LagBucket{UpperMs: bounds[i], Count: counts[i]})
	}
	return out
}

// bucketOf is the index of the first bound at or above v (the last bucket
// takes whatever lies beyond every bound).
func bucketOf(v float64, bounds []float64) int {
	i := sort.SearchFloat64s(bounds, v)
	return min(i, len(bounds)-1)
}

// scaleTo scales counts so that they add up to total, rounding by largest
// remainder (the result adds up to total exactly; all zeros when counts do).
func scaleTo(counts []float64, total int) []int {
	out := make([]int, len(counts))
	var sum float64
	for _, c := range counts {
		sum += c
	}
	if sum == 0 || total <= 0 {
		return out
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, 0, len(counts))
	given := 0
	for i, c := range counts {
		exact := c * float64(total) / sum
		out[i] = int(math.Floor(exact))
		given += out[i]
		rems = append(rems, rem{i, exact - float64(out[i])})
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for j := 0; given < total && j < len(rems); j++ {
		out[rems[j].i]++
		given++
	}
	return out
}

// summary fills the statistical part of a history.Replication.
func (s *lagStats) summary() history.Replication {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	r := history.Replication{
		Samples:          s.acked,
		VisibleAtRead:    s.share(),
		Missing:          s.missing,
		P50:              ms(s.quantile(0.50)),
		P90:              ms(s.quantile(0.90)),
		P99:              ms(s.quantile(0.99)),
		P999:             ms(s.quantile(0.999)),
		Max:              ms(s.max()),
		Histogram:        s.buckets(),
		Late:             s.acked - s.visibleAtRead,
		LateSeen:         int(s.tail.TotalCount()),
		ReadDelayP50Ms:   ms(s.readDelay.ValueAtQuantile(50)),
		ReadDelayP99Ms:   ms(s.readDelay.ValueAtQuantile(99)),
		ReadDelayMaxMs:   ms(s.readDelay.Max()),
		ReadsLate:        s.readsLate,
		VisibleLateReads: s.visibleLate,
		SampledVisible:   s.sampledVisible,
		SampledSlow:      s.sampledSlow,
		SampledLateRead:  s.sampledLateRead,
		SampledLateSlow:  s.sampledLateSlow,
	}
	r.VisibleAtReadMin, r.VisibleAtReadLow = s.shareBounds()
	if s.missing == 0 && s.acked > 0 {
		r.AllVisibleAfterMs = float64(s.seenWithin.Microseconds()) / 1000
	}
	return r
}
