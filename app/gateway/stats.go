package gateway

import (
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/kongchaos/kong/app"
	"github.com/prometheus/client_golang/prometheus"
)

// StatsWindow is how many seconds GET /admin/stats covers.
const StatsWindow = 300

// Counter indexes, in the order of Point's fields.
const (
	cAccepted = iota
	cShed
	cLocal
	cProxied
	cRedirected
	cFailover
	cErrors
	cRetries
	cTryTimeouts
	nCounters
)

// Per-second latency histograms hold microseconds, 1 µs to 1 h (longer
// is clamped), with two significant digits (within 1 %).
const (
	latMaxUs    = int64(time.Hour / time.Microsecond)
	latSigFigs  = 2
	ringSeconds = StatsWindow + 4
)

type secSlot struct {
	sec atomic.Int64
	c   [nCounters]atomic.Int64
	mu  sync.Mutex              // guards lat
	lat *hdrhistogram.Histogram // nil until the second's first accepted request completes
}

// record adds one accepted request's latency to the second's histogram.
func (sl *secSlot) record(d time.Duration) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.lat == nil {
		sl.lat = hdrhistogram.New(1, latMaxUs, latSigFigs)
	}
	_ = sl.lat.RecordValue(min(max(d.Microseconds(), 0), latMaxUs)) // in range: no error
}

// quantiles are the second's p50 and p99 in ms, rounded to µs (0 without
// latencies).
func (sl *secSlot) quantiles() (p50, p99 float64) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.lat == nil || sl.lat.TotalCount() == 0 {
		return 0, 0
	}
	return float64(sl.lat.ValueAtQuantile(50)) / 1000, float64(sl.lat.ValueAtQuantile(99)) / 1000
}

// series holds per-second counters and latency histograms for the last
// StatsWindow seconds: counters are lock-free on the request path, and
// each second's histogram has its own lock.
type series struct {
	mu     sync.Mutex // serializes slot roll-over only
	ring   [ringSeconds]secSlot
	totals [nCounters]atomic.Int64
}

func (s *series) slot(sec int64) *secSlot {
	sl := &s.ring[uint64(sec)%ringSeconds]
	if sl.sec.Load() != sec {
		s.mu.Lock()
		if sl.sec.Load() != sec {
			for i := range sl.c {
				sl.c[i].Store(0)
			}
			sl.mu.Lock()
			if sl.lat != nil {
				sl.lat.Reset()
			}
			sl.mu.Unlock()
			sl.sec.Store(sec)
		}
		s.mu.Unlock()
	}
	return sl
}

func (s *series) add(now time.Time, counter int) {
	s.slot(now.Unix()).c[counter].Add(1)
	s.totals[counter].Add(1)
}

// Point is one second of GET /admin/stats. Proxied counts isthmus requests.
// Errors counts 5xx answers to accepted requests, from members or from the
// gateway itself (502, 504, 508); shed requests are counted in Shed only.
// Latency covers accepted requests, measured in the gateway (ms).
type Point struct {
	T int64 `json:"t"`
	Counts
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
}

// Totals are the counters since the gateway started.
type Totals struct {
	Counts
	InFlight int64 `json:"in_flight"`
}

// Counts are the gateway's request counters: over one second in a Point,
// since the start in Totals.
type Counts struct {
	Accepted   int64 `json:"accepted"`
	Shed       int64 `json:"shed"`
	Local      int64 `json:"local"`
	Proxied    int64 `json:"proxied"`
	Redirected int64 `json:"redirected"`
	Failover   int64 `json:"failover"`
	Errors     int64 `json:"errors"`
	Retries    int64 `json:"retries"`
	// TryTimeouts are reads abandoned after the try timeout (and retried).
	TryTimeouts int64 `json:"try_timeouts"`
}

// StatsReport is the body of GET /admin/stats.
type StatsReport struct {
	Region  string  `json:"region"`
	Now     int64   `json:"now"`      // unix seconds; the last point is this (partial) second
	WindowS int     `json:"window_s"` // number of points
	Series  []Point `json:"series"`   // oldest first, one per second, zero-filled
	Totals  Totals  `json:"totals"`
}

func fill(c *[nCounters]int64, p *Counts) {
	p.Accepted, p.Shed, p.Local, p.Proxied = c[cAccepted], c[cShed], c[cLocal], c[cProxied]
	p.Redirected, p.Failover, p.Errors, p.Retries = c[cRedirected], c[cFailover], c[cErrors], c[cRetries]
	p.TryTimeouts = c[cTryTimeouts]
}

func (s *series) report(now time.Time, window int) ([]Point, Totals) {
	end := now.Unix()
	pts := make([]Point, window)
	for i := range pts {
		sec := end - int64(window-1-i)
		p := &pts[i]
		p.T = sec
		sl := &s.ring[uint64(sec)%ringSeconds]
		if sl.sec.Load() != sec {
			continue
		}
		var c [nCounters]int64
		for k := range c {
			c[k] = sl.c[k].Load()
		}
		fill(&c, &p.Counts)
		p.P50ms, p.P99ms = sl.quantiles()
	}
	var c [nCounters]int64
	for k := range c {
		c[k] = s.totals[k].Load()
	}
	var t Totals
	fill(&c, &t.Counts)
	return pts, t
}

// metrics are the Prometheus series on GET /metrics (one registry per gateway).
type metrics struct {
	reg                             *prometheus.Registry
	counters                        [nCounters]prometheus.Counter
	latencyLocal, latencyFailover   prometheus.Observer
	latencyIsthmus, latencyRedirect prometheus.Observer
	latencyRefused                  prometheus.Observer
}

func newMetrics(g *Gateway) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	labels := prometheus.Labels{"region": g.cfg.Region}
	names := [nCounters][2]string{
		cAccepted:    {"accepted_total", "User requests admitted below the maximum traffic level."},
		cShed:        {"shed_total", "User requests shed (503) above the maximum traffic level."},
		cLocal:       {"local_total", "Requests served by this region's members for this region's users."},
		cProxied:     {"proxied_total", "Mis-routed requests proxied over the isthmus to the home region."},
		cRedirected:  {"redirected_total", "Mis-routed requests answered with a redirect to the home region."},
		cFailover:    {"failover_total", "Mis-routed requests served locally because the region is in failover mode."},
		cErrors:      {"errors_total", "Accepted requests answered with a 5xx (from members or the gateway)."},
		cRetries:     {"member_retries_total", "Member requests retried on another instance after a connection failure or a read's try timeout."},
		cTryTimeouts: {"member_try_timeouts_total", "Member reads abandoned after the try timeout (then retried on another instance)."},
	}
	for i, n := range names {
		c := prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kong", Subsystem: "gateway", Name: n[0], Help: n[1], ConstLabels: labels,
		})
		m.counters[i] = c
		m.reg.MustRegister(c)
	}
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "kong", Subsystem: "gateway", Name: "request_duration_seconds",
		Help:        "Latency of accepted user requests in the gateway, by route.",
		ConstLabels: labels,
		Buckets:     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	m.reg.MustRegister(lat)
	m.latencyLocal = lat.WithLabelValues(app.RouteLocal)
	m.latencyFailover = lat.WithLabelValues(app.RouteFailover)
	m.latencyIsthmus = lat.WithLabelValues(app.RouteIsthmus)
	m.latencyRedirect = lat.WithLabelValues(app.RouteRedirect)
	m.latencyRefused = lat.WithLabelValues("refused")

	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "kong", Subsystem: "gateway", Name: "in_flight_requests",
		Help: "User requests in flight.", ConstLabels: labels,
	}, func() float64 { return float64(g.inflight.Load()) }))
	for _, in := range g.bal.all {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "kong", Subsystem: "gateway", Name: "member_up",
			Help:        "1 if the member instance passes its health check.",
			ConstLabels: prometheus.Labels{"region": g.cfg.Region, "zone": in.Zone, "instance": in.Instance},
		}, func() float64 {
			if in.healthy.Load() {
				return 1
			}
			return 0
		}))
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "kong", Subsystem: "gateway", Name: "failover_mode",
		Help: "1 if the region is in failover mode.", ConstLabels: labels,
	}, func() float64 {
		if g.dyn.Load().Failover {
			return 1
		}
		return 0
	}))
	return m
}

// count bumps one counter in the per-second series, the totals and Prometheus.
func (g *Gateway) count(now time.Time, counter int) {
	g.series.add(now, counter)
	g.metrics.counters[counter].Inc()
}

// finish records the outcome of an accepted request.
func (g *Gateway) finish(start time.Time, route int, obs prometheus.Observer, status int) {
	now := g.now()
	d := now.Sub(start)
	sl := g.series.slot(now.Unix())
	if route >= 0 {
		sl.c[route].Add(1)
		g.series.totals[route].Add(1)
		g.metrics.counters[route].Inc()
	}
	if status >= 500 {
		sl.c[cErrors].Add(1)
		g.series.totals[cErrors].Add(1)
		g.metrics.counters[cErrors].Inc()
	}
	sl.record(d)
	obs.Observe(d.Seconds())
}
