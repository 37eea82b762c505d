package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
)

// Backends of `kong up` and `kong down`.
const (
	backendLocal      = "local"
	backendContainers = "containers"
)

func backendFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "backend", envOr("KONG_BACKEND", backendLocal),
		"where the world runs: local (processes on this machine) or containers (Docker, with testcontainers-go); default $KONG_BACKEND, else local")
}

func checkBackend(b string) error {
	if b != backendLocal && b != backendContainers {
		return fmt.Errorf("unknown backend %q: the backends are local and containers", b)
	}
	return nil
}

// upContainers brings a world up as Docker containers and leaves it running
// (`kong down --backend containers` removes it). Without an engine it fails
// at once; a failed or interrupted start removes everything it made.
func upContainers(cmd *cobra.Command, world string, spec *topology.Spec, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The world outlives this command: no reaper, from the first call on.
	containers.KeepWorlds()
	if err := containers.CheckEngine(ctx); err != nil {
		return fmt.Errorf("%w; start Docker (or point DOCKER_HOST at an engine), or use the local backend: kong up --backend local", err)
	}
	build := ""
	if os.Getenv("KONG_IMAGE") == "" {
		if wd, err := os.Getwd(); err == nil {
			build = containers.BuildContext(wd)
		}
	}
	images := containers.ImagesFromEnv()
	fmt.Fprintf(out, "bringing up world %s (%s, %d regions) as Docker containers", world, spec.Source(), len(spec.Regions))
	if build != "" {
		fmt.Fprintf(out, "; building %s from %s/Dockerfile", images.Kong, build)
	}
	fmt.Fprintln(out)
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := containers.Up(uctx, containers.Options{Name: world, Spec: spec, Images: images, BuildContext: build,
		ReadyTimeout: timeout, Keep: true, Log: log})
	if err != nil {
		why := err.Error()
		switch {
		case ctx.Err() != nil:
			why = "interrupted"
		case errors.Is(uctx.Err(), context.DeadlineExceeded):
			why = fmt.Sprintf("not ready after %s: %v", timeout, err)
		}
		if w != nil {
			fmt.Fprintf(out, "%s: removing everything world %s made\n", why, world)
			if derr := w.Down(); derr != nil {
				fmt.Fprintln(out, "down:", derr)
			}
		}
		return fmt.Errorf("world %s did not come up: %s", world, why)
	}
	defer w.Close()
	fmt.Fprintf(out, "world %s is ready in %s\n", world, time.Since(start).Round(100*time.Millisecond))
	for _, p := range w.Phases() {
		fmt.Fprintf(out, "  %-16s %s\n", p.Phase, p.Duration.Round(10*time.Millisecond))
	}
	comps, err := w.Components(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "world %s (containers), toxiproxy %s\n", world, w.ToxiproxyAPI())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tZONE\tCOMPONENT\tADDRESS\tCONTAINER\tSTATE")
	for _, c := range comps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(c.Region), dash(c.Zone), c.ID, c.Address, containers.ContainerName(world, c.ID), c.State)
	}
	tw.Flush()
	fmt.Fprintln(out, "links:")
	for _, l := range w.Links() {
		fmt.Fprintf(out, "  %-24s %d proxies\n", l.Name, len(l.Proxies))
	}
	fmt.Fprintf(out, "take it down with: kong down --backend containers --world %s\n", world)
	return nil
}

// downContainers removes a container world (or every one) from the engine.
func downContainers(cmd *cobra.Command, world string, all bool) error {
	ctx := cmd.Context()
	worlds := []string{world}
	if all {
		var err error
		if worlds, err = containers.Worlds(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for _, w := range worlds {
		err := containers.DownWorld(ctx, w)
		switch {
		case errors.Is(err, containers.ErrNotUp):
			fmt.Fprintf(cmd.OutOrStdout(), "world %s has nothing on the engine: nothing to do\n", w)
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Fprintf(cmd.OutOrStdout(), "world %s is down (containers, networks and volumes removed)\n", w)
		}
	}
	return errors.Join(errs...)
}
