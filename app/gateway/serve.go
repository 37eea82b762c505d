package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kongchaos/kong/app"
)

// ShutdownTimeout bounds the graceful shutdown of Serve.
const ShutdownTimeout = 5 * time.Second

// ReadTimeout bounds the reading of a whole request, its body included
// (at most 1 MiB).
const ReadTimeout = 30 * time.Second

// writeTimeout bounds a request from the end of its headers to the end of
// its answer: the longest outbound call (a member request, retry included,
// or an isthmus request, answers streamed included), with room to spare.
func (c Config) writeTimeout() time.Duration {
	return max(c.Timeouts.Member, c.Timeouts.Isthmus) + 10*time.Second
}

// Serve runs a gateway on listen (host:port) until ctx ends, then shuts it
// down gracefully: no new connections, requests in flight get up to 5 s.
// It returns nil after a clean shutdown.
func Serve(ctx context.Context, listen string, cfg Config, log *slog.Logger) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", listen, err)
	}
	return ServeListener(ctx, ln, cfg, log)
}

// ServeListener is Serve on a listener the caller opened; it closes ln.
func ServeListener(ctx context.Context, ln net.Listener, cfg Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Log == nil {
		cfg.Log = log
	}
	gw, err := New(cfg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer gw.Close()

	srv := &http.Server{
		Handler:           app.GuardAdmin(cfg.AdminSecret, gw),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      gw.cfg.writeTimeout(),
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	d := gw.Dynamic()
	log.Info("gateway listening", "region", gw.cfg.Region, "addr", ln.Addr().String(),
		"members", len(gw.cfg.Members), "mode", d.Mode, "failover", d.Failover,
		"max_rps", d.MaxRPS, "max_concurrency", d.MaxConcurrency)

	select {
	case err := <-errc:
		return fmt.Errorf("gateway %s: serve: %w", gw.cfg.Region, err)
	case <-ctx.Done():
	}
	log.Info("gateway shutting down", "region", gw.cfg.Region)
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("gateway %s: graceful shutdown: %w", gw.cfg.Region, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway %s: serve: %w", gw.cfg.Region, err)
	}
	log.Info("gateway stopped", "region", gw.cfg.Region)
	return nil
}
