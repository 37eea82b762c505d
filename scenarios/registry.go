package scenarios

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
)

// Spec is one game day: what it needs and how it runs. Adding a scenario is
// one file that calls Register from init.
type Spec struct {
	// Name is the scenario's name in kong run NAME, such as "split-brain".
	Name        string
	Description string
	// Profile is the topology profile the scenario needs (default, small, global).
	Profile string
	// Timeout bounds the whole run, healing included.
	Timeout time.Duration
	// Short marks scenarios that `go test -short` runs.
	Short bool
	// Run wires faults, workload and checkers through the runner.
	Run RunFunc
}

// RunFunc runs a scenario in an environment the caller prepared.
type RunFunc func(ctx context.Context, env *Env) (*run.Outcome, error)

// Env is what a scenario gets: filled by the caller (a Go test or kong run).
type Env struct {
	Cluster topology.Cluster
	// Dir is the run's artifacts folder.
	Dir  string
	Seed uint64
	// Replay is the command line that runs the scenario again with this seed.
	Replay string
	Log    *slog.Logger
	// NoReset refuses to run on a world that a run before left damaged
	// (links cut, toxics, faults, evacuations, paused processes) instead
	// of resetting it first (see preflight.Check).
	NoReset bool
	// Backend is where the world runs ("local" or "containers"), for
	// run.json.
	Backend string
	// Progress, when set, is told the run's phase, live traffic and planned
	// time left (see run.Progress).
	Progress func(run.Progress)
}

var (
	mu       sync.Mutex
	registry = map[string]Spec{}
)

// Register adds a scenario; a duplicate or malformed spec is a programming
// error and panics at init.
func Register(s Spec) {
	mu.Lock()
	defer mu.Unlock()
	switch {
	case s.Name == "" || strings.ContainsAny(s.Name, " \t/"):
		panic(fmt.Sprintf("scenario name %q: use lower-case words joined by dashes", s.Name))
	case s.Run == nil:
		panic(fmt.Sprintf("scenario %s has no Run", s.Name))
	}
	if _, dup := registry[s.Name]; dup {
		panic(fmt.Sprintf("scenario %s registered twice", s.Name))
	}
	if s.Profile == "" {
		s.Profile = "default"
	}
	if s.Timeout == 0 {
		s.Timeout = 15 * time.Minute
	}
	registry[s.Name] = s
}

// All lists the scenarios by name.
func All() []Spec {
	mu.Lock()
	defer mu.Unlock()
	out := make([]Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get finds a scenario by name; the error lists the known ones.
func Get(name string) (Spec, error) {
	mu.Lock()
	s, ok := registry[name]
	mu.Unlock()
	if ok {
		return s, nil
	}
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return Spec{}, fmt.Errorf("unknown scenario %q: no scenarios are registered in this build", name)
	}
	return Spec{}, fmt.Errorf("unknown scenario %q: the scenarios are %s (see kong list)", name, strings.Join(names, ", "))
}
