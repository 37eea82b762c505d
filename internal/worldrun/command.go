package worldrun

import (
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

// OnWorld runs fn on the world the command names (--backend, --world), as
// every command that runs on a world does: it attaches the world (a world
// that is not up names the kong up command, with profile), lets check look
// at it first, takes the world's run lock, and draws the seed unless
// --seed was given (or seed is nil: the command keeps its own). fn gets the
// world, its backend and the seed in env; the world and the lock are let
// go after. command is the command's name as a person types it.
func OnWorld(cmd *cobra.Command, command, profile string, seed *uint64, check func(topology.Cluster) error, fn func(env scenarios.Env) error) error {
	b, err := worldflags.Backend(cmd)
	if err != nil {
		return err
	}
	world := worldflags.World(cmd)
	cluster, release, err := b.Attach(cmd.Context(), world)
	if err != nil {
		return topology.NeedWorld(err, command, world, b, profile)
	}
	defer release()
	if check != nil {
		if err := check(cluster); err != nil {
			return err
		}
	}
	unlock, err := LockFor(cmd, b, world)
	if err != nil {
		return err
	}
	defer unlock()
	env := scenarios.Env{Cluster: cluster, Backend: b.Name()}
	if seed != nil {
		if !cmd.Flags().Changed("seed") {
			*seed = history.NewSeed()
		}
		env.Seed = *seed
	}
	return fn(env)
}

// LockFor takes the run lock of world on b for the command under way (see
// Lock).
func LockFor(cmd *cobra.Command, b topology.Backend, world string) (func(), error) {
	return Lock(cmd.Context(), worldflags.Home(cmd), b, world, CommandLine(), cmd.OutOrStdout())
}

// RunnerFor runs into a folder under out as the command says (its output,
// --log-level).
func RunnerFor(cmd *cobra.Command, out string) Runner {
	return Runner{Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr(), Reports: out, LogLevel: clilog.Level(cmd, slog.LevelInfo)}
}

// CommandLine is this process's command line, as a person would type it.
func CommandLine() string {
	return strings.TrimSpace("kong " + strings.Join(os.Args[1:], " "))
}
