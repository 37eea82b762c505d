package scenarios

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/deploy"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/registry"
	"github.com/kongchaos/kong/topology"
)

// Spec is one game day: what it needs, how it runs, and the broken worlds
// it must catch. Adding a scenario is one file that calls Register from
// init; `kong run`, `kong gameday` and the Go tests (TestScenarios) take it
// from there.
type Spec struct {
	// Name is the scenario's name in kong run NAME, such as "split-brain".
	Name string
	// Description says what breaks and what must hold; it is the run's
	// description in run.json and the reports.
	Description string
	// Profile is the topology profile the scenario needs (default, small, global).
	Profile string
	// MinRegions is the fewest regions a world needs for the scenario (see
	// Fits).
	MinRegions int
	// Timeout bounds the whole run, healing included.
	Timeout time.Duration
	// Planned is how long the timed phases of the full run (Run) are
	// planned to take. kong gameday's time left counts it for a scenario
	// that never ran to the end in its folder, as a lower bound: the
	// phases that take what they take (injecting, recovering, the
	// read-back) are not in it.
	Planned time.Duration
	// Deploys marks scenarios that deploy member service releases: they
	// need a world whose backend can (deploy.Releaser; see Fits).
	Deploys bool
	// Short marks scenarios that `go test -short` runs.
	Short bool
	// Run wires faults, workload and checkers through the runner.
	Run RunFunc
	// Quick runs the scenario as the Go tests do: shorter phases (or fewer
	// records), to keep CI within its time. Nil: Run.
	Quick RunFunc
	// Broken are the scenario's broken worlds, each of which a named checker
	// must catch; the Go tests run every one beside the healthy run.
	Broken []Variant
}

// RunFunc runs a scenario in an environment the caller prepared; s is the
// spec it runs under (its name and description go into run.json).
type RunFunc func(ctx context.Context, s Spec, env *Env) (*run.Outcome, error)

// Fits says why a world cannot run the scenario (fewer regions than
// MinRegions; a scenario that Deploys on a backend that cannot), or nil.
func (s Spec) Fits(c topology.Cluster) error {
	if regions := c.Spec().RegionNames(); len(regions) < s.MinRegions {
		profile := s.Profile
		if profile == "" {
			profile = "default"
		}
		return fmt.Errorf("%s needs %d regions; world %s has %v (bring one up with kong up --profile %s)", s.Name, s.MinRegions, c.Name(), regions, profile)
	}
	if _, ok := c.(deploy.Releaser); s.Deploys && !ok {
		return fmt.Errorf("%s deploys member service releases, which world %s's backend cannot do yet: run it on a local world (kong up)", s.Name, c.Name())
	}
	return nil
}

// Replay is the kong command line that runs the scenario again on world
// with seed.
func (s Spec) Replay(world string, seed uint64) string {
	return fmt.Sprintf("kong run %s --seed %d --world %s", s.Name, seed, world)
}

// Env is what a scenario gets: filled by the caller (a Go test or kong run).
type Env struct {
	Cluster topology.Cluster
	// Dir is the run's artifacts folder.
	Dir  string
	Seed uint64
	// Replay is the command line that runs the scenario again with this seed.
	Replay string
	Log    *slog.Logger
	// LogLevel is the level of the run.log that RunInDir writes when Log
	// is nil (the zero value: info).
	LogLevel slog.Level
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
	// Switches break the world for the whole run (see run.Experiment's
	// Switches): a broken world's switch, from the fault catalogue.
	Switches []Switch
	// ReadBackDeadline is how long the verify phase keeps reading back a
	// write not yet visible everywhere, after every key was read once,
	// before it counts the write lost (0: run.DefaultReadBackDeadline).
	ReadBackDeadline time.Duration
}

// Switch is a fault of the catalogue (kong faults) on what On selects,
// with Params (the others take their defaults), turned on for a whole run.
type Switch struct {
	Fault  string
	On     fault.Selector
	Params map[string]string
}

// switched runs f with the switches sw on for the whole run.
func switched(f RunFunc, sw ...Switch) RunFunc {
	return func(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
		e := *env
		e.Switches = append(slices.Clone(env.Switches), sw...)
		return f(ctx, s, &e)
	}
}

var registered = &registry.Of[Spec]{}

// Register adds a scenario; a duplicate or malformed spec (or variant) is
// a programming error and panics at init.
func Register(s Spec) {
	switch {
	case !wellNamed(s.Name):
		panic(fmt.Sprintf("scenario name %q: use lower-case words joined by dashes", s.Name))
	case s.Run == nil:
		panic(fmt.Sprintf("scenario %s has no Run", s.Name))
	}
	seen := map[string]bool{}
	for _, v := range s.Broken {
		if err := v.check(s); err != nil {
			panic(fmt.Sprintf("scenario %s: %v", s.Name, err))
		}
		if seen[v.Name] {
			panic(fmt.Sprintf("scenario %s: broken world %s declared twice", s.Name, v.Name))
		}
		seen[v.Name] = true
	}
	if s.Profile == "" {
		s.Profile = "default"
	}
	if s.Timeout == 0 {
		s.Timeout = 15 * time.Minute
	}
	if s.Quick == nil {
		s.Quick = s.Run
	}
	if !registered.Add(s.Name, s) {
		panic(fmt.Sprintf("scenario %s registered twice", s.Name))
	}
}

// wellNamed says whether a scenario's or a variant's name is lower-case
// words joined by dashes (no space, no slash: a Go subtest's name).
func wellNamed(name string) bool {
	return name != "" && !strings.ContainsAny(name, " \t/")
}

// All lists the scenarios by name.
func All() []Spec { return registered.All() }

// Get finds a scenario by name; the error lists the known ones.
func Get(name string) (Spec, error) {
	if s, ok := registered.Get(name); ok {
		return s, nil
	}
	names := registered.Names()
	if len(names) == 0 {
		return Spec{}, fmt.Errorf("unknown scenario %q: no scenarios are registered in this build", name)
	}
	return Spec{}, fmt.Errorf("unknown scenario %q: the scenarios are %s (see kong list)", name, strings.Join(names, ", "))
}
