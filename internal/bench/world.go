package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// World brings a world up in a temporary home for a benchmark, with this
// process's executable as its kong binary; done takes it down and removes
// the home, reporting a failed teardown on its writer. done is safe to call
// whatever the error.
func World(ctx context.Context, name string, spec *topology.Spec, log *slog.Logger) (*local.World, func(io.Writer), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, func(io.Writer) {}, err
	}
	home, err := os.MkdirTemp("", "kong-bench-")
	if err != nil {
		return nil, func(io.Writer) {}, err
	}
	w, err := local.Up(ctx, local.Options{Name: name, Spec: spec, Home: home, KongBinary: self, Log: log})
	return w, func(out io.Writer) {
		if derr := w.Down(); derr != nil {
			fmt.Fprintln(out, "down:", derr)
		}
		os.RemoveAll(home)
	}, err
}

// Startup is how long a world took to start, each phase's time, and the
// resident memory of each kind of component right after.
type Startup struct {
	Source     string
	Components int
	Took       time.Duration
	Phases     []topology.PhaseTime
	// RSS is the resident memory of each kind of component, in bytes.
	RSS map[string]int64
}

// MeasureStartup reads the start-up of w, which took took: its phases and
// its processes' resident memory now.
func MeasureStartup(ctx context.Context, w *local.World, took time.Duration) Startup {
	comps, _ := w.Components(ctx)
	s := Startup{Source: w.Spec().Source(), Components: len(comps), Took: took, Phases: w.Phases(), RSS: map[string]int64{}}
	for _, c := range comps {
		s.RSS[c.Kind] += RSSBytes(c.PID)
	}
	return s
}

// Write prints the start-up time, each phase's, and the memory of each
// kind of component and of them all.
func (s Startup) Write(w io.Writer) {
	fmt.Fprintf(w, "\nstart-up of %s (%d components, jars cached): %s\n", s.Source, s.Components, s.Took.Round(10*time.Millisecond))
	topology.WritePhases(w, s.Phases)
	fmt.Fprintf(w, "\nresident memory right after start-up:\n")
	var total int64
	for _, k := range slices.Sorted(maps.Keys(s.RSS)) {
		fmt.Fprintf(w, "  %-10s %8.0f MiB\n", k, float64(s.RSS[k])/(1<<20))
		total += s.RSS[k]
	}
	fmt.Fprintf(w, "  %-10s %8.0f MiB\n", "total", float64(total)/(1<<20))
}
