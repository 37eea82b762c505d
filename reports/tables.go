package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// table is a table of a report, its head and rows of text, as the Markdown
// and HTML writers both show it.
type table struct {
	Head []string
	Rows [][]string
	// Totals marks the rows whose second cell is "all" as totals (the HTML
	// page sets them apart).
	Totals bool
}

// runTable says what ran, where, and how it ended.
func runTable(r *Report) table {
	ri := r.Run
	t := table{Head: []string{"Run", ""}, Rows: [][]string{
		{"Status", StatusWord(r.Status)}, {"Verdict", string(r.Verdict)}, {"Seed", fmt.Sprint(ri.Seed)}}}
	for _, kv := range [][]string{{"World", ri.World}, {"Profile", ri.Profile}, {"Backend", ri.Backend}} {
		if kv[1] != "" {
			t.Rows = append(t.Rows, kv)
		}
	}
	t.Rows = append(t.Rows,
		[]string{"Started", AbsTime(ri.Started)},
		[]string{"Finished", AbsTime(ri.Finished)},
		[]string{"Duration", secs(r.DurationS)},
		[]string{"History", historySummary(r.History)})
	if g := ri.Generator; g != nil {
		t.Rows = append(t.Rows, []string{"Load generator", generatorSummary(g)})
	}
	return t
}

// generatorSummary says whether the load generator kept its schedule and
// what it started of what was requested.
func generatorSummary(g *history.GeneratorReport) string {
	s := fmt.Sprintf("started %d of %.0f requested operations in %s (%.1f/s of %.1f/s); %d late (more than %s, worst %s), %d dropped",
		g.Started, g.Requested, g.Elapsed.Round(time.Millisecond), g.AchievedRate, g.RequestedRate,
		g.Late, g.LateThreshold, g.MaxLateness.Round(time.Microsecond), g.Dropped)
	if g.Kept {
		return "kept its schedule: " + s
	}
	return "did not keep its schedule: " + s
}

// generatorBehind says how the load generator fell behind its schedule,
// for the top of a report: the world got less load than the scenario asked
// for, so its figures may flatter it. It is empty when the generator kept
// its schedule or did not report.
func generatorBehind(r *Report) string {
	g := r.Run.Generator
	if g == nil || g.Kept {
		return ""
	}
	return strings.TrimPrefix(generatorSummary(g), "did not keep its schedule: ") +
		". The world got less load than the scenario asked for, so its figures may flatter it."
}

// figureTable lists every figure of the report, by name.
func figureTable(r *Report) table {
	t := table{Head: []string{"Figure", "Value"}}
	for _, k := range slices.Sorted(maps.Keys(r.Figures)) {
		t.Rows = append(t.Rows, []string{k, num(r.Figures[k])})
	}
	return t
}

// phaseFigureTable gives each phase's counts, availability and latencies,
// all regions and then each region.
func phaseFigureTable(r *Report) table {
	t := table{Head: []string{"Phase", "Region", "Requests", "OK", "Fail", "Info", "Shed", "Availability", "p50 ms", "p99 ms"}, Totals: true}
	row := func(phase, region string, f GroupFigures) []string {
		return []string{phase, region, fmt.Sprint(f.Requests), fmt.Sprint(f.OK), fmt.Sprint(f.Fail),
			fmt.Sprint(f.Info), fmt.Sprint(f.Shed), percent(f.Availability), msCell(f.P50Ms), msCell(f.P99Ms)}
	}
	for _, pf := range r.PhaseFigures {
		t.Rows = append(t.Rows, row(pf.Phase, "all", pf.GroupFigures))
		for _, rf := range pf.Regions {
			t.Rows = append(t.Rows, row(pf.Phase, rf.Region, rf.GroupFigures))
		}
	}
	return t
}

// phaseTable gives each phase's start, end and duration.
func phaseTable(r *Report) table {
	t := table{Head: []string{"Phase", "Start", "End", "Duration"}}
	for _, p := range r.Phases {
		t.Rows = append(t.Rows, []string{Label(p.Name), rel(r, p.Start), rel(r, p.End), secs(p.End.Sub(p.Start).Seconds())})
	}
	return t
}

// faultTable gives each fault's injection, effect, recovery and healing.
func faultTable(r *Report) table {
	t := table{Head: []string{"Fault", "Target", "Inject", "Took effect", "Recover", "Healed"}}
	for _, f := range r.Faults {
		t.Rows = append(t.Rows, []string{Label(f.Name), Label(f.Target),
			at(r, f.Inject, "not recorded"),
			after(r, f.Injected, f.TimeToEffectS, "not seen"),
			at(r, f.Recover, "not recovered"),
			after(r, f.Recovered, f.TimeToHealS, "not seen")})
	}
	return t
}

// trafficTable gives the traffic changes.
func trafficTable(r *Report) table {
	t := table{Head: []string{"At", "Change", "Target", "Detail"}}
	for _, e := range r.Traffic {
		t.Rows = append(t.Rows, []string{rel(r, e.Time), e.Name, e.Target, detail(e.Detail)})
	}
	return t
}

// eventTable gives the timeline's other events.
func eventTable(r *Report) table {
	t := table{Head: []string{"At", "Kind", "Event", "Target", "Detail"}}
	for _, e := range r.Events {
		t.Rows = append(t.Rows, []string{rel(r, e.Time), string(e.Kind), e.Name, e.Target, detail(e.Detail)})
	}
	return t
}

func historySummary(hs HistoryStats) string {
	if !hs.Present {
		return "missing"
	}
	s := fmt.Sprintf("%s (%d completed, %d pending, %s, %s), %s",
		Plural(hs.Operations, "operation"), hs.Completed, hs.Pending,
		Plural(hs.Orphans, "orphan completion"), Plural(hs.Probes, "probe"), Plural(hs.Events, "event"))
	if hs.BadLines > 0 {
		s += "; " + Plural(hs.BadLines, "unreadable line") + " skipped"
	}
	if hs.Truncated {
		s += "; truncated at the end"
	}
	return s
}

// at is t relative to the run's start, or missing when t is nil.
func at(r *Report, t *time.Time, missing string) string {
	if t == nil {
		return missing
	}
	return rel(r, *t)
}

// after is t relative to the run's start and the delay d that led to it.
func after(r *Report, t *time.Time, d *float64, missing string) string {
	if t == nil || d == nil {
		return at(r, t, missing)
	}
	return fmt.Sprintf("%s (after %s)", rel(r, *t), secs(*d))
}

func detail(d map[string]string) string {
	parts := make([]string, 0, len(d))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, ", ")
}

// AbsTime is a time as the reports print it: UTC, to the millisecond.
func AbsTime(t time.Time) string {
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

// Plural is "1 word" or "n words".
func Plural(n int, word string) string {
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

// replicationTable is the replication check's share visible at the read
// with its bounds side by side, and the lag distribution.
func replicationTable(r *Report) table {
	rl := r.Replication
	if rl == nil {
		return table{}
	}
	at := "the read"
	if rl.ReadAfterMs > 0 {
		at = num(rl.ReadAfterMs) + " ms"
	}
	low, onTime := "-", "-"
	if rl.ReadAfterMs > 0 {
		low, onTime = percent(&rl.VisibleAtReadLow), percent(&rl.VisibleAtReadMin)
	}
	return table{Head: []string{"Samples", "Visible at " + at + ": found on time", "95 % lower bound", "found at all", "Missing",
		"p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "All visible after ms"},
		Rows: [][]string{{fmt.Sprint(rl.Samples), onTime, low, percent(&rl.VisibleAtRead), fmt.Sprint(rl.Missing),
			num(rl.P50), num(rl.P90), num(rl.P99), num(rl.P999), num(rl.Max), num(rl.AllVisibleAfterMs)}}}
}
