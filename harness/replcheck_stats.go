package harness

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kongchaos/kong/harness/history"
)

// Replication statistics: how the per-record observations of a replication
// check become the share visible at the read, the lag percentiles, the
// histogram and the time until everything was visible.
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

// LagBucket is one bucket of a lag histogram: Count records with a lag at
// most UpperMs and above the previous bucket's bound. Its JSON is that of
// reports.Bucket.
type LagBucket struct {
	UpperMs float64 `json:"upper_ms"`
	Count   int     `json:"count"`
}

// lagStats gathers a replication check's observations.
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
// issued late (see ReplicationSummary.VisibleAtReadLow).
func (s *lagStats) shareBounds() (hard, low float64) {
	if s.acked == 0 {
		return 0, 0
	}
	hard = float64(s.visibleAtRead-s.visibleLate) / float64(s.acked)
	if s.visibleLate == 0 {
		return hard, hard
	}
	if s.sampledVisible == 0 {
		return hard, hard
	}
	p := wilsonUpper(s.sampledSlow, s.sampledVisible)
	low = (float64(s.visibleAtRead) - p*float64(s.visibleLate)) / float64(s.acked)
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
func (s *lagStats) buckets() []LagBucket {
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
	out := make([]LagBucket, 0, last-first+1)
	for i := first; i <= last; i++ {
		out = append(out, LagBucket{UpperMs: bounds[i], Count: counts[i]})
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

// ReplicationSummary is what a replication check found. Its JSON is a
// superset of reports.ReplicationLag (replication.json): the first fields
// are the report's, the others say how the check ran and how exact it is.
// Durations are in milliseconds.
type ReplicationSummary struct {
	// Samples is how many records were followed: every record whose write
	// was acknowledged.
	Samples int `json:"samples"`
	// VisibleAtRead is the share of them the read ReadAfter after the
	// acknowledgement found, 0..1.
	VisibleAtRead float64 `json:"visible_at_read"`
	// Missing counts records never seen in the other region before the
	// deadline.
	Missing int `json:"missing"`
	// Lag percentiles over the records seen (see the method).
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	// Histogram of the lags of the records seen.
	Histogram []LagBucket `json:"histogram,omitempty"`
	// AllVisibleAfterMs: every record was seen in the other region at most
	// this long after its own write was acknowledged (the read's delay for
	// records visible at the read, the re-read that first saw it for the
	// late ones); 0 when records are missing.
	AllVisibleAfterMs float64 `json:"all_visible_after_ms"`

	From             string  `json:"from"`
	To               string  `json:"to"`
	Records          int     `json:"records"`
	WriteConsistency string  `json:"write_consistency"`
	ReadConsistency  string  `json:"read_consistency"`
	ReadAfterMs      float64 `json:"read_after_ms"`
	Concurrency      int     `json:"concurrency"`
	// Batch is how many records one write carried.
	Batch int `json:"batch"`
	// WriteErrors counts records whose write failed after every retry
	// (they are not followed).
	WriteErrors int `json:"write_errors"`
	// ReadErrors counts reads at ReadAfter that failed (their records
	// count as not visible at the read and are re-read).
	ReadErrors int `json:"read_errors"`
	// Late counts records not visible at the read; LateSeen those of them
	// seen later.
	Late     int `json:"late"`
	LateSeen int `json:"late_seen"`
	// Sampled counts records whose lag was polled from the acknowledgement.
	Sampled int `json:"sampled"`
	// PollIntervalMs is the sample's first poll interval; later polls are
	// 10 % of the time since the acknowledgement apart.
	PollIntervalMs float64 `json:"poll_interval_ms"`
	// Read delays: how long after the acknowledgement the read was issued;
	// ReadsLate counts reads issued more than ReadToleranceMs after they
	// were due.
	ReadDelayP50Ms  float64 `json:"read_delay_p50_ms"`
	ReadDelayP99Ms  float64 `json:"read_delay_p99_ms"`
	ReadDelayMaxMs  float64 `json:"read_delay_max_ms"`
	ReadsLate       int     `json:"reads_late"`
	ReadToleranceMs float64 `json:"read_tolerance_ms"`
	// VisibleLateReads counts the records found visible by a read issued
	// late: at ReadAfter exactly they may not have been.
	VisibleLateReads int `json:"visible_late_reads"`
	// Bounds of the share visible at ReadAfter exactly. VisibleAtReadMin
	// counts every record a late read found as not visible. For
	// VisibleAtReadLow the sample says how many of those could have been:
	// of the sampled records visible at their read, SampledSlow were not
	// seen by the polls before ReadAfter; the 95 % upper bound (Wilson) of
	// that proportion, applied to VisibleLateReads, is subtracted. Both
	// equal VisibleAtRead when no read was late.
	VisibleAtReadMin float64 `json:"visible_at_read_min"`
	VisibleAtReadLow float64 `json:"visible_at_read_low"`
	SampledVisible   int     `json:"sampled_visible"`
	SampledSlow      int     `json:"sampled_slow"`
	// PollLatency: how long a sample poll took (lags are upper bounds by
	// about one poll).
	PollLatencyP50Ms float64 `json:"poll_latency_p50_ms"`
	PollLatencyP99Ms float64 `json:"poll_latency_p99_ms"`
	// ConfirmedEarly counts records found by a read issued before their
	// due (the first read of their partition, due for an older record).
	ConfirmedEarly int `json:"confirmed_early"`
	// CQL reads the check issued: Reads that settle records at ReadAfter
	// (about one per partition), SamplePolls of sampled records, Rereads of late
	// partitions; SampleDropped counts sampled records not polled because
	// too many polls were under way.
	Reads         int `json:"reads"`
	SamplePolls   int `json:"sample_polls"`
	Rereads       int `json:"rereads"`
	SampleDropped int `json:"sample_dropped"`
	// WriteSeconds is the time from the first write to the last
	// acknowledgement; WriteRate the records acknowledged per second in it.
	WriteSeconds float64 `json:"write_seconds"`
	WriteRate    float64 `json:"write_rate"`
	// SeenAfterWritesMs is how long after the last acknowledgement the last
	// record was first seen (the reads and re-reads included); 0 when
	// records are missing.
	SeenAfterWritesMs float64 `json:"seen_after_writes_ms"`
	// ConvergeSeconds is how long the late records were re-read after the
	// writes (and any heal) ended; SeenAfterConvergeMs how long after that
	// began the last record was first seen (0 when every record was seen
	// before, or records are missing): after a healed partition, the time
	// until everything written during it was visible.
	ConvergeSeconds     float64 `json:"converge_seconds"`
	SeenAfterConvergeMs float64 `json:"seen_after_converge_ms"`
	// Method says in words what was measured exactly and what is bounded.
	Method string `json:"method"`
}

// summary fills the statistical part of a ReplicationSummary.
func (s *lagStats) summary() ReplicationSummary {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	r := ReplicationSummary{
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
	}
	r.VisibleAtReadMin, r.VisibleAtReadLow = s.shareBounds()
	if s.missing == 0 && s.acked > 0 {
		r.AllVisibleAfterMs = float64(s.seenWithin.Microseconds()) / 1000
	}
	return r
}

// Figure names a replication check adds to run.json (the first ones are
// those package reports builds its replication section from).
const (
	FigReplSamples         = "replication.samples"
	FigReplVisibleAtRead   = "replication.visible_at_read"
	FigReplMissing         = "replication.missing"
	FigReplP50             = "replication.p50_ms"
	FigReplP90             = "replication.p90_ms"
	FigReplP99             = "replication.p99_ms"
	FigReplP999            = "replication.p999_ms"
	FigReplMax             = "replication.max_ms"
	FigReplAllVisibleAfter = "replication.all_visible_after_ms"
)

// Figures are the summary as run figures.
func (r ReplicationSummary) Figures() map[string]float64 {
	return map[string]float64{
		FigReplSamples:                       float64(r.Samples),
		FigReplVisibleAtRead:                 r.VisibleAtRead,
		FigReplMissing:                       float64(r.Missing),
		FigReplP50:                           r.P50,
		FigReplP90:                           r.P90,
		FigReplP99:                           r.P99,
		FigReplP999:                          r.P999,
		FigReplMax:                           r.Max,
		FigReplAllVisibleAfter:               r.AllVisibleAfterMs,
		"replication.records":                float64(r.Records),
		"replication.read_after_ms":          r.ReadAfterMs,
		"replication.write_errors":           float64(r.WriteErrors),
		"replication.read_errors":            float64(r.ReadErrors),
		"replication.late":                   float64(r.Late),
		"replication.sampled":                float64(r.Sampled),
		"replication.reads_late":             float64(r.ReadsLate),
		"replication.visible_late_reads":     float64(r.VisibleLateReads),
		"replication.visible_at_read_min":    r.VisibleAtReadMin,
		"replication.visible_at_read_low":    r.VisibleAtReadLow,
		"replication.poll_latency_p50_ms":    r.PollLatencyP50Ms,
		"replication.reads":                  float64(r.Reads),
		"replication.sample_polls":           float64(r.SamplePolls),
		"replication.rereads":                float64(r.Rereads),
		"replication.read_delay_p99_ms":      r.ReadDelayP99Ms,
		"replication.write_seconds":          r.WriteSeconds,
		"replication.write_rate":             r.WriteRate,
		"replication.seen_after_writes_ms":   r.SeenAfterWritesMs,
		"replication.converge_seconds":       r.ConvergeSeconds,
		"replication.seen_after_converge_ms": r.SeenAfterConvergeMs,
	}
}

// The replication summary travels in the history as one note event, so that
// checkers judge it from the history alone.
const replicationEvent = "replication-check"

// event encodes the summary's figures as a history event.
func (r ReplicationSummary) event(at time.Time) history.Event {
	d := map[string]string{"from": r.From, "to": r.To, "write_consistency": r.WriteConsistency, "read_consistency": r.ReadConsistency}
	for k, v := range r.Figures() {
		d[k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return history.Event{Kind: history.Note, Time: at, Name: replicationEvent, Target: r.From + "->" + r.To, Detail: d}
}

// replicationFromHistory finds the last replication summary in a history.
func replicationFromHistory(h *history.History) (ReplicationSummary, bool, error) {
	for i := len(h.Events) - 1; i >= 0; i-- {
		e := h.Events[i]
		if e.Kind != history.Note || e.Name != replicationEvent {
			continue
		}
		f := map[string]float64{}
		for k, v := range e.Detail {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				f[k] = x
			}
		}
		for _, k := range []string{FigReplSamples, FigReplVisibleAtRead, FigReplMissing} {
			if _, ok := f[k]; !ok {
				return ReplicationSummary{}, true, fmt.Errorf("the replication-check event has no %s", k)
			}
		}
		return ReplicationSummary{
			Samples: int(f[FigReplSamples]), VisibleAtRead: f[FigReplVisibleAtRead], Missing: int(f[FigReplMissing]),
			P50: f[FigReplP50], P90: f[FigReplP90], P99: f[FigReplP99], P999: f[FigReplP999], Max: f[FigReplMax],
			AllVisibleAfterMs: f[FigReplAllVisibleAfter],
			From:              e.Detail["from"], To: e.Detail["to"],
			WriteConsistency: e.Detail["write_consistency"], ReadConsistency: e.Detail["read_consistency"],
			Records: int(f["replication.records"]), ReadAfterMs: f["replication.read_after_ms"],
			WriteErrors: int(f["replication.write_errors"]), ReadErrors: int(f["replication.read_errors"]),
			Late: int(f["replication.late"]), Sampled: int(f["replication.sampled"]),
			ReadsLate: int(f["replication.reads_late"]), ReadDelayP99Ms: f["replication.read_delay_p99_ms"],
			VisibleLateReads: int(f["replication.visible_late_reads"]),
			VisibleAtReadMin: f["replication.visible_at_read_min"], VisibleAtReadLow: f["replication.visible_at_read_low"],
			PollLatencyP50Ms: f["replication.poll_latency_p50_ms"],
			WriteSeconds:     f["replication.write_seconds"], WriteRate: f["replication.write_rate"],
			SeenAfterWritesMs: f["replication.seen_after_writes_ms"], ConvergeSeconds: f["replication.converge_seconds"],
			SeenAfterConvergeMs: f["replication.seen_after_converge_ms"],
		}, true, nil
	}
	return ReplicationSummary{}, false, nil
}
