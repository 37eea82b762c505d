package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/topology"
)

// Faults that change how traffic flows rather than what runs: a gateway's
// runtime settings (mode, failover, shedding, ignoring the users' geo), the
// director sending a geo to the wrong region or bouncing sessions between
// regions, and a surge of extra users with a cold cache.

func init() {
	Register(Entry{Name: "gateway-settings", Targets: []Scope{ScopeRegion},
		Description: "change the runtime settings of a region's gateway (mode, failover, shedding); put back as they were",
		Params: []Param{{Name: "mode", Help: "isthmus or redirect, for users of another region"},
			{Name: "failover", Default: "true", Help: "serve every user locally, whatever their home"},
			{Name: "max_rps", Help: "maximum accepted request rate (0: unlimited)"},
			{Name: "max_concurrency", Help: "maximum of user requests in flight (0: unlimited)"},
			{Name: "member_try_ms", Help: "try timeout of member reads (0: off)"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			region, err := t.Region()
			return ChangeGateways(c, []string{region}, gateway.Patch{Mode: optional(a, "mode", a.String),
				Failover: optional(a, "failover", a.Bool), MaxRPS: optional(a, "max_rps", a.Int),
				MaxConcurrency: optional(a, "max_concurrency", a.Int), MemberTryMS: optional(a, "member_try_ms", a.Int)}), err
		}})
	Register(Entry{Name: "ignore-geo", Targets: []Scope{ScopeRegion},
		Description: "a region's gateway ignores X-Kong-Geo and serves every user as its own, answering as their home region",
		New: func(c topology.Cluster, t Target, _ *Args) (Fault, error) {
			region, err := t.Region()
			return IgnoreGeo(c, []string{region}), err
		}})
	Register(Entry{Name: "misroute", Targets: []Scope{ScopeRegion},
		Description: "the director sends a geo's users to the selected region, which must proxy, redirect or serve them",
		Params:      []Param{{Name: "geo", Help: "the geo sent there (default: the region after it in the world's order)"}},
		New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
			region, err := t.Region()
			geo := a.String("geo")
			if geo == "" {
				regions := c.Spec().RegionNames()
				geo = regions[(slices.Index(regions, region)+1)%len(regions)]
			}
			return MisrouteGeo(c, geo, region), err
		}})
}

// GatewayChange sets the runtime settings of the gateways of some regions
// (a mode, failover, a shedding limit) and puts back what they were on
// recovery. Scenarios use it to set a region up (the shedding limit of a
// thundering herd, the mode of misrouted traffic) and broken-world tests to
// switch a protection off.
type GatewayChange struct {
	name     string
	cluster  topology.Cluster
	regions  []string
	settings gateway.Patch

	mu       sync.Mutex
	gateways map[string]gateway.AdminClient // region -> its gateway
	before   map[string]gateway.Dynamic     // region -> settings before
}

// ChangeGateways builds a GatewayChange of the gateways of regions; the
// settings s leaves nil are left as they are.
func ChangeGateways(c topology.Cluster, regions []string, s gateway.Patch) *GatewayChange {
	return &GatewayChange{name: "gateway-settings", cluster: c, regions: append([]string(nil), regions...), settings: s}
}

// IgnoreGeo makes the gateways of regions ignore X-Kong-Geo: they serve
// every user locally, as if their region were the user's home, and mark
// the answer a home one (X-Kong-Route: local, no failover). A broken world:
// users of another region are served from data their home did not write.
// Recover puts the setting back as it was.
func IgnoreGeo(c topology.Cluster, regions []string) *GatewayChange {
	g := ChangeGateways(c, regions, gateway.Patch{IgnoreGeo: new(true)})
	g.name = "ignore-geo"
	return g
}

// Name implements Fault.
func (g *GatewayChange) Name() string { return g.name }

// Target implements Fault.
func (g *GatewayChange) Target() Target { return Target{Regions: g.regions} }

// Args implements FaultArgs.
func (g *GatewayChange) Args() map[string]string {
	return map[string]string{"settings": g.settings.String()}
}

// Setup implements Fault: find the gateways and remember their settings.
func (g *GatewayChange) Setup(ctx context.Context) error {
	if g.settings == (gateway.Patch{}) {
		return errors.New(g.name + ": nothing to change")
	}
	gws, err := gatewaysOf(ctx, g.cluster, g.regions)
	if err != nil {
		return err
	}
	before := map[string]gateway.Dynamic{}
	for region, gw := range gws {
		c, err := gw.Config(ctx)
		if err != nil {
			return fmt.Errorf("%s: read the gateway of %s: %w", g.name, region, err)
		}
		before[region] = c.Dynamic
	}
	g.mu.Lock()
	g.gateways, g.before = gws, before
	g.mu.Unlock()
	return nil
}

func (g *GatewayChange) put(ctx context.Context, want func(region string) gateway.Patch) error {
	g.mu.Lock()
	gws := g.gateways
	g.mu.Unlock()
	var errs []error
	for region, gw := range gws {
		if _, err := gw.Update(ctx, want(region)); err != nil {
			errs = append(errs, fmt.Errorf("%s: set %s on the gateway of %s: %w", g.name, want(region), region, err))
		}
	}
	return errors.Join(errs...)
}

func (g *GatewayChange) wait(ctx context.Context, want func(region string) gateway.Patch) error {
	g.mu.Lock()
	gws := g.gateways
	g.mu.Unlock()
	return PollUntil(ctx, "gateways of "+strings.Join(g.regions, ",")+" reporting their settings", func(ctx context.Context) error {
		for region, gw := range gws {
			c, err := gw.Config(ctx)
			if err != nil {
				return err
			}
			if w := want(region); !c.Has(w) {
				return fmt.Errorf("the gateway of %s reports %+v, not %s", region, c.Dynamic, w)
			}
		}
		return nil
	})
}

func (g *GatewayChange) wanted(string) gateway.Patch { return g.settings }

func (g *GatewayChange) previous(region string) gateway.Patch {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.before[region].Patch()
}

// Inject implements Fault.
func (g *GatewayChange) Inject(ctx context.Context) error { return g.put(ctx, g.wanted) }

// WaitInjected implements Fault: every gateway reports the new settings.
func (g *GatewayChange) WaitInjected(ctx context.Context) error { return g.wait(ctx, g.wanted) }

// Recover implements Fault: the settings from before.
func (g *GatewayChange) Recover(ctx context.Context) error { return g.put(ctx, g.previous) }

// WaitRecovered implements Fault.
func (g *GatewayChange) WaitRecovered(ctx context.Context) error { return g.wait(ctx, g.previous) }

// Cleanup implements Fault.
func (g *GatewayChange) Cleanup(context.Context) error { return nil }

// gatewaysOf maps each of regions to its gateway's admin client.
func gatewaysOf(ctx context.Context, c topology.Cluster, regions []string) (map[string]gateway.AdminClient, error) {
	comps, err := worldComponents(ctx, c)
	if err != nil {
		return nil, err
	}
	out := map[string]gateway.AdminClient{}
	for _, r := range regions {
		for _, comp := range comps {
			if comp.Kind == topology.KindGateway && comp.Region == r {
				out[r] = gatewayAdmin(c, comp.Component)
			}
		}
		if _, ok := out[r]; !ok {
			return nil, fmt.Errorf("region %s of world %s runs no gateway (regions: %s)", r, c.Name(), strings.Join(c.Spec().RegionNames(), ", "))
		}
	}
	return out, nil
}

// Misroute makes the director send the members of one geo to another
// region (a stale DNS answer, a misconfigured client): the entry region's
// gateway must then proxy them home (isthmus), redirect them, or serve them
// itself in failover mode. Recover clears the override.
type Misroute struct {
	cluster     topology.Cluster
	geo, region string
	dir         director.AdminClient
}

// MisrouteGeo sends the members of geo to region.
func MisrouteGeo(c topology.Cluster, geo, region string) *Misroute {
	return &Misroute{cluster: c, geo: geo, region: region}
}

// Name implements Fault.
func (m *Misroute) Name() string { return "misroute" }

// Target implements Fault: the region that receives the wrong users.
func (m *Misroute) Target() Target { return Target{Regions: []string{m.region}} }

// Args implements FaultArgs.
func (m *Misroute) Args() map[string]string { return map[string]string{"geo": m.geo, "to": m.region} }

// Setup implements Fault.
func (m *Misroute) Setup(ctx context.Context) error {
	for _, r := range []string{m.geo, m.region} {
		if _, ok := m.cluster.Spec().Region(r); !ok {
			return fmt.Errorf("misroute: world %s has no region %s (its regions are %s)", m.cluster.Name(), r, strings.Join(m.cluster.Spec().RegionNames(), ", "))
		}
	}
	if m.geo == m.region {
		return fmt.Errorf("misroute: geo %s already goes to %s", m.geo, m.region)
	}
	d, err := topology.Director(ctx, m.cluster)
	m.dir = directorAdmin(m.cluster, d)
	return err
}

func (m *Misroute) routesTo(ctx context.Context, want string) error {
	return PollUntil(ctx, fmt.Sprintf("the director sending geo %s to %s", m.geo, want), func(ctx context.Context) error {
		a, err := m.dir.Route(ctx, m.geo, "kong-misroute-probe")
		if err != nil {
			return err
		}
		if a.Region != want {
			return fmt.Errorf("the director sends geo %s to %s", m.geo, a.Region)
		}
		return nil
	})
}

// Inject implements Fault.
func (m *Misroute) Inject(ctx context.Context) error {
	_, err := m.dir.SetOverride(ctx, m.geo, m.region)
	return err
}

// WaitInjected implements Fault: the director answers the wrong region.
func (m *Misroute) WaitInjected(ctx context.Context) error { return m.routesTo(ctx, m.region) }

// Recover implements Fault.
func (m *Misroute) Recover(ctx context.Context) error {
	_, err := m.dir.ClearOverride(ctx, m.geo)
	return err
}

// WaitRecovered implements Fault: the director sends the geo home again.
func (m *Misroute) WaitRecovered(ctx context.Context) error { return m.routesTo(ctx, m.geo) }

// Cleanup implements Fault.
func (m *Misroute) Cleanup(context.Context) error { return nil }
