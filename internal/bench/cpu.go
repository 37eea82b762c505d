package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kongchaos/kong/topology"
)

// Groups are a world's processes by what they are: "cassandra <region>"
// for each region's nodes, "rest of the world" for the others.
type Groups map[string][]int

// WorldGroups groups the processes of a world of either backend.
func WorldGroups(ctx context.Context, c topology.Cluster) (Groups, error) {
	comps, err := Components(ctx, c)
	if err != nil {
		return nil, err
	}
	groups := Groups{}
	for _, s := range comps {
		if s.PID <= 0 {
			continue
		}
		g := "rest of the world"
		if s.Kind == topology.KindCassandra {
			g = CassandraGroup(s.Region)
		}
		groups[g] = append(groups[g], s.PID)
	}
	return groups, nil
}

// CassandraGroup names the group of a region's Cassandra nodes.
func CassandraGroup(region string) string { return "cassandra " + region }

// Names are the groups' names, sorted.
func (g Groups) Names() []string {
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CPUSample is the CPU time spent so far, in seconds: by this process
// (the client), by each group, and by the whole machine.
type CPUSample struct {
	At      time.Time
	Client  float64
	ByGroup map[string]float64
	Machine float64
}

// CPUUse is the CPU time spent between two samples, in seconds, and the
// wall time between them.
type CPUUse struct {
	Wall    time.Duration
	Client  float64
	ByGroup map[string]float64
	Machine float64
}

// Sample reads the CPU time spent so far.
func (g Groups) Sample() CPUSample {
	s := CPUSample{At: time.Now(), Client: ClientCPUSeconds(), ByGroup: map[string]float64{}}
	for name, pids := range g {
		for _, pid := range pids {
			s.ByGroup[name] += ProcessCPUSeconds(pid)
		}
	}
	s.Machine = MachineBusySeconds()
	return s
}

// Until is the CPU time spent from a to b.
func (a CPUSample) Until(b CPUSample) CPUUse {
	u := CPUUse{Wall: b.At.Sub(a.At), Client: b.Client - a.Client, Machine: b.Machine - a.Machine, ByGroup: map[string]float64{}}
	for k, v := range b.ByGroup {
		u.ByGroup[k] = v - a.ByGroup[k]
	}
	return u
}

// CassandraCores is the CPU the world's Cassandra nodes use over d, in
// cores.
func (g Groups) CassandraCores(ctx context.Context, d time.Duration) float64 {
	sum := func() float64 {
		t := 0.0
		for name, pids := range g {
			if strings.HasPrefix(name, CassandraGroup("")) {
				for _, pid := range pids {
					t += ProcessCPUSeconds(pid)
				}
			}
		}
		return t
	}
	a, start := sum(), time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	return (sum() - a) / time.Since(start).Seconds()
}

// Quiesce waits until the Cassandra nodes are back near their idle CPU use
// (the other region has applied what was replicated to it, flushes are
// done), so that no run pays for the one before; it gives up after limit,
// and says on w how it went.
func (g Groups) Quiesce(ctx context.Context, w io.Writer, idle float64, limit time.Duration) {
	start := time.Now()
	threshold := idle + 0.15
	for {
		c := g.CassandraCores(ctx, 2*time.Second)
		if c <= threshold || ctx.Err() != nil {
			fmt.Fprintf(w, "  world quiet after %s (Cassandra at %.2f cores)\n", time.Since(start).Round(time.Second), c)
			return
		}
		if time.Since(start) > limit {
			fmt.Fprintf(w, "  world still busy after %s (Cassandra at %.2f cores, idle %.2f); going on\n", limit, c, idle)
			return
		}
	}
}
