package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/output"
	"github.com/kongchaos/kong/internal/progress"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

func newList() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the game-day scenarios",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return output.Encode(cmd.OutOrStdout(), output.NewList(scenarios.All()))
			}
			return scenarios.WriteList(cmd.OutOrStdout())
		},
	}
	registerJSONFlag(cmd, &asJSON, "the scenarios")
	return cmd
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
another is refused, naming the run in progress. Ctrl-C, SIGTERM and SIGHUP (a closed terminal or
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
			stdout := jsonToStdout(cmd, asJSON)
			view, err := progress.NewView(cmd.OutOrStdout(), progressMode, []string{spec.Name}, nil)
			if err != nil {
				return err
			}
			return withWorld(cmd, "kong run", spec.Profile, &seed, nil, func(env scenarios.Env) error {
				env.NoReset, env.Progress = noReset, view.Scenario(0)
				outcome, dir, err := runScenario(cmd.Context(), cmd, spec, env, out)
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
				return outcomeError(fmt.Sprintf("scenario %s", spec.Name), outcome)
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

// withWorld runs fn on the world the command names (--backend, --world),
// as every command that runs on a world does: it attaches the world (a
// world that is not up names the kong up command, with profile), lets
// check look at it first (its error is bad input), takes the world's run
// lock, and draws the seed unless --seed was given. fn gets the world, its
// backend and the seed in env; the world and the lock are let go after.
func withWorld(cmd *cobra.Command, command, profile string, seed *uint64, check func(topology.Cluster) error, fn func(env scenarios.Env) error) error {
	b, err := backendOf(cmd)
	if err != nil {
		return err
	}
	world := worldFlag(cmd)
	cluster, release, err := b.Attach(cmd.Context(), world)
	if err != nil {
		return topology.NeedWorld(err, command, world, b, profile)
	}
	defer release()
	if check != nil {
		if err := check(cluster); err != nil {
			return exitstatus.Usage(err)
		}
	}
	unlock, err := lockWorld(cmd, b, world)
	if err != nil {
		return err
	}
	defer unlock()
	if !cmd.Flags().Changed("seed") {
		*seed = history.NewSeed()
	}
	return fn(scenarios.Env{Cluster: cluster, Seed: *seed, Backend: b.Name()})
}

// registerNoResetFlag adds --no-reset, which turns the preflight's reset of
// what an earlier run left in the world into a refusal.
func registerNoResetFlag(cmd *cobra.Command, noReset *bool) {
	cmd.Flags().BoolVar(noReset, "no-reset", false,
		"refuse to run (exit status 3) on a world that an earlier run left damaged (links cut, toxics, member faults, evacuations, paused or stopped processes), naming each thing, instead of resetting it first")
}

// stopSignals stop a run cleanly: the scenario in progress is aborted, its
// faults healed and its reports written before kong exits. SIGHUP is a
// closed terminal or SSH session, which would otherwise kill kong on the
// spot and leave the world broken.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// stopContext is parent ended by the first of stopSignals.
func stopContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, stopSignals...)
}

// outcomeError is nil for a run that passed, exit status 1 for one whose
// verdict found an invariant broken, and 3 for one that could not finish.
func outcomeError(what string, o *run.Outcome) error {
	switch o.Status {
	case history.StatusPassed:
		return nil
	case history.StatusFailed:
		return exitstatus.Failed(errors.New(run.WithReason(what+" failed", o.Reason)))
	}
	return errors.New(run.WithReason(fmt.Sprintf("%s %s", what, o.Status), o.Reason))
}

// runScenario runs a registered scenario as kong run and kong gameday do:
// it says what runs on which world and the command that replays it, then
// runs it into a new folder under out (see runInDir).
func runScenario(ctx context.Context, cmd *cobra.Command, spec scenarios.Spec, env scenarios.Env, out string) (*run.Outcome, string, error) {
	env.Replay = spec.Replay(env.Cluster.Name(), env.Seed)
	fmt.Fprintf(cmd.OutOrStdout(), "running %s on world %s, seed %d\nreplay: %s\n", spec.Name, env.Cluster.Name(), env.Seed, env.Replay)
	return runInDir(ctx, cmd, "scenario "+spec.Name, spec, env, out)
}

// runInDir runs spec with env into a new folder under out (see
// scenarios.RunInDir), with Ctrl-C, SIGTERM and SIGHUP wired to a clean
// abort (the runner heals every fault), and returns the outcome and the
// folder. A report that could not be written is said on stderr; what names
// the run in the error.
func runInDir(ctx context.Context, cmd *cobra.Command, what string, spec scenarios.Spec, env scenarios.Env, out string) (*run.Outcome, string, error) {
	ctx, stop := stopContext(ctx)
	defer stop()
	env.Dir = scenarios.RunDir(out, spec.Name, time.Now())
	env.LogLevel = clilog.Level(cmd, slog.LevelInfo)
	res, err := scenarios.RunInDir(ctx, spec, &env)
	if res.ReportErr != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "report:", res.ReportErr)
	}
	if err != nil {
		return nil, env.Dir, fmt.Errorf("%s: %w (artifacts in %s)", what, err, env.Dir)
	}
	return res.Outcome, env.Dir, nil
}

// lockWorld takes the run lock of a world that is up for the command under
// way, so that no other run (kong run, kong gameday, kong
// replication-check) faults it at the same time. A run in progress makes
// it refuse (exit status 3), naming that run; the lock of a run that was
// killed is free (the kernel let go of it) and is taken over with a note.
// The returned function releases the lock.
func lockWorld(cmd *cobra.Command, b topology.Backend, world string) (func(), error) {
	l, err := local.LockWorldRun(homeFlag(cmd), b.Name(), world, commandLine())
	if err != nil {
		return nil, err
	}
	if l.Stale != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "world %s: the run lock of %s was stale (that run ended without letting go of it: killed?); taken over, and the preflight resets what that run left\n", world, l.Stale)
	}
	return func() { _ = l.Release() }, nil
}

// commandLine is this process's command line, as a person would type it.
func commandLine() string {
	return strings.TrimSpace("kong " + strings.Join(os.Args[1:], " "))
}

// registerProgressFlag adds --progress to cmd.
func registerProgressFlag(cmd *cobra.Command, mode *string) {
	cmd.Flags().StringVar(mode, "progress", progress.Auto,
		"how to show progress: auto (a bar on a terminal, else a line every 5 s and on each phase change), bar, lines, off")
	_ = cmd.RegisterFlagCompletionFunc("progress", complete.Flag(complete.Fixed(progress.Auto, progress.Bar, progress.Lines, progress.Off)))
}
