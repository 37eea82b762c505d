// Package diff compares two runs, as kong diff does: each key figure of the
// reports side by side with its change, flagged when it got worse by more
// than its tolerance, and the checkers whose verdict changed.
package diff

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
)

// FigureChange is one key figure of two runs, A (the earlier or reference
// run) and B.
type FigureChange struct {
	reports.KeyFigureDef
	A, B *float64
	// Delta is B - A and Relative is Delta / |A|; nil when a side is
	// missing (Relative also when A is 0).
	Delta    *float64
	Relative *float64
	// Regression is set when the figure got worse by more than its
	// tolerance (reports.KeyFigureDef.AbsTol and RelTol); Improvement when it got
	// better by as much.
	Regression  bool
	Improvement bool
}

// CheckerChange is a checker whose verdict differs between the runs (or
// that only one of them has: its verdict in the other is empty).
type CheckerChange struct {
	Checker    string
	A, B       history.Verdict
	Regression bool
}

// RunDiff compares two runs.
type RunDiff struct {
	A, B     *reports.Report
	Figures  []FigureChange
	Checkers []CheckerChange
	// StatusRegression is set when A passed and B did not.
	StatusRegression bool
}

// Regressions counts what got worse: figures, checkers, and the status.
func (d *RunDiff) Regressions() int {
	n := 0
	for _, f := range d.Figures {
		if f.Regression {
			n++
		}
	}
	for _, c := range d.Checkers {
		if c.Regression {
			n++
		}
	}
	if d.StatusRegression {
		n++
	}
	return n
}

// Folders compares the runs in folders a and b, each read from its
// report.json or built from its history and run.json.
func Folders(a, b string) (*RunDiff, error) {
	ra, err := reports.LoadOrBuild(a)
	if err != nil {
		return nil, fmt.Errorf("run A: %w", err)
	}
	rb, err := reports.LoadOrBuild(b)
	if err != nil {
		return nil, fmt.Errorf("run B: %w", err)
	}
	return Compare(ra, rb), nil
}

// Compare compares the key figures and checker verdicts of run a (the
// reference) and run b.
func Compare(a, b *reports.Report) *RunDiff {
	d := &RunDiff{A: a, B: b, StatusRegression: a.Status == history.StatusPassed && b.Status != history.StatusPassed}
	fa, fb := reports.KeyFigures(a), reports.KeyFigures(b)
	for i, def := range reports.KeyFigureDefs {
		if def.WhenMeasured && fa[i].Value == nil && fb[i].Value == nil {
			continue
		}
		d.Figures = append(d.Figures, compareFigure(def, fa[i].Value, fb[i].Value))
	}
	va, names := verdicts(a)
	vb, namesB := verdicts(b)
	names = append(names, slices.DeleteFunc(namesB, func(n string) bool { return slices.Contains(names, n) })...)
	for _, name := range names {
		x, y := va[name], vb[name]
		if x == y {
			continue
		}
		d.Checkers = append(d.Checkers, CheckerChange{Checker: name, A: x, B: y,
			Regression: x == history.VerdictValid && y != history.VerdictValid})
	}
	return d
}

func compareFigure(def reports.KeyFigureDef, a, b *float64) FigureChange {
	c := FigureChange{KeyFigureDef: def, A: a, B: b}
	if a == nil || b == nil {
		return c
	}
	delta := *b - *a
	c.Delta = &delta
	if *a != 0 {
		c.Relative = new(delta / math.Abs(*a))
	}
	worse := delta
	switch def.Better {
	case reports.HigherIsBetter:
		worse = -delta
	case reports.Neutral:
		return c
	}
	beyond := func(v float64) bool {
		return v > def.AbsTol && (def.RelTol == 0 || *a == 0 || v > def.RelTol*math.Abs(*a))
	}
	c.Regression = worse > 0 && beyond(worse)
	c.Improvement = worse < 0 && beyond(-worse)
	return c
}

// verdicts are r's checker verdicts by name (the worst of a repeated
// name), and the names in order.
func verdicts(r *reports.Report) (map[string]history.Verdict, []string) {
	m, names := map[string]history.Verdict{}, []string(nil)
	for _, c := range r.LeafCheckers() {
		name := reports.Label(c.Checker)
		if v, seen := m[name]; seen {
			m[name] = history.Worst(v, c.Valid)
			continue
		}
		m[name], names = c.Valid, append(names, name)
	}
	return m, names
}

// runLine names a run in one line: its scenario, start, status and reason.
func runLine(r *reports.Report) string {
	s := fmt.Sprintf("%s, started %s, %s", reports.Label(r.Run.Scenario), reports.AbsTime(r.Start), reports.StatusWord(r.Status))
	if r.Status != history.StatusPassed && r.Reason != "" {
		s += ": " + reports.OneLine(r.Reason)
	}
	return s
}

// Encode prints the comparison as text: the two runs, then each key figure
// side by side with its change (absolute and relative), regressions
// flagged, then the checkers whose verdict changed. nameA and nameB name
// the runs (their folders).
func (d *RunDiff) Encode(w io.Writer, nameA, nameB string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "A: %s\n   %s\nB: %s\n   %s\n\n", nameA, runLine(d.A), nameB, runLine(d.B))
	if d.A.Run.Scenario != d.B.Run.Scenario {
		fmt.Fprintf(&b, "note: the runs are of different scenarios (%s, %s)\n\n", reports.Label(d.A.Run.Scenario), reports.Label(d.B.Run.Scenario))
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tA\tB\tchange\trelative\t")
	for _, f := range d.Figures {
		change, rel := "-", "-"
		if f.Delta != nil {
			change = f.FormatDelta(*f.Delta)
		}
		if f.Relative != nil {
			rel = fmt.Sprintf("%+.1f%%", *f.Relative*100)
		}
		flag := ""
		switch {
		case f.Regression:
			flag = "REGRESSION"
		case f.Improvement:
			flag = "better"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Label, f.Format(f.A), f.Format(f.B), change, rel, flag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	if d.A.Status != d.B.Status {
		flag := ""
		if d.StatusRegression {
			flag = "  REGRESSION"
		}
		fmt.Fprintf(&b, "\nstatus: %s -> %s%s\n", reports.StatusWord(d.A.Status), reports.StatusWord(d.B.Status), flag)
	}
	if len(d.Checkers) > 0 {
		fmt.Fprintf(&b, "\ncheckers whose verdict changed:\n")
		for _, c := range d.Checkers {
			flag := ""
			if c.Regression {
				flag = "  REGRESSION"
			}
			fmt.Fprintf(&b, "  %s: %s -> %s%s\n", c.Checker, verdictWord(c.A), verdictWord(c.B), flag)
		}
	}
	switch n := d.Regressions(); n {
	case 0:
		fmt.Fprintf(&b, "\nno regression\n")
	default:
		fmt.Fprintf(&b, "\n%s\n", reports.Plural(n, "regression"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdictWord(v history.Verdict) string {
	if v == "" {
		return "absent"
	}
	return string(v)
}
