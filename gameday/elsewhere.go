package gameday

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/index"
	"github.com/kongchaos/kong/topology"
)

// Elsewhere is a game day that runs in another place than this kong (a
// run Job inside a Kubernetes cluster, whose traffic must not cross a
// port-forward), its world and its reports looked after from here: the
// world is brought up from here when there is none (the place it runs in
// may not make one), and taken down at the end unless kept; the runs it
// wrote are copied into Out, which is indexed and pruned here, with the
// runs already there.
type Elsewhere struct {
	Backend topology.Backend
	World   string
	// Up brings World up when it is not there.
	Up func(ctx context.Context) error
	// Keep keeps a world this game day brought up (as Options.Keep).
	Keep bool
	// Run runs the game day there on the world, its runs written into
	// Out, and returns its exit status and the entries it copied into Out.
	Run func(ctx context.Context) (code int, copied []string, err error)
	// Out, KeepRuns, Stdout and Stderr are as in Options.
	Out            string
	KeepRuns       int
	Stdout, Stderr io.Writer
}

// RunElsewhere runs the game day e describes. It returns the game day's
// exit status there (meaningful when err is nil) and the result read from
// the runs copied back: which of them did not pass.
func RunElsewhere(ctx context.Context, e Elsewhere) (code int, res Result, err error) {
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	worlds, err := e.Backend.Worlds(ctx)
	if err != nil {
		return 0, res, err
	}
	if !slices.Contains(worlds, e.World) {
		if err := e.Up(ctx); err != nil {
			return 0, res, err
		}
		if !e.Keep {
			g := &gameDay{Options: Options{Backend: e.Backend, World: e.World, Stdout: e.Stdout, Stderr: e.Stderr}}
			defer func() {
				g.res = res
				g.takeDown(ctx)
			}()
		}
	}
	code, copied, err := e.Run(ctx)
	res = resultOf(e.Out, copied)
	if len(copied) > 0 {
		if ierr := index.Write(e.Out); ierr != nil {
			fmt.Fprintln(e.Stderr, "index:", ierr)
		} else {
			fmt.Fprintf(e.Stdout, "index of runs: %s (and %s)\n", filepath.Join(e.Out, index.HTMLFile), index.MarkdownFile)
		}
		pruneRuns(e.Stdout, e.Stderr, e.Out, e.KeepRuns)
	}
	if err == nil && code != 0 && len(res.Failed) == 0 {
		// A game day that could not run one scenario wrote no run for it.
		res.Failed = []string{fmt.Sprintf("the game day (exit status %d)", code)}
	}
	return code, res, err
}

// resultOf is the result of the runs among copied (entries of out): the
// scenarios whose run did not pass, and whether one ran to a verdict that
// did not hold.
func resultOf(out string, copied []string) Result {
	res := Result{Rounds: 1}
	for _, c := range copied {
		ri, err := history.LoadRunInfo(filepath.Join(out, c))
		if err != nil {
			continue // the index, or a folder that is not a run
		}
		if ri.Status != history.StatusPassed {
			res.Failed = append(res.Failed, ri.Scenario)
			res.Broken = res.Broken || ri.Status == history.StatusFailed
		}
	}
	return res
}
