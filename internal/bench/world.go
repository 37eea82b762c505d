package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
	"github.com/kongchaos/kong/topology/local/assets"
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
	// RSS is the resident memory of each kind of component, in bytes;
	// PSS the proportional share of it (a page shared by n processes
	// counts 1/n in each), the memory they take together.
	RSS, PSS map[string]int64
}

// MeasureStartup reads the start-up of world c, which took took in
// phases: the resident memory now of each kind of component, each
// component's whole process tree (a local server is one process; a
// container counts every process in it).
func MeasureStartup(ctx context.Context, c topology.Cluster, took time.Duration, phases []topology.PhaseTime) Startup {
	comps, _ := Components(ctx, c)
	ps := ReadProcesses()
	s := Startup{Source: c.Spec().Source(), Components: len(comps), Took: took, Phases: phases, RSS: map[string]int64{}, PSS: map[string]int64{}}
	for _, comp := range comps {
		s.RSS[comp.Kind] += ps.TreeRSS(comp.PID)
		s.PSS[comp.Kind] += ps.TreePSS(comp.PID)
	}
	return s
}

// Total is the resident memory of every component.
func (s Startup) Total() int64 {
	var total int64
	for _, v := range s.RSS {
		total += v
	}
	return total
}

// Write prints the start-up time, each phase's, and the memory of each
// kind of component and of them all.
func (s Startup) Write(w io.Writer) {
	fmt.Fprintf(w, "\nstart-up of %s (%d components, jars cached): %s\n", s.Source, s.Components, s.Took.Round(10*time.Millisecond))
	topology.WritePhases(w, s.Phases)
	fmt.Fprintf(w, "\nresident memory right after start-up (RSS, and PSS: shared pages counted once):\n")
	var total, totalPSS int64
	for _, k := range slices.Sorted(maps.Keys(s.RSS)) {
		fmt.Fprintf(w, "  %-10s %8.0f MiB %8.0f MiB\n", k, float64(s.RSS[k])/(1<<20), float64(s.PSS[k])/(1<<20))
		total += s.RSS[k]
		totalPSS += s.PSS[k]
	}
	fmt.Fprintf(w, "  %-10s %8.0f MiB %8.0f MiB\n", "total", float64(total)/(1<<20), float64(totalPSS)/(1<<20))
}

// RunWorld is kong bench world: it fetches what a local world of spec runs
// (so that the start-up measures servers, not downloads), brings the world
// up in a temporary home, and writes on out the machine, the start-up (see
// Startup), and the latency a link adds to a TCP echo (rounds round trips
// each) and, with two regions or more, to SQS calls; the world is taken
// down at the end.
func RunWorld(ctx context.Context, out io.Writer, spec *topology.Spec, rounds int, log *slog.Logger) error {
	// Fetch first, so that the start-up below measures servers, not downloads.
	if _, err := assets.Ensure(ctx, spec.Cassandra.Version, spec.SQS.ElasticMQVersion, log); err != nil {
		return err
	}
	fmt.Fprintf(out, "machine: %s, %d cores, %s\n", runtime.GOARCH, runtime.NumCPU(), MemTotal())
	start := time.Now()
	w, done, err := World(ctx, "bench-"+spec.Name, spec, log)
	defer done(out)
	if err != nil {
		return err
	}
	MeasureStartup(ctx, w, time.Since(start), w.Phases()).Write(out)
	fmt.Fprintf(out, "\nlatency added by a toxiproxy link with no toxics (%d round trips each):\n", rounds)
	echo, err := Echo(w.ToxiproxyAPI(), rounds)
	if err != nil {
		return err
	}
	echo.Write(out)
	regions := spec.RegionNames()
	if len(regions) < 2 {
		return nil
	}
	from, to := regions[0], regions[1]
	direct, via, err := SQSLink(ctx, w, from, to, rounds/10)
	if err != nil {
		return err
	}
	WriteLatency(out, "sqs ListQueues direct", direct, nil)
	WriteLatency(out, "sqs via "+topology.LinkName(from, to), via, direct)
	return nil
}

// RunMembers is kong bench member: it brings a local world of spec up in a
// temporary home, measures the member reads of its first region (see
// Members) and writes them on out; the world is taken down at the end.
func RunMembers(ctx context.Context, out io.Writer, spec *topology.Spec, members, clients int, log *slog.Logger) error {
	w, done, err := World(ctx, "bench-member", spec, log)
	defer done(out)
	if err != nil {
		return err
	}
	reads, err := Members(ctx, w, spec.Regions[0].Name, members, clients, out)
	if err != nil {
		return err
	}
	reads.Write(out)
	return nil
}

// Components are world c's components, each with the host PID of its
// process: a local world's status carries it, and a container world names
// its containers' host PIDs on request.
func Components(ctx context.Context, c topology.Cluster) ([]topology.Status, error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return nil, err
	}
	if p, ok := c.(interface {
		PIDs(context.Context) (map[string]int, error)
	}); ok {
		pids, err := p.PIDs(ctx)
		if err != nil {
			return nil, err
		}
		for i := range comps {
			if comps[i].PID == 0 {
				comps[i].PID = pids[comps[i].ID]
			}
		}
	}
	return comps, nil
}
