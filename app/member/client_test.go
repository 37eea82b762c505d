package member

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
)

func TestAdminClientSetsAndReadsTheFaults(t *testing.T) {
	srv := httptest.NewServer(app.GuardAdmin("s3cret", offline(t).Handler()))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := NewAdminClient(srv.URL, "s3cret")

	f := Faults{ErrorRate: 0.5, SlowRate: 0.1, SlowMS: 200, WriteConsistency: "QUORUM"}
	require.NoError(t, c.SetFaults(ctx, f))
	got, err := c.Faults(ctx)
	require.NoError(t, err)
	require.Equal(t, f, got)
	require.Equal(t, "error_rate=0.5 slow_rate=0.1 slow_ms=200 write_consistency=QUORUM", got.String())

	require.NoError(t, c.SetFaults(ctx, Faults{}))
	got, err = c.Faults(ctx)
	require.NoError(t, err)
	require.Equal(t, Faults{}, got)
	require.Equal(t, "none", got.String())

	require.ErrorContains(t, NewAdminClient(srv.URL, "").SetFaults(ctx, f), "401")
	require.ErrorContains(t, c.SetFaults(ctx, Faults{ErrorRate: 2}), "400 Bad Request")
}
