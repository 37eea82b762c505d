package main

import (
	"context"
	"errors"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/topology/local"
)

// newTool is kong nodetool or kong cqlsh: Cassandra's own tool against a
// node of a local world (local.Backend.Nodetool, Cqlsh), every argument
// after REGION|NODE passed through, its exit status kong's.
func newTool(name, short string) *cobra.Command {
	cmd := &cobra.Command{Use: name + " REGION|NODE [ARGS...]", Short: short, Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: complete.Arg(complete.Nodes(worldflags.Backend, worldflags.World)),
		Example:           "  kong " + name + " us-east-1 " + map[string]string{"nodetool": "status", "cqlsh": `-e "DESCRIBE KEYSPACES"`}[name],
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			lb, ok := b.(*local.Backend)
			if !ok {
				return exitstatus.Usage(errors.New("kong " + name + " runs against local worlds; in a containers world, docker exec into the node's container"))
			}
			tool := lb.Nodetool
			if name == "cqlsh" {
				tool = func(ctx context.Context, world, target string, args []string) (*exec.Cmd, error) {
					return lb.Cqlsh(ctx, world, target, args, cmd.ErrOrStderr())
				}
			}
			c, err := tool(cmd.Context(), worldflags.World(cmd), args[0], args[1:])
			if err != nil {
				return err
			}
			c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err, x := c.Run(), (*exec.ExitError)(nil); errors.As(err, &x) {
				return exitstatus.With(x.ExitCode(), errors.New(name+" "+x.String()))
			} else {
				return err
			}
		}}
	cmd.Flags().SetInterspersed(false) // the tool's flags are the tool's
	return cmd
}
