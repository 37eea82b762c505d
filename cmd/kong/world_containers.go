package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
)

// upContainers brings a world up as Docker containers, with their ports
// published on the host address publish, and leaves it running (`kong down
// --backend containers` removes it). Without an engine it fails at once; a
// failed or interrupted start removes everything it made.
func upContainers(cmd *cobra.Command, world string, spec *topology.Spec, publish netip.Addr, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	ctx, stop := stopContext(cmd.Context())
	defer stop()
	// The world outlives this command: no reaper, from the first call on.
	containers.KeepWorlds()
	if err := containers.CheckEngine(ctx); err != nil {
		return engineError(err)
	}
	build := ""
	if os.Getenv("KONG_IMAGE") == "" {
		if wd, err := os.Getwd(); err == nil {
			build = containers.BuildContext(wd)
		}
	}
	images := containers.ImagesFromEnv()
	fmt.Fprintf(out, "bringing up world %s (%s, %d regions) as Docker containers, ports published on %s", world, spec.Source(), len(spec.Regions), publish)
	if build != "" {
		fmt.Fprintf(out, "; building %s from %s/Dockerfile", images.Kong, build)
	}
	fmt.Fprintln(out)
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := containers.Up(uctx, containers.Options{Name: world, Spec: spec, Images: images, BuildContext: build,
		ReadyTimeout: timeout, PublishAddress: publish, Keep: true, Log: log})
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
	if err := printContainerWorld(ctx, out, w); err != nil {
		return err
	}
	fmt.Fprintf(out, "take it down with: %s\n", containersBackend{}.command("down", world))
	return nil
}
