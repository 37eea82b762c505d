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
// the phases and the replay command. The output depends on the report only
// (maps are sorted, times are relative to the run's start or UTC).
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

// para writes a block (a heading, a paragraph) and the blank line after it.
func (m *md) para(format string, args ...any) { m.p(format+"\n", args...) }

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

// MarkdownTable is a Markdown table of head and rows, its cells escaped,
// and the blank line after it.
func MarkdownTable(head []string, rows [][]string) string {
	var m md
	m.table(table{Head: head, Rows: rows})
	return m.String()
}

// OneLine collapses line breaks for a paragraph.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

// StatusWord is a run status as the reports print it: in capitals.
func StatusWord(s history.Status) string { return strings.ToUpper(string(s)) }

func (m *md) title(r *Report) {
	m.para("# %s: %s", OneLine(Label(r.Run.Scenario)), StatusWord(r.Status))
	if d := OneLine(r.Run.Description); d != "" {
		m.para("%s", d)
	}
	if r.Status != history.StatusPassed {
		m.para("**Why it stopped:** %s", OneLine(r.Reason))
	}
	if g := generatorBehind(r); g != "" {
		m.para("**The load generator did not keep its schedule:** %s", g)
	}
}

func (m *md) summary(r *Report) { m.table(runTable(r)) }

func (m *md) notes(r *Report) {
	if len(r.Notes) == 0 {
		return
	}
	m.para("## Notes")
	for _, n := range r.Notes {
		m.p("- %s", OneLine(n))
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
	m.para("## Checkers")
	leaves := r.LeafCheckers()
	if len(leaves) == 0 {
		m.para("No checker results were recorded.")
		return
	}
	rows := make([][]string, 0, len(leaves))
	for _, c := range leaves {
		rows = append(rows, []string{Label(c.Checker), verdictCell(c.Valid), c.Reason})
	}
	m.table(table{Head: []string{"Checker", "Verdict", "Reason"}, Rows: rows})
	for _, c := range leaves {
		if c.Valid == history.VerdictValid {
			continue
		}
		m.para("### %s: %s", OneLine(Label(c.Checker)), c.Valid)
		m.para("%s", OneLine(c.Reason))
		for _, d := range c.Details {
			m.p("- %s", OneLine(d))
		}
		if len(c.Details) > 0 {
			m.p("")
		}
	}
}

func (m *md) figures(r *Report) {
	m.para("## Key figures")
	if len(r.Figures) > 0 {
		m.table(figureTable(r))
	}
	if len(r.PhaseFigures) == 0 {
		m.para("No completed user operations were recorded.")
		return
	}
	m.para("### By phase")
	m.table(phaseFigureTable(r))
}

func (m *md) replication(r *Report) {
	rl := r.Replication
	if rl == nil {
		return
	}
	m.para("## Replication lag")
	m.table(replicationTable(r))
	if len(rl.Histogram) > 0 {
		rows := make([][]string, 0, len(rl.Histogram))
		for _, b := range rl.Histogram {
			rows = append(rows, []string{"≤ " + num(b.UpperMs), fmt.Sprint(b.Count)})
		}
		m.table(table{Head: []string{"Lag ms", "Samples"}, Rows: rows})
	}
	if t := evidenceTable(r); len(t.Rows) > 0 {
		m.para("### The nodes' evidence")
		m.para("%s", evidenceNote(rl))
		m.table(t)
		for _, u := range rl.Evidence.Unread {
			m.p("- not read: %s", u)
		}
		if len(rl.Evidence.Unread) > 0 {
			m.p("")
		}
	}
}

func (m *md) faults(r *Report) {
	m.para("## Fault timeline")
	m.para("Times are relative to the start of the run (%s).", AbsTime(r.Start))
	if len(r.Faults) == 0 {
		m.para("No faults were injected.")
	} else {
		m.table(faultTable(r))
	}
	if len(r.Traffic) > 0 {
		m.para("### Traffic changes")
		m.table(trafficTable(r))
	}
	if len(r.Events) > 0 {
		m.para("### Other events")
		m.table(eventTable(r))
	}
}

func (m *md) phases(r *Report) {
	m.para("## Phases")
	if len(r.Phases) == 0 {
		m.para("No phases were recorded.")
		return
	}
	m.table(phaseTable(r))
}

func (m *md) replay(r *Report) {
	m.para("## Replay")
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
