package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/worldtest"
	"github.com/kongchaos/kong/topology"
)

// leftovers is what a run that was killed mid-way leaves in the world, and
// what the next run's preflight must name.
type leftovers struct {
	cut, toxic, member, evacuated, paused string
	memberID, pausedID, region            string
}

// leaveLeftovers breaks the world as a killed run would have left it: a
// link cut, a toxic on another, a member service failing half its
// requests, a region evacuated at the director, a memcached paused.
func leaveLeftovers(t *testing.T, c topology.Cluster) leftovers {
	t.Helper()
	ctx := context.Background()
	regions := c.Spec().RegionNames()
	require.GreaterOrEqual(t, len(regions), 2, "the test needs two regions")
	cut, toxic := topology.LinkName(regions[0], regions[1]), topology.LinkName(regions[1], regions[0])
	worldtest.OnLink(t, c, cut, (*toxiclient.Proxy).Disable)
	worldtest.LeaveLatency(t, c, toxic, 200)
	st, err := c.Components(ctx)
	require.NoError(t, err)
	var member, memcached, director topology.Component
	for _, s := range st {
		switch {
		case s.Kind == topology.KindMember && s.Region == regions[0] && member.ID == "":
			member = s.Component
		case s.Kind == topology.KindMemcached && s.Region == regions[1] && memcached.ID == "":
			memcached = s.Component
		case s.Kind == topology.KindDirector:
			director = s.Component
		}
	}
	require.NotEmpty(t, member.ID)
	require.NotEmpty(t, memcached.ID)
	require.NotEmpty(t, director.ID)
	adminPut(t, c.Secret(), http.MethodPut, "http://"+member.Address+"/admin/faults", map[string]any{"error_rate": 0.5})
	adminPut(t, c.Secret(), http.MethodPost, "http://"+director.Address+"/admin/evacuate", map[string]any{"region": regions[1], "fraction": 1})
	require.NoError(t, c.Pause(ctx, memcached.ID))
	return leftovers{
		cut:       "link " + cut + ": cut",
		toxic:     "link " + toxic + ": toxic left-latency (latency, upstream",
		member:    "member " + member.ID + ": error_rate=0.5",
		evacuated: "director: " + regions[1] + " evacuated 100%",
		paused:    memcached.ID + ": paused",
		memberID:  member.ID, pausedID: memcached.ID, region: regions[1],
	}
}

func (l leftovers) all() []string { return []string{l.cut, l.toxic, l.member, l.evacuated, l.paused} }

func adminPut(t *testing.T, secret, method, url string, body any) {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, url, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, url, resp.Status)
}

// preflightRun is a short run through the runner: steady traffic, a fault
// that breaks nothing, and an availability check that the leftovers
// (half of a region's member requests failing) would break.
func preflightRun(t *testing.T, e *Env) (*run.Outcome, error) {
	t.Helper()
	x, err := experiment(context.Background(), Spec{Name: "preflight", Description: "a short run after a killed one"}, e, Times{Steady: 5 * time.Second, Observe: 5 * time.Second, Converge: 5 * time.Second}, 20)
	require.NoError(t, err)
	x.Faults = []fault.Fault{fault.Noop{}}
	x.Checkers = []check.Checker{&check.Availability{SLO: 0.99}, &check.LostWrites{Regions: e.Cluster.Spec().RegionNames()}}
	return x.Run(context.Background())
}

// A world left with a cut link, a toxic, a member fault, an evacuation and
// a paused process is reset by the next run, which then passes and says
// what it reset; with NoReset (kong run --no-reset) the run is refused,
// naming each leftover.
func TestPreflightResetsWhatAKilledRunLeft(t *testing.T) {
	full(t)
	e := env(t, "preflight")
	c := e.Cluster
	t.Cleanup(func() {
		// Whatever happened, the next test gets a whole world.
		_, err := preflight.Check(context.Background(), c, true)
		require.NoError(t, err)
	})
	left := leaveLeftovers(t, c)

	start := time.Now()
	out, err := preflightRun(t, e)
	require.NoError(t, err)
	plog, _ := os.ReadFile(filepath.Join(e.Dir, "phases.log"))
	t.Logf("run after the leftovers took %s; phases.log:\n%s", time.Since(start).Round(time.Millisecond), plog)
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	for _, want := range left.all() {
		require.Contains(t, string(plog), "preflight: found "+want, "the run's phases.log does not say it reset %q", want)
	}
	h, err := history.Load(filepath.Join(e.Dir, "history.jsonl"))
	require.NoError(t, err)
	var noted []string
	for _, ev := range h.EventsOf(history.Note) {
		if ev.Name == "preflight" {
			noted = append(noted, ev.Detail["found"]+" -> "+ev.Detail["action"])
		}
	}
	for _, want := range left.all() {
		require.Contains(t, strings.Join(noted, "\n"), want, "the history does not note %q", want)
	}
	requireHealed(t, c)
	found, err := preflight.Check(context.Background(), c, false)
	require.NoError(t, err)
	require.Empty(t, found, "the world is not whole after the run")

	// Again, but the run may not reset: it is refused, naming each leftover,
	// and leaves the world as it found it.
	left = leaveLeftovers(t, c)
	e2 := env(t, "preflight-no-reset")
	e2.NoReset = true
	_, err = preflightRun(t, e2)
	require.ErrorIs(t, err, preflight.ErrWorldNotClean)
	for _, want := range left.all() {
		require.Contains(t, err.Error(), want)
	}
	plog, _ = os.ReadFile(filepath.Join(e2.Dir, "phases.log"))
	require.Contains(t, string(plog), "preflight: found "+left.member+": left as found (no reset)", "phases.log:\n%s", plog)
	require.NotContains(t, string(plog), "phase "+history.PhaseSteady, "a refused run ran")
	st, err := c.Components(context.Background())
	require.NoError(t, err)
	for _, s := range st {
		if s.ID == left.pausedID {
			require.Equal(t, topology.StatePaused, s.State, "a refused run resumed %s", s.ID)
		}
	}
	fmt.Fprintln(os.Stderr) // keep the test's log apart from the next one's
}
