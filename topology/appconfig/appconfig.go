// Package appconfig derives the reference application's configurations
// (member service, gateway, director) from a world's plan, whatever its
// addresses are: both backends write these. It is apart from topology so
// that the world's model (spec, plan, Cluster) does not bring in the
// application and its clients.
package appconfig

import (
	"slices"

	"encoding/json"
	"fmt"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/invalidation"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

// Member is the configuration of member service instance c of plan p.
func Member(p *topology.Plan, c topology.Component) member.Config {
	addrs := topology.PlanAddrs{Plan: p}
	cfg := member.Config{
		Region: c.Region, Zone: c.Zone, Instance: c.ID,
		Cassandra: addrs.CQLContactPoints(c.Region),
		Keyspace:  p.Spec.Cassandra.Keyspace,
		Memcached: addrs.MemcachedAddrs(c.Region),
		OwnSQS:    addrs.SQSEndpoint(c.Region, c.Region),
		Queue:     topology.InvalidationQueue(c.Region),
	}
	if slices.Contains(p.Spec.Memcached.Replicate, topology.DataSetProfiles) {
		cfg.CacheMode = member.ModeReplicate
	}
	for _, r := range p.Spec.RegionNames() {
		if r != c.Region {
			cfg.Targets = append(cfg.Targets, invalidation.Target{
				Region: r, Endpoint: addrs.SQSEndpoint(c.Region, r), Queue: topology.InvalidationQueue(r)})
		}
	}
	return cfg
}

// Director is the director's table of plan p: one geo per region, named
// like it, and each region's gateway and capacity.
func Director(p *topology.Plan) director.Config {
	var cfg director.Config
	for _, g := range p.Gateways {
		r, _ := p.Spec.Region(g.Region)
		cfg.Regions = append(cfg.Regions, director.Region{Name: g.Region, Gateway: "http://" + g.Address, Capacity: float64(r.Capacity)})
	}
	return cfg
}

// Gateway is the configuration of region gateway g of plan p: its members,
// and every other region's gateway both through the isthmus link (to
// proxy) and directly (to redirect). Geos are named like their home
// region; the maximum traffic level is the region's capacity (0: unlimited).
func Gateway(p *topology.Plan, g topology.Component) gateway.Config {
	r, _ := p.Spec.Region(g.Region)
	cfg := gateway.Config{Region: g.Region, PeerProxy: map[string]string{}, PeerPublic: map[string]string{},
		Homes: map[string]string{}, MaxRPS: r.Capacity}
	for _, m := range p.Members {
		if m.Region == g.Region {
			cfg.Members = append(cfg.Members, gateway.Member{Zone: m.Zone, Instance: m.ID, BaseURL: "http://" + m.Address})
		}
	}
	for _, other := range p.Gateways {
		cfg.Homes[other.Region] = other.Region
		if other.Region != g.Region {
			cfg.PeerProxy[other.Region] = "http://" + p.IsthmusLinks[topology.LinkName(g.Region, other.Region)]
			cfg.PeerPublic[other.Region] = "http://" + other.Address
		}
	}
	return cfg
}

// File is the JSON configuration file of application component c of plan
// p (`kong serve member|gateway|director --config FILE`), holding the
// world's secret, which guards the component's admin endpoints.
func File(p *topology.Plan, c topology.Component, secret string) ([]byte, error) {
	var cfg any
	switch c.Kind {
	case topology.KindMember:
		m := Member(p, c)
		m.AdminSecret = secret
		cfg = m
	case topology.KindGateway:
		g := Gateway(p, c)
		g.AdminSecret = secret
		cfg = g
	case topology.KindDirector:
		d := Director(p)
		d.AdminSecret = secret
		cfg = d
	default:
		return nil, fmt.Errorf("%s is not an application component", c.ID)
	}
	return json.MarshalIndent(cfg, "", "  ")
}
