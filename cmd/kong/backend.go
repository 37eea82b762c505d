package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local"
)

// Backends: where a world runs.
const (
	backendLocal      = local.BackendName
	backendContainers = containers.BackendName
)

// backendFlag is the root's --backend: every command that brings up, finds
// or takes down a world asks it where.
func backendFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().String("backend", envOr("KONG_BACKEND", backendLocal),
		"where worlds run: local (processes on this machine) or containers (Docker, with testcontainers-go); default $KONG_BACKEND, else local")
}

func checkBackend(b string) error {
	if b != backendLocal && b != backendContainers {
		return fmt.Errorf("unknown backend %q: the backends are local and containers", b)
	}
	return nil
}

// backendOf is the backend the command's --backend (or $KONG_BACKEND) names.
func backendOf(cmd *cobra.Command) (topology.Backend, error) {
	b, _ := cmd.Flags().GetString("backend")
	if b == "" {
		b = backendLocal
	}
	if err := checkBackend(b); err != nil {
		return nil, usage(err)
	}
	if b == backendContainers {
		return &containers.Backend{}, nil
	}
	return &local.Backend{Home: homeFlag(cmd)}, nil
}

// kongCommand spells a kong command on one of the backend's worlds:
// kongCommand(b, "down", "w") is "kong down --world w" on the local backend.
func kongCommand(b topology.Backend, verb, world string) string {
	if b.Name() == backendLocal {
		return "kong " + verb + " --world " + world
	}
	return "kong " + verb + " --backend " + b.Name() + " --world " + world
}

// needWorld adds to an attach error the command that brings the world up.
func needWorld(err error, command, world string, b topology.Backend, profile string) error {
	up := kongCommand(b, "up", world)
	if profile != "" {
		up += " --profile " + profile
	}
	return fmt.Errorf("%w\n(%s needs a world: `%s`)", err, command, up)
}

// upWorld brings a world up on b and leaves it running, drawing its start,
// then prints how long each phase took and the world's components. A
// failed or interrupted (Ctrl-C, SIGTERM, SIGHUP) start removes everything
// it made.
func upWorld(ctx context.Context, cmd *cobra.Command, b topology.Backend, world string, sf specFlags, spec *topology.Spec, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	level := slog.LevelWarn
	switch b := b.(type) {
	case *local.Backend:
		if f := cmd.Flags().Lookup(publishFlag); f != nil && f.Changed {
			return usage(fmt.Errorf("--%s is for the container backend (--backend containers): the local backend's servers listen on loopback addresses only", publishFlag))
		}
	case *containers.Backend:
		publish, err := sf.publishAddress()
		if err != nil {
			return usage(err)
		}
		b.Publish = publish
		level = slog.LevelInfo
	}
	ctx, stop := stopContext(ctx)
	defer stop()
	started, err := b.Up(ctx, world, spec, topology.UpOptions{Timeout: timeout, Out: out,
		Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})), Progress: progress.Up(out)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "world %s is ready in %s\n", world, started.Took.Round(100*time.Millisecond))
	topology.WritePhases(out, started.Phases)
	if err := b.Status(ctx, out, world); err != nil {
		return err
	}
	if b.Name() != backendLocal {
		fmt.Fprintf(out, "take it down with: %s\n", kongCommand(b, "down", world))
	}
	return nil
}

// localOnly refuses a command that measures this machine's processes on
// another backend.
func localOnly(cmd *cobra.Command, command string) error {
	b, err := backendOf(cmd)
	if err != nil {
		return err
	}
	if b.Name() != backendLocal {
		return fmt.Errorf("%s measures the world's processes on this machine (their CPU from /proc): it runs on the local backend only, not on %s", command, b.Name())
	}
	return nil
}
