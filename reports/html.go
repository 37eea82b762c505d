package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/chart"
)

// HTMLFile is the HTML report's name in a run's directory.
const HTMLFile = "report.html"

// HTMLWriter writes report.html.
var HTMLWriter = Writer{Name: "html", File: HTMLFile, Encode: EncodeHTML}

func init() { Writers = append(Writers, HTMLWriter) }

// WriteHTML writes dir/report.html.
func WriteHTML(dir string, r *Report) error { return HTMLWriter.Write(dir, r) }

// pageStyle is the style sheet of the HTML pages (report and index).
//
//go:embed page.css
var pageStyle string

// pagePolicy forbids the page every fetch: it is one file that works
// offline, and a browser enforces that nothing slipped in.
const pagePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.Policy}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Scenario}}: {{.StatusWord}}</title>
<style>{{.Style}}</style>
</head>
<body>
<header class="outcome status-{{.Status}}">
<h1>{{.Scenario}} <span class="badge">{{.StatusWord}}</span></h1>
<p class="verdict">Verdict: <strong class="v-{{.Verdict}}">{{.Verdict}}</strong> · {{.Started}} · {{.Duration}}</p>
{{- if .Reason}}
<p class="reason"><strong>{{if .Passed}}Reason{{else}}Why it stopped{{end}}:</strong> {{.Reason}}</p>
{{- end}}
{{- if .Description}}
<p class="description">{{.Description}}</p>
{{- end}}
</header>
<main>
<section id="checkers">
<h2>Checkers</h2>
{{- if .Checkers}}
<table>
<thead><tr><th>Checker</th><th>Verdict</th><th>Reason</th></tr></thead>
<tbody>
{{- range .Checkers}}
<tr><td>{{.Name}}</td><td class="v-{{.Verdict}}">{{.Verdict}}</td><td>{{.Reason}}{{if .Details}}<details><summary>{{len .Details}} details</summary><ul>{{range .Details}}<li>{{.}}</li>{{end}}</ul></details>{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>No checker results were recorded.</p>
{{- end}}
</section>
<section id="key-figures">
<h2>Key figures</h2>
<div class="figures">
{{- range .Figures}}
<div class="figure" data-key="{{.Key}}"><div class="value">{{.Value}}</div><div class="label">{{.Label}}</div></div>
{{- end}}
</div>
</section>
<section id="charts">
<h2>Charts</h2>
{{- range .Charts}}
<figure id="{{.ID}}">
<h3>{{.Title}}</h3>
{{- if .SVG}}
{{.SVG}}
{{- else}}
<p class="empty">{{.Empty}}</p>
{{- end}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{- end}}
</section>
<section id="faults">
<h2>Fault timeline</h2>
<p>Times are relative to the start of the run ({{.Started}}).</p>
{{- if .Faults}}
<table>
<thead><tr><th>Fault</th><th>Target</th><th>Inject</th><th>Took effect</th><th>Recover</th><th>Healed</th></tr></thead>
<tbody>
{{- range .Faults}}
<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>No faults were injected.</p>
{{- end}}
{{- if .Traffic}}
<h3>Traffic changes</h3>
<table>
<thead><tr><th>At</th><th>Change</th><th>Target</th><th>Detail</th></tr></thead>
<tbody>
{{- range .Traffic}}
<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .Events}}
<h3>Other events</h3>
<table>
<thead><tr><th>At</th><th>Kind</th><th>Event</th><th>Target</th><th>Detail</th></tr></thead>
<tbody>
{{- range .Events}}
<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
</section>
<section id="phases">
<h2>Phases</h2>
{{- if .PhaseRows}}
<table>
<thead><tr><th>Phase</th><th>Region</th><th>Requests</th><th>OK</th><th>Fail</th><th>Info</th><th>Shed</th><th>Availability</th><th>p50 ms</th><th>p99 ms</th></tr></thead>
<tbody>
{{- range .PhaseRows}}
<tr{{if eq (index . 1) "all"}} class="total"{{end}}>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>No completed user operations were recorded.</p>
{{- end}}
{{- if .Phases}}
<table>
<thead><tr><th>Phase</th><th>Start</th><th>End</th><th>Duration</th></tr></thead>
<tbody>
{{- range .Phases}}
<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
</section>
<section id="run">
<h2>Run</h2>
<table>
<tbody>
{{- range .RunRows}}
<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .Notes}}
<h3>Notes</h3>
<ul class="notes">
{{- range .Notes}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
<details>
<summary>All {{len .AllFigures}} figures</summary>
<table>
<tbody>
{{- range .AllFigures}}
<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>
{{- end}}
</tbody>
</table>
</details>
</section>
<section id="replay">
<h2>Replay</h2>
{{- if .Replay}}
<pre>{{.Replay}}</pre>
{{- else}}
<p>No replay command was recorded.</p>
{{- end}}
</section>
</main>
</body>
</html>
`))

type htmlChecker struct {
	Name    string
	Verdict history.Verdict
	Reason  string
	Details []string
}

type htmlFigure struct{ Key, Label, Value string }

type htmlReport struct {
	Policy      string
	Style       template.CSS
	Scenario    string
	Status      history.Status
	StatusWord  string
	Passed      bool
	Verdict     history.Verdict
	Reason      string
	Description string
	Started     string
	Duration    string
	Checkers    []htmlChecker
	Figures     []htmlFigure
	Charts      []chart.Chart
	Faults      [][]string
	Traffic     [][]string
	Events      [][]string
	PhaseRows   [][]string
	Phases      [][]string
	RunRows     [][]string
	Notes       []string
	AllFigures  [][]string
	Replay      string
}

// EncodeHTML renders the report people open first: one self-contained page
// (no script, nothing fetched) with the outcome and why the run stopped at
// the top, the checkers, the key figures, charts of the run (requests per
// region, success, shed and error rates, latency, replication lag, cache
// hit rate, the fault timeline), the tables of the Markdown summary and the
// replay command. The output depends on the report only.
func EncodeHTML(w io.Writer, r *Report) error {
	charts, err := ReportCharts(r)
	if err != nil {
		return err
	}
	v := htmlReport{
		Policy:      pagePolicy,
		Style:       template.CSS(pageStyle),
		Scenario:    label(r.Run.Scenario),
		Status:      r.Status,
		StatusWord:  statusWord(r.Status),
		Passed:      r.Status == history.StatusPassed,
		Verdict:     r.Verdict,
		Reason:      r.Reason,
		Description: r.Run.Description,
		Started:     absTime(r.Start),
		Duration:    secs(r.DurationS),
		Charts:      charts,
		Notes:       r.Notes,
		Replay:      strings.TrimRight(r.Run.Replay, "\n"),
	}
	for _, c := range r.LeafCheckers() {
		v.Checkers = append(v.Checkers, htmlChecker{Name: label(c.Checker), Verdict: c.Valid, Reason: c.Reason, Details: c.Details})
	}
	for _, f := range KeyFigures(r) {
		v.Figures = append(v.Figures, htmlFigure{Key: f.Key, Label: f.Label, Value: f.Format(f.Value)})
	}
	for _, f := range r.Faults {
		v.Faults = append(v.Faults, []string{label(f.Name), label(f.Target),
			at(r, f.Inject, "not recorded"),
			after(r, f.Injected, f.TimeToEffectS, "not seen"),
			at(r, f.Recover, "not recovered"),
			after(r, f.Recovered, f.TimeToHealS, "not seen")})
	}
	for _, e := range r.Traffic {
		v.Traffic = append(v.Traffic, []string{rel(r, e.Time), e.Name, e.Target, detail(e.Detail)})
	}
	for _, e := range r.Events {
		v.Events = append(v.Events, []string{rel(r, e.Time), string(e.Kind), e.Name, e.Target, detail(e.Detail)})
	}
	row := func(phase, region string, c Counts, av, p50, p99 *float64) []string {
		return []string{phase, region, fmt.Sprint(c.Requests), fmt.Sprint(c.OK), fmt.Sprint(c.Fail),
			fmt.Sprint(c.Info), fmt.Sprint(c.Shed), percent(av), msCell(p50), msCell(p99)}
	}
	for _, pf := range r.PhaseFigures {
		v.PhaseRows = append(v.PhaseRows, row(pf.Phase, "all", pf.Counts, pf.Availability, pf.P50Ms, pf.P99Ms))
		for _, rf := range pf.Regions {
			v.PhaseRows = append(v.PhaseRows, row(pf.Phase, rf.Region, rf.Counts, rf.Availability, rf.P50Ms, rf.P99Ms))
		}
	}
	for _, p := range r.Phases {
		v.Phases = append(v.Phases, []string{label(p.Name), rel(r, p.Start), rel(r, p.End), secs(p.End.Sub(p.Start).Seconds())})
	}
	ri := r.Run
	v.RunRows = [][]string{{"Status", statusWord(r.Status)}, {"Verdict", string(r.Verdict)}, {"Seed", fmt.Sprint(ri.Seed)}}
	for _, kv := range [][2]string{{"World", ri.World}, {"Profile", ri.Profile}, {"Backend", ri.Backend}} {
		if kv[1] != "" {
			v.RunRows = append(v.RunRows, []string{kv[0], kv[1]})
		}
	}
	v.RunRows = append(v.RunRows,
		[]string{"Started", absTime(ri.Started)},
		[]string{"Finished", absTime(ri.Finished)},
		[]string{"Duration", secs(r.DurationS)},
		[]string{"History", historySummary(r.History)})
	for _, k := range slices.Sorted(maps.Keys(r.Figures)) {
		v.AllFigures = append(v.AllFigures, []string{k, num(r.Figures[k])})
	}
	return reportTemplate.Execute(w, v)
}

func historySummary(hs HistoryStats) string {
	if !hs.Present {
		return "missing"
	}
	s := fmt.Sprintf("%s (%d completed, %d pending, %s, %s), %s",
		plural(hs.Operations, "operation"), hs.Completed, hs.Pending,
		plural(hs.Orphans, "orphan completion"), plural(hs.Probes, "probe"), plural(hs.Events, "event"))
	if hs.BadLines > 0 {
		s += "; " + plural(hs.BadLines, "unreadable line") + " skipped"
	}
	if hs.Truncated {
		s += "; truncated at the end"
	}
	return s
}
