package output

import (
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/diff"
)

// DiffSchema names the document of kong diff --json.
const DiffSchema = "kong.diff/v1"

// Diff is the document of kong diff --json: two runs' key figures side by
// side, and the checkers whose verdict changed (diff.RunDiff).
type Diff struct {
	Schema string  `json:"schema"`
	A      DiffRun `json:"a"`
	B      DiffRun `json:"b"`
	// SameScenario is false when the runs are of different scenarios.
	SameScenario bool            `json:"same_scenario"`
	Figures      []FigureChange  `json:"figures"`
	Checkers     []CheckerChange `json:"checkers"`
	// StatusRegression is set when A passed and B did not.
	StatusRegression bool `json:"status_regression"`
	// Regressions counts what got worse: figures, checkers and the status
	// (kong diff --fail-on-regression fails when it is above 0).
	Regressions int `json:"regressions"`
}

// DiffRun is one side of a diff.
type DiffRun struct {
	Dir      string          `json:"dir"`
	Scenario string          `json:"scenario"`
	Start    time.Time       `json:"start"`
	Status   history.Status  `json:"status"`
	Reason   string          `json:"reason"`
	Verdict  history.Verdict `json:"verdict"`
}

// FigureChange is a key figure of both runs (diff.FigureChange): Delta is
// B - A and Relative Delta / |A|, null when a side is missing; Better says
// which way is better (higher, lower or neutral).
type FigureChange struct {
	Key         string   `json:"key"`
	Label       string   `json:"label"`
	Unit        string   `json:"unit"`
	Better      string   `json:"better"`
	A           *float64 `json:"a"`
	B           *float64 `json:"b"`
	Delta       *float64 `json:"delta"`
	Relative    *float64 `json:"relative"`
	Regression  bool     `json:"regression"`
	Improvement bool     `json:"improvement"`
}

// CheckerChange is a checker whose verdict changed; "" where a run has no
// such checker.
type CheckerChange struct {
	Checker    string          `json:"checker"`
	A          history.Verdict `json:"a"`
	B          history.Verdict `json:"b"`
	Regression bool            `json:"regression"`
}

// betterWords spell reports.Better.
var betterWords = map[reports.Better]string{reports.HigherIsBetter: "higher", reports.LowerIsBetter: "lower", reports.Neutral: "neutral"}

// NewDiff is the document of d, the diff of the runs in folders dirA and
// dirB.
func NewDiff(d *diff.RunDiff, dirA, dirB string) Diff {
	side := func(dir string, r *reports.Report) DiffRun {
		return DiffRun{Dir: dir, Scenario: r.Run.Scenario, Start: r.Start, Status: r.Status, Reason: r.Reason, Verdict: r.Verdict}
	}
	doc := Diff{Schema: DiffSchema, A: side(dirA, d.A), B: side(dirB, d.B), SameScenario: d.A.Run.Scenario == d.B.Run.Scenario,
		Figures: []FigureChange{}, Checkers: []CheckerChange{}, StatusRegression: d.StatusRegression, Regressions: d.Regressions()}
	for _, f := range d.Figures {
		doc.Figures = append(doc.Figures, FigureChange{Key: f.Key, Label: f.Label, Unit: string(f.Unit), Better: betterWords[f.Better],
			A: f.A, B: f.B, Delta: f.Delta, Relative: f.Relative, Regression: f.Regression, Improvement: f.Improvement})
	}
	for _, c := range d.Checkers {
		doc.Checkers = append(doc.Checkers, CheckerChange{Checker: c.Checker, A: c.A, B: c.B, Regression: c.Regression})
	}
	return doc
}
