package containers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
)

// Cluster operations map onto container actions: kill = docker kill
// (SIGKILL), pause = docker pause, start = docker start then a wait until
// it answers, stop = docker stop, and what is already done asks for
// nothing.
func TestActions(t *testing.T) {
	running, paused, stopped := topology.StateRunning, topology.StatePaused, topology.StateStopped
	cases := []struct {
		op   string
		st   topology.State
		want []Action
		err  string
	}{
		{OpStart, stopped, []Action{ActionStart}, ""},
		{OpStart, paused, []Action{ActionUnpause}, ""},
		{OpStart, running, nil, ""},
		{OpStop, running, []Action{ActionStop}, ""},
		{OpStop, paused, []Action{ActionUnpause, ActionStop}, ""},
		{OpStop, stopped, nil, ""},
		{OpKill, running, []Action{ActionKill}, ""},
		{OpKill, paused, []Action{ActionKill}, ""},
		{OpKill, stopped, nil, ""},
		{OpPause, running, []Action{ActionPause}, ""},
		{OpPause, paused, nil, ""},
		{OpPause, stopped, nil, "only a running component can be paused"},
		{OpResume, paused, []Action{ActionUnpause}, ""},
		{OpResume, running, nil, ""},
		{OpResume, stopped, nil, "start it instead"},
		{"reboot", running, nil, "unknown operation"},
	}
	for _, c := range cases {
		got, err := Actions(c.op, c.st)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, "%s on %s", c.op, c.st)
			continue
		}
		require.NoError(t, err, "%s on %s", c.op, c.st)
		require.Equal(t, c.want, got, "%s on %s", c.op, c.st)
	}
}

func TestStateOf(t *testing.T) {
	for engine, want := range map[string]topology.State{
		"running": topology.StateRunning, "restarting": topology.StateRunning, "paused": topology.StatePaused,
		"exited": topology.StateStopped, "created": topology.StateStopped, "dead": topology.StateStopped, "": topology.StateStopped,
	} {
		require.Equal(t, want, StateOf(engine), engine)
	}
}

func TestStatusesOfComponents(t *testing.T) {
	l := layout(t, "small")
	cs := containersOf(t, l)
	states := map[string]string{
		"kong-us-east-1-cassandra-a": "running",
		"kong-us-west-2-cassandra-a": "paused",
		"kong-us-east-1-memcached-a": "exited",
	}
	st := Statuses(cs, l.Plan.Components(), states, map[string]int{"kong-us-east-1-cassandra-a": 42, "kong-us-east-1-memcached-a": 7}, "/logs")
	got := map[string]topology.Status{}
	for _, s := range st {
		got[s.ID] = s
	}
	require.Len(t, got, len(l.Plan.Components()), "every component, no router")
	require.Equal(t, topology.StateRunning, got["us-east-1/cassandra/a"].State)
	require.Equal(t, 42, got["us-east-1/cassandra/a"].PID)
	require.Equal(t, l.Plan.Cassandra[0].Address, got["us-east-1/cassandra/a"].Address)
	require.Equal(t, topology.StatePaused, got["us-west-2/cassandra/a"].State)
	require.Equal(t, topology.StateStopped, got["us-east-1/memcached/a"].State)
	require.Zero(t, got["us-east-1/memcached/a"].PID)
	require.Equal(t, topology.StateStopped, got["director"].State, "a container the engine does not list is stopped")
	require.Equal(t, "/logs/us-east-1_cassandra_a.log", got["us-east-1/cassandra/a"].Log)
}

// A zone is every container with that zone's label: exactly the components
// the harness's zone selector picks (Cassandra, memcached and member
// services of the zone), and no link router.
func TestZoneIsEveryContainerWithTheZonesLabel(t *testing.T) {
	l := layout(t, "default")
	cs := containersOf(t, l)
	for _, region := range l.Plan.Spec.Regions {
		for _, zone := range region.Zones {
			var want []string
			for _, c := range l.Plan.Components() {
				if c.Region == region.Name && c.Zone == zone &&
					slices.Contains([]string{topology.KindCassandra, topology.KindMemcached, topology.KindMember}, c.Kind) {
					want = append(want, ContainerName("kong", c.ID))
				}
			}
			slices.Sort(want)
			got := ZoneContainers("kong", region.Name, zone, cs)
			require.Equal(t, want, got, "zone %s/%s", region.Name, zone)
			for _, name := range got {
				require.False(t, strings.HasSuffix(name, "-router"))
			}
		}
	}
	require.Empty(t, ZoneContainers("kong", "us-east-1", "z", cs))
	require.Empty(t, ZoneContainers("other", "us-east-1", "a", cs), "another world's zone")
}

func TestMatchLabels(t *testing.T) {
	labels := map[string]string{LabelWorld: "kong", LabelZone: "a"}
	require.True(t, MatchLabels(labels, []string{"kong.world=kong"}))
	require.True(t, MatchLabels(labels, []string{"kong.world=kong", "kong.zone=a"}))
	require.False(t, MatchLabels(labels, []string{"kong.zone=b"}))
	require.False(t, MatchLabels(labels, []string{"kong.region=us-east-1"}))
	require.False(t, MatchLabels(labels, []string{"kong.world"}))
}

// Without an engine, the backend says so at once, in one line that names
// where it looked.
func TestNoEngineFailsFast(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	err := CheckEngine(ctx)
	if err == nil {
		t.Skip("a Docker engine answers here: the no-engine path is tested where none does")
	}
	require.Less(t, time.Since(start), EngineTimeout+2*time.Second)
	require.True(t, errors.Is(err, ErrNoEngine))
	require.True(t, strings.HasPrefix(err.Error(), "no Docker engine answers at "), err.Error())
	require.NotContains(t, err.Error(), "\n")

	_, err = Up(ctx, Options{Name: "kong", Spec: profile(t, "small")})
	require.ErrorIs(t, err, ErrNoEngine)
	require.ErrorIs(t, DownWorld(ctx, "kong"), ErrNoEngine)
}

func TestEngineReason(t *testing.T) {
	require.Equal(t, "no DOCKER_HOST, no socket at /var/run/docker.sock, no docker context and no rootless socket (rootless Docker not found)",
		engineReason(errors.New("rootless Docker not found")))
	require.Equal(t, `check host "tcp://h:1": refused; rootless Docker not found`,
		engineReason(errors.New("check host \"tcp://h:1\": refused\nrootless Docker not found")))
}
