package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/kongchaos/kong/topology/linkrouter"
)

// Own is the owner of a world, the other end of Launch (`kong serve
// world`): it starts the world from o, serves its control API until ctx
// ends, then takes it down; every process of the world dies with it. A
// start that fails is taken down at once, and its reason written to out
// on a line that begins "FAILED: ", where Launch finds it; out also
// receives the owner's log.
func Own(ctx context.Context, o Options, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(out, nil))
	o.Log = log
	w, err := Up(ctx, o)
	if err != nil {
		if derr := w.Down(); derr != nil {
			log.Error("down after failed start", "err", derr)
		}
		fmt.Fprintf(out, "FAILED: %v\n", err)
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
}

// ServeToxiproxy runs the embedded toxiproxy server of a local world
// (`kong serve toxiproxy`) until ctx ends: its API on listen, behind
// GuardToxiproxy (no proxy may listen outside allowed), and the link
// routes of routesFile, when given, at the Cassandra nodes' broadcast
// addresses. Its log goes to out.
func ServeToxiproxy(ctx context.Context, listen string, allowed netip.Prefix, routesFile string, out io.Writer) error {
	logger := zerolog.New(out).With().Timestamp().Logger().Level(zerolog.InfoLevel)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
	errc := make(chan error, 2)
	if routesFile != "" {
		routes, err := linkrouter.LoadRoutes(routesFile)
		if err != nil {
			return err
		}
		log := slog.New(slog.NewTextHandler(out, nil))
		go func() {
			if err := linkrouter.ServeRoutes(ctx, routes, log); err != nil {
				errc <- err
			}
		}()
	}
	srv := &http.Server{Addr: listen, Handler: GuardToxiproxy(allowed, server.Routes()),
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
}
