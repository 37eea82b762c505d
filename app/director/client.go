package director

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kongchaos/kong/app"
)

// AdminClient calls a director's HTTP API with the world's secret: its
// admin endpoints, and the route a user of a geo is given.
type AdminClient struct{ c app.Client }

// NewAdminClient returns a client of the director at base (scheme://host:port).
func NewAdminClient(base, secret string) AdminClient {
	return AdminClient{app.NewClient(base, secret)}
}

// Route is GET /v1/route: where the director sends the user key of geo.
func (a AdminClient) Route(ctx context.Context, geo, key string) (RouteResponse, error) {
	return app.Call[RouteResponse](ctx, a.c, http.MethodGet, "/v1/route?geo="+url.QueryEscape(geo)+"&key="+url.QueryEscape(key), nil)
}

// Table is GET /admin/table: the director's whole state.
func (a AdminClient) Table(ctx context.Context) (Table, error) {
	return app.Call[Table](ctx, a.c, http.MethodGet, "/admin/table", nil)
}

// SetWeights is PUT /admin/weights: geo's distribution over regions.
func (a AdminClient) SetWeights(ctx context.Context, geo string, weights map[string]float64) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPut, "/admin/weights", WeightsRequest{Geo: geo, Weights: weights})
}

// SetOverride is PUT /admin/override: every user of geo goes to region.
func (a AdminClient) SetOverride(ctx context.Context, geo, region string) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPut, "/admin/override", OverrideRequest{Geo: geo, Region: region})
}

// ClearOverride is DELETE /admin/override: geo follows its weights again.
func (a AdminClient) ClearOverride(ctx context.Context, geo string) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodDelete, "/admin/override?geo="+url.QueryEscape(geo), nil)
}

// Evacuate is POST /admin/evacuate: fraction (0..1) of region's users go
// to the other regions.
func (a AdminClient) Evacuate(ctx context.Context, region string, fraction float64) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPost, "/admin/evacuate", EvacuateRequest{Region: region, Fraction: &fraction})
}

// Restore is POST /admin/restore: region gets its users back.
func (a AdminClient) Restore(ctx context.Context, region string) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPost, "/admin/restore", RestoreRequest{Region: region})
}
