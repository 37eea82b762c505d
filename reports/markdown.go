package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/kongchaos/kong/harness/history"
)

// EncodeMarkdown renders the summary people read: the outcome and why the
// run stopped (and, when it did, that the load generator fell behind its
// schedule), the run, the checkers, the key figures, the fault timeline,
// the phases and the replay command. The output depends on the report only (maps are
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
func (m *md) table(t table) {
	m.p("| %s |", strings.Join(t.Head, " | "))
	seps := make([]string, len(t.Head))
	for i := range seps {
		seps[i] = "---"
	}
	m.p("| %s |", strings.Join(seps, " | "))
	for _, row := range t.Rows {
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
	if g := generatorBehind(r); g != "" {
		m.p("**The load generator did not keep its schedule:** %s", g)
		m.p("")
	}
}

func (m *md) summary(r *Report) { m.table(runTable(r)) }

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
	m.table(table{Head: []string{"Checker", "Verdict", "Reason"}, Rows: rows})
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
		m.table(figureTable(r))
	}
	if len(r.PhaseFigures) == 0 {
		m.p("No completed user operations were recorded.")
		m.p("")
		return
	}
	m.p("### By phase")
	m.p("")
	m.table(phaseFigureTable(r))
}

func (m *md) replication(r *Report) {
	rl := r.Replication
	if rl == nil {
		return
	}
	m.p("## Replication lag")
	m.p("")
	m.table(table{Head: []string{"Samples", "Visible at read", "Missing", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "All visible after ms"},
		Rows: [][]string{{fmt.Sprint(rl.Samples), percent(&rl.VisibleAtRead), fmt.Sprint(rl.Missing), num(rl.P50), num(rl.P90),
			num(rl.P99), num(rl.P999), num(rl.Max), num(rl.AllVisibleAfterMs)}}})
	if len(rl.Histogram) > 0 {
		rows := make([][]string, 0, len(rl.Histogram))
		for _, b := range rl.Histogram {
			rows = append(rows, []string{"≤ " + num(b.UpperMs), fmt.Sprint(b.Count)})
		}
		m.table(table{Head: []string{"Lag ms", "Samples"}, Rows: rows})
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
		m.table(faultTable(r))
	}
	if len(r.Traffic) > 0 {
		m.p("### Traffic changes")
		m.p("")
		m.table(trafficTable(r))
	}
	if len(r.Events) > 0 {
		m.p("### Other events")
		m.p("")
		m.table(eventTable(r))
	}
}

func (m *md) phases(r *Report) {
	m.p("## Phases")
	m.p("")
	if len(r.Phases) == 0 {
		m.p("No phases were recorded.")
		m.p("")
		return
	}
	m.table(phaseTable(r))
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
