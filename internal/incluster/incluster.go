// Package incluster runs a kong command inside the cluster from outside
// it, for a world on the kubernetes backend: the command line the run Job
// gets, its output shown here as it comes, its reports copied out, and
// kong's exit status for how it ended there.
package incluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kongchaos/kong/gameday"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/output"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/topology/kube"
)

// FromOutside runs the command inside the cluster when its world is on the
// kubernetes backend and this kong runs outside the cluster: a run Job of
// the world runs it there (the game day's traffic must not cross a
// port-forward), its output shows here as it comes, and its reports are
// copied into out. done is false, and nothing happens, for every other
// case.
func FromOutside(cmd *cobra.Command, args []string, out string) (done bool, err error) {
	b, err := worldflags.Backend(cmd)
	if err != nil {
		return true, err
	}
	kb, ok := b.(*kube.Backend)
	if !ok || kb.InCluster {
		return false, nil
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	stdout := cmd.OutOrStdout()
	if asJSON {
		// Everything but the JSON document goes to stderr.
		cmd.SetOut(cmd.ErrOrStderr())
	}
	world := worldflags.World(cmd)
	ctx, stop := StopOnce(cmd)
	defer stop()
	code, copied, err := Run(ctx, cmd, kb, world, Args(cmd, args, world, kb.Prefix), out)
	if asJSON {
		if jerr := output.Encode(stdout, RunDoc(out, copied, args[0], err)); jerr != nil {
			return true, errors.Join(err, jerr)
		}
	}
	if err != nil {
		return true, exitstatus.With(exitstatus.World, err)
	}
	return true, Status(cmd.Name(), code)
}

// RunDoc is kong run --json's document of scenario's run in the
// cluster: of its folder copied into out (among copied), or, when none
// came, of err.
func RunDoc(out string, copied []string, scenario string, err error) output.Run {
	dir := ""
	if runs := gameday.CopiedRuns(out, copied); len(runs) > 0 {
		dir = runs[0].Dir
	}
	return output.Run{Schema: output.RunSchema, RunResult: output.ReadRun(dir, scenario, err)}
}

// StopOnce is the command's context, ended by the first Ctrl-C (SIGTERM,
// SIGHUP): the run in the cluster is asked to stop, and heals and writes
// its reports. A second one is the default's: kong ends, and the run's Job
// is left to end (or the world's healer to heal).
func StopOnce(cmd *cobra.Command) (context.Context, func()) {
	ctx, stop := worldrun.StopContext(cmd.Context())
	go func() { <-ctx.Done(); stop() }()
	return ctx, stop
}

// Run runs args in a run Job of world, its output shown here,
// and copies what it wrote into out, naming each entry copied.
func Run(ctx context.Context, cmd *cobra.Command, kb *kube.Backend, world string, args []string, out string) (int, []string, error) {
	r, err := kb.Remote(world, cmd.OutOrStdout())
	if err != nil {
		return 0, nil, err
	}
	code, copied, err := r.Run(ctx, args, out)
	for _, c := range copied {
		fmt.Fprintf(cmd.OutOrStdout(), "copied from the cluster: %s\n", filepath.Join(out, c))
	}
	return code, copied, err
}

// Gameday runs kong gameday inside the cluster from outside it:
// the world is brought up from here when there is none (the run account
// may not make namespaces) and taken down at the end unless kept; the game
// day runs in a run Job, whose runs are copied into out, indexed and
// pruned (keepRuns) here with the runs already there.
//
// With a JSON document (doc, from --json), it is filled with the runs
// copied out as kong gameday --json fills it, and written to stdout.
func Gameday(cmd *cobra.Command, kb *kube.Backend, up func(context.Context) error, keep bool, out string, keepRuns int,
	doc *output.Gameday, stdout io.Writer) error {
	world := worldflags.World(cmd)
	ctx, stop := StopOnce(cmd)
	defer stop()
	away, err := gameday.RunElsewhere(ctx, gameday.Elsewhere{Backend: kb, World: world, Up: up, Keep: keep,
		Run: func(ctx context.Context) (int, []string, error) {
			return Run(ctx, cmd, kb, world, Args(cmd, nil, world, kb.Prefix), out)
		},
		Out: out, KeepRuns: keepRuns, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()})
	if err == nil {
		err = Status(cmd.Name(), away.Code)
	} else {
		err = exitstatus.With(exitstatus.World, err)
	}
	if doc != nil {
		doc.Rounds = 1
		for _, r := range away.Runs {
			doc.Runs = append(doc.Runs, output.GamedayRun{Round: 1, RunResult: output.ReadRun(r.Dir, r.Scenario, nil)})
		}
		if jerr := output.Encode(stdout, doc.End(away.Result, err)); jerr != nil {
			return errors.Join(err, jerr)
		}
	}
	return err
}

// Status is kong's exit status for the status a command exited with
// in the cluster: the same where it is one of kong's, else World (a
// command killed by a signal, as by the kernel for memory).
func Status(name string, code int) error {
	switch code {
	case exitstatus.Held:
		return nil
	case exitstatus.NotHeld, exitstatus.BadInput, exitstatus.World:
		return exitstatus.With(code, errors.New(name+" in the cluster exited with status "+strconv.Itoa(code)))
	}
	why := "status " + strconv.Itoa(code)
	if code > 128 {
		why = "signal " + strconv.Itoa(code-128) + " (killed: out of memory, or its pod was deleted?)"
	}
	return exitstatus.With(exitstatus.World, errors.New(name+" in the cluster ended by "+why))
}

// outsideOnly are the flags that say how this kong reaches the cluster
// and where its files go: the run in the cluster is told its own.
var outsideOnly = map[string]bool{"kubeconfig": true, "context": true, "in-cluster": true, "backend": true,
	"namespace-prefix": true, "world": true, "home": true, "out": true,
	// kong gameday's: the world and the reports folder are looked after
	// here (Gameday).
	"keep": true, "keep-runs": true,
	// The JSON document is written here, of the runs copied out.
	"json": true}

// Args is the command line of cmd with args for the kong inside
// the cluster: the same command, arguments and flags, on the world in
// its namespaces, reaching the API as its pod, writing under
// kube.JobReports.
func Args(cmd *cobra.Command, args []string, world, prefix string) []string {
	line := []string{cmd.Name()}
	for p := cmd.Parent(); p != nil && p.HasParent(); p = p.Parent() {
		line = append([]string{p.Name()}, line...)
	}
	line = append(line, args...)
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if outsideOnly[f.Name] {
			return
		}
		if s, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range s.GetSlice() {
				line = append(line, "--"+f.Name+"="+v)
			}
			return
		}
		line = append(line, "--"+f.Name+"="+f.Value.String())
	})
	if prefix == "" {
		prefix = kube.DefaultPrefix
	}
	return append(line, "--backend", kube.BackendName, "--in-cluster", "--world", world, "--namespace-prefix", prefix, "--out", kube.JobReports)
}
