package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/containersetup"
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
			return containersetup.BuildImages(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), clilog.New(cmd, os.Stderr, slog.LevelInfo), logFile)
		},
	}
	build.Flags().StringVar(&logFile, "log", "", "file for the engine's build output (default: build.log in the images cache)")
	list := &cobra.Command{
		Use:   "list",
		Short: "Show the image a container world runs for each role, and why",
		Args:  cobra.NoArgs,
		RunE:  writeChosen(containersetup.WriteChoices),
	}
	env := &cobra.Command{
		Use:   "env",
		Short: "Print the KONG_*_IMAGE variables of the images a container world runs, for docker compose",
		Long: `Print, as shell exports, the image of each role that kong images list shows, so that the
committed docker-compose.yml runs the same images: eval "$(kong images env)"; docker compose up -d`,
		Args: cobra.NoArgs,
		RunE: writeChosen(containersetup.WriteEnv),
	}
	cmd.AddCommand(build, list, env)
	return cmd
}

// writeChosen is the RunE of a command that writes, with write, the image a
// container world runs for each role (containersetup.Chosen).
func writeChosen(write func(io.Writer, []images.Choice) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		choices, err := containersetup.Chosen(cmd.Context())
		if err != nil {
			return err
		}
		return write(cmd.OutOrStdout(), choices)
	}
}
