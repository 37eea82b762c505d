package gateway

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/kongchaos/kong/app"
)

// AdminClient calls a gateway's admin API with the world's secret.
type AdminClient struct{ c app.Client }

// NewAdminClient returns a client of the gateway at base (scheme://host:port).
func NewAdminClient(base, secret string) AdminClient {
	return AdminClient{app.NewClient(base, secret)}
}

// Config is GET /admin/config: the configuration in force.
func (a AdminClient) Config(ctx context.Context) (ConfigView, error) {
	return app.Call[ConfigView](ctx, a.c, http.MethodGet, "/admin/config", nil)
}

// Update is PUT /admin/config: it applies p and returns the configuration
// then in force.
func (a AdminClient) Update(ctx context.Context, p Patch) (ConfigView, error) {
	return app.Call[ConfigView](ctx, a.c, http.MethodPut, "/admin/config", p)
}

// Members is GET /admin/members: the member instances and their health.
func (a AdminClient) Members(ctx context.Context) ([]MemberState, error) {
	return app.Call[[]MemberState](ctx, a.c, http.MethodGet, "/admin/members", nil)
}

// Has reports whether d holds every value p sets.
func (d Dynamic) Has(p Patch) bool {
	return (p.Mode == nil || *p.Mode == d.Mode) && (p.Failover == nil || *p.Failover == d.Failover) &&
		(p.MaxRPS == nil || *p.MaxRPS == d.MaxRPS) && (p.MaxConcurrency == nil || *p.MaxConcurrency == d.MaxConcurrency) &&
		(p.HomeOverrides == nil || maps.Equal(*p.HomeOverrides, d.HomeOverrides)) &&
		(p.MemberTryMS == nil || *p.MemberTryMS == d.MemberTryMS)
}

// Patch is the patch that puts every runtime setting back to d (its home
// overrides too: none clears them).
func (d Dynamic) Patch() Patch {
	homes := maps.Clone(d.HomeOverrides)
	if homes == nil {
		homes = map[string]string{}
	}
	return Patch{Mode: &d.Mode, Failover: &d.Failover, MaxRPS: &d.MaxRPS, MaxConcurrency: &d.MaxConcurrency,
		HomeOverrides: &homes, MemberTryMS: &d.MemberTryMS}
}

// String lists the settings p changes, such as "mode=redirect failover=false".
func (p Patch) String() string {
	var parts []string
	if p.Mode != nil {
		parts = append(parts, "mode="+*p.Mode)
	}
	if p.Failover != nil {
		parts = append(parts, "failover="+strconv.FormatBool(*p.Failover))
	}
	if p.MaxRPS != nil {
		parts = append(parts, "max_rps="+strconv.Itoa(*p.MaxRPS))
	}
	if p.MaxConcurrency != nil {
		parts = append(parts, "max_concurrency="+strconv.Itoa(*p.MaxConcurrency))
	}
	if p.HomeOverrides != nil {
		parts = append(parts, fmt.Sprintf("home_overrides=%v", *p.HomeOverrides))
	}
	if p.MemberTryMS != nil {
		parts = append(parts, "member_try_ms="+strconv.Itoa(*p.MemberTryMS))
	}
	return strings.Join(parts, " ")
}
