package director

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"
)

// Region is one region the director can send clients to.
type Region struct {
	Name string `json:"name"`
	// Gateway is the base URL of the region's gateway, e.g. "http://127.101.6.1:8000".
	Gateway string `json:"gateway"`
	// Capacity is the region's maximum traffic level in requests per second.
	// 0 means unknown; see Config for how unknown capacities are filled in.
	Capacity float64 `json:"capacity,omitempty"`
}

// Geo is one directional record: clients from geo Name belong to region Home.
type Geo struct {
	Name string `json:"name"`
	Home string `json:"home"`
	// Load is the geo's expected load in requests per second, in the same
	// unit as Region.Capacity. 0 means unknown; see Config.
	Load float64 `json:"load,omitempty"`
}

// Config is a director's world: its regions, in order, and its directional
// table.
//
// Spare capacity, which decides where an evacuated region's users go, needs
// capacities and loads in one unit. Unknown values (0) are filled in as
// follows: when only some are unknown, they get the mean of the known ones;
// when every capacity (or every load) is unknown, the world is assumed to run
// at 50% utilisation, the level at which active-active survives the loss of
// one region of two. So with known capacities and unknown loads every geo
// carries sum(capacity)/(2·geos); with known loads and unknown capacities
// every region has 2·sum(load)/regions; with neither, capacity 1 per region
// and regions/(2·geos) per geo.
type Config struct {
	// AdminSecret, when set, guards the admin endpoints: they answer only
	// "Authorization: Bearer <AdminSecret>" (app.GuardAdmin).
	AdminSecret string   `json:"admin_secret,omitempty"`
	Regions     []Region `json:"regions"`
	// Geos is the directional table; empty means one geo per region, named
	// like the region, whose home is that region.
	Geos []Geo `json:"geos,omitempty"`
	// Clock stamps the change log; nil means time.Now. Times are stored in UTC.
	Clock func() time.Time `json:"-"`
}

// Errors a Director returns, for errors.Is. Each is wrapped with the detail
// that names the culprit.
var (
	ErrConfig        = errors.New("invalid director config")
	ErrUnknownGeo    = errors.New("unknown geo")
	ErrUnknownRegion = errors.New("unknown region")
	ErrInvalid       = errors.New("invalid request")
	// ErrLastRegion refuses an evacuation that would leave no region taking traffic.
	ErrLastRegion = errors.New("no region would be left taking traffic")
)

// world is a validated config with every unknown filled in.
type world struct {
	regions  []Region
	geos     []Geo
	capacity []float64 // by region index, all > 0
	load     []float64 // by geo index, all > 0
	region   map[string]int
	geo      map[string]int
	home     []int // by geo index
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func newWorld(cfg Config) (*world, error) {
	if len(cfg.Regions) == 0 {
		return nil, configErr("no regions")
	}
	w := &world{region: map[string]int{}, geo: map[string]int{}}
	for i, r := range cfg.Regions {
		if r.Name == "" {
			return nil, configErr("region %d has no name", i+1)
		}
		if _, dup := w.region[r.Name]; dup {
			return nil, configErr("duplicate region %q", r.Name)
		}
		if !finite(r.Capacity) || r.Capacity < 0 {
			return nil, configErr("region %q: capacity %v must be a number >= 0", r.Name, r.Capacity)
		}
		u, err := url.Parse(r.Gateway)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, configErr("region %q: gateway %q is not an http(s) base URL like http://127.101.6.1:8000", r.Name, r.Gateway)
		}
		w.region[r.Name] = i
		w.regions = append(w.regions, r)
	}
	geos := cfg.Geos
	if len(geos) == 0 {
		for _, r := range cfg.Regions {
			geos = append(geos, Geo{Name: r.Name, Home: r.Name})
		}
	}
	for i, g := range geos {
		if g.Name == "" {
			return nil, configErr("geo %d has no name", i+1)
		}
		if _, dup := w.geo[g.Name]; dup {
			return nil, configErr("duplicate geo %q", g.Name)
		}
		h, ok := w.region[g.Home]
		if !ok {
			return nil, configErr("geo %q: unknown home region %q", g.Name, g.Home)
		}
		if !finite(g.Load) || g.Load < 0 {
			return nil, configErr("geo %q: load %v must be a number >= 0", g.Name, g.Load)
		}
		w.geo[g.Name] = i
		w.home = append(w.home, h)
		w.geos = append(w.geos, g)
	}

	w.capacity = make([]float64, len(w.regions))
	for i, r := range w.regions {
		w.capacity[i] = r.Capacity
	}
	w.load = make([]float64, len(w.geos))
	for i, g := range w.geos {
		w.load[i] = g.Load
	}
	capKnown, loadKnown := fillMean(w.capacity), fillMean(w.load)
	nr, ng := float64(len(w.regions)), float64(len(w.geos))
	switch {
	case capKnown && !loadKnown:
		fill(w.load, sum(w.capacity)/(2*ng))
	case !capKnown && loadKnown:
		fill(w.capacity, 2*sum(w.load)/nr)
	case !capKnown && !loadKnown:
		fill(w.capacity, 1)
		fill(w.load, nr/(2*ng))
	}
	return w, nil
}

// fillMean replaces zeros with the mean of the positive values and reports
// whether there was any positive value.
func fillMean(xs []float64) bool {
	var total float64
	var n int
	for _, x := range xs {
		if x > 0 {
			total += x
			n++
		}
	}
	if n == 0 {
		return false
	}
	for i, x := range xs {
		if x == 0 {
			xs[i] = total / float64(n)
		}
	}
	return true
}

func fill(xs []float64, v float64) {
	for i := range xs {
		xs[i] = v
	}
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}
