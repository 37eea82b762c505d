package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/containersetup"
	"github.com/kongchaos/kong/internal/kubesetup"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
)

func newSetup() *cobra.Command {
	var engine, stopEngine, kubernetes bool
	cmd := specCommand(&cobra.Command{
		Use:   "setup",
		Short: "Fetch what the local backend and the tests need: Cassandra and ElasticMQ jars (Maven), memcached and chromium (apt-get)",
		Long: `Fetch what the local backend and the tests need, and say where it is: the Cassandra and ElasticMQ
jars (with Maven, into $KONG_CACHE or ~/.cache/kong), and Debian's memcached and chromium, installed
system-wide with apt-get (as root, or with sudo -n) when they are missing; a line says so before each
install. With KONG_NO_INSTALL set, nothing is installed: setup names what to install instead.
kong up does the same, saying so, before it starts a world; besides these, only kong images build
installs anything (Debian's debootstrap, and cqlsh into the cache), saying so too.

With --engine it readies the container backend's engine instead: when no Docker engine answers,
it installs Debian's docker.io (when dockerd is missing) and starts dockerd in the background
(as root; its log is dockerd.log in the cache). Then kong images build makes the images.
With --stop-engine it stops the engine that --engine started, and no other (make test stops
the one it started this way once the container tests end).`,
	}, func(cmd *cobra.Command, spec *topology.Spec) error {
		log := clilog.New(cmd, os.Stderr, slog.LevelInfo)
		out := cmd.OutOrStdout()
		if n := btoi(engine) + btoi(stopEngine) + btoi(kubernetes); n > 1 {
			return fmt.Errorf("--engine, --stop-engine and --kubernetes: choose one")
		}
		if kubernetes {
			t, err := kubesetup.Build(cmd.Context(), out, log)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, strings.Join(t.Lines(), "\n"))
			return nil
		}
		if stopEngine {
			return containersetup.StopEngine(cmd.Context(), out)
		}
		if engine {
			return containersetup.Engine(cmd.Context(), out, log)
		}
		a, err := assets.Setup(cmd.Context(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, cmd.ErrOrStderr(), log)
		if err != nil {
			return err
		}
		a.Write(out)
		// The report tests draw the HTML reports in headless Chromium.
		chromium, err := assets.EnsureChromium(cmd.Context(), cmd.ErrOrStderr(), log)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "chromium   %s\n", chromium)
		return nil
	})
	cmd.Flags().BoolVar(&engine, "engine", false, "start a Docker engine for the container backend where none answers (installing Debian's docker.io)")
	cmd.Flags().BoolVar(&kubernetes, "kubernetes", false, "build a Kubernetes control plane (API server, controllers, scheduler, etcd, kwok) and what a real node runs (kubelet, kube-proxy, CoreDNS) from Go modules into the cache")
	cmd.Flags().BoolVar(&stopEngine, "stop-engine", false, "stop the Docker engine that kong setup --engine started (never one kong did not start)")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
