package preflight

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

func TestFindingsReadAsOneLineEach(t *testing.T) {
	require.Equal(t, "kong-latency-upstream (latency, upstream, toxicity 0.5; jitter=50 latency=150)",
		describeToxic(toxiclient.Toxic{Name: "kong-latency-upstream", Type: "latency", Stream: "upstream", Toxicity: 0.5,
			Attributes: toxiclient.Attributes{"latency": 150, "jitter": 50}}))
	require.Equal(t, "a, b, c", listSome([]string{"a", "b", "c"}))
	require.Equal(t, "a, b, c and 2 more", listSome([]string{"a", "b", "c", "d", "e"}))
	fs := findings{{text: "link x: cut"}, {text: "member m: error_rate=0.5"}, {text: "link x: cut"}}
	require.Equal(t, []string{"link x: cut", "member m: error_rate=0.5"}, fs.dedup().lines())
	require.Nil(t, findings(nil).lines())
}

// A member left with any fault or broken-world switch on is found, named,
// and reset: one finding whose fix clears every field.
func TestEveryMemberSwitchLeftOnIsFound(t *testing.T) {
	require.Nil(t, memberFindings("us-east-1/member/a", member.Faults{}, nil))
	for want, f := range map[string]member.Faults{
		"drop_write_rate=0.01":       {DropWriteRate: 0.01},
		"no_invalidations=true":      {NoInvalidations: true},
		"cache_one_zone=true":        {CacheOneZone: true},
		"error_rate=0.5":             {ErrorRate: 0.5},
		"write_consistency=ALL":      {WriteConsistency: "ALL"},
		"read_consistency=LOCAL_ONE": {ReadConsistency: "LOCAL_ONE"},
		"volatile_outbox=true":       {VolatileOutbox: true},
	} {
		reset := false
		fs := memberFindings("us-east-1/member/a", f, func(context.Context) error { reset = true; return nil })
		require.Equal(t, []string{"member us-east-1/member/a: " + want}, fs.lines())
		require.NoError(t, fs[0].fix(context.Background()))
		require.True(t, reset, want)
	}
}

// secretWorld is a world whose only answer is its admin secret: what the
// inspections of one component ask of it.
type secretWorld struct {
	topology.Cluster // nil: any other call panics
	secret           string
}

func (w secretWorld) Secret() string { return w.secret }

// served runs h behind the world's admin guard on a loopback port and
// returns it as a component of kind.
func served(t *testing.T, w secretWorld, id, kind string, h http.Handler) topology.Component {
	t.Helper()
	srv := httptest.NewServer(app.GuardAdmin(w.secret, h))
	t.Cleanup(srv.Close)
	return topology.Component{ID: id, Kind: kind, Address: strings.TrimPrefix(srv.URL, "http://")}
}

// A member left on another release than the base one is found, with its
// defects, and reset by deploying the base release; a world that cannot
// deploy says so instead of waiting.
func TestReleaseLeftDeployedIsFound(t *testing.T) {
	require.Nil(t, releaseFindings(nil, "us-east-1/member/a", member.StatsReport{Version: member.BaseVersion}))
	require.Nil(t, releaseFindings(nil, "us-east-1/member/a", member.StatsReport{}), "an instance that does not say its version")
	w := &deployingWorld{}
	fs := releaseFindings(w, "us-east-1/member/a", member.StatsReport{Version: "v2-errors", Defects: member.Faults{ErrorRate: 0.3}})
	require.Equal(t, []string{"member us-east-1/member/a: runs release v2-errors (defects: error_rate=0.3), not v1"}, fs.lines())
	require.True(t, fs[0].component, "a restart: done before the admin APIs are read again")
	require.NoError(t, fs[0].fix(context.Background()))
	require.Equal(t, []string{"us-east-1/member/a v1"}, w.deployed)

	fs = releaseFindings(namedWorld{}, "us-east-1/member/a", member.StatsReport{Version: "v2"})
	require.Equal(t, []string{"member us-east-1/member/a: runs release v2, not v1"}, fs.lines())
	require.ErrorContains(t, fs[0].fix(context.Background()), "cannot deploy releases")
}

// namedWorld is a world that cannot deploy releases (as a container world).
type namedWorld struct{ topology.Cluster }

func (namedWorld) Name() string { return "kong" }

// deployingWorld is a world that records the releases deployed to it.
type deployingWorld struct {
	namedWorld
	deployed []string
}

func (w *deployingWorld) Deploy(_ context.Context, id string, r member.Release) error {
	w.deployed = append(w.deployed, id+" "+r.Version)
	return nil
}

// A gateway left with any runtime setting changed is found, named, and put
// back as it started: every field of gateway.Dynamic is one row here.
func TestEveryGatewaySettingLeftChangedIsFound(t *testing.T) {
	ctx := context.Background()
	w := secretWorld{secret: "s3cret"}
	gw, err := gateway.New(gateway.Config{Region: "us-east-1", Homes: map[string]string{"CA": "us-west-2"},
		Members:   []gateway.Member{{Zone: "a", Instance: "us-east-1/member/a", BaseURL: "http://127.0.0.1:1"}},
		PeerProxy: map[string]string{"us-west-2": "http://127.0.0.1:2"}, AdminSecret: w.secret})
	require.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	comp := served(t, w, "us-east-1/gateway", topology.KindGateway, gw)

	rows := map[string]gateway.Patch{
		"mode=redirect (started isthmus)":                  {Mode: new(app.ModeRedirect)},
		"failover=true (started false)":                    {Failover: new(true)},
		"max_rps=50 (started 0)":                           {MaxRPS: new(50)},
		"max_concurrency=5 (started 0)":                    {MaxConcurrency: new(5)},
		"home_overrides=map[CA:us-east-1] (started map[])": {HomeOverrides: &map[string]string{"CA": "us-east-1"}},
		"member_try_ms=0 (started 1000)":                   {MemberTryMS: new(0)},
		"ignore_geo=true (started false)":                  {IgnoreGeo: new(true)},
	}
	covered := map[string]bool{}
	for want, p := range rows {
		_, err := gw.Update(p)
		require.NoError(t, err, want)
		fs, err := inspectGateway(ctx, w, comp)
		require.NoError(t, err)
		require.Equal(t, []string{"gateway us-east-1/gateway: " + want}, fs.lines())
		require.NoError(t, fs[0].fix(ctx))
		fs, err = inspectGateway(ctx, w, comp)
		require.NoError(t, err)
		require.Empty(t, fs.lines(), "after the reset of %s", want)
		name, _, _ := strings.Cut(want, "=")
		covered[name] = true
	}
	typ := reflect.TypeFor[gateway.Dynamic]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		require.True(t, covered[name], "no row changes the gateway's %s: would the preflight find it?", name)
	}
}

// A director left evacuated, overridden or bouncing sessions is found,
// named, and reset.
func TestDirectorLeftChangedIsFound(t *testing.T) {
	ctx := context.Background()
	w := secretWorld{secret: "s3cret"}
	d, err := director.New(director.Config{AdminSecret: w.secret, Regions: []director.Region{
		{Name: "us-east-1", Gateway: "http://127.0.0.1:1"}, {Name: "us-west-2", Gateway: "http://127.0.0.1:2"}}})
	require.NoError(t, err)
	comp := served(t, w, "director", topology.KindDirector, d.Handler(nil))

	d.SetBounce(true)
	_, err = d.Evacuate("us-west-2", 0.5)
	require.NoError(t, err)
	_, err = d.SetOverride("us-east-1", "us-west-2")
	require.NoError(t, err)
	fs, err := inspectDirector(ctx, w, comp)
	require.NoError(t, err)
	require.Equal(t, []string{"director: us-west-2 evacuated 50%", "director: geo us-east-1 overridden to us-west-2",
		"director: bouncing sessions"}, fs.lines())
	for _, f := range fs {
		require.NoError(t, f.fix(ctx), f.text)
	}
	fs, err = inspectDirector(ctx, w, comp)
	require.NoError(t, err)
	require.Empty(t, fs.lines())
	require.False(t, d.Table().Bounce)
}

// kong status's fault state: a summary that names what differs from the
// world as brought up, each link cut or not with its toxics, the gateways'
// settings and the director's routing.
func TestStateWrite(t *testing.T) {
	st := State{
		Links: []LinkState{
			{Name: "us-east-1->us-west-2", Proxies: 5, Disabled: 5},
			{Name: "us-west-2->us-east-1", Proxies: 5, Disabled: 2, Toxics: []string{"lag (latency, downstream; latency=150) on 5 of 5 proxies"}},
		},
		Gateways: []GatewayState{{ID: "us-east-1/gateway", Region: "us-east-1", Dynamic: gateway.Dynamic{Mode: "isthmus", Failover: true, MaxRPS: 60}}},
		Members: []MemberState{{ID: "us-east-1/member/a", Version: "v2-errors", Defects: "error_rate=0.3"},
			{ID: "us-east-1/member/b", Version: "v1"}},
		Director: &director.Table{Regions: []string{"us-east-1", "us-west-2"}, Geos: []string{"east", "west"},
			Home:      map[string]string{"east": "us-east-1", "west": "us-west-2"},
			Effective: map[string]map[string]float64{"east": {"us-east-1": 1.0 / 3, "us-west-2": 2.0 / 3}, "west": {"us-west-2": 1}},
			Overrides: map[string]string{"west": "us-west-2"}, Evacuated: map[string]float64{"us-east-1": 0.25}},
		Findings: []string{"link us-east-1->us-west-2: cut (5 of 5 proxies disabled)", "director: us-east-1 evacuated 25%"},
	}
	var b strings.Builder
	require.NoError(t, st.Write(&b))
	require.Equal(t, `fault state: NOT clean, 2 thing(s) differ from the world as brought up (the next kong run resets them; --no-reset refuses):
  - link us-east-1->us-west-2: cut (5 of 5 proxies disabled)
  - director: us-east-1 evacuated 25%
LINK                  PROXIES  STATE                                 TOXICS
us-east-1->us-west-2  5        cut                                   -
us-west-2->us-east-1  5        partly cut (2 of 5 proxies disabled)  lag (latency, downstream; latency=150) on 5 of 5 proxies

GATEWAY            MODE     FAILOVER  MAX_RPS  MAX_CONCURRENCY  TRY_MS  IGNORE_GEO  HOME_OVERRIDES
us-east-1/gateway  isthmus  true      60       0                0       false       -

MEMBER              VERSION    DEFECTS
us-east-1/member/a  v2-errors  error_rate=0.3
us-east-1/member/b  v1         -
director:
  geo east         home us-east-1    routes to us-east-1 33.3%, us-west-2 66.7%
  geo west         home us-west-2    routes to us-west-2 100% (overridden to us-west-2)
  region us-east-1 evacuated 25%
`, b.String())

	b.Reset()
	require.NoError(t, State{Links: []LinkState{{Name: "a->b", Proxies: 2}}}.Write(&b))
	require.Contains(t, b.String(), "fault state: clean")
	require.Contains(t, b.String(), "a->b  2        ok     -")
}
