package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/linkrouter"
)

// newServeLinkRouter runs the link routers of a container world: one per
// Cassandra node, listening at the node's broadcast address.
func newServeLinkRouter() *cobra.Command {
	var routesFile string
	cmd := &cobra.Command{
		Use:   "link-router",
		Short: "Route Cassandra internode connections through the link of the sender's region (container backend)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			routes, err := linkrouter.LoadRoutes(routesFile)
			if err != nil {
				return err
			}
			var addrs []string
			for _, r := range routes {
				// Fail here, before saying it listens, when an address is taken.
				l, err := net.Listen("tcp", r.Listen)
				if err != nil {
					return fmt.Errorf("link router on %s: %w", r.Listen, err)
				}
				l.Close()
				addrs = append(addrs, r.Listen)
			}
			log := slog.New(slog.NewTextHandler(cmd.OutOrStdout(), nil))
			fmt.Fprintf(cmd.OutOrStdout(), "%s on %s\n", containers.RouterReadyLine, strings.Join(addrs, ", "))
			return linkrouter.ServeRoutes(ctx, routes, log)
		},
	}
	cmd.Flags().StringVar(&routesFile, "routes", "", "link routes (JSON), as the container backend writes them")
	_ = cmd.MarkFlagRequired("routes")
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
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := containers.LoadSetup(configFile)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			log := slog.New(slog.NewTextHandler(cmd.OutOrStdout(), nil))
			if err := s.Run(ctx, log); err != nil {
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
