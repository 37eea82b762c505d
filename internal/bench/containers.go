package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local/assets"
)

// The container backend's budgets against the local backend's world, from
// the issue that made it run for real: start-up within 1.5x, resident
// memory within 1.2x.
const (
	ContainerStartupBudget = 1.5
	ContainerMemoryBudget  = 1.2
)

// EngineRSS is the resident memory of the Docker engine's processes: dockerd,
// containerd, and one containerd shim per container.
type EngineRSS struct {
	Bytes, Shims int64
	Processes    int
}

// ReadEngineRSS reads it from /proc.
func ReadEngineRSS() EngineRSS {
	ps := ReadProcesses()
	daemons, n := ps.RSSOf("dockerd", "containerd")
	// /proc's command names are cut at 15 bytes: containerd-shim-runc-v2.
	shims, m := ps.RSSOf("containerd-shim")
	return EngineRSS{Bytes: daemons + shims, Shims: shims, Processes: n + m}
}

// RunWorldBackends is kong bench world --backend containers: the world of
// spec brought up on the local backend (the baseline) and then as Docker
// containers, one after the other on this machine, each measured as
// MeasureStartup does and taken down; then the two side by side, with the
// container world's ratios against the budgets. The container world is
// watched by kong's reaper: a bench that dies leaves nothing on the engine.
func RunWorldBackends(ctx context.Context, out io.Writer, spec *topology.Spec, log *slog.Logger) error {
	if _, err := assets.Ensure(ctx, spec.Cassandra.Version, spec.SQS.ElasticMQVersion, log); err != nil {
		return err
	}
	if err := containers.CheckEngine(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "machine: %s, %d cores, %s\n", runtime.GOARCH, runtime.NumCPU(), MemTotal())
	name := "bench-" + spec.Name

	fmt.Fprintf(out, "\n== local backend (the baseline)\n")
	start := time.Now()
	w, done, err := World(ctx, name, spec, log)
	if err != nil {
		done(out)
		return err
	}
	base := MeasureStartup(ctx, w, time.Since(start), w.Phases())
	done(out)
	base.Write(out)

	fmt.Fprintf(out, "\n== container backend\n")
	cont, engine, err := containerStartup(ctx, out, name, spec, log)
	if err != nil {
		return err
	}
	cont.Write(out)
	fmt.Fprintf(out, "  %-10s %8.0f MiB (dockerd, containerd and %d processes in all; the shims %.0f MiB)\n",
		"engine", float64(engine.Bytes)/(1<<20), engine.Processes, float64(engine.Shims)/(1<<20))

	WriteBackends(out, base, cont, engine)
	return nil
}

// containerStartup brings world name up as containers, measures it, and
// takes it down; engine is the engine's own memory while the world ran.
func containerStartup(ctx context.Context, out io.Writer, name string, spec *topology.Spec, log *slog.Logger) (Startup, EngineRSS, error) {
	self, err := os.Executable()
	if err != nil {
		return Startup{}, EngineRSS{}, err
	}
	reaper, err := containers.StartReaper(self, name, filepath.Join(os.TempDir(), "kong-reaper-"+name+".log"))
	if err != nil {
		return Startup{}, EngineRSS{}, err
	}
	defer reaper.Release()
	// No images given: each role's is chosen as kong up chooses it (kong
	// images list).
	start := time.Now()
	w, err := containers.Up(ctx, containers.Options{Name: name, Spec: spec,
		BuildContext: containers.KongBuildContext(), ReadyTimeout: 15 * time.Minute, Log: log})
	took := time.Since(start)
	if w != nil {
		defer func() {
			if derr := w.Down(); derr != nil {
				fmt.Fprintln(out, "down:", derr)
			}
		}()
	}
	if err != nil {
		return Startup{}, EngineRSS{}, fmt.Errorf("the container world did not come up: %w", err)
	}
	return MeasureStartup(ctx, w, took, w.Phases()), ReadEngineRSS(), nil
}

// WriteBackends prints the two worlds side by side: start-up and resident
// memory, the container world's ratio to the local one, and the budgets.
// The container world's memory is given without and with the engine's.
func WriteBackends(w io.Writer, local, cont Startup, engine EngineRSS) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	ratio := func(a, b float64) string {
		if b <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	fmt.Fprintf(w, "\n%-34s %12s %12s %8s %8s\n", "", "local", "containers", "ratio", "budget")
	fmt.Fprintf(w, "%-34s %12s %12s %8s %7.1fx\n", "start-up to ready",
		local.Took.Round(100*time.Millisecond), cont.Took.Round(100*time.Millisecond),
		ratio(cont.Took.Seconds(), local.Took.Seconds()), ContainerStartupBudget)
	fmt.Fprintf(w, "%-34s %9.0f MiB %8.0f MiB %8s %7.1fx\n", "resident memory, components",
		mib(local.Total()), mib(cont.Total()), ratio(mib(cont.Total()), mib(local.Total())), ContainerMemoryBudget)
	withEngine := cont.Total() + engine.Bytes
	fmt.Fprintf(w, "%-34s %9.0f MiB %8.0f MiB %8s %7.1fx\n", "resident memory, with the engine",
		mib(local.Total()), mib(withEngine), ratio(mib(withEngine), mib(local.Total())), ContainerMemoryBudget)
}
