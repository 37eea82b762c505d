package reports

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// EncodeMarkdown renders the summary people read: the outcome and why the
// run stopped, the checkers, the key figures, the fault timeline, the phases
// and the replay command. The output depends on the report only (maps are
// sorted, times are relative to the run's start or UTC).
func EncodeMarkdown(w io.Writer, r *Report) error {
	var m md
	m.title(r)
	m.summary(r)
	m.notes(r)
	m.checkers(r)
	m.figures(r)
	m.replication(r)
	m.faults(r)
	m.phases(r)
	m.replay(r)
	_, err := io.WriteString(w, strings.TrimRight(m.String(), "\n")+"\n")
	return err
}

type md struct{ strings.Builder }

func (m *md) p(format string, args ...any) { fmt.Fprintf(m, format+"\n", args...) }

// table writes a Markdown table; cells are escaped.
func (m *md) table(head []string, rows [][]string) {
	m.p("| %s |", strings.Join(head, " | "))
	seps := make([]string, len(head))
	for i := range seps {
		seps[i] = "---"
	}
	m.p("| %s |", strings.Join(seps, " | "))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = cell(c)
		}
		m.p("| %s |", strings.Join(cells, " | "))
	}
	m.p("")
}

var cellEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")

func cell(s string) string {
	s = strings.TrimSpace(cellEscaper.Replace(s))
	if s == "" {
		return " "
	}
	return s
}

// oneLine collapses line breaks for a paragraph.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

func statusWord(s history.Status) string { return strings.ToUpper(string(s)) }

func (m *md) title(r *Report) {
	m.p("# %s: %s", oneLine(label(r.Run.Scenario)), statusWord(r.Status))
	m.p("")
	if d := oneLine(r.Run.Description); d != "" {
		m.p("%s", d)
		m.p("")
	}
	if r.Status != history.StatusPassed {
		m.p("**Why it stopped:** %s", oneLine(r.Reason))
		m.p("")
	}
}

func (m *md) summary(r *Report) {
	ri := r.Run
	rows := [][]string{
		{"Status", statusWord(r.Status)},
		{"Verdict", string(r.Verdict)},
		{"Seed", fmt.Sprint(ri.Seed)},
	}
	for _, kv := range [][2]string{{"World", ri.World}, {"Profile", ri.Profile}, {"Backend", ri.Backend}} {
		if kv[1] != "" {
			rows = append(rows, []string{kv[0], kv[1]})
		}
	}
	rows = append(rows,
		[]string{"Started", absTime(ri.Started)},
		[]string{"Finished", absTime(ri.Finished)},
		[]string{"Duration", secs(r.DurationS)},
	)
	rows = append(rows, []string{"History", historySummary(r.History)})
	m.table([]string{"Run", ""}, rows)
}

func (m *md) notes(r *Report) {
	if len(r.Notes) == 0 {
		return
	}
	m.p("## Notes")
	m.p("")
	for _, n := range r.Notes {
		m.p("- %s", oneLine(n))
	}
	m.p("")
}

func verdictCell(v history.Verdict) string {
	if v == history.VerdictInvalid {
		return "**invalid**"
	}
	return string(v)
}

func (m *md) checkers(r *Report) {
	m.p("## Checkers")
	m.p("")
	leaves := r.LeafCheckers()
	if len(leaves) == 0 {
		m.p("No checker results were recorded.")
		m.p("")
		return
	}
	rows := make([][]string, 0, len(leaves))
	for _, c := range leaves {
		rows = append(rows, []string{label(c.Checker), verdictCell(c.Valid), c.Reason})
	}
	m.table([]string{"Checker", "Verdict", "Reason"}, rows)
	for _, c := range leaves {
		if c.Valid == history.VerdictValid {
			continue
		}
		m.p("### %s: %s", oneLine(label(c.Checker)), c.Valid)
		m.p("")
		m.p("%s", oneLine(c.Reason))
		m.p("")
		for _, d := range c.Details {
			m.p("- %s", oneLine(d))
		}
		if len(c.Details) > 0 {
			m.p("")
		}
	}
}

func (m *md) figures(r *Report) {
	m.p("## Key figures")
	m.p("")
	if len(r.Figures) > 0 {
		rows := [][]string{}
		for _, k := range slices.Sorted(maps.Keys(r.Figures)) {
			rows = append(rows, []string{k, num(r.Figures[k])})
		}
		m.table([]string{"Figure", "Value"}, rows)
	}
	if len(r.PhaseFigures) == 0 {
		m.p("No completed user operations were recorded.")
		m.p("")
		return
	}
	m.p("### By phase")
	m.p("")
	var rows [][]string
	row := func(phase, region string, c Counts, av, p50, p99 *float64) []string {
		return []string{phase, region, fmt.Sprint(c.Requests), fmt.Sprint(c.OK), fmt.Sprint(c.Fail),
			fmt.Sprint(c.Info), fmt.Sprint(c.Shed), percent(av), msCell(p50), msCell(p99)}
	}
	for _, pf := range r.PhaseFigures {
		rows = append(rows, row(pf.Phase, "all", pf.Counts, pf.Availability, pf.P50Ms, pf.P99Ms))
		for _, rf := range pf.Regions {
			rows = append(rows, row(pf.Phase, rf.Region, rf.Counts, rf.Availability, rf.P50Ms, rf.P99Ms))
		}
	}
	m.table([]string{"Phase", "Region", "Requests", "OK", "Fail", "Info", "Shed", "Availability", "p50 ms", "p99 ms"}, rows)
}

func (m *md) replication(r *Report) {
	rl := r.Replication
	if rl == nil {
		return
	}
	m.p("## Replication lag")
	m.p("")
	m.table([]string{"Samples", "Visible at read", "Missing", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "All visible after ms"},
		[][]string{{fmt.Sprint(rl.Samples), percent(&rl.VisibleAtRead), fmt.Sprint(rl.Missing), num(rl.P50), num(rl.P90),
			num(rl.P99), num(rl.P999), num(rl.Max), num(rl.AllVisibleAfterMs)}})
	if len(rl.Histogram) > 0 {
		rows := make([][]string, 0, len(rl.Histogram))
		for _, b := range rl.Histogram {
			rows = append(rows, []string{"≤ " + num(b.UpperMs), fmt.Sprint(b.Count)})
		}
		m.table([]string{"Lag ms", "Samples"}, rows)
	}
}

func (m *md) faults(r *Report) {
	m.p("## Fault timeline")
	m.p("")
	m.p("Times are relative to the start of the run (%s).", absTime(r.Start))
	m.p("")
	if len(r.Faults) == 0 {
		m.p("No faults were injected.")
		m.p("")
	} else {
		rows := make([][]string, 0, len(r.Faults))
		for _, f := range r.Faults {
			rows = append(rows, []string{label(f.Name), label(f.Target),
				at(r, f.Inject, "not recorded"),
				after(r, f.Injected, f.TimeToEffectS, "not seen"),
				at(r, f.Recover, "not recovered"),
				after(r, f.Recovered, f.TimeToHealS, "not seen")})
		}
		m.table([]string{"Fault", "Target", "Inject", "Took effect", "Recover", "Healed"}, rows)
	}
	if len(r.Traffic) > 0 {
		m.p("### Traffic changes")
		m.p("")
		m.events(r, r.Traffic, false)
	}
	if len(r.Events) > 0 {
		m.p("### Other events")
		m.p("")
		m.events(r, r.Events, true)
	}
}

func (m *md) events(r *Report, evs []history.Event, kind bool) {
	rows := make([][]string, 0, len(evs))
	head := []string{"At", "Change", "Target", "Detail"}
	if kind {
		head = []string{"At", "Kind", "Event", "Target", "Detail"}
	}
	for _, e := range evs {
		row := []string{rel(r, e.Time)}
		if kind {
			row = append(row, string(e.Kind))
		}
		rows = append(rows, append(row, e.Name, e.Target, detail(e.Detail)))
	}
	m.table(head, rows)
}

func at(r *Report, t *time.Time, missing string) string {
	if t == nil {
		return missing
	}
	return rel(r, *t)
}

func after(r *Report, t *time.Time, d *float64, missing string) string {
	if t == nil {
		return missing
	}
	if d == nil {
		return rel(r, *t)
	}
	return fmt.Sprintf("%s (after %s)", rel(r, *t), secs(*d))
}

func (m *md) phases(r *Report) {
	m.p("## Phases")
	m.p("")
	if len(r.Phases) == 0 {
		m.p("No phases were recorded.")
		m.p("")
		return
	}
	rows := make([][]string, 0, len(r.Phases))
	for _, p := range r.Phases {
		rows = append(rows, []string{label(p.Name), rel(r, p.Start), rel(r, p.End), secs(p.End.Sub(p.Start).Seconds())})
	}
	m.table([]string{"Phase", "Start", "End", "Duration"}, rows)
}

func (m *md) replay(r *Report) {
	m.p("## Replay")
	m.p("")
	if strings.TrimSpace(r.Run.Replay) == "" {
		m.p("No replay command was recorded.")
		return
	}
	fence := "```"
	for strings.Contains(r.Run.Replay, fence) {
		fence += "`"
	}
	m.p("%ssh", fence)
	m.p("%s", strings.TrimRight(r.Run.Replay, "\n"))
	m.p("%s", fence)
}

func detail(d map[string]string) string {
	parts := make([]string, 0, len(d))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, ", ")
}

func absTime(t time.Time) string {
	if t.IsZero() {
		return "not recorded"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

func rel(r *Report, t time.Time) string {
	d := t.Sub(r.Start).Seconds()
	if d < 0 {
		return "-" + secs(-d)
	}
	return "+" + secs(d)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func secs(s float64) string { return fmt.Sprintf("%.3fs", s) }

// num renders a figure: integers as such, others with six significant
// digits.
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1e5:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.6g", v)
}

func percent(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f%%", *v*100)
}

func msCell(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *v)
}
