// Package progress draws the progress of what kong runs on a terminal or
// in a log: a suite of scenarios (run.Progress), the replication check's
// writes and reads (replcheck.Progress), and the start of a world
// (topology.UpProgress). Each is a bar redrawn in place on a terminal and
// a line now and then otherwise.
package progress

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
)

// How a suite shows its progress (kong's --progress).
const (
	Auto  = "auto"  // a bar on a terminal, lines otherwise
	Bar   = "bar"   // a bar redrawn in place
	Lines = "lines" // a line on every phase change and every few seconds (CI logs)
	Off   = "off"
)

// LineEvery is how often progress lines are printed within a phase.
const LineEvery = 5 * time.Second

// Mode resolves a --progress mode for the writer w: Auto is Bar on a
// terminal and Lines otherwise.
func Mode(mode string, w io.Writer) (string, error) {
	switch mode {
	case Bar, Lines, Off:
		return mode, nil
	case Auto, "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return Bar, nil
		}
		return Lines, nil
	}
	return "", fmt.Errorf("--progress %q: use one of auto, bar, lines, off", mode)
}

// View shows the progress of a suite of scenarios (one for kong run):
// which scenario, its phase, live request and error rates, and the time
// left of the scenario and of the suite.
type View struct {
	w     io.Writer
	mode  string
	every time.Duration
	suite []string

	mu sync.Mutex
	// past is how long each scenario took when it last ran to the end,
	// planned how long its timed phases are planned to take.
	past, planned map[string]time.Duration
	index         int // 0-based position in suite
	bar           *progressbar.ProgressBar
	lastLine      time.Time
	lastPhase     string
	stopping      bool
}

// NewView is the view of suite on w in mode (see Mode); past is how long
// each scenario took when it last ran to the end (see PastDurations).
func NewView(w io.Writer, mode string, suite []string, past map[string]time.Duration) (*View, error) {
	m, err := Mode(mode, w)
	if err != nil {
		return nil, err
	}
	return &View{w: w, mode: m, every: LineEvery, suite: suite, past: past}, nil
}

// SetPast replaces how long each scenario took when it last ran to the
// end.
func (v *View) SetPast(past map[string]time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.past = past
}

// SetPlanned sets how long each scenario's timed phases are planned to
// take (scenarios.Spec.Planned): the estimate of a scenario that never ran
// to the end.
func (v *View) SetPlanned(planned map[string]time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.planned = planned
}

// Scenario returns the listener of the runs of the i-th scenario of the
// suite (nil when progress is off).
func (v *View) Scenario(i int) func(run.Progress) {
	v.mu.Lock()
	v.index, v.lastLine, v.lastPhase, v.stopping = i, time.Time{}, "", false
	v.mu.Unlock()
	if v.mode == Off {
		return nil
	}
	return v.report
}

// report shows one Progress of the current scenario.
func (v *View) report(p run.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	line := Line(p, v.index, len(v.suite), v.suiteLeft(p))
	switch v.mode {
	case Bar:
		if p.Done {
			v.closeBar()
			return
		}
		if v.bar == nil {
			v.bar = progressbar.NewOptions(max(1, int(p.Plan.Total().Seconds())),
				progressbar.OptionSetWriter(v.w), progressbar.OptionSetWidth(20),
				progressbar.OptionShowDescriptionAtLineEnd(), progressbar.OptionSetPredictTime(false),
				progressbar.OptionSetElapsedTime(false), progressbar.OptionClearOnFinish())
		}
		if total := max(1, int(p.Plan.Total().Seconds())); int64(total) != v.bar.GetMax64() {
			v.bar.ChangeMax(total) // a plan estimated as the run goes (the replication check's writes)
		}
		v.bar.Describe(line)
		_ = v.bar.Set(int((p.Plan.Total() - p.Left()).Seconds()))
	case Lines:
		if p.Done {
			return
		}
		changed := p.Phase != v.lastPhase || p.Stopping != v.stopping
		if changed || p.Now.Sub(v.lastLine) >= v.every {
			fmt.Fprintln(v.w, line)
			v.lastLine, v.lastPhase, v.stopping = p.Now, p.Phase, p.Stopping
		}
	}
}

// End clears a bar that is still drawn (a run that stopped before its
// experiment reported Done).
func (v *View) End() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closeBar()
}

func (v *View) closeBar() {
	if v.bar != nil {
		_ = v.bar.Finish()
		v.bar = nil
	}
}

// Estimate is the time left of a game day. Left counts, for each scenario
// still to run (the current one included), how long its last run took;
// for one that never ran to the end in the folder, the time its timed
// phases are planned to take: ByPlan counts those, and with any the
// estimate is a lower bound (the plan leaves out the phases that take
// what they take: injecting, recovering, the read-back). Untimed counts
// the scenarios with neither, which add nothing.
type Estimate struct {
	Left            time.Duration
	ByPlan, Untimed int
}

// suiteLeft estimates the time left of the whole suite at p: the current
// scenario's (from its plan, or from its last run when that says more)
// and each scenario's after it (see Estimate).
func (v *View) suiteLeft(p run.Progress) Estimate {
	var e Estimate
	if p.Stopping || p.Done {
		return e
	}
	e.Left = p.Left()
	if v.index < len(v.suite) {
		if d, ok := v.past[v.suite[v.index]]; ok && !p.Started.IsZero() {
			e.Left = max(e.Left, d-p.Now.Sub(p.Started))
		} else if !ok {
			e.ByPlan++
		}
	}
	for _, name := range v.suite[min(v.index+1, len(v.suite)):] {
		if d, ok := v.past[name]; ok {
			e.Left += d
		} else if d, ok := v.planned[name]; ok && d > 0 {
			e.Left += d
			e.ByPlan++
		} else {
			e.Untimed++
		}
	}
	return e
}

// Line renders p of the i-th (0-based) of n scenarios on one line, with
// the time left of the suite when n > 1 (see Estimate): "~" when every
// scenario's last run is known, "≥" with how it was made otherwise.
func Line(p run.Progress, i, n int, suite Estimate) string {
	var b strings.Builder
	if n > 1 {
		fmt.Fprintf(&b, "[%d/%d] ", i+1, n)
	}
	b.WriteString(p.Scenario)
	if p.Stopping {
		b.WriteString(" · stopping: healing faults and writing what the run knows")
		return b.String()
	}
	phase := p.Phase
	if phase == "" {
		phase = "starting"
	}
	if k, of := p.PhaseNumber(); k > 0 {
		phase = fmt.Sprintf("%s (%d/%d)", phase, k, of)
	}
	fmt.Fprintf(&b, " · %s", phase)
	if w := p.Work; w.Total > 0 {
		fmt.Fprintf(&b, " · %d/%d %s (%.1f%%)", w.Done, w.Total, cmp.Or(w.What, "done"), 100*float64(w.Done)/float64(w.Total))
		if p.WorkRate > 0 {
			fmt.Fprintf(&b, " at %.0f/s", p.WorkRate)
		}
		if w.Note != "" {
			fmt.Fprintf(&b, " · %s", w.Note)
		}
	}
	fmt.Fprintf(&b, " · %.1f req/s · %.1f%% errors · %s left", p.Live.OpsPerSec, 100*p.Live.ErrorRate, ShortDuration(p.Left()))
	if n > 1 {
		b.WriteString(suite.String())
	}
	return b.String()
}

// String renders e as the end of a progress line.
func (e Estimate) String() string {
	if e.ByPlan == 0 && e.Untimed == 0 {
		return fmt.Sprintf(" · game day ~%s left", ShortDuration(e.Left))
	}
	var how []string
	if e.ByPlan > 0 {
		how = append(how, fmt.Sprintf("%d scenario(s) by their phase plan only", e.ByPlan))
	}
	if e.Untimed > 0 {
		how = append(how, fmt.Sprintf("%d not timed at all", e.Untimed))
	}
	return fmt.Sprintf(" · game day ≥ %s left (%s)", ShortDuration(e.Left), strings.Join(how, ", "))
}

// ShortDuration renders d to the second, hours and minutes only past an
// hour.
func ShortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// PastDurations reads the runs under out and returns how long each
// scenario's newest run that ran to the end (passed or failed) took.
// Folders without a readable run.json (history.RunInfoFile) are skipped.
func PastDurations(out string) map[string]time.Duration {
	entries, err := os.ReadDir(out)
	if err != nil {
		return map[string]time.Duration{}
	}
	newest := map[string]history.RunInfo{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		info, err := history.LoadRunInfo(filepath.Join(out, e.Name()))
		if err != nil || info.Scenario == "" || info.Finished.Before(info.Started) {
			continue
		}
		if info.Status != history.StatusPassed && info.Status != history.StatusFailed {
			continue
		}
		if cur, ok := newest[info.Scenario]; !ok || info.Started.After(cur.Started) {
			newest[info.Scenario] = info
		}
	}
	d := make(map[string]time.Duration, len(newest))
	for name, info := range newest {
		d[name] = info.Finished.Sub(info.Started)
	}
	return d
}
