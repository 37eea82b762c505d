// Package gameday runs game days: the suite of scenarios on one world, once
// or in rounds on a schedule, with the runs and an index of them written
// under one folder. A game day that finds no world brings one up and owns
// it across its rounds: it brings it up again when it died between rounds,
// and takes it down at the end unless asked to keep it.
package gameday

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/reports/index"
	"github.com/kongchaos/kong/reports/prune"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

// Options say what a game day runs, on which world, and when.
type Options struct {
	// Scenarios run one after the other, in every round.
	Scenarios []scenarios.Spec
	// Backend runs World.
	Backend topology.Backend
	World   string
	// Up brings World up when the game day finds none (and again when a
	// world it brought up died between rounds).
	Up func(ctx context.Context) error
	// Keep keeps a world the game day brought up; without it the world is
	// taken down at the end, unless KONG_KEEP=1 and a scenario did not
	// hold: it then says how to look at it and take it down.
	Keep bool
	// Lock takes the world's run lock for a game day (scheduled: for each
	// round); unlock releases it.
	Lock func() (unlock func(), err error)
	// Run runs one scenario: the i-th of the suite.
	Run Runner
	// Seed is the seed of every run when SeedGiven; otherwise each round
	// draws one.
	Seed      uint64
	SeedGiven bool
	// Out is the folder of the runs and their index.
	Out string
	// KeepRuns, when above 0, keeps only the newest KeepRuns runs of Out
	// after the game day (or each round); see CheckKeepRuns.
	KeepRuns int
	// Schedule, when set, runs the game day in rounds, at most Rounds of
	// them (0: until ctx ends).
	Schedule Schedule
	Rounds   int
	// Clock is what a schedule waits on (nil: the wall clock).
	Clock Clock
	// Stdout receives what the game day does; Stderr what went wrong
	// beside it (the index, pruning, taking the world down).
	Stdout, Stderr io.Writer
}

// A Runner runs the i-th scenario of the suite on cluster with seed, and
// says how it ended and in which folder.
type Runner func(ctx context.Context, i int, s scenarios.Spec, cluster topology.Cluster, seed uint64) (Ran, error)

// Ran is how a scenario's run ended, and the run's folder.
type Ran struct {
	Status history.Status
	Reason string
	Dir    string
}

// Result is how a game day ended.
type Result struct {
	// Rounds is how many rounds ran (a game day without a schedule runs
	// one).
	Rounds int
	// Failed names what did not pass in the last round: its scenarios, or
	// the world it could not find.
	Failed []string
	// Broken says some scenario of the last round ran to a verdict that
	// did not hold (rather than failing to run).
	Broken bool
}

// Run runs the game day. Once ctx ends (Ctrl-C), the scenario in progress
// is aborted and healed, and nothing after it starts. The error is nil
// when everything held; otherwise it says what did not.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	g := &gameDay{Options: o, seed: o.Seed}
	if !o.SeedGiven {
		g.seed = history.NewSeed()
	}
	cluster, release, err := o.Backend.Attach(ctx, o.World)
	if err != nil {
		if err := o.Up(ctx); err != nil {
			return g.res, err
		}
		if !o.Keep {
			defer g.takeDown(ctx)
		}
		if cluster, release, err = o.Backend.Attach(ctx, o.World); err != nil {
			return g.res, err
		}
		g.own = true
	}
	g.cluster, g.release = cluster, release
	defer func() { g.release() }()
	if o.Schedule == nil {
		return g.once(ctx)
	}
	return g.scheduled(ctx)
}

// gameDay is a game day under way.
type gameDay struct {
	Options
	seed uint64
	// own says the game day brought the world up.
	own     bool
	cluster topology.Cluster
	release func()
	res     Result
}

func (g *gameDay) once(ctx context.Context) (Result, error) {
	unlock, err := g.Lock()
	if err != nil {
		return g.res, err
	}
	defer unlock()
	g.runSuite(ctx)
	g.res.Rounds = 1
	if len(g.res.Failed) > 0 {
		return g.res, fmt.Errorf("game day: %d of %d scenarios did not hold: %s", len(g.res.Failed), len(g.Scenarios), strings.Join(g.res.Failed, ", "))
	}
	fmt.Fprintf(g.Stdout, "game day: all %d scenarios held\n", len(g.Scenarios))
	return g.res, nil
}

func (g *gameDay) scheduled(ctx context.Context) (Result, error) {
	fmt.Fprintf(g.Stdout, "scheduled game day: %s; world %s stays up between rounds; runs and index in %s\n", g.Schedule, g.World, g.Out)
	ran, held := runRounds(ctx, g.Schedule, g.Rounds, g.Clock, g.Stdout, g.round)
	g.res.Rounds = ran
	switch {
	case ran == 0:
		return g.res, errors.New("scheduled game day: stopped before its first round")
	case !held:
		return g.res, fmt.Errorf("scheduled game day: the last of %d rounds did not hold: %s", ran, strings.Join(g.res.Failed, ", "))
	}
	fmt.Fprintf(g.Stdout, "scheduled game day: %d rounds ran, the last one held\n", ran)
	return g.res, nil
}

// round runs round n of a scheduled game day and says whether it held.
func (g *gameDay) round(ctx context.Context, n int) bool {
	if n > 1 && !g.SeedGiven {
		g.seed = history.NewSeed()
	}
	worldFailed := func(err error) bool {
		g.res = Result{Failed: []string{"world: " + err.Error()}}
		fmt.Fprintf(g.Stdout, "round %d: %v\n", n, err)
		return false
	}
	c, rel, err := g.worldForRound(ctx)
	if err != nil {
		return worldFailed(err)
	}
	g.release()
	g.cluster, g.release = c, rel
	// The world is locked for a round, not between rounds.
	unlock, err := g.Lock()
	if err != nil {
		return worldFailed(err)
	}
	defer unlock()
	g.runSuite(ctx)
	if failed := g.res.Failed; len(failed) > 0 {
		fmt.Fprintf(g.Stdout, "round %d: %d of %d scenarios did not hold: %s\n", n, len(failed), len(g.Scenarios), strings.Join(failed, ", "))
	} else {
		fmt.Fprintf(g.Stdout, "round %d: all %d scenarios held\n", n, len(g.Scenarios))
	}
	return len(g.res.Failed) == 0
}

// worldForRound finds the world before a round of a scheduled game day. A
// world the game day brought up itself and that died since is brought up
// again; a world it found running is someone else's, and its absence fails
// the round.
func (g *gameDay) worldForRound(ctx context.Context) (topology.Cluster, func(), error) {
	c, release, err := g.Backend.Attach(ctx, g.World)
	if err == nil || !g.own {
		return c, release, err
	}
	fmt.Fprintf(g.Stdout, "world %s is gone (%v): bringing it up again\n", g.World, err)
	if derr := g.Backend.Down(ctx, g.World, time.Minute); derr != nil && !errors.Is(derr, topology.ErrNotUp) {
		return nil, nil, fmt.Errorf("clear what is left of world %s: %w", g.World, derr)
	}
	if err := g.Up(ctx); err != nil {
		return nil, nil, err
	}
	return g.Backend.Attach(ctx, g.World)
}

// takeDown takes down the world the game day brought up, or, with
// KONG_KEEP=1 after a scenario that did not hold, says it stays up.
func (g *gameDay) takeDown(ctx context.Context) {
	if len(g.res.Failed) > 0 && os.Getenv("KONG_KEEP") == "1" {
		fmt.Fprintf(g.Stdout, "KONG_KEEP=1: world %s stays up for debugging (%s)\n", g.World,
			topology.Command(g.Backend, "status", g.World)+"; "+topology.Command(g.Backend, "down", g.World))
		return
	}
	if err := g.Backend.Down(context.WithoutCancel(ctx), g.World, time.Minute); err != nil {
		fmt.Fprintln(g.Stderr, "down:", err)
	} else {
		fmt.Fprintf(g.Stdout, "world %s is down\n", g.World)
	}
}

// runSuite runs the scenarios one after the other on the world, writes the
// index of runs and prunes the oldest (KeepRuns). Once ctx ends, no other
// scenario starts. It leaves in g.res the scenarios that did not pass, and
// whether one of them reached a verdict that did not hold.
func (g *gameDay) runSuite(ctx context.Context) {
	g.res.Failed, g.res.Broken = nil, false
	for i, s := range g.Scenarios {
		fmt.Fprintf(g.Stdout, "\n[%d/%d] %s: %s\n", i+1, len(g.Scenarios), s.Name, s.Description)
		ran, err := g.Run(ctx, i, s, g.cluster, g.seed)
		switch {
		case err != nil:
			g.res.Failed = append(g.res.Failed, s.Name)
			fmt.Fprintf(g.Stdout, "%s: ERROR: %v\n", s.Name, err)
		case ran.Status != history.StatusPassed:
			g.res.Failed = append(g.res.Failed, s.Name)
			g.res.Broken = g.res.Broken || ran.Status == history.StatusFailed
			fmt.Fprintf(g.Stdout, "%s: %s\n  report: %s\n", s.Name, run.WithReason(strings.ToUpper(string(ran.Status)), ran.Reason), filepath.Join(ran.Dir, "report.html"))
		default:
			fmt.Fprintf(g.Stdout, "%s: PASSED\n  report: %s\n", s.Name, filepath.Join(ran.Dir, "report.html"))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := index.Write(g.Out); err != nil {
		fmt.Fprintln(g.Stderr, "index:", err)
	} else {
		fmt.Fprintf(g.Stdout, "\nindex of runs: %s (and %s)\n", filepath.Join(g.Out, index.HTMLFile), index.MarkdownFile)
	}
	pruneRuns(g.Stdout, g.Stderr, g.Out, g.KeepRuns)
}

// CheckKeepRuns checks KeepRuns against a suite of n scenarios: a round
// writes one run per scenario, and keeping fewer would remove some of the
// round's own runs.
func CheckKeepRuns(keep, n int) error {
	switch {
	case keep < 0:
		return fmt.Errorf("--keep-runs %d: give the number of newest runs to keep, or 0 to keep every run", keep)
	case keep > 0 && keep < n:
		return fmt.Errorf("--keep-runs %d is fewer than the %d scenarios of a round: their own runs would be removed; give %d or more",
			keep, n, n)
	}
	return nil
}

// pruneRuns keeps only the keep newest runs of the reports folder out
// (keep 0: every run) after a game day or one of its rounds, and says what
// went. A failure to prune is reported, never the round's failure.
func pruneRuns(stdout, stderr io.Writer, out string, keep int) {
	if keep <= 0 {
		return
	}
	res, err := prune.Folder(out, prune.Options{Keep: keep})
	if n := len(res.Removed); n > 0 {
		fmt.Fprintf(stdout, "--keep-runs %d: removed the %d oldest runs of %s (oldest %s); index rewritten\n", keep, n, out, res.Removed[0].Dir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "keep-runs:", err)
	}
}
