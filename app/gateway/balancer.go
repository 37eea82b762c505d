package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kongchaos/kong/app"
)

// instance is one member instance and its health as the gateway sees it.
type instance struct {
	Member
	url *url.URL

	healthy  atomic.Bool
	checks   atomic.Int64 // health checks done
	requests atomic.Int64 // requests sent to it (attempts, retries included)

	mu        sync.Mutex
	lastError string    // last health-check or connection failure
	since     time.Time // time of the last health transition
}

func (in *instance) setHealth(ok bool, reason string, now time.Time) (changed bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !ok {
		in.lastError = reason
	}
	if in.healthy.Load() == ok {
		return false
	}
	in.healthy.Store(ok)
	in.since = now
	return true
}

type zoneGroup struct {
	name  string
	insts []*instance
	next  atomic.Uint64
}

// balancer is a zone-aware round robin: over zones first, then over the
// instances of the chosen zone, skipping unhealthy instances.
type balancer struct {
	zones  []*zoneGroup
	all    []*instance
	byHost map[string]*instance
	next   atomic.Uint64
}

func newBalancer(members []Member) (*balancer, error) {
	b := &balancer{byHost: map[string]*instance{}}
	zones := map[string]*zoneGroup{}
	for _, m := range members {
		u, err := url.Parse(m.BaseURL)
		if err != nil {
			return nil, err
		}
		in := &instance{Member: m, url: u}
		in.healthy.Store(true) // optimistic until the first check says otherwise
		b.all = append(b.all, in)
		b.byHost[u.Host] = in
		z := zones[m.Zone]
		if z == nil {
			z = &zoneGroup{name: m.Zone}
			zones[m.Zone] = z
			b.zones = append(b.zones, z)
		}
		z.insts = append(z.insts, in)
	}
	sort.Slice(b.zones, func(i, j int) bool { return b.zones[i].name < b.zones[j].name })
	return b, nil
}

// pick returns the next instance other than exclude: a healthy one if any,
// else (panic mode) any instance at all. It returns nil only when exclude is
// the sole instance.
func (b *balancer) pick(exclude *instance) *instance {
	n := uint64(len(b.zones))
	start := b.next.Add(1) - 1
	for _, needHealthy := range [2]bool{true, false} {
		for i := range n {
			if in := b.zones[(start+i)%n].pick(exclude, needHealthy); in != nil {
				return in
			}
		}
	}
	return nil
}

func (z *zoneGroup) pick(exclude *instance, needHealthy bool) *instance {
	m := uint64(len(z.insts))
	if m == 1 { // common case: one instance per zone
		in := z.insts[0]
		if in == exclude || (needHealthy && !in.healthy.Load()) {
			return nil
		}
		return in
	}
	start := z.next.Add(1) - 1
	for j := range m {
		in := z.insts[(start+j)%m]
		if in == exclude || (needHealthy && !in.healthy.Load()) {
			continue
		}
		return in
	}
	return nil
}

// healthLoop checks one instance every interval until ctx ends.
func (g *Gateway) healthLoop(ctx context.Context, in *instance) {
	defer g.wg.Done()
	t := time.NewTicker(g.cfg.HealthInterval)
	defer t.Stop()
	for {
		g.checkHealth(ctx, in)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *Gateway) checkHealth(ctx context.Context, in *instance) {
	cctx, cancel := context.WithTimeout(ctx, g.cfg.Timeouts.Health)
	defer cancel()
	ok, reason := true, ""
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, in.BaseURL+app.PathHealth, nil)
	if err == nil {
		var resp *http.Response
		resp, err = g.healthClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				ok, reason = false, fmt.Sprintf("health check: HTTP %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: not the instance's fault
		}
		ok, reason = false, "health check: "+err.Error()
	}
	in.checks.Add(1)
	g.setHealth(in, ok, reason)
}

func (g *Gateway) setHealth(in *instance, ok bool, reason string) {
	if !in.setHealth(ok, reason, g.now()) {
		return
	}
	if ok {
		g.log.Info("member instance healthy", "region", g.cfg.Region, "zone", in.Zone, "instance", in.Instance)
	} else {
		g.log.Warn("member instance unhealthy", "region", g.cfg.Region, "zone", in.Zone, "instance", in.Instance, "reason", reason)
	}
}

// MemberState is one member instance as GET /admin/members shows it.
type MemberState struct {
	Member
	Healthy   bool      `json:"healthy"`
	Since     time.Time `json:"since,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	Checks    int64     `json:"checks"`
	Requests  int64     `json:"requests"`
}

// Members returns the member instances and their health.
func (g *Gateway) Members() []MemberState {
	out := make([]MemberState, 0, len(g.bal.all))
	for _, in := range g.bal.all {
		in.mu.Lock()
		s := MemberState{
			Member: in.Member, Healthy: in.healthy.Load(), Since: in.since,
			LastError: in.lastError, Checks: in.checks.Load(), Requests: in.requests.Load(),
		}
		in.mu.Unlock()
		out = append(out, s)
	}
	return out
}
