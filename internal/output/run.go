package output

import (
	"path/filepath"
	"time"

	"github.com/kongchaos/kong/gameday"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/index"
)

// RunSchema names the document kong run --json prints when the run ends.
const RunSchema = "kong.run/v1"

// Run is the document of kong run --json: the outcome of one run.
type Run struct {
	Schema string `json:"schema"`
	RunResult
}

// RunResult is a run as its report tells it (reports.Report, itself read
// from the run's run.json and history): where its artifacts are, how it
// ended, each checker's verdict and the key figures.
type RunResult struct {
	// Dir is the run's artifacts folder.
	Dir       string    `json:"dir"`
	Scenario  string    `json:"scenario"`
	World     string    `json:"world"`
	Backend   string    `json:"backend"`
	Seed      uint64    `json:"seed"`
	Replay    string    `json:"replay"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	DurationS float64   `json:"duration_s"`
	// Status is passed, failed (an invariant did not hold), aborted or
	// error; Reason says why it was not passed.
	Status history.Status `json:"status"`
	Reason string         `json:"reason"`
	// Verdict is the worst of the checkers' verdicts: valid, invalid or
	// unknown.
	Verdict  history.Verdict `json:"verdict"`
	Checkers []Checker       `json:"checkers"`
	Figures  []Figure        `json:"figures"`
	// Notes say what was missing or odd in the artifacts.
	Notes []string `json:"notes"`
}

// Checker is one checker's verdict (a leaf of the report's checkers).
type Checker struct {
	Checker string             `json:"checker"`
	Verdict history.Verdict    `json:"verdict"`
	Reason  string             `json:"reason"`
	Figures map[string]float64 `json:"figures"`
}

// Figure is a key figure of a run (reports.KeyFigures); Value is null when
// the run did not measure it.
type Figure struct {
	Key   string   `json:"key"`
	Label string   `json:"label"`
	Unit  string   `json:"unit"`
	Value *float64 `json:"value"`
}

// NewRun is the document of the run in dir, whose report is r.
func NewRun(dir string, r *reports.Report) Run {
	return Run{Schema: RunSchema, RunResult: NewRunResult(dir, r)}
}

// NewRunResult is the run in dir whose report is r.
func NewRunResult(dir string, r *reports.Report) RunResult {
	res := RunResult{Dir: dir, Scenario: r.Run.Scenario, World: r.Run.World, Backend: r.Run.Backend, Seed: r.Run.Seed,
		Replay: r.Run.Replay, Start: r.Start, End: r.End, DurationS: r.DurationS, Status: r.Status, Reason: r.Reason,
		Verdict: r.Verdict, Checkers: []Checker{}, Figures: []Figure{}, Notes: orEmpty(r.Notes)}
	for _, c := range r.LeafCheckers() {
		figs := c.Figures
		if figs == nil {
			figs = map[string]float64{}
		}
		res.Checkers = append(res.Checkers, Checker{Checker: c.Checker, Verdict: c.Valid, Reason: c.Reason, Figures: figs})
	}
	for _, f := range reports.KeyFigures(r) {
		if f.WhenMeasured && f.Value == nil {
			continue
		}
		res.Figures = append(res.Figures, Figure{Key: f.Key, Label: f.Label, Unit: string(f.Unit), Value: f.Value})
	}
	return res
}

// Unreported is a run that left no report to read (it stopped before
// its run.json was written): its folder, scenario and why.
func Unreported(dir, scenario string, err error) RunResult {
	return RunResult{Dir: dir, Scenario: scenario, Status: history.StatusError, Reason: err.Error(),
		Verdict: history.VerdictUnknown, Checkers: []Checker{}, Figures: []Figure{}, Notes: []string{}}
}

// GamedaySchema names the document kong gameday --json prints when the
// game day ends.
const GamedaySchema = "kong.gameday/v1"

// Gameday is the document of kong gameday --json: every run of the game
// day, in the order they ran (with --every or --cron: of every round).
type Gameday struct {
	Schema string `json:"schema"`
	World  string `json:"world"`
	// Out is the reports folder, Index its index.html.
	Out    string `json:"out"`
	Index  string `json:"index"`
	Rounds int    `json:"rounds"`
	// Status is passed (every scenario of the last round held), failed (a
	// scenario ran to a verdict that did not hold) or error (one could not
	// run, or the game day was interrupted); Failed names what did not
	// pass in the last round.
	Status history.Status `json:"status"`
	Failed []string       `json:"failed"`
	Runs   []GamedayRun   `json:"runs"`
}

// NewGameday is the document of a game day on world whose runs go into the
// reports folder out, before its first run.
func NewGameday(world, out string) *Gameday {
	return &Gameday{Schema: GamedaySchema, World: world, Out: out, Index: filepath.Join(out, index.HTMLFile),
		Failed: []string{}, Runs: []GamedayRun{}}
}

// End says how the game day ended, from what gameday.Run returned, and
// returns g.
func (g *Gameday) End(res gameday.Result, err error) *Gameday {
	switch {
	case err == nil:
		g.Status = history.StatusPassed
	case res.Broken:
		g.Status = history.StatusFailed
	default:
		g.Status = history.StatusError
	}
	g.Failed = orEmpty(res.Failed)
	return g
}

// GamedayRun is a run of a game day and the round it ran in (from 1).
type GamedayRun struct {
	Round int `json:"round"`
	RunResult
}

// ReadRun is the run in dir as its report tells it (report.json, or built
// from the folder's history and run.json); a run that left no report is
// Unreported, with runErr (the run's own error) as its reason when there
// is one.
func ReadRun(dir, scenario string, runErr error) RunResult {
	r, err := reports.LoadOrBuild(dir)
	if err != nil {
		if runErr != nil {
			err = runErr
		}
		return Unreported(dir, scenario, err)
	}
	return NewRunResult(dir, r)
}
