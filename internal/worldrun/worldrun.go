// Package worldrun is what every command that runs on a world (kong run,
// kong gameday, kong replication-check, kong bench replication) does around
// the run: the world's run lock, a clean stop on Ctrl-C, SIGTERM and
// SIGHUP, the run's own folder, and the exit status of its outcome.
package worldrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// StopSignals stop a run cleanly: the scenario in progress is aborted, its
// faults healed and its reports written before kong exits. SIGHUP is a
// closed terminal or SSH session, which would otherwise kill kong on the
// spot and leave the world broken.
var StopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// StopContext is parent ended by the first of StopSignals.
func StopContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, StopSignals...)
}

// OutcomeError is nil for a run that passed, exit status 1 for one whose
// verdict found an invariant broken, and 3 for one that could not finish.
// what names the run.
func OutcomeError(what string, o *run.Outcome) error {
	switch o.Status {
	case history.StatusPassed:
		return nil
	case history.StatusFailed:
		return exitstatus.Failed(errors.New(run.WithReason(what+" failed", o.Reason)))
	}
	return errors.New(run.WithReason(fmt.Sprintf("%s %s", what, o.Status), o.Reason))
}

// RunLocker is a backend whose worlds keep their own run lock (the
// kubernetes backend's lease), which every kong that reaches the world
// sees, instead of a lock file on this machine.
type RunLocker interface {
	LockRun(ctx context.Context, world, holder string) (func(), error)
}

// Lock takes the run lock of a world that is up (under home, on backend b)
// for the command under way (commandLine, as a person would type it), so
// that no other run faults it at the same time. A run in progress makes it
// refuse (exit status 3), naming that run; the lock of a run that was
// killed is free (the kernel let go of it) and is taken over with a note on
// out. The returned function releases the lock. A RunLocker backend's
// world is locked its own way.
func Lock(ctx context.Context, home string, b topology.Backend, world, commandLine string, out io.Writer) (func(), error) {
	if rl, ok := b.(RunLocker); ok {
		host, _ := os.Hostname()
		unlock, err := rl.LockRun(ctx, world, fmt.Sprintf("%s on %s (pid %d)", commandLine, host, os.Getpid()))
		return unlock, exitstatus.With(exitstatus.World, err)
	}
	l, err := local.LockWorldRun(home, b.Name(), world, commandLine)
	if err != nil {
		return nil, err
	}
	if l.Stale != nil {
		fmt.Fprintf(out, "world %s: the run lock of %s was stale (that run ended without letting go of it: killed?); taken over, and the preflight resets what that run left\n", world, l.Stale)
	}
	return func() { _ = l.Release() }, nil
}

// Runner runs a spec into its own folder under Reports, saying what runs
// on Out and what went wrong with a report on Err.
type Runner struct {
	Out, Err io.Writer
	// Reports is the folder that receives one folder per run (--out).
	Reports  string
	LogLevel slog.Level
}

// Scenario runs a registered scenario as kong run and kong gameday do: it
// says what runs on which world and the command that replays it, then
// runs it (see InDir).
func (r Runner) Scenario(ctx context.Context, spec scenarios.Spec, env scenarios.Env) (*run.Outcome, string, error) {
	env.Replay = onBackend(spec.Replay(env.Cluster.Name(), env.Seed), env.Backend)
	fmt.Fprintf(r.Out, "running %s on world %s, seed %d\nreplay: %s\n", spec.Name, env.Cluster.Name(), env.Seed, env.Replay)
	return r.InDir(ctx, "scenario "+spec.Name, spec, env)
}

// ReplicationCheck runs the replication check with options o as kong run
// runs a scenario (see InDir): env carries the world, the seed and
// NoReset.
func (r Runner) ReplicationCheck(ctx context.Context, o scenarios.ReplicationOptions, env scenarios.Env) (*run.Outcome, string, error) {
	env.Replay = onBackend(o.Replay(env.Cluster.Name(), env.Seed), env.Backend)
	fmt.Fprintf(r.Out, "replication check on world %s: %d records, seed %d\nreplay: %s\n", env.Cluster.Name(), o.Records, env.Seed, env.Replay)
	return r.InDir(ctx, "replication check", scenarios.ReplicationCheckSpec(o), env)
}

// onBackend adds to a replay command line the backend its world runs on,
// local ones too: with $KONG_BACKEND set to another backend, a line
// without it would replay on another world.
func onBackend(replay, backend string) string {
	if backend == "" {
		return replay
	}
	return replay + " --backend " + backend
}

// InDir runs spec with env into a new folder under Reports (see
// scenarios.RunInDir), with StopSignals wired to a clean abort (the runner
// heals every fault), and returns the outcome and the folder. A report
// that could not be written is said on Err; what names the run in the
// error.
func (r Runner) InDir(ctx context.Context, what string, spec scenarios.Spec, env scenarios.Env) (*run.Outcome, string, error) {
	ctx, stop := StopContext(ctx)
	defer stop()
	env.Dir = scenarios.RunDir(r.Reports, spec.Name, time.Now())
	env.LogLevel = r.LogLevel
	res, err := scenarios.RunInDir(ctx, spec, &env)
	if res.ReportErr != nil {
		fmt.Fprintln(r.Err, "report:", res.ReportErr)
	}
	if err != nil {
		return nil, env.Dir, fmt.Errorf("%s: %w (artifacts in %s)", what, err, env.Dir)
	}
	return res.Outcome, env.Dir, nil
}
