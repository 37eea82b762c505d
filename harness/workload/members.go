package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/harness/history"
)

// Population is the workload's simulated members and their device sessions,
// drawn from a seed: the same seed, size, geos and weights give the same
// population.
type Population struct {
	Members []*SimMember
	// Sessions are every member's device sessions; a session's Index is its
	// position here and the Process of its operations in the history.
	Sessions []*DeviceSession
}

// SimMember is one simulated member.
type SimMember struct {
	ID string
	// Geo is the member's home geo; geo names are region names, so it is
	// also the member's home region (Op.Home).
	Geo      string
	Sessions []*DeviceSession
}

// DeviceSession is one device of a member. It keeps the gateway the director
// gave it until the director's answer changes: it asks again every RouteTTL,
// after a redirect and after a connection failure, as a client honouring a
// DNS TTL would. Whether a session stays in one region is therefore up to the
// system (the director's answers), not forced by the client.
type DeviceSession struct {
	Index  int
	ID     string
	Member *SimMember

	seq atomic.Uint64 // last Seq used in the history

	mu       sync.Mutex
	region   string // region of the current route ("" before the first answer)
	gateway  string // its gateway base URL
	resolved time.Time
	stale    bool
	asks     int // director answers received
	changes  int // answers that moved the session to another region
}

// Route returns the session's current region and gateway ("" before the
// director was first asked).
func (s *DeviceSession) Route() (region, gateway string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.region, s.gateway
}

// RouteStats returns how many director answers the session got and how many
// of them moved it to another region.
func (s *DeviceSession) RouteStats() (asks, changes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asks, s.changes
}

// NewPopulation draws n members with home geos distributed by weights
// (nil: equal; geos missing from a non-nil map weigh 0) and 1-3 device
// sessions each. Member ids are prefix + index ("m" by default); session ids
// are "<member>.d<k>-<8 hex digits from the seed>", stable for the run.
func NewPopulation(seed uint64, n int, geos []string, weights map[string]float64, prefix string) (*Population, error) {
	if n <= 0 {
		return nil, fmt.Errorf("population: %d members: want at least 1", n)
	}
	if len(geos) == 0 {
		return nil, errors.New("population: no geos: name at least one (geo names are region names)")
	}
	if prefix == "" {
		prefix = "m"
	}
	if err := app.ValidMemberID(prefix + strconv.Itoa(n-1)); err != nil {
		return nil, fmt.Errorf("population: member prefix %q makes ids the member service refuses: %w", prefix, err)
	}
	seen := map[string]bool{}
	for _, g := range geos {
		if g == "" || seen[g] {
			return nil, fmt.Errorf("population: geos %q: names must be non-empty and distinct", geos)
		}
		seen[g] = true
	}
	cum := make([]float64, len(geos))
	total := 0.0
	for i, g := range geos {
		w := 1.0
		if weights != nil {
			w = weights[g]
		}
		if w < 0 || w != w {
			return nil, fmt.Errorf("population: geo %s: weight %v: want >= 0", g, w)
		}
		total += w
		cum[i] = total
	}
	for g := range weights {
		if !seen[g] {
			return nil, fmt.Errorf("population: weight for geo %q, which is not one of %q", g, geos)
		}
	}
	if total <= 0 {
		return nil, fmt.Errorf("population: geo weights %v add up to 0", weights)
	}
	rng := history.Rand(seed, "workload.members")
	p := &Population{Members: make([]*SimMember, 0, n)}
	for i := 0; i < n; i++ {
		x := rng.Float64() * total
		gi := sort.Search(len(cum), func(i int) bool { return cum[i] > x })
		if gi == len(cum) { // x rounded up to total
			gi = len(cum) - 1
			for gi > 0 && cum[gi-1] == cum[gi] {
				gi--
			}
		}
		m := &SimMember{ID: prefix + strconv.Itoa(i), Geo: geos[gi]}
		devices := 1 + rng.IntN(3)
		for k := 0; k < devices; k++ {
			s := &DeviceSession{Index: len(p.Sessions), Member: m,
				ID: fmt.Sprintf("%s.d%d-%08x", m.ID, k, rng.Uint32())}
			m.Sessions = append(m.Sessions, s)
			p.Sessions = append(p.Sessions, s)
		}
		p.Members = append(p.Members, m)
	}
	return p, nil
}

// route returns the session's region and gateway, asking the director when
// the session has none yet, its answer is older than the TTL, or it was
// marked stale. Concurrent operations of one session share one question.
// When the director cannot be reached the previous answer is kept for
// another TTL; with no previous answer the error is returned.
func (w *Workload) route(ctx context.Context, s *DeviceSession) (region, gateway string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gateway != "" && !s.stale && time.Since(s.resolved) < w.cfg.RouteTTL {
		return s.region, s.gateway, nil
	}
	w.stats.directorCalls.Add(1)
	ans, err := w.askDirector(ctx, s)
	if err != nil {
		w.stats.directorErrors.Add(1)
		if s.gateway != "" {
			// Serve stale: keep the old answer for another TTL rather than
			// make every operation wait for a director that does not answer.
			s.resolved = time.Now()
			return s.region, s.gateway, nil
		}
		return "", "", err
	}
	s.asks++
	if s.region != "" && s.region != ans.Region {
		s.changes++
		w.stats.routeChanges.Add(1)
	}
	s.region, s.gateway, s.resolved, s.stale = ans.Region, ans.Gateway, time.Now(), false
	return s.region, s.gateway, nil
}

// markStale makes the session ask the director before its next operation.
func (s *DeviceSession) markStale() {
	s.mu.Lock()
	s.stale = true
	s.mu.Unlock()
}

func (w *Workload) askDirector(ctx context.Context, s *DeviceSession) (director.RouteResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	defer cancel()
	u := w.directorURL + "?geo=" + url.QueryEscape(s.Member.Geo) + "&key=" + url.QueryEscape(s.ID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return director.RouteResponse{}, fmt.Errorf("director: %w", err)
	}
	req.Header.Set(app.HeaderGeo, s.Member.Geo)
	req.Header.Set(app.HeaderSession, s.ID)
	resp, err := w.client.Do(req)
	if err != nil {
		return director.RouteResponse{}, fmt.Errorf("director: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return director.RouteResponse{}, fmt.Errorf("director: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return director.RouteResponse{}, fmt.Errorf("director: HTTP %d: %s", resp.StatusCode, firstLine(string(body), 200))
	}
	var ans director.RouteResponse
	if err := json.Unmarshal(body, &ans); err != nil {
		return director.RouteResponse{}, fmt.Errorf("director: bad answer %q: %w", firstLine(string(body), 200), err)
	}
	if ans.Region == "" || ans.Gateway == "" {
		return director.RouteResponse{}, fmt.Errorf("director: answer without region or gateway: %s", firstLine(string(body), 200))
	}
	return ans, nil
}
