package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology/linkrouter"
	"github.com/kongchaos/kong/topology/local"
)

func newServe() *cobra.Command {
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run one of kong's own servers (started by the topology backends)",
	}
	serve.AddCommand(newServeToxiproxy(), newServeWorld(), newServeMember(), newServeGateway(), newServeDirector(), newServeLinkRouter(), newServeWorldSetup())
	return serve
}

func newServeToxiproxy() *cobra.Command {
	var listen, routesFile, allowListen string
	cmd := &cobra.Command{
		Use:   "toxiproxy",
		Short: "Run the embedded toxiproxy server that carries the cross-region links",
		RunE: func(cmd *cobra.Command, _ []string) error {
			allowed, err := netip.ParsePrefix(allowListen)
			if err != nil {
				return usage(fmt.Errorf("--allow-listen %q: %w (give a block such as 127.116.0.0/16)", allowListen, err))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			logger := zerolog.New(os.Stdout).With().Timestamp().Logger().Level(zerolog.InfoLevel)
			server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
			errc := make(chan error, 2)
			if routesFile != "" {
				routes, err := linkrouter.LoadRoutes(routesFile)
				if err != nil {
					return err
				}
				log := slog.New(slog.NewTextHandler(os.Stdout, nil))
				go func() {
					if err := linkrouter.ServeRoutes(ctx, routes, log); err != nil {
						errc <- err
					}
				}()
			}
			// toxiproxy's own routes, behind a guard that keeps every proxy's
			// listener inside the allowed block.
			srv := &http.Server{Addr: listen, Handler: local.GuardToxiproxy(allowed, server.Routes()),
				ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: time.Minute}
			go func() { errc <- srv.ListenAndServe() }()
			select {
			case err := <-errc:
				if err != nil && !errors.Is(err, http.ErrServerClosed) {
					return fmt.Errorf("toxiproxy API on %s: %w", listen, err)
				}
				return nil
			case <-ctx.Done():
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return errors.Join(srv.Shutdown(sctx), server.Shutdown())
			}
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
	var sf specFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:    "world",
		Short:  "Own a world: start it, serve its control API, stop it on SIGTERM",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			spec, err := sf.load()
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(os.Stdout, nil))
			w, err := local.Up(ctx, local.Options{Name: worldFlag(cmd), Home: homeFlag(cmd), Spec: spec, KongBinary: self, Log: log, ReadyTimeout: timeout})
			if err != nil {
				if derr := w.Down(); derr != nil {
					log.Error("down after failed start", "err", derr)
				}
				fmt.Printf("FAILED: %v\n", err)
				return err
			}
			defer func() {
				if err := w.Down(); err != nil {
					log.Error("down", "err", err)
				}
				log.Info("world stopped")
			}()
			log.Info("world ready", "world", w.Name(), "phases", w.Phases())
			if err := w.ServeControl(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up when the world is not ready after this long")
	return cmd
}
