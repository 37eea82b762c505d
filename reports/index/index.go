// Package index lists the runs of a reports folder: index.md and
// index.html, every run found there with its scenario, start, verdict and
// key figures, linked to its reports, and (in index.html) the trends of
// those figures across runs. It reads the runs' files only, as package
// reports does; package prune keeps a folder's index when it removes runs.
package index

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/chart"
)

// pageText is index.html's template.
//
//go:embed index.tmpl
var pageText string

var pageTemplate = reports.PageTemplate("index.tmpl", pageText)

// Files of a reports folder's index.
const (
	MarkdownFile = "index.md"
	HTMLFile     = "index.html"
)

// Run is one run found in a reports folder.
type Run struct {
	// Dir is the run's folder name inside the reports folder.
	Dir string
	// Report is the run's report; nil when it could not be read, and then
	// Err says why.
	Report *reports.Report
	Err    error
}

// Load finds the runs of a reports folder: every folder in it (not a
// link) that holds a report.json, a run.json or a history.jsonl (regular
// files, not links), the runs prune.Folder may remove. Each run's report is
// read, or built when report.json is missing; a run whose report cannot be
// had is still listed, with its error. Runs are listed newest first (by
// start, then by folder name).
func Load(dir string) ([]Run, error) {
	names, err := RunFolders(dir)
	if err != nil {
		return nil, err
	}
	var runs []Run
	for _, name := range names {
		r, err := reports.LoadOrBuild(filepath.Join(dir, name))
		if err != nil {
			// Paths in the folder's terms: the index is read from it.
			err = &runError{msg: strings.ReplaceAll(err.Error(), filepath.Clean(dir)+string(filepath.Separator), ""), err: err}
		}
		runs = append(runs, Run{Dir: name, Report: r, Err: err})
	}
	slices.SortStableFunc(runs, func(a, b Run) int {
		var ta, tb time.Time
		if a.Report != nil {
			ta = a.Report.Start
		}
		if b.Report != nil {
			tb = b.Report.Start
		}
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(b.Dir, a.Dir)
	})
	return runs, nil
}

// runError is a run's error with paths relative to its reports folder.
type runError struct {
	msg string
	err error
}

func (e *runError) Error() string { return e.msg }
func (e *runError) Unwrap() error { return e.err }

// Write writes index.md and index.html into a reports folder: every
// run found there with its scenario, start, verdict and links to its
// reports, and (in index.html) charts of the key figures across runs.
func Write(dir string) error {
	runs, err := Load(dir)
	if err != nil {
		return fmt.Errorf("index of %s: %w", dir, err)
	}
	name := filepath.Base(filepath.Clean(dir))
	var md, page bytes.Buffer
	if err := EncodeMarkdown(&md, name, runs); err != nil {
		return fmt.Errorf("index of %s: %w", dir, err)
	}
	if err := EncodeHTML(&page, name, runs); err != nil {
		return fmt.Errorf("index of %s: %w", dir, err)
	}
	return errors.Join(
		history.WriteFileAtomic(filepath.Join(dir, MarkdownFile), md.Bytes()),
		history.WriteFileAtomic(filepath.Join(dir, HTMLFile), page.Bytes()))
}

// indexFigures are the key figures the index shows for each run, in its
// columns: first the availability the run's checker judged (with its SLO),
// then the degraded region's users (in the scenarios that have one) and the
// shed share, then the pooled availability while the fault was on
// (all requests, not judged).
var indexFigures = []string{reports.KeyAvailabilityJudged, reports.KeyAvailabilityDegraded, reports.KeyShedRate, reports.KeyAvailabilityFault, reports.KeyReplicationP99, reports.KeyConvergence}

// indexValue is a run's cell of the key figure k in the index: the
// checker's availabilities say over what ("of admitted" when shed requests
// were left out), the judged one also against which SLO.
func indexValue(r *reports.Report, k string) string {
	f := keyFigure(r, k)
	v := f.Format(f.Value)
	if f.Value == nil || (k != reports.KeyAvailabilityJudged && k != reports.KeyAvailabilityDegraded) {
		return v
	}
	if reports.ShedExcluded(r) {
		v += " of admitted"
	}
	if slo := keyFigure(r, reports.KeyAvailabilityJudgedSLO); k == reports.KeyAvailabilityJudged && slo.Value != nil {
		v += " (SLO " + slo.Format(slo.Value) + ")"
	}
	return v
}

func keyFigure(r *reports.Report, key string) reports.KeyFigure {
	for _, f := range reports.KeyFigures(r) {
		if f.Key == key {
			return f
		}
	}
	return reports.KeyFigure{}
}

func defOf(key string) reports.KeyFigureDef {
	for _, d := range reports.KeyFigureDefs {
		if d.Key == key {
			return d
		}
	}
	return reports.KeyFigureDef{Key: key, Label: key}
}

// indexRow is a run's row in the index, in text.
type indexRow struct {
	Dir, HTML, Markdown string
	Scenario, Started   string
	Status, StatusWord  string
	Verdict, Reason     string
	Values              []string
}

func indexRows(runs []Run) []indexRow {
	rows := make([]indexRow, 0, len(runs))
	for _, e := range runs {
		row := indexRow{Dir: e.Dir, HTML: e.Dir + "/" + reports.HTMLFile, Markdown: e.Dir + "/" + reports.MarkdownFile}
		r := e.Report
		if r == nil {
			row.HTML, row.Markdown = e.Dir+"/", ""
			row.Scenario, row.Started, row.Status, row.StatusWord, row.Verdict = "-", "-", "unreadable", "UNREADABLE", "-"
			row.Reason = e.Err.Error()
			for range indexFigures {
				row.Values = append(row.Values, "-")
			}
			rows = append(rows, row)
			continue
		}
		row.Scenario = reports.Label(r.Run.Scenario)
		row.Started = reports.AbsTime(r.Start)
		row.Status, row.StatusWord = string(r.Status), reports.StatusWord(r.Status)
		row.Verdict = string(r.Verdict)
		row.Reason = r.Reason
		for _, k := range indexFigures {
			row.Values = append(row.Values, indexValue(r, k))
		}
		rows = append(rows, row)
	}
	return rows
}

func indexCounts(runs []Run) string {
	n := map[string]int{}
	for _, e := range runs {
		if e.Report == nil {
			n["unreadable"]++
			continue
		}
		n[string(e.Report.Status)]++
	}
	var parts []string
	for _, s := range []string{string(history.StatusPassed), string(history.StatusFailed), string(history.StatusAborted), string(history.StatusError), "unreadable"} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	if len(parts) == 0 {
		return "no runs"
	}
	return strings.Join(parts, ", ")
}

// EncodeMarkdown renders index.md: the runs of the folder named name,
// newest first.
func EncodeMarkdown(w io.Writer, name string, runs []Run) error {
	var m strings.Builder
	fmt.Fprintf(&m, "# Game-day runs\n\n%s in %s: %s. The charts of the key figures across runs are in [index.html](index.html).\n\n",
		reports.Plural(len(runs), "run"), name, indexCounts(runs))
	head := []string{"Run", "Scenario", "Started", "Status", "Verdict", "Why"}
	for _, k := range indexFigures {
		head = append(head, defOf(k).Label)
	}
	var rows [][]string
	for _, row := range indexRows(runs) {
		link := fmt.Sprintf("[%s](%s)", row.Dir, row.HTML)
		if row.Markdown != "" {
			link += fmt.Sprintf(" ([md](%s))", row.Markdown)
		}
		cells := []string{link, row.Scenario, row.Started,
			row.StatusWord, row.Verdict, row.Reason}
		rows = append(rows, append(cells, row.Values...))
	}
	if len(rows) > 0 {
		m.WriteString(reports.MarkdownTable(head, rows))
	}
	_, err := io.WriteString(w, strings.TrimRight(m.String(), "\n")+"\n")
	return err
}

// EncodeHTML renders index.html: the runs of the folder named name,
// newest first, linked to their reports, and charts of the key figures
// across runs (replication lag p99, availability during the fault,
// convergence time), one series per scenario.
func EncodeHTML(w io.Writer, name string, runs []Run) error {
	charts, err := TrendCharts(runs)
	if err != nil {
		return err
	}
	status := history.StatusPassed
	for _, e := range runs {
		if e.Report == nil || e.Report.Status != history.StatusPassed {
			status = history.StatusFailed
		}
	}
	if len(runs) == 0 {
		status = ""
	}
	v := struct {
		reports.Page
		Name, Count, Counts string
		Status              history.Status
		Heads               []string
		Rows                []indexRow
		Charts              []chart.Chart
	}{Page: reports.NewPage("Game-day runs: " + name), Name: name, Count: reports.Plural(len(runs), "run"), Counts: indexCounts(runs), Status: status,
		Rows: indexRows(runs), Charts: charts}
	for _, k := range indexFigures {
		v.Heads = append(v.Heads, defOf(k).Label)
	}
	return pageTemplate.Execute(w, v)
}

// TrendCharts draws the key figures of the runs over time, one series per
// scenario: replication lag p99, availability during the fault (and its
// worst region), convergence time.
func TrendCharts(runs []Run) ([]chart.Chart, error) {
	// Scenarios in a fixed order, each with its colour in every chart.
	var scenarios []string
	for _, e := range runs {
		if e.Report != nil && !slices.Contains(scenarios, reports.Label(e.Report.Run.Scenario)) {
			scenarios = append(scenarios, reports.Label(e.Report.Run.Scenario))
		}
	}
	slices.Sort(scenarios)
	var out []chart.Chart
	for _, t := range trends {
		c, err := t.draw(runs, scenarios)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// trend is a chart of key figures across runs: each key's value, times
// scale, at each run's start.
type trend struct {
	id, title, caption, yLabel string
	keys                       []string
	scale                      float64
}

var trends = []trend{
	{"trend-replication", "Replication lag p99 across runs", "The p99 replication lag of each run that measured it, by scenario.",
		"replication lag p99 (ms)", []string{reports.KeyReplicationP99}, 1},
	{"trend-availability", "Availability during the fault across runs, all requests (not judged)",
		"Availability of all the requests of each run's inject and observe phases, shed ones counted as failed, all regions (solid) " +
			"and in the worst region (dashed), by scenario: not the figure the availability checker judged (see the table).",
		"% ok while the fault was on", []string{reports.KeyAvailabilityFault, reports.KeyAvailabilityFaultWorst}, 100},
	{"trend-convergence", "Convergence time across runs", "How long after the heal every region agreed, in each run that measured it, by scenario.",
		"convergence (s)", []string{reports.KeyConvergence}, 1},
}

// draw draws a series per scenario and key (the keys after the first are
// the scenario's worst region).
func (t trend) draw(runs []Run, scenarios []string) (chart.Chart, error) {
	c := chart.Chart{ID: t.id, Title: t.title, Caption: t.caption}
	p := chart.New("run started (UTC)", t.yLabel)
	tmin, tmax := math.Inf(1), math.Inf(-1)
	for si, sc := range scenarios {
		for ki, key := range t.keys {
			var xys plotter.XYs
			for _, e := range runs {
				if e.Report == nil || reports.Label(e.Report.Run.Scenario) != sc || e.Report.Start.IsZero() {
					continue
				}
				if f := keyFigure(e.Report, key); f.Value != nil {
					x := float64(e.Report.Start.Unix())
					xys = append(xys, plotter.XY{X: x, Y: *f.Value * t.scale})
					tmin, tmax = min(tmin, x), max(tmax, x)
				}
			}
			if len(xys) == 0 {
				continue
			}
			slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
			name := sc
			if ki > 0 {
				name = sc + " (worst region)"
			}
			if err := chart.Points(p, name, xys, chart.Color(si), ki > 0); err != nil {
				return c, fmt.Errorf("chart %s: %w", t.id, err)
			}
		}
	}
	if math.IsInf(tmin, 1) {
		c.Empty = "No run in this folder measured it."
		return c, nil
	}
	chart.TimeAxis(p, tmin, tmax)
	if t.scale == 100 {
		p.Y.Max = 100
	} else {
		p.Y.Min = 0
		p.Y.Max *= 1.1
	}
	return c, c.Draw(p)
}

// RunFolders names the runs' folders directly inside dir: real folders
// (ReadDir follows no link, so a link to a folder is no folder), not
// hidden, holding a run's files (IsRun). They are what the index lists and
// what prune.Folder may remove.
func RunFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && IsRun(filepath.Join(dir, e.Name())) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// IsRun says whether dir holds a run's own files (as regular files, not
// links).
func IsRun(dir string) bool {
	for _, n := range []string{reports.JSONFile, history.RunInfoFile, history.HistoryFile} {
		if fi, err := os.Lstat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// Exists says whether dir holds an index kong wrote.
func Exists(dir string) bool {
	for n, mark := range map[string]string{MarkdownFile: "# Game-day runs", HTMLFile: "<title>Game-day runs"} {
		fi, err := os.Lstat(filepath.Join(dir, n))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil && strings.Contains(string(b), mark) {
			return true
		}
	}
	return false
}
