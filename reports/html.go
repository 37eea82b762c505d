package reports

import (
	"embed"
	"html/template"
	"io"
	"strings"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/chart"
)

// HTMLFile is the HTML report's name in a run's directory.
const HTMLFile = "report.html"

// HTMLWriter writes report.html.
var HTMLWriter = Writer{Name: "html", File: HTMLFile, Encode: EncodeHTML}

func init() { Writers = append(Writers, HTMLWriter) }

// pageStyle is the style sheet of the HTML pages (the report, and the index
// of package index).
//
//go:embed page.css
var pageStyle string

// pageTemplates are the report's page and the parts every page shares.
//
//go:embed page.tmpl report.tmpl
var pageTemplates embed.FS

var reportTemplate = template.Must(template.New("report.tmpl").ParseFS(pageTemplates, "report.tmpl", "page.tmpl"))

// PageTemplate parses a page's template, named name, with the parts every
// page shares: "head" (the head and style sheet of a Page), "table" and
// "charts". It panics on a bad template, as a package's variable.
func PageTemplate(name, text string) *template.Template {
	return template.Must(template.Must(template.New(name).Parse(text)).ParseFS(pageTemplates, "page.tmpl"))
}

// pagePolicy forbids the page every fetch: it is one file that works
// offline, and a browser enforces that nothing slipped in.
const pagePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// Page is what every page's head needs; a page's value embeds it.
type Page struct {
	Policy string
	Style  template.CSS
	Title  string
}

// NewPage is the head of a page titled title.
func NewPage(title string) Page {
	return Page{Policy: pagePolicy, Style: template.CSS(pageStyle), Title: title}
}

type htmlChecker struct {
	Name    string
	Verdict history.Verdict
	Reason  string
	Details []string
}

type htmlFigure struct{ Key, Label, Value string }

type htmlReport struct {
	Page
	Scenario   string
	Status     history.Status
	StatusWord string
	Passed     bool
	Verdict    history.Verdict
	Reason     string
	// GeneratorBehind says how the load generator fell behind its
	// schedule; empty when it kept it (or did not report).
	GeneratorBehind string
	Description     string
	Started         string
	Duration        string
	Checkers        []htmlChecker
	Figures         []htmlFigure
	Charts          []chart.Chart
	Faults          table
	Traffic         table
	Events          table
	PhaseFigures    table
	Phases          table
	Replication     table
	Evidence        table
	EvidenceNote    string
	EvidenceUnread  []string
	Run             table
	Notes           []string
	AllFigures      table
	Replay          string
}

// EncodeHTML renders the report people open first: one self-contained page
// (no script, nothing fetched) with the outcome and why the run stopped at
// the top (and, when it did, that the load generator fell behind its
// schedule), the checkers, the key figures, charts of the run (requests per
// region, success, shed and error rates, latency, replication lag, cache
// hit rate, the fault timeline), the tables of the Markdown summary and the
// replay command. The output depends on the report only.
func EncodeHTML(w io.Writer, r *Report) error {
	charts, err := ReportCharts(r)
	if err != nil {
		return err
	}
	scenario := Label(r.Run.Scenario)
	v := htmlReport{
		Page:            NewPage(scenario + ": " + StatusWord(r.Status)),
		Scenario:        scenario,
		Status:          r.Status,
		StatusWord:      StatusWord(r.Status),
		Passed:          r.Status == history.StatusPassed,
		Verdict:         r.Verdict,
		Reason:          r.Reason,
		GeneratorBehind: generatorBehind(r),
		Description:     r.Run.Description,
		Started:         AbsTime(r.Start),
		Duration:        secs(r.DurationS),
		Charts:          charts,
		Faults:          faultTable(r),
		Traffic:         trafficTable(r),
		Events:          eventTable(r),
		PhaseFigures:    phaseFigureTable(r),
		Phases:          phaseTable(r),
		Replication:     replicationTable(r),
		Evidence:        evidenceTable(r),
		Run:             runTable(r),
		Notes:           r.Notes,
		AllFigures:      figureTable(r),
		Replay:          strings.TrimRight(r.Run.Replay, "\n"),
	}
	if len(v.Evidence.Rows) > 0 {
		v.EvidenceNote, v.EvidenceUnread = evidenceNote(r.Replication), r.Replication.Evidence.Unread
	}
	for _, c := range r.LeafCheckers() {
		v.Checkers = append(v.Checkers, htmlChecker{Name: Label(c.Checker), Verdict: c.Valid, Reason: c.Reason, Details: c.Details})
	}
	for _, f := range KeyFigures(r) {
		if f.WhenMeasured && f.Value == nil {
			continue
		}
		v.Figures = append(v.Figures, htmlFigure{Key: f.Key, Label: f.Label, Value: f.Format(f.Value)})
	}
	return reportTemplate.Execute(w, v)
}
