package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
)

// appCommand is `kong serve NAME --listen ADDR --config FILE` for one of the
// application's servers: it reads the JSON configuration into a C, lets
// defaults fill what depends on the file's place, and runs serve until
// SIGTERM or SIGINT.
func appCommand[C any](name, short string, serve func(context.Context, string, C, *slog.Logger) error, defaults ...func(cfg *C, configFile string)) *cobra.Command {
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
				d(&cfg, config)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(os.Stdout, nil))
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

func newServeMember() *cobra.Command {
	return appCommand("member", "Run a member service instance (profiles and viewing history)", member.Serve,
		func(cfg *member.Config, configFile string) {
			// The outbox of owed invalidations lives beside the instance's
			// configuration, in its own folder, so that it survives a kill.
			if cfg.OutboxDir == "" {
				cfg.OutboxDir = filepath.Join(filepath.Dir(configFile), "outbox")
			}
		})
}

func newServeDirector() *cobra.Command {
	return appCommand("director", "Run the director: the geo-DNS analogue that tells clients which region to use", director.Serve)
}

func newServeGateway() *cobra.Command {
	return appCommand("gateway", "Run a region's gateway: the Zuul-like edge in front of its member services", gateway.Serve)
}
