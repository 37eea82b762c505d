package containers

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kongchaos/kong/topology"
)

// Action is one thing the engine is asked to do to a container.
type Action string

const (
	// ActionStart starts a stopped container (its state, volumes and
	// address are kept), then waits until the component answers.
	ActionStart Action = "start"
	// ActionStop sends SIGTERM, then SIGKILL after a grace period.
	ActionStop Action = "stop"
	// ActionKill sends SIGKILL: the container stops at once.
	ActionKill Action = "kill"
	// ActionPause freezes every process of the container (the cgroup
	// freezer): the gray failure that SIGSTOP is on the local backend.
	ActionPause Action = "pause"
	// ActionUnpause thaws a paused container.
	ActionUnpause Action = "unpause"
)

// Cluster operations, as topology.Cluster names them.
const (
	OpStart  = "start"
	OpStop   = "stop"
	OpKill   = "kill"
	OpPause  = "pause"
	OpResume = "resume"
)

// Actions maps a Cluster operation on a component whose container is in
// state st onto what the engine must do, in order. An operation that is
// already done asks for nothing; one that cannot apply is an error.
func Actions(op string, st topology.State) ([]Action, error) {
	switch op {
	case OpStart:
		switch st {
		case topology.StateRunning:
			return nil, nil
		case topology.StatePaused:
			return []Action{ActionUnpause}, nil
		default:
			return []Action{ActionStart}, nil
		}
	case OpStop:
		switch st {
		case topology.StateRunning:
			return []Action{ActionStop}, nil
		case topology.StatePaused:
			// A frozen process cannot take SIGTERM: thaw it first.
			return []Action{ActionUnpause, ActionStop}, nil
		default:
			return nil, nil
		}
	case OpKill:
		switch st {
		case topology.StateRunning, topology.StatePaused:
			return []Action{ActionKill}, nil
		default:
			return nil, nil
		}
	case OpPause:
		switch st {
		case topology.StateRunning:
			return []Action{ActionPause}, nil
		case topology.StatePaused:
			return nil, nil
		default:
			return nil, fmt.Errorf("it is stopped: only a running component can be paused")
		}
	case OpResume:
		switch st {
		case topology.StatePaused:
			return []Action{ActionUnpause}, nil
		case topology.StateRunning:
			return nil, nil
		default:
			return nil, fmt.Errorf("it is stopped, not paused: start it instead")
		}
	}
	return nil, fmt.Errorf("unknown operation %q: the operations are start, stop, kill, pause, resume", op)
}

// StateOf is a component's state from its container's state as the engine
// reports it ("running", "paused", "exited", ...). A container that does
// not exist (yet) is stopped.
func StateOf(engineState string) topology.State {
	switch strings.ToLower(engineState) {
	case "running", "restarting":
		return topology.StateRunning
	case "paused":
		return topology.StatePaused
	}
	return topology.StateStopped
}

// Statuses are the world's components (the containers that carry an ID)
// with the state of their containers (by container name) and their log
// files under logDir.
func Statuses(cs []Container, comps []topology.Component, engineStates map[string]string, pids map[string]int, logDir string) []topology.Status {
	byID := map[string]topology.Component{}
	for _, c := range comps {
		byID[c.ID] = c
	}
	var out []topology.Status
	for _, c := range cs {
		comp, ok := byID[c.ID]
		if c.ID == "" || !ok {
			continue
		}
		st := topology.Status{Component: comp, State: StateOf(engineStates[c.Name])}
		if st.State != topology.StateStopped {
			st.PID = pids[c.Name]
		}
		if logDir != "" {
			st.Log = LogPath(logDir, c.ID)
		}
		out = append(out, st)
	}
	return out
}

// LogPath is where the world keeps a component's container log.
func LogPath(logDir, id string) string {
	return filepath.Join(logDir, strings.ReplaceAll(id, "/", "_")+".log")
}

// ZoneContainers are the names of the containers whose labels put them in a
// zone: the zone's Cassandra nodes, memcached servers and member services,
// exactly the components that the harness's zone selector picks.
func ZoneContainers(world, region, zone string, cs []Container) []string {
	var names []string
	for _, c := range cs {
		if MatchLabels(c.Labels, ZoneFilters(world, region, zone)) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

// findContainer finds a component's container by ID, or says which IDs
// there are.
func findContainer(world string, cs []Container, id string) (Container, error) {
	var ids []string
	for _, c := range cs {
		if c.ID == id && id != "" {
			return c, nil
		}
		if c.ID != "" {
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	return Container{}, fmt.Errorf("unknown component %q in world %s: the components are %s", id, world, strings.Join(ids, ", "))
}
