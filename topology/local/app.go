package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/invalidation"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// The reference application runs from the kong binary, one process per
// instance (`kong serve member|gateway|director --config FILE`), each with a
// JSON configuration the world writes from its plan.

// memberConfig is the configuration of one member service instance.
func memberConfig(p *topology.Plan, c topology.Component) member.Config {
	cfg := member.Config{
		Region: c.Region, Zone: c.Zone, Instance: c.ID,
		Cassandra: contactPoints(p, c.Region),
		Keyspace:  p.Spec.Cassandra.Keyspace,
		Memcached: memcachedAddrs(p, c.Region),
		OwnSQS:    sqsEndpoint(p, c.Region, c.Region),
		Queue:     topology.InvalidationQueue(c.Region),
	}
	for _, r := range p.Spec.RegionNames() {
		if r != c.Region {
			cfg.Targets = append(cfg.Targets, invalidation.Target{
				Region: r, Endpoint: sqsEndpoint(p, c.Region, r), Queue: topology.InvalidationQueue(r)})
		}
	}
	return cfg
}

// directorConfig is the director's table: one geo per region, named like
// it, and each region's gateway and capacity.
func directorConfig(p *topology.Plan) director.Config {
	var cfg director.Config
	for _, g := range p.Gateways {
		r, _ := p.Spec.Region(g.Region)
		cfg.Regions = append(cfg.Regions, director.Region{Name: g.Region, Gateway: "http://" + g.Address, Capacity: float64(r.Capacity)})
	}
	return cfg
}

// gatewayConfig is a region's gateway: its members, and every other region's
// gateway both through the isthmus link (to proxy) and directly (to redirect).
// Geos are named like their home region; the maximum traffic level is the
// region's capacity (0: unlimited).
func gatewayConfig(p *topology.Plan, g topology.Component) gateway.Config {
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

// writeConfig stores a component's JSON configuration and returns its path.
func (w *World) writeConfig(id string, cfg any) (string, error) {
	dir := w.nodeDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.json")
	// 0600: it holds the world's secret.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write configuration of %s: %w", id, err)
	}
	return path, nil
}

// createAppSchema creates the application's tables once, before any member
// starts (concurrent schema changes from several members could disagree).
func createAppSchema(ctx context.Context, p *topology.Plan) error {
	s, err := cql.NodeSession(p.Cassandra[0].Address)
	if err != nil {
		return err
	}
	defer cql.CloseSession(s)
	for _, q := range member.Schema(p.Spec.Cassandra.Keyspace) {
		if err := s.Query(q).Consistency(gocql.Quorum).ExecContext(ctx); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return s.AwaitSchemaAgreement(ctx)
}

// httpReady checks that an application server answers GET /healthz.
func httpReady(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz: %s", resp.Status)
	}
	return nil
}
