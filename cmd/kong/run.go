package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/incluster"
	"github.com/kongchaos/kong/internal/output"
	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/scenarios"
)

func newList() *cobra.Command {
	return jsonCommand(&cobra.Command{
		Use:   "list",
		Short: "List the game-day scenarios",
	}, "the scenarios", func(cmd *cobra.Command, _ []string, asJSON bool) error {
		if asJSON {
			return output.Encode(cmd.OutOrStdout(), output.NewList(scenarios.All()))
		}
		return scenarios.WriteList(cmd.OutOrStdout())
	})
}

func newRun() *cobra.Command {
	var seed uint64
	var out, progressMode string
	var noReset, asJSON bool
	cmd := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Run one game-day scenario against a world that is up (kong up), and write its report",
		Long: `Run one game-day scenario against a world that is up (kong up), and write its artifacts and
reports into a folder under --out.

Before its first phase the run checks the world (the preflight): every component running and not
paused, every link enabled with no toxics, no fault in any member service, nothing evacuated or
overridden at the director, every gateway as it started. What a run before it left behind (one that
was killed) is reset, and written into the run's phases.log; with --no-reset the run is refused
instead, naming each thing it found.

One run at a time per world: while kong run, kong gameday or kong replication-check runs on a world,
another is refused, naming the run in progress.

On the kubernetes backend, from outside the cluster, the run goes inside it: a Job of the world
runs it there (its traffic must not cross a port-forward), what it says shows here, and its
folder is copied into --out when it ends. Ctrl-C stops it there as it would here. Ctrl-C, SIGTERM and SIGHUP (a closed terminal or
SSH session) stop a run cleanly: its faults are healed and its reports written before kong exits.

Exit status: 0 the scenario held, 1 it ran and an invariant did not hold, 2 bad input, 3 the world
could not be reached or used (not up, busy with another run, refused by the preflight) or the run
could not finish (aborted, interrupted).

With --json, what kong run says goes to stderr, and stdout gets one JSON document when the run
ends: its folder, status, each checker's verdict and the key figures (schema kong.run/v1).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: complete.Arg(complete.Scenarios),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := scenarios.Get(args[0])
			if err != nil {
				return exitstatus.Usage(err)
			}
			if done, err := incluster.FromOutside(cmd, args, out); done {
				return err
			}
			stdout := jsonToStdout(cmd, asJSON)
			view, err := progress.NewView(cmd.OutOrStdout(), progressMode, []string{spec.Name}, nil)
			if err != nil {
				return err
			}
			return worldrun.OnWorld(cmd, "kong run", spec.Profile, &seed, nil, func(env scenarios.Env) error {
				env.NoReset, env.Progress = noReset, view.Scenario(0)
				outcome, dir, err := worldrun.RunnerFor(cmd, out).Scenario(cmd.Context(), spec, env)
				view.End()
				if asJSON {
					if err := output.Encode(stdout, output.Run{Schema: output.RunSchema, RunResult: output.ReadRun(dir, spec.Name, err)}); err != nil {
						return err
					}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\nartifacts: %s\n", spec.Name, outcome, dir)
				return worldrun.OutcomeError(fmt.Sprintf("scenario %s", spec.Name), outcome)
			})
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the run's randomness (printed when not given; the same seed replays the same faults)")
	cmd.Flags().StringVar(&out, "out", "kong-reports", "folder that receives one artifacts folder per run")
	registerNoResetFlag(cmd, &noReset)
	registerProgressFlag(cmd, &progressMode)
	registerJSONFlag(cmd, &asJSON, "the run's outcome")
	return cmd
}

// jsonToStdout keeps stdout for the JSON document of a command run with
// --json (asJSON): everything else the command prints goes to stderr. It
// returns stdout.
func jsonToStdout(cmd *cobra.Command, asJSON bool) io.Writer {
	stdout := cmd.OutOrStdout()
	if asJSON {
		cmd.SetOut(cmd.ErrOrStderr())
	}
	return stdout
}

// registerNoResetFlag adds --no-reset, which turns the preflight's reset of
// what an earlier run left in the world into a refusal.
func registerNoResetFlag(cmd *cobra.Command, noReset *bool) {
	cmd.Flags().BoolVar(noReset, "no-reset", false,
		"refuse to run (exit status 3) on a world that an earlier run left damaged (links cut, toxics, member faults, evacuations, paused or stopped processes), naming each thing, instead of resetting it first")
}

// registerProgressFlag adds --progress to cmd.
func registerProgressFlag(cmd *cobra.Command, mode *string) {
	cmd.Flags().StringVar(mode, "progress", progress.Auto,
		"how to show progress: auto (a bar on a terminal, else a line every 5 s and on each phase change), bar, lines, off")
	_ = cmd.RegisterFlagCompletionFunc("progress", complete.Flag(complete.Fixed(progress.Auto, progress.Bar, progress.Lines, progress.Off)))
}
