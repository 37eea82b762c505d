package director

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics live in a registry of their own, so that several directors (in
// tests, or in one process) never collide.
type metrics struct {
	reg       *prometheus.Registry
	routes    [][]prometheus.Counter // per geo, per region
	share     *prometheus.GaugeVec
	evacuated *prometheus.GaugeVec
	changes   prometheus.Counter
}

func newMetrics(w *world) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	routes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kong_director_routes_total",
		Help: "Route answers, by client geo and chosen region.",
	}, []string{"geo", "region"})
	m.share = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kong_director_effective_share",
		Help: "Share of a geo's clients sent to a region by the effective table.",
	}, []string{"geo", "region"})
	m.evacuated = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kong_director_evacuated_fraction",
		Help: "Evacuated fraction of a region's share, in [0,1].",
	}, []string{"region"})
	m.changes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kong_director_changes_total",
		Help: "Entries appended to the change log, the start entry included.",
	})
	m.reg.MustRegister(routes, m.share, m.evacuated, m.changes)
	m.routes = make([][]prometheus.Counter, len(w.geos))
	for g, geo := range w.geos {
		m.routes[g] = make([]prometheus.Counter, len(w.regions))
		for r, reg := range w.regions {
			m.routes[g][r] = routes.WithLabelValues(geo.Name, reg.Name)
		}
	}
	return m
}

// observe publishes a new effective table; it runs under the director's lock.
func (m *metrics) observe(w *world, s *snapshot, evacuated []float64) {
	for g, row := range s.eff {
		for r, share := range row {
			m.share.WithLabelValues(w.geos[g].Name, w.regions[r].Name).Set(share)
		}
	}
	for r, f := range evacuated {
		m.evacuated.WithLabelValues(w.regions[r].Name).Set(f)
	}
	m.changes.Inc()
}
