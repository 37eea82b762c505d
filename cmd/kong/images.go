package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/containersetup"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/containers/images"
)

func newImages() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build and list the container backend's images (no registry needed)",
		Args:  cobra.NoArgs,
	}
	var logFile string
	build := &cobra.Command{
		Use:   "build",
		Short: "Build every image a container world needs from Debian's packages, Maven Central and the Go module proxy",
		Long: `Build, tag and list every image a container world needs, from package registries only, for
engines that reach no container registry:
  ` + images.Base + `  Debian's minbase (debootstrap), kept as an archive in the cache
  ` + images.Local[images.RoleCassandra] + `  Cassandra's jars from Maven Central on Debian's Java 17, cqlsh from PyPI
  ` + images.Local[images.RoleMemcached] + `  Debian's memcached
  ` + images.Local[images.RoleSQS] + `  ElasticMQ's jars behind LocalStack's port and init scripts
  ` + images.Local[images.RoleToxiproxy] + `  the toxiproxy server kong embeds, built with Go
  ` + images.Local[images.RoleKong] + `  the kong executable
Each image is built again only when what it is made of changed; the engine's build output goes
to --log. A world uses an official image when the engine has it, else kong's own (kong images list).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := clilog.New(cmd, os.Stderr, slog.LevelInfo)
			cli, err := containers.Connect(ctx)
			if err != nil {
				return fmt.Errorf("%w; start one with `kong setup --engine`", err)
			}
			defer cli.Close()
			in, err := containersetup.Inputs(ctx, cmd.ErrOrStderr(), log)
			if err != nil {
				return err
			}
			if logFile == "" {
				logFile = filepath.Join(in.Cache, "build.log")
			}
			lf, err := os.Create(logFile)
			if err != nil {
				return fmt.Errorf("create the build log: %w", err)
			}
			defer lf.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "building kong's images; the engine's output goes to %s\n", logFile)
			start := time.Now()
			if _, err := images.Build(ctx, cli, in, cmd.OutOrStdout(), lf); err != nil {
				return fmt.Errorf("%w (the build log %s has the engine's output)", err, logFile)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "all images ready in %s\n", time.Since(start).Round(100*time.Millisecond))
			return nil
		},
	}
	build.Flags().StringVar(&logFile, "log", "", "file for the engine's build output (default: build.log in the images cache)")
	list := &cobra.Command{
		Use:   "list",
		Short: "Show the image a container world runs for each role, and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			choices, err := chosenImages(cmd.Context())
			if err != nil {
				return err
			}
			writeChoices(cmd.OutOrStdout(), choices)
			return nil
		},
	}
	env := &cobra.Command{
		Use:   "env",
		Short: "Print the KONG_*_IMAGE variables of the images a container world runs, for docker compose",
		Long: `Print, as shell exports, the image of each role that kong images list shows, so that the
committed docker-compose.yml runs the same images: eval "$(kong images env)"; docker compose up -d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			choices, err := chosenImages(cmd.Context())
			if err != nil {
				return err
			}
			for _, c := range choices {
				fmt.Fprintf(cmd.OutOrStdout(), "export %s='%s'\n", images.Env[c.Role], strings.ReplaceAll(c.Image, "'", `'\''`))
			}
			return nil
		},
	}
	cmd.AddCommand(build, list, env)
	return cmd
}

// chosenImages asks the engine which image each role of a world would run.
func chosenImages(ctx context.Context) ([]images.Choice, error) {
	cli, err := containers.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return images.Choose(ctx, cli)
}

func writeChoices(w io.Writer, choices []images.Choice) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tIMAGE\tSOURCE\tIN ENGINE\tWHY")
	for _, c := range choices {
		in := "no"
		if c.Present {
			in = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Role, c.Image, c.Source, in, c.Why)
	}
	tw.Flush()
}
