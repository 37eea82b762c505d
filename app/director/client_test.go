package director

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
)

func TestAdminClientSteersTheDirector(t *testing.T) {
	d := mustNew(t, twoRegions())
	srv := httptest.NewServer(app.GuardAdmin("s3cret", d.Handler(nil)))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := NewAdminClient(srv.URL, "s3cret")

	r, err := c.Route(ctx, east, "session 1")
	require.NoError(t, err)
	require.Equal(t, RouteResponse{Geo: east, Region: east, Gateway: "http://127.101.1.1:8000"}, r)

	mustChange(t)(c.Evacuate(ctx, east, 0.5))
	mustChange(t)(c.SetOverride(ctx, west, east))
	tb, err := c.Table(ctx)
	require.NoError(t, err)
	require.Equal(t, d.Table(), tb)
	require.Equal(t, 0.5, tb.Evacuated[east])
	require.Equal(t, map[string]string{west: east}, tb.Overrides)

	mustChange(t)(c.Restore(ctx, east))
	mustChange(t)(c.ClearOverride(ctx, west))
	mustChange(t)(c.SetWeights(ctx, east, map[string]float64{east: 1, west: 1}))
	tb, err = c.Table(ctx)
	require.NoError(t, err)
	require.Equal(t, 0.0, tb.Evacuated[east])
	require.Empty(t, tb.Overrides)
	require.Equal(t, map[string]float64{east: 0.5, west: 0.5}, tb.Weights[east])

	_, err = NewAdminClient(srv.URL, "").Table(ctx)
	require.ErrorContains(t, err, "401")
	_, err = c.Evacuate(ctx, "mars", 1)
	require.ErrorContains(t, err, "400 Bad Request")
}
