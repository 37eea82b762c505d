package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/internal/backends"
	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/output"
	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/kube"
	"github.com/kongchaos/kong/topology/local"
)

// specFlags are a command's --profile and --topology, and --publish-address
// on the commands that bring a world up.
type specFlags struct {
	worldflags.Spec
	publish worldflags.Publish
}

// load reads the topology; a bad file or profile is bad input (exit 2).
func (f *specFlags) load() (*topology.Spec, error) {
	spec, err := f.Load()
	return spec, exitstatus.Usage(err)
}

// specCommand gives cmd --profile and --topology, and its RunE: it loads
// the topology they name and hands it to run.
func specCommand(cmd *cobra.Command, run func(cmd *cobra.Command, spec *topology.Spec) error) *cobra.Command {
	var sf specFlags
	sf.Register(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		spec, err := sf.load()
		if err != nil {
			return err
		}
		return run(cmd, spec)
	}
	return cmd
}

func newUp() *cobra.Command {
	var sf specFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring up a world of real servers; returns when every one is ready",
		Long: `Bring up a world: per region a Cassandra datacenter (one JVM per node, zones are racks),
memcached per zone, an ElasticMQ SQS endpoint, and toxiproxy links between the regions.
The first run fetches what is missing, saying so first: the jars with Maven into ~/.cache/kong (or
$KONG_CACHE), memcached with apt-get, as kong setup does (KONG_NO_INSTALL=1: it names what is missing
and stops instead).
Ctrl-C while it starts stops everything it started.
With --backend containers (or KONG_BACKEND=containers) the same world runs as Docker containers.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			spec, err := sf.load()
			if err != nil {
				return err
			}
			return upWorld(cmd.Context(), cmd, b, worldflags.World(cmd), sf, spec, timeout)
		},
	}
	sf.Register(cmd)
	sf.publish.Register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up when the world is not ready after this long")
	return cmd
}

func newDown() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of a world and remove its state (also after a crash)",
		Long: `Take a world down: every process it started (local backend), or every container, network
and volume (containers backend). With --all, every world of the backend.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			worlds := []string{worldflags.World(cmd)}
			if all {
				if worlds, err = b.Worlds(cmd.Context()); err != nil {
					return err
				}
			}
			return topology.DownWorlds(cmd.Context(), b, worlds, 60*time.Second, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "take down every world of the backend (local: under the home folder)")
	return cmd
}

func newStatus() *cobra.Command {
	return jsonCommand(&cobra.Command{
		Use:   "status",
		Short: "Show a world: every component (region, zone, address, pid, health) and its fault state",
	}, "the world's components and fault state", func(cmd *cobra.Command, _ []string, asJSON bool) error {
		b, err := worldflags.Backend(cmd)
		if err != nil {
			return err
		}
		ctx, out, world := cmd.Context(), cmd.OutOrStdout(), worldflags.World(cmd)
		if !asJSON {
			if err := b.Status(ctx, out, world); err != nil {
				return err
			}
		}
		c, release, err := b.Attach(ctx, world)
		if errors.Is(err, kube.ErrNoAttach) && !asJSON {
			return nil
		}
		if err != nil {
			return err
		}
		defer release()
		st, err := preflight.Inspect(ctx, c)
		if !asJSON {
			return errors.Join(st.Write(out), err)
		}
		comps, cerr := c.Components(ctx)
		var health func(topology.Status) string
		if b.Name() == backends.Local {
			health = func(s topology.Status) string { return local.Health(ctx, s) }
		}
		return errors.Join(cerr, output.Encode(out, output.NewStatus(world, b.Name(), c.ToxiproxyAPI(), comps, health, st)), err)
	})
}

func newLogs() *cobra.Command {
	var lines int
	cmd := &cobra.Command{
		Use:   "logs COMPONENT",
		Short: "Print a component's log (Cassandra's system.log, the console log of others)",
		Example: `  kong logs us-east-1/cassandra/a
  kong logs toxiproxy -n 0`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: complete.Arg(complete.Components(worldflags.Backend, worldflags.World)),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			return b.Logs(cmd.Context(), cmd.OutOrStdout(), worldflags.World(cmd), args[0], lines)
		},
	}
	cmd.Flags().IntVarP(&lines, "lines", "n", 200, "print the last N lines (0 for all)")
	return cmd
}

var componentActions = []struct{ name, short string }{
	{"start", "Start a stopped component and wait until it answers"},
	{"stop", "Stop a component gracefully (SIGTERM)"},
	{"kill", "Kill a component at once (SIGKILL)"},
	{"pause", "Freeze a component (SIGSTOP): there but silent"},
	{"resume", "Thaw a paused component (SIGCONT)"},
}

func newComponentAction(a struct{ name, short string }) *cobra.Command {
	return &cobra.Command{
		Use:               a.name + " COMPONENT",
		Short:             a.short,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: complete.Arg(complete.Components(worldflags.Backend, worldflags.World)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r interface {
				Start(context.Context, string) error
				Stop(context.Context, string) error
				Kill(context.Context, string) error
				Pause(context.Context, string) error
				Resume(context.Context, string) error
			}
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			if kb, ok := b.(*kube.Backend); ok {
				// Straight through the API: no harness traffic needed.
				if r, err = kb.Ops(worldflags.World(cmd)); err != nil {
					return err
				}
			} else {
				c, release, err := worldflags.Attach(cmd, "")
				if err != nil {
					return err
				}
				defer release()
				r = c
			}
			ops := map[string]func(context.Context, string) error{
				"start": r.Start, "stop": r.Stop, "kill": r.Kill, "pause": r.Pause, "resume": r.Resume,
			}
			if err := ops[a.name](cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s done\n", args[0], a.name)
			return nil
		},
	}
}

// upWorld brings a world up on b and leaves it running, drawing its start,
// then prints how long each phase took and the world's components. A
// failed or interrupted (Ctrl-C, SIGTERM, SIGHUP) start removes everything
// it made.
func upWorld(ctx context.Context, cmd *cobra.Command, b topology.Backend, world string, sf specFlags, spec *topology.Spec, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	publish, err := sf.publish.On(cmd, b)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if b.Name() == backends.Containers {
		// The container backend logs its progress.
		level = slog.LevelInfo
	}
	ctx, stop := worldrun.StopContext(ctx)
	defer stop()
	started, err := b.Up(ctx, world, spec, topology.UpOptions{Timeout: timeout, Out: out, Publish: publish,
		Log: clilog.New(cmd, cmd.ErrOrStderr(), level), Progress: progress.Up(out)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "world %s is ready in %s\n", world, started.Took.Round(100*time.Millisecond))
	topology.WritePhases(out, started.Phases)
	if err := b.Status(ctx, out, world); err != nil {
		return err
	}
	if b.Name() != backends.Local {
		fmt.Fprintf(out, "take it down with: %s\n", topology.Command(b, "down", world))
	}
	return nil
}
