// Package serve is `kong serve`: the entry points of the servers kong
// starts as processes of their own (the topology backends run them): the
// owner of a local world, the embedded toxiproxy, the reference
// application's member service, gateway and director, the container
// backend's link router and world setup, and the kubernetes backend's run
// Jobs. Each runs until SIGTERM or SIGINT.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/kube"
	"github.com/kongchaos/kong/topology/kube/runjob"
	"github.com/kongchaos/kong/topology/local"
	"github.com/kongchaos/kong/topology/probe"
)

// Command is `kong serve` with its subcommands; the root's persistent
// --world and --home flags name the world an owner serves.
func Command() *cobra.Command {
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run one of kong's own servers (started by the topology backends)",
	}
	serve.AddCommand(newServeToxiproxy(), newServeWorld(),
		appCommand("member", "Run a member service instance (profiles and viewing history)", member.Serve, (*member.Config).Beside),
		appCommand("gateway", "Run a region's gateway: the Zuul-like edge in front of its member services", gateway.Serve),
		appCommand("director", "Run the director: the geo-DNS analogue that tells clients which region to use", director.Serve),
		newServeLinkRouter(), newServeWorldSetup(), newServeContainerReaper(), newServeJob(), newServeJobControl())
	return serve
}

// serveContext is the context of a server: ended by SIGINT or SIGTERM
// (and the other signals given).
func serveContext(parent context.Context, more ...os.Signal) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, append([]os.Signal{os.Interrupt, syscall.SIGTERM}, more...)...)
}

func newServeToxiproxy() *cobra.Command {
	var listen, routesFile, allowListen string
	cmd := &cobra.Command{
		Use:   "toxiproxy",
		Short: "Run the embedded toxiproxy server that carries the cross-region links",
		RunE: func(cmd *cobra.Command, _ []string) error {
			allowed, err := netip.ParsePrefix(allowListen)
			if err != nil {
				return fmt.Errorf("--allow-listen %q: %w (give a block such as 127.116.0.0/16)", allowListen, err)
			}
			ctx, stop := serveContext(cmd.Context(), syscall.SIGHUP)
			defer stop()
			return local.ServeToxiproxy(ctx, listen, allowed, routesFile, os.Stdout)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8474", "address of the toxiproxy HTTP API (loopback)")
	cmd.Flags().StringVar(&allowListen, "allow-listen", "127.0.0.0/8", "the only addresses a proxy may listen on (the world's own block)")
	cmd.Flags().StringVar(&routesFile, "routes", "", "link routes (JSON) to serve at Cassandra nodes' broadcast addresses")
	return cmd
}

// newServeWorld is the daemon `kong up` starts: it owns every process of the
// world (they die with it), serves the control API, and tears the world down
// on SIGTERM or SIGINT.
func newServeWorld() *cobra.Command {
	var sf worldflags.Spec
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:    "world",
		Short:  "Own a world: start it, serve its control API, stop it on SIGTERM",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := serveContext(context.Background())
			defer stop()
			spec, err := sf.Load()
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			return local.Own(ctx, local.Options{Name: worldflags.World(cmd), Home: worldflags.Home(cmd), Spec: spec, KongBinary: self, ReadyTimeout: timeout}, os.Stdout)
		},
	}
	sf.Register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up when the world is not ready after this long")
	return cmd
}

// appCommand is `kong serve NAME --listen ADDR --config FILE` for one of the
// application's servers: it reads the JSON configuration into a C, lets
// defaults fill what depends on the file's place, and runs serve until
// SIGTERM or SIGINT.
func appCommand[C any](name, short string, serve func(context.Context, string, C, *slog.Logger) error, defaults ...func(cfg *C, configFile string) error) *cobra.Command {
	var listen, config string
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg C
			data, err := os.ReadFile(config)
			if err != nil {
				return fmt.Errorf("%s configuration: %w", name, err)
			}
			if err := json.Unmarshal(data, &cfg); err != nil {
				return fmt.Errorf("%s configuration %s: %w", name, config, err)
			}
			for _, d := range defaults {
				if err := d(&cfg, config); err != nil {
					return fmt.Errorf("%s configuration: %w", name, err)
				}
			}
			ctx, stop := serveContext(context.Background())
			defer stop()
			log := clilog.New(cmd, os.Stdout, slog.LevelInfo)
			log.Info("serving", "server", name, "listen", listen)
			return serve(ctx, listen, cfg, log)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to serve on (loopback)")
	cmd.Flags().StringVar(&config, "config", "", "JSON configuration file")
	_ = cmd.MarkFlagRequired("listen")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// newServeLinkRouter runs the link routers of a container world: one per
// Cassandra node, listening at the node's broadcast address.
func newServeLinkRouter() *cobra.Command {
	var routesFile string
	cmd := &cobra.Command{
		Use:   "link-router",
		Short: "Route Cassandra internode connections through the link of the sender's region (container backend)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := serveContext(cmd.Context())
			defer stop()
			return containers.ServeLinkRouter(ctx, routesFile, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&routesFile, "routes", "", "link routes (JSON), as the container backend writes them")
	_ = cmd.MarkFlagRequired("routes")
	return cmd
}

// newServeContainerReaper is the process that outlives the owner of a
// container world: when its standard input ends (the owner ended), it
// removes the world, unless the owner disarmed it first.
func newServeContainerReaper() *cobra.Command {
	var world string
	cmd := &cobra.Command{
		Use:    "container-reaper",
		Short:  "Remove a container world once standard input ends (its owner ended)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Signals are the owner's business: this process outlives it.
			signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			return containers.ReapOnEOF(cmd.InOrStdin(), world)
		},
	}
	cmd.Flags().StringVar(&world, "world", "", "the world to remove")
	_ = cmd.MarkFlagRequired("world")
	return cmd
}

// newServeWorldSetup is compose's one-shot setup step: it waits for the
// Cassandra cluster to be whole and creates the keyspaces and tables.
func newServeWorldSetup() *cobra.Command {
	var configFile string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "world-setup",
		Short: "Wait for a world's Cassandra nodes, then create its keyspaces and tables (docker compose)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := serveContext(cmd.Context())
			defer stop()
			s, err := probe.LoadSetup(configFile)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := s.Run(ctx, clilog.New(cmd, cmd.OutOrStdout(), slog.LevelInfo)); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "world setup done")
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "setup (JSON), as `kong compose` writes it")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// newServeJob is what a run Job's pod runs (kubernetes backend): a kong
// command to its end, then its reports held until fetched.
func newServeJob() *cobra.Command {
	var j runjob.Side
	cmd := &cobra.Command{
		Use:   "job [flags] -- COMMAND...",
		Short: "Run a kong command in a run Job's pod, then keep its reports until they are fetched (kubernetes backend)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			ctx, stop := serveContext(cmd.Context())
			defer stop()
			j.Command, j.Out = append([]string{self}, args...), cmd.OutOrStdout()
			code, err := j.Run(ctx)
			if err != nil {
				return err
			}
			return exitstatus.With(code, exitCodeError(code))
		},
	}
	cmd.Flags().StringVar(&j.Reports, "reports", kube.JobReports, "the folder the command writes its reports into")
	cmd.Flags().DurationVar(&j.Hold, "hold", kube.DefaultHold, "how long to keep the reports for the kong that fetches them")
	cmd.Flags().StringVar(&j.Marker, "marker", "", "what the line that gives the command's exit status begins with")
	_ = cmd.MarkFlagRequired("marker")
	return cmd
}

// exitCodeError is nil for 0, else an error that says the command's exit
// status.
func exitCodeError(code int) error {
	if code == 0 {
		return nil
	}
	return fmt.Errorf("the command exited with status %d", code)
}

// newServeJobControl is what the kong that started a run Job execs in its
// pod: ask the run to stop, fetch its reports as a tar stream, or let the
// pod end.
func newServeJobControl() *cobra.Command {
	var reports string
	var stopRun, asTar, release bool
	cmd := &cobra.Command{
		Use:   "job-control",
		Short: "Stop a run Job's run, write its reports as tar to stdout, or release them (kubernetes backend)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case stopRun:
				return runjob.RequestStop(reports)
			case asTar:
				return runjob.WriteTar(cmd.OutOrStdout(), reports)
			case release:
				return runjob.Release(reports)
			}
			return exitstatus.Usage(errors.New("give one of --stop, --tar and --release"))
		},
	}
	cmd.Flags().StringVar(&reports, "reports", kube.JobReports, "the run Job's reports folder")
	cmd.Flags().BoolVar(&stopRun, "stop", false, "ask the run to stop, as Ctrl-C would")
	cmd.Flags().BoolVar(&asTar, "tar", false, "write the reports to stdout as a tar stream")
	cmd.Flags().BoolVar(&release, "release", false, "the reports were fetched: let the pod end")
	cmd.MarkFlagsMutuallyExclusive("stop", "tar", "release")
	return cmd
}
