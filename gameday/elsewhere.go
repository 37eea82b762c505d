package gameday

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

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

// Away is how a game day run elsewhere ended.
type Away struct {
	// Code is the game day's exit status there (when RunElsewhere's error
	// is nil).
	Code int
	// Result says which of the runs copied back did not pass.
	Result
	// Runs are the runs copied into Out, in the order they ran.
	Runs []CopiedRun
}

// CopiedRun is a run of a game day run elsewhere, copied into Out.
type CopiedRun struct {
	Dir, Scenario string
}

// RunElsewhere runs the game day e describes.
func RunElsewhere(ctx context.Context, e Elsewhere) (away Away, err error) {
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	worlds, err := e.Backend.Worlds(ctx)
	if err != nil {
		return away, err
	}
	if !slices.Contains(worlds, e.World) {
		if err := e.Up(ctx); err != nil {
			return away, err
		}
		if !e.Keep {
			g := &gameDay{Options: Options{Backend: e.Backend, World: e.World, Stdout: e.Stdout, Stderr: e.Stderr}}
			defer func() {
				g.res = away.Result
				g.takeDown(ctx)
			}()
		}
	}
	code, copied, err := e.Run(ctx)
	away = awayOf(e.Out, code, copied)
	if len(copied) > 0 {
		if ierr := index.Write(e.Out); ierr != nil {
			fmt.Fprintln(e.Stderr, "index:", ierr)
		} else {
			fmt.Fprintf(e.Stdout, "index of runs: %s (and %s)\n", filepath.Join(e.Out, index.HTMLFile), index.MarkdownFile)
		}
		pruneRuns(e.Stdout, e.Stderr, e.Out, e.KeepRuns)
	}
	if err == nil && code != 0 && len(away.Failed) == 0 {
		// A game day that could not run one scenario wrote no run for it.
		away.Failed = []string{fmt.Sprintf("the game day (exit status %d)", code)}
	}
	return away, err
}

// awayOf is how a game day that exited with code ended, from the runs
// among copied (entries of out): the scenarios whose run did not pass,
// and whether one ran to a verdict that did not hold.
func awayOf(out string, code int, copied []string) Away {
	away := Away{Code: code, Result: Result{Rounds: 1}}
	for _, r := range copiedRuns(out, copied) {
		away.Runs = append(away.Runs, r.CopiedRun)
		if r.Status != history.StatusPassed {
			away.Failed = append(away.Failed, r.Scenario)
			away.Broken = away.Broken || r.Status == history.StatusFailed
		}
	}
	return away
}

// CopiedRuns are the runs among copied (entries of out, copied there from
// where they ran), in the order they ran.
func CopiedRuns(out string, copied []string) []CopiedRun {
	var runs []CopiedRun
	for _, r := range copiedRuns(out, copied) {
		runs = append(runs, r.CopiedRun)
	}
	return runs
}

// copiedRun is a copied run and how it ended.
type copiedRun struct {
	CopiedRun
	Status  history.Status
	Started time.Time
}

func copiedRuns(out string, copied []string) []copiedRun {
	var runs []copiedRun
	for _, c := range copied {
		dir := filepath.Join(out, c)
		ri, err := history.LoadRunInfo(dir)
		if err != nil {
			continue // the index, or a folder that is not a run
		}
		runs = append(runs, copiedRun{CopiedRun{Dir: dir, Scenario: ri.Scenario}, ri.Status, ri.Started})
	}
	slices.SortStableFunc(runs, func(a, b copiedRun) int { return a.Started.Compare(b.Started) })
	return runs
}
