package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
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
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/kube"
	"github.com/kongchaos/kong/topology/local"
)

// specFlags are a command's --profile and --topology, and --publish-address
// on the commands that bring a world up.
type specFlags struct {
	worldflags.Spec
	// publish is --publish-address, on the commands that bring a world up.
	publish string
}

// registerPublish adds --publish-address to a command that brings a world
// up.
func (f *specFlags) registerPublish(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.publish, publishFlag, containers.DefaultPublishAddress().String(),
		"with --backend containers: the host address the containers' ports are published on (0.0.0.0: every interface)")
}

const publishFlag = "publish-address"

// publishAddress is --publish-address ("" for the default).
func (f *specFlags) publishAddress() (netip.Addr, error) {
	a, err := containers.ParsePublishAddress(f.publish)
	if err != nil {
		return a, fmt.Errorf("--%s %w", publishFlag, err)
	}
	return a, nil
}

// publishOn is --publish-address for a world that b brings up: the
// container backend's; the local backend's servers listen on loopback
// addresses only, and refuse it.
func (f *specFlags) publishOn(cmd *cobra.Command, b topology.Backend) (netip.Addr, error) {
	if b.Name() == backends.Containers {
		return f.publishAddress()
	}
	if cmd.Flags().Changed(publishFlag) {
		return netip.Addr{}, fmt.Errorf("--%s is for the container backend (--backend containers): the local backend's servers listen on loopback addresses only", publishFlag)
	}
	return netip.Addr{}, nil
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
			b, err := backendOf(cmd)
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
	sf.registerPublish(cmd)
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
			b, err := backendOf(cmd)
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
		b, err := backendOf(cmd)
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
		ValidArgsFunction: complete.Arg(complete.Components(backendOf, worldflags.World)),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := backendOf(cmd)
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
		ValidArgsFunction: complete.Arg(complete.Components(backendOf, worldflags.World)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r interface {
				Start(context.Context, string) error
				Stop(context.Context, string) error
				Kill(context.Context, string) error
				Pause(context.Context, string) error
				Resume(context.Context, string) error
			}
			b, err := backendOf(cmd)
			if err != nil {
				return err
			}
			if kb, ok := b.(*kube.Backend); ok {
				// Straight through the API: no harness traffic needed.
				if r, err = kb.Ops(worldflags.World(cmd)); err != nil {
					return err
				}
			} else {
				c, release, err := attach(cmd)
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

// attach finds the world the command names (--backend, --world).
func attach(cmd *cobra.Command) (topology.Cluster, func(), error) { return attachWorld(cmd, "") }

// attachWorld finds world on the command's backend (--backend); "" is the
// world --world names.
func attachWorld(cmd *cobra.Command, world string) (topology.Cluster, func(), error) {
	b, err := backendOf(cmd)
	if err != nil {
		return nil, nil, err
	}
	if world == "" {
		world = worldflags.World(cmd)
	}
	return b.Attach(cmd.Context(), world)
}

// backendFlag is the root's --backend: every command that brings up, finds
// or takes down a world asks it where.
func backendFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().String("backend", envOr("KONG_BACKEND", backends.Local),
		"where worlds run: local (processes on this machine), containers (Docker, with testcontainers-go) or kubernetes (a cluster); default $KONG_BACKEND, else local")
	cmd.PersistentFlags().String("kubeconfig", "", "with --backend kubernetes: the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	cmd.PersistentFlags().String("context", "", "with --backend kubernetes: the kubeconfig's context (default its current one)")
	cmd.PersistentFlags().Bool("in-cluster", false, "with --backend kubernetes: reach the API server as the pod kong runs in (its service account)")
	cmd.PersistentFlags().String("namespace-prefix", envOr("KONG_NAMESPACE_PREFIX", kube.DefaultPrefix),
		"with --backend kubernetes: what the names of a world's namespaces begin with (<prefix><world> and <prefix><world>-<region>); default $KONG_NAMESPACE_PREFIX, else kong-")
}

// backendOf is the backend the command's --backend (or $KONG_BACKEND) names.
func backendOf(cmd *cobra.Command) (topology.Backend, error) {
	name, _ := cmd.Flags().GetString("backend")
	kubeconfig, _ := cmd.Flags().GetString("kubeconfig")
	kubeContext, _ := cmd.Flags().GetString("context")
	inCluster, _ := cmd.Flags().GetBool("in-cluster")
	prefix, _ := cmd.Flags().GetString("namespace-prefix")
	b, err := backends.Open(name, backends.Options{Home: worldflags.Home(cmd), Kubeconfig: kubeconfig, Context: kubeContext,
		InCluster: inCluster, NamespacePrefix: prefix})
	return b, exitstatus.Usage(err)
}

// upWorld brings a world up on b and leaves it running, drawing its start,
// then prints how long each phase took and the world's components. A
// failed or interrupted (Ctrl-C, SIGTERM, SIGHUP) start removes everything
// it made.
func upWorld(ctx context.Context, cmd *cobra.Command, b topology.Backend, world string, sf specFlags, spec *topology.Spec, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	publish, err := sf.publishOn(cmd, b)
	if err != nil {
		return exitstatus.Usage(err)
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
