package director

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ChangeKind says what a change did.
type ChangeKind string

const (
	ChangeStart         ChangeKind = "start"          // the table the director started with
	ChangeWeights       ChangeKind = "weights"        // a geo's weights were set
	ChangeOverride      ChangeKind = "override"       // a geo was forced to a region
	ChangeClearOverride ChangeKind = "clear-override" // a geo's override was removed
	ChangeEvacuate      ChangeKind = "evacuate"       // a region's evacuated fraction was set
	ChangeRestore       ChangeKind = "restore"        // one region (or all) back to fraction 0
	ChangeBounce        ChangeKind = "bounce"         // session bouncing switched on or off
	ChangeCapacity      ChangeKind = "capacity"       // a region's capacity was set
)

// Change is one entry of the change log: what changed, when, and the
// effective table that resulted.
type Change struct {
	Seq  int        `json:"seq"`
	Time time.Time  `json:"time"`
	Kind ChangeKind `json:"kind"`
	// Target is the geo (weights, override) or region (evacuate, restore)
	// changed; empty when every region was restored.
	Target      string `json:"target,omitempty"`
	Description string `json:"description"`
	// Effective is each geo's resulting distribution over regions (shares
	// summing to 1, every region listed).
	Effective map[string]map[string]float64 `json:"effective"`
	// Traffic is each region's resulting share of the total expected load.
	Traffic map[string]float64 `json:"traffic"`
}

// Table is the director's whole state and what it amounts to.
type Table struct {
	Regions []string `json:"regions"` // in config order
	Geos    []string `json:"geos"`    // in config order
	// Home is each geo's home region (the directional record).
	Home map[string]string `json:"home"`
	// Gateway is each region's gateway base URL.
	Gateway map[string]string `json:"gateway"`
	// Capacity and Load are the capacities (per region) and expected loads
	// (per geo) used to compute spare capacity, with unknowns filled in.
	Capacity map[string]float64 `json:"capacity"`
	Load     map[string]float64 `json:"load"`
	// Weights is each geo's configured distribution, normalized.
	Weights map[string]map[string]float64 `json:"weights"`
	// Overrides maps each overridden geo to the region it is forced to.
	Overrides map[string]string `json:"overrides"`
	// Evacuated is each region's evacuated fraction in [0,1].
	Evacuated map[string]float64 `json:"evacuated"`
	// Effective is what Route follows: weights or override, then evacuations.
	Effective map[string]map[string]float64 `json:"effective"`
	// Traffic is each region's share of the total expected load.
	Traffic map[string]float64 `json:"traffic"`
	// Bounce is set while the director bounces sessions (SetBounce):
	// Route then ignores the effective table.
	Bounce bool `json:"bounce,omitempty"`
}

// Director answers which region's gateway a client should use. Its methods
// are safe for concurrent use; Route takes no lock.
type Director struct {
	w     *world
	seeds []uint64 // per region, for rendezvous hashing
	clock func() time.Time
	m     *metrics
	// secret guards the admin endpoints of Serve (app.GuardAdmin).
	secret string

	mu        sync.Mutex
	weights   [][]float64 // per geo, per region, normalized
	override  []int       // per geo: forced region index, or -1
	evacuated []float64   // per region
	bouncing  bool        // SetBounce
	changes   []Change    // the last maxChanges changes, oldest first
	seq       int         // changes recorded since the start, dropped ones included
	maxKeep   int         // maxChanges (tests lower it)
	last      time.Time

	snap     atomic.Pointer[snapshot]
	sessions sessionRegions // while bouncing
}

// snapshot is an immutable effective table that Route reads without a lock.
type snapshot struct {
	eff  [][]float64 // per geo, per region
	only []int       // per geo: the single region with a positive share, or -1
	// bounce: Route answers each session with the region after the one it
	// gave it last, among taking (the regions not fully evacuated).
	bounce bool
	taking []int
}

// New validates cfg and returns a director that sends every geo to its home
// region. Config errors wrap ErrConfig and name the culprit.
func New(cfg Config) (*Director, error) {
	w, err := newWorld(cfg)
	if err != nil {
		return nil, err
	}
	d := &Director{w: w, clock: cfg.Clock, maxKeep: MaxChanges, secret: cfg.AdminSecret}
	if d.clock == nil {
		d.clock = time.Now
	}
	for _, r := range w.regions {
		d.seeds = append(d.seeds, mix(hashString(r.Name)))
	}
	d.weights = make([][]float64, len(w.geos))
	d.override = make([]int, len(w.geos))
	for g := range w.geos {
		d.weights[g] = make([]float64, len(w.regions))
		d.weights[g][w.home[g]] = 1
		d.override[g] = -1
	}
	d.evacuated = make([]float64, len(w.regions))
	d.m = newMetrics(w)
	d.mu.Lock()
	d.record(ChangeStart, "", "start: every geo to its home region")
	d.mu.Unlock()
	return d, nil
}

// Route returns the region that a client of geo, identified by key (a device
// session id), should use. The choice follows the effective distribution and
// is deterministic for a key: weighted rendezvous hashing gives every region
// a score from hash(key, region) and its share, so a key keeps its region
// until the distribution changes, and then moves only away from regions
// whose share shrank relative to the others.
func (d *Director) Route(geo, key string) (Region, error) {
	g, ok := d.w.geo[geo]
	if !ok {
		return Region{}, d.unknownGeo(geo)
	}
	s := d.snap.Load()
	r := s.pick(g, key, d.seeds)
	if s.bounce {
		r = d.sessions.next(key, r, s.taking)
	}
	d.m.routes[g][r].Inc()
	return d.w.regions[r], nil
}

func (s *snapshot) pick(g int, key string, seeds []uint64) int {
	if r := s.only[g]; r >= 0 {
		return r
	}
	h := hashString(key)
	best, bestScore := 0, -1.0
	for r, share := range s.eff[g] {
		if share <= 0 {
			continue
		}
		// u is uniform in (0,1); share/-ln(u) is largest for region r with
		// probability share/sum(shares).
		u := (float64(mix(h^seeds[r])>>11) + 0.5) / (1 << 53)
		if score := share / -math.Log(u); score > bestScore {
			best, bestScore = r, score
		}
	}
	return best
}

// sessionRegions remembers the region last given to each session while the
// director bounces sessions.
type sessionRegions struct {
	mu   sync.Mutex
	last map[string]int // session key -> region index
}

// maxBounceSessions bounds the sessions remembered; past it they are all
// forgotten (each then starts again from its usual region).
const maxBounceSessions = 100_000

// next is the region after the one last given to key, in the order of
// taking (round robin), and remembers it. A session not seen yet starts
// after usual, the region it gets when sessions do not bounce.
func (b *sessionRegions) next(key string, usual int, taking []int) int {
	if len(taking) == 0 {
		return usual
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	last, ok := b.last[key]
	if !ok {
		last = usual
	}
	r := taking[(slices.Index(taking, last)+1)%len(taking)]
	if b.last == nil || len(b.last) >= maxBounceSessions {
		b.last = map[string]int{}
	}
	b.last[key] = r
	return r
}

// forget drops every session's last region.
func (b *sessionRegions) forget() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = nil
}

// hashString is 64-bit FNV-1a.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix is the splitmix64 finalizer.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ z>>31
}

// SetWeights sets a geo's distribution over regions. Weights are relative
// (70/30 and 0.7/0.3 are the same); regions left out get 0.
func (d *Director) SetWeights(geo string, weights map[string]float64) (Change, error) {
	g, ok := d.w.geo[geo]
	if !ok {
		return Change{}, d.unknownGeo(geo)
	}
	if len(weights) == 0 {
		return Change{}, fmt.Errorf("%w: no weights given for geo %q", ErrInvalid, geo)
	}
	names := make([]string, 0, len(weights))
	for name := range weights {
		names = append(names, name)
	}
	sort.Strings(names)
	row := make([]float64, len(d.w.regions))
	var total float64
	for _, name := range names {
		r, ok := d.w.region[name]
		if !ok {
			return Change{}, d.unknownRegion(name)
		}
		v := weights[name]
		if !finite(v) || v < 0 {
			return Change{}, fmt.Errorf("%w: weight %v for region %q: it must be a number >= 0", ErrInvalid, v, name)
		}
		row[r] = v
		total += v
	}
	if total <= 0 || !finite(total) {
		return Change{}, fmt.Errorf("%w: weights for geo %q sum to %v: give at least one region a positive weight", ErrInvalid, geo, total)
	}
	var parts []string
	for r := range row {
		row[r] /= total
		if row[r] > 0 {
			parts = append(parts, d.w.regions[r].Name+" "+pct(row[r]))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.weights[g] = row
	desc := fmt.Sprintf("weights of geo %s: %s", geo, strings.Join(parts, ", "))
	if d.override[g] >= 0 {
		desc += fmt.Sprintf(" (override to %s still wins)", d.w.regions[d.override[g]].Name)
	}
	return d.record(ChangeWeights, geo, desc), nil
}

// SetOverride forces every client of geo to region, whatever the geo's
// weights (the Route53 layer over the directional records). Evacuations
// still apply on top.
func (d *Director) SetOverride(geo, region string) (Change, error) {
	g, ok := d.w.geo[geo]
	if !ok {
		return Change{}, d.unknownGeo(geo)
	}
	r, ok := d.w.region[region]
	if !ok {
		return Change{}, d.unknownRegion(region)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.override[g] = r
	return d.record(ChangeOverride, geo, fmt.Sprintf("override geo %s to %s", geo, region)), nil
}

// ClearOverride gives geo back to its weights. Clearing a geo without an
// override is accepted (and logged), so cleanups can always call it.
func (d *Director) ClearOverride(geo string) (Change, error) {
	g, ok := d.w.geo[geo]
	if !ok {
		return Change{}, d.unknownGeo(geo)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	desc := fmt.Sprintf("clear override of geo %s (none was set)", geo)
	if r := d.override[g]; r >= 0 {
		desc = fmt.Sprintf("clear override of geo %s (was %s)", geo, d.w.regions[r].Name)
	}
	d.override[g] = -1
	return d.record(ChangeClearOverride, geo, desc), nil
}

// Evacuate sets the fraction of region's share that moves to the other
// regions, split by their spare capacity. Callers step it gradually (0.25,
// 0.5, 1). It refuses to leave no region with a fraction below 1.
func (d *Director) Evacuate(region string, fraction float64) (Change, error) {
	r, ok := d.w.region[region]
	if !ok {
		return Change{}, d.unknownRegion(region)
	}
	if !finite(fraction) || fraction < 0 || fraction > 1 {
		return Change{}, fmt.Errorf("%w: fraction %v for region %q: it must be in [0,1]", ErrInvalid, fraction, region)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if fraction == 1 {
		left := false
		for i, f := range d.evacuated {
			if i != r && f < 1 {
				left = true
			}
		}
		if !left {
			return Change{}, fmt.Errorf("%w: cannot evacuate %s fully, every other region is fully evacuated", ErrLastRegion, region)
		}
	}
	was := d.evacuated[r]
	d.evacuated[r] = fraction
	return d.record(ChangeEvacuate, region, fmt.Sprintf("evacuate %s: %s -> %s", region, pct(was), pct(fraction))), nil
}

// Restore sets region's evacuated fraction back to 0; an empty region
// restores every region.
func (d *Director) Restore(region string) (Change, error) {
	r := -1
	if region != "" {
		var ok bool
		if r, ok = d.w.region[region]; !ok {
			return Change{}, d.unknownRegion(region)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if r >= 0 {
		was := d.evacuated[r]
		d.evacuated[r] = 0
		return d.record(ChangeRestore, region, fmt.Sprintf("restore %s (was %s evacuated)", region, pct(was))), nil
	}
	var parts []string
	for i, f := range d.evacuated {
		if f > 0 {
			parts = append(parts, d.w.regions[i].Name+" was "+pct(f))
		}
		d.evacuated[i] = 0
	}
	desc := "restore every region (none was evacuated)"
	if len(parts) > 0 {
		desc = "restore every region (" + strings.Join(parts, ", ") + ")"
	}
	return d.record(ChangeRestore, "", desc), nil
}

// SetBounce switches session bouncing on or off. While it is on, Route
// answers each request of a session with another region than the one it
// gave that session last: the next, round robin, of the regions taking
// traffic (not fully evacuated), whatever the weights, overrides and
// stickiness say. A broken world: a director that bounces sessions between
// regions, each request landing where the session's last writes may not
// have arrived yet.
func (d *Director) SetBounce(on bool) Change {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bouncing = on
	d.sessions.forget()
	desc := "bounce sessions: off, every session follows the table again"
	if on {
		desc = "bounce sessions: on, each answer to a session another region than its last"
	}
	return d.record(ChangeBounce, "", desc)
}

// SetCapacity sets region's capacity (requests per second, > 0), which
// decides with the loads where evacuated users go: an operator correcting
// what the director believes, or a broken world in which it believes every
// region equal and splits an evacuated region's users evenly.
func (d *Director) SetCapacity(region string, capacity float64) (Change, error) {
	r, ok := d.w.region[region]
	if !ok {
		return Change{}, d.unknownRegion(region)
	}
	if !finite(capacity) || capacity <= 0 {
		return Change{}, fmt.Errorf("%w: capacity %v for region %q: it must be a number > 0", ErrInvalid, capacity, region)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.w.capacity[r] = capacity
	return d.record(ChangeCapacity, region, fmt.Sprintf("capacity of %s: %g", region, capacity)), nil
}

// Table returns the current state and effective table.
func (d *Director) Table() Table {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.snap.Load()
	w := d.w
	t := Table{
		Home: map[string]string{}, Gateway: map[string]string{}, Capacity: map[string]float64{},
		Load: map[string]float64{}, Weights: map[string]map[string]float64{}, Overrides: map[string]string{},
		Evacuated: map[string]float64{}, Effective: d.effectiveMap(s), Traffic: d.trafficMap(s),
		Bounce: d.bouncing,
	}
	for r, reg := range w.regions {
		t.Regions = append(t.Regions, reg.Name)
		t.Gateway[reg.Name] = reg.Gateway
		t.Capacity[reg.Name] = w.capacity[r]
		t.Evacuated[reg.Name] = d.evacuated[r]
	}
	for g, geo := range w.geos {
		t.Geos = append(t.Geos, geo.Name)
		t.Home[geo.Name] = w.regions[w.home[g]].Name
		t.Load[geo.Name] = w.load[g]
		t.Weights[geo.Name] = d.regionMap(d.weights[g])
		if r := d.override[g]; r >= 0 {
			t.Overrides[geo.Name] = w.regions[r].Name
		}
	}
	return t
}

// MaxChanges is how many changes the change log keeps: the most recent.
const MaxChanges = 1000

// Dropped is how many of the oldest changes the log no longer holds: the
// first change kept has Seq == Dropped.
func (d *Director) Dropped() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seq - len(d.changes)
}

// Changes returns the change log, oldest first: the last MaxChanges changes,
// starting with the table the director started with until more were made.
func (d *Director) Changes() []Change {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Change, len(d.changes))
	for i, c := range d.changes {
		// The maps are never modified after record; copy them anyway so
		// callers may.
		c.Effective = copyNested(c.Effective)
		c.Traffic = copyMap(c.Traffic)
		out[i] = c
	}
	return out
}

// Regions returns the configured regions, in order.
func (d *Director) Regions() []Region { return append([]Region(nil), d.w.regions...) }

// Geos returns the directional table with expected loads filled in.
func (d *Director) Geos() []Geo {
	out := append([]Geo(nil), d.w.geos...)
	for g := range out {
		out[g].Load = d.w.load[g]
	}
	return out
}

// record recomputes the effective table, publishes it to Route and appends
// a change. d.mu must be held.
func (d *Director) record(kind ChangeKind, target, desc string) Change {
	s := d.compute()
	d.snap.Store(s)
	d.m.observe(d.w, s, d.evacuated)
	now := d.clock().UTC()
	if now.Before(d.last) {
		now = d.last // the wall clock stepped back: keep the log ordered
	}
	d.last = now
	c := Change{Seq: d.seq, Time: now, Kind: kind, Target: target, Description: desc,
		Effective: d.effectiveMap(s), Traffic: d.trafficMap(s)}
	d.seq++
	if len(d.changes) >= d.maxKeep {
		// Forget the oldest. Changes are rare: moving the others down is cheap.
		n := copy(d.changes, d.changes[len(d.changes)-d.maxKeep+1:])
		clear(d.changes[n:])
		d.changes = d.changes[:n]
	}
	d.changes = append(d.changes, c)
	c.Effective, c.Traffic = copyNested(c.Effective), copyMap(c.Traffic)
	return c
}

// compute builds the effective table. d.mu must be held.
//
// Each geo starts from its override or weights (the base). Then every region
// d with evacuated fraction f > 0 gives f of its share to the recipients: the
// regions not evacuated at all, or, when every region is partly evacuated,
// the regions not fully evacuated (other than d). Recipients are weighted by
// spare capacity, capacity minus the expected load the base assigns them;
// when no recipient has spare capacity they are weighted by capacity. A
// region with nowhere to give keeps its share.
func (d *Director) compute() *snapshot {
	w := d.w
	nr, ng := len(w.regions), len(w.geos)
	base := make([][]float64, ng)
	assigned := make([]float64, nr)
	for g := range base {
		if r := d.override[g]; r >= 0 {
			base[g] = make([]float64, nr)
			base[g][r] = 1
		} else {
			base[g] = d.weights[g]
		}
		for r, share := range base[g] {
			assigned[r] += w.load[g] * share
		}
	}

	recipient := make([]bool, nr)
	some := false
	for r, f := range d.evacuated {
		recipient[r] = f == 0
		some = some || recipient[r]
	}
	if !some {
		for r, f := range d.evacuated {
			recipient[r] = f < 1
		}
	}

	// split[from] is where region from's evacuated share goes, or nil.
	split := make([][]float64, nr)
	for from, f := range d.evacuated {
		if f == 0 {
			continue
		}
		var spare, capacity float64
		for r := range recipient {
			if recipient[r] && r != from {
				spare += math.Max(w.capacity[r]-assigned[r], 0)
				capacity += w.capacity[r]
			}
		}
		if capacity == 0 {
			continue // no other recipient: the share stays
		}
		split[from] = make([]float64, nr)
		for r := range recipient {
			if !recipient[r] || r == from {
				continue
			}
			if spare > 0 {
				split[from][r] = math.Max(w.capacity[r]-assigned[r], 0) / spare
			} else {
				split[from][r] = w.capacity[r] / capacity
			}
		}
	}

	s := &snapshot{eff: make([][]float64, ng), only: make([]int, ng), bounce: d.bouncing}
	for r, f := range d.evacuated {
		if f < 1 {
			s.taking = append(s.taking, r)
		}
	}
	for g := range base {
		eff := make([]float64, nr)
		for from, share := range base[g] {
			if share == 0 {
				continue
			}
			if split[from] == nil {
				eff[from] += share
				continue
			}
			moved := share * d.evacuated[from]
			eff[from] += share - moved
			for to, part := range split[from] {
				eff[to] += moved * part
			}
		}
		s.eff[g] = eff
		s.only[g] = -1
		for r, share := range eff {
			if share > 0 {
				if s.only[g] == -1 {
					s.only[g] = r
				} else {
					s.only[g] = -2
				}
			}
		}
		if s.only[g] == -2 {
			s.only[g] = -1
		}
	}
	return s
}

func (d *Director) regionMap(row []float64) map[string]float64 {
	m := make(map[string]float64, len(row))
	for r, v := range row {
		m[d.w.regions[r].Name] = v
	}
	return m
}

func (d *Director) effectiveMap(s *snapshot) map[string]map[string]float64 {
	m := make(map[string]map[string]float64, len(s.eff))
	for g, row := range s.eff {
		m[d.w.geos[g].Name] = d.regionMap(row)
	}
	return m
}

func (d *Director) trafficMap(s *snapshot) map[string]float64 {
	t := make([]float64, len(d.w.regions))
	total := sum(d.w.load)
	for g, row := range s.eff {
		for r, share := range row {
			t[r] += d.w.load[g] * share / total
		}
	}
	return d.regionMap(t)
}

func (d *Director) unknownGeo(geo string) error {
	if geo == "" {
		return fmt.Errorf("%w: no geo given (known geos: %s)", ErrUnknownGeo, d.geoNames())
	}
	return fmt.Errorf("%w %q (known geos: %s)", ErrUnknownGeo, geo, d.geoNames())
}

func (d *Director) unknownRegion(region string) error {
	names := make([]string, len(d.w.regions))
	for i, r := range d.w.regions {
		names[i] = r.Name
	}
	if region == "" {
		return fmt.Errorf("%w: no region given (known regions: %s)", ErrUnknownRegion, strings.Join(names, ", "))
	}
	return fmt.Errorf("%w %q (known regions: %s)", ErrUnknownRegion, region, strings.Join(names, ", "))
}

func (d *Director) geoNames() string {
	names := make([]string, len(d.w.geos))
	for i, g := range d.w.geos {
		names[i] = g.Name
	}
	return strings.Join(names, ", ")
}

// pct formats a share as a percentage with at most two decimals.
func pct(x float64) string {
	return strconv.FormatFloat(math.Round(x*10000)/100, 'f', -1, 64) + "%"
}

func copyMap(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyNested(m map[string]map[string]float64) map[string]map[string]float64 {
	out := make(map[string]map[string]float64, len(m))
	for k, v := range m {
		out[k] = copyMap(v)
	}
	return out
}
