package steer

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/topology"
)

// world is a topology.Cluster that only knows its secret; the faults here
// reach the director by the address in their target.
type world struct{ topology.Cluster }

func (world) Secret() string { return "s3cret" }

// globalDirector serves a real director of three regions (capacities
// 400/300/200) and returns the target that names it.
func globalDirector(t *testing.T) (*director.Director, fault.Target) {
	t.Helper()
	d, err := director.New(director.Config{Regions: []director.Region{
		{Name: "us-east-1", Gateway: "http://127.0.0.1:1", Capacity: 400},
		{Name: "us-west-2", Gateway: "http://127.0.0.1:2", Capacity: 300},
		{Name: "eu-west-1", Gateway: "http://127.0.0.1:3", Capacity: 200},
	}, AdminSecret: "s3cret"})
	require.NoError(t, err)
	srv := httptest.NewServer(app.GuardAdmin("s3cret", d.Handler(nil)))
	t.Cleanup(srv.Close)
	return d, fault.Target{Components: []topology.Component{{ID: "director", Kind: topology.KindDirector,
		Address: strings.TrimPrefix(srv.URL, "http://")}}}
}

func TestFlatCapacitySplitsEvenlyAndHeals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, target := globalDirector(t)
	_, err := d.Evacuate("us-east-1", 1)
	require.NoError(t, err)
	share := func() map[string]float64 { return d.Table().Effective["us-east-1"] }
	require.InDelta(t, 0.75, share()["us-west-2"], 1e-9, "by spare capacity")

	f := FlattenCapacity(world{}, target)
	require.Equal(t, []string{"director"}, f.Target().IDs())
	require.NoError(t, f.Setup(ctx))
	require.NoError(t, f.Inject(ctx))
	require.NoError(t, f.WaitInjected(ctx))
	require.Equal(t, map[string]float64{"us-east-1": 400, "us-west-2": 400, "eu-west-1": 400}, d.Table().Capacity)
	require.InDelta(t, 0.5, share()["us-west-2"], 1e-9, "evenly")
	require.InDelta(t, 0.5, share()["eu-west-1"], 1e-9, "evenly")

	require.NoError(t, f.Recover(ctx))
	require.NoError(t, f.WaitRecovered(ctx))
	require.Equal(t, map[string]float64{"us-east-1": 400, "us-west-2": 300, "eu-west-1": 200}, d.Table().Capacity)
	require.InDelta(t, 0.75, share()["us-west-2"], 1e-9, "by spare capacity again")
}

func TestBounceSessionsSwitchesTheDirector(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, target := globalDirector(t)
	f := BounceSessions(world{}, target)
	require.NoError(t, f.Setup(ctx))
	require.NoError(t, f.Inject(ctx))
	require.NoError(t, f.WaitInjected(ctx))
	require.True(t, d.Table().Bounce)
	require.NoError(t, f.Recover(ctx))
	require.NoError(t, f.WaitRecovered(ctx))
	require.False(t, d.Table().Bounce)
}

func TestSteeringFaultsNeedTheDirector(t *testing.T) {
	member := fault.Target{Components: []topology.Component{{ID: "us-east-1/member/a", Kind: topology.KindMember}}}
	require.ErrorContains(t, BounceSessions(nil, member).Setup(context.Background()), "0 directors in")
	require.ErrorContains(t, FlattenCapacity(nil, member).Setup(context.Background()), "0 directors in")
	for _, name := range []string{"bounce-sessions", "flat-capacity"} {
		e, err := fault.Lookup(name)
		require.NoError(t, err, "registered in the catalogue")
		require.Equal(t, []fault.Scope{fault.ScopeWorld}, e.Targets)
	}
}
