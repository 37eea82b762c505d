package gateway

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
)

func TestAdminClientChangesAndPutsBackTheSettings(t *testing.T) {
	m := newStub(t, east, "east-a", "e1", 0)
	gw, err := New(Config{Region: east, Members: members(m), Homes: map[string]string{"NY": east}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	srv := httptest.NewServer(app.GuardAdmin("s3cret", gw))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := NewAdminClient(srv.URL, "s3cret")

	before, err := c.Config(ctx)
	require.NoError(t, err)
	require.Equal(t, before.Initial, before.Dynamic)
	p := Patch{Mode: new(app.ModeRedirect), Failover: new(true), MaxRPS: new(50)}
	require.Equal(t, "mode=redirect failover=true max_rps=50", p.String())
	require.False(t, before.Has(p))
	now, err := c.Update(ctx, p)
	require.NoError(t, err)
	require.True(t, now.Has(p))
	require.False(t, now.Has(before.Patch()))

	back, err := c.Update(ctx, before.Dynamic.Patch())
	require.NoError(t, err)
	require.Equal(t, before.Dynamic, back.Dynamic)
	ms, err := c.Members(ctx)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, "e1", ms[0].Instance)

	_, err = NewAdminClient(srv.URL, "").Config(ctx)
	require.ErrorContains(t, err, "401")
	_, err = c.Update(ctx, Patch{Mode: new("sideways")})
	require.ErrorContains(t, err, "400 Bad Request")
}
