package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/compose"
)

// composeFile is the compose file of a spec's world (see
// compose.WorldFile).
var composeFile = compose.WorldFile

func newCompose() *cobra.Command {
	var out string
	cmd := specCommand(&cobra.Command{
		Use:   "compose",
		Short: "Write the docker-compose.yml of a topology (the container backend's world, for docker compose)",
		Long: `Write the docker-compose.yml that brings up the same world as ` + "`kong up --backend containers`" + `:
one container per Cassandra node (cassandra:5.0), memcached per zone, LocalStack SQS per region,
toxiproxy for the cross-region links with a link router per Cassandra node, and the application
from the repository's Dockerfile. The repository's docker-compose.yml is this command's output for
the default profile; a test fails when they differ.`,
		Example: `  kong compose -o docker-compose.yml
  kong compose --profile small | docker compose -f - up -d --wait`,
		Args: cobra.NoArgs,
	}, func(cmd *cobra.Command, spec *topology.Spec) error {
		data, err := composeFile(spec, worldflags.World(cmd))
		if err != nil {
			return err
		}
		if out == "" || out == "-" {
			_, err = cmd.OutOrStdout().Write(data)
			return err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return fmt.Errorf("write compose file: %w", err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%s, world %s)\n", out, spec.Source(), worldflags.World(cmd))
		return nil
	})
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}
