package bench

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/chart"
)

// What kong bench replication --sweep leaves in its folder beside the
// steps' run folders.
const (
	SweepMarkdown = "sweep.md"
	SweepPage     = "sweep.html"
)

// ReportSweep prints the sweep's table and knee on w (see WriteSweep) and
// leaves them in dir: sweep.md, and sweep.html with the curve no anchor
// publishes, the share visible at the read and the lag p99 against the
// rate kept, a line per batch size.
func ReportSweep(w io.Writer, dir string, results []SweepResult, minShare float64) error {
	var table bytes.Buffer
	WriteSweep(&table, results, minShare)
	if _, err := w.Write(table.Bytes()); err != nil {
		return err
	}
	if len(results) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	md := "# Replication sweep\n\n" + table.String()
	if err := history.WriteFileAtomic(filepath.Join(dir, SweepMarkdown), []byte(md)); err != nil {
		return err
	}
	c, err := sweepChart(results, minShare)
	if err != nil {
		return err
	}
	var page bytes.Buffer
	if err := sweepTemplate.Execute(&page, struct {
		Chart chart.Chart
		Table string
	}{c, table.String()}); err != nil {
		return err
	}
	if err := history.WriteFileAtomic(filepath.Join(dir, SweepPage), page.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(w, "sweep: %s, %s\n", filepath.Join(dir, SweepMarkdown), filepath.Join(dir, SweepPage))
	return nil
}

// sweepChart draws the share visible at the read (its 95 % lower bound)
// and the lag p99 against the rate kept, a line per batch size, with the
// share required marked.
func sweepChart(results []SweepResult, minShare float64) (chart.Chart, error) {
	c := chart.Chart{ID: "chart-sweep", Title: "Share visible at the read and lag p99 against the write rate",
		Caption: fmt.Sprintf("Each dot is a step of the sweep at the rate it kept: above, the share of its records visible at the read (95 %% lower bound) with the %.1f %% required; below, the lag p99. A line per batch size.", 100*minShare)}
	byBatch := map[int][]SweepResult{}
	for _, r := range results {
		if r.Err == nil && r.Sum.Samples > 0 {
			byBatch[r.Step.Batch] = append(byBatch[r.Step.Batch], r)
		}
	}
	if len(byBatch) == 0 {
		c.Empty = "No step of the sweep wrote a record."
		return c, nil
	}
	batches := make([]int, 0, len(byBatch))
	for b := range byBatch {
		batches = append(batches, b)
	}
	sort.Ints(batches)
	share := chart.New("", "visible at the read (%)")
	lag := chart.New("records written per second (kept)", "lag p99 (ms)")
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for i, b := range batches {
		rs := byBatch[b]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Sum.WriteRate < rs[j].Sum.WriteRate })
		var xs, ys, ps []float64
		for _, r := range rs {
			xs, ys, ps = append(xs, r.Sum.WriteRate), append(ys, 100*r.Sum.VisibleAtReadLow), append(ps, r.Sum.P99)
			xmin, xmax = min(xmin, r.Sum.WriteRate), max(xmax, r.Sum.WriteRate)
		}
		name := fmt.Sprintf("%d to a write", b)
		chart.Line(share, name, xs, ys, chart.Solid(chart.Color(i)))
		if err := chart.Dots(share, "", xs, ys, chart.Color(i), 2.5); err != nil {
			return c, err
		}
		chart.Line(lag, name, xs, ps, chart.Solid(chart.Color(i)))
	}
	chart.Line(share, fmt.Sprintf("%.1f %% required", 100*minShare), []float64{xmin, xmax}, []float64{100 * minShare, 100 * minShare}, chart.Dashed(chart.TargetColor))
	lag.Y.Min = 0
	return c, c.DrawStack([]*plot.Plot{share, lag}, chart.Width, chart.Height)
}

var sweepTemplate = template.Must(template.New("sweep").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Replication sweep</title>
<style>body { font: 15px/1.45 "Liberation Sans", Arimo, Arial, sans-serif; margin: 24px 32px; max-width: 1100px; }
figure { margin: 18px 0; } svg.chart { width: 100%; height: auto; } figcaption, .empty { color: #5f6368; font-size: 13px; }
pre { background: #f1f3f4; padding: 10px; overflow-x: auto; font-size: 12px; }</style>
</head>
<body>
<h1>Replication sweep</h1>
<figure id="{{.Chart.ID}}">
<h3>{{.Chart.Title}}</h3>
{{- if .Chart.SVG}}
{{.Chart.SVG}}
{{- else}}
<p class="empty">{{.Chart.Empty}}</p>
{{- end}}
<figcaption>{{.Chart.Caption}}</figcaption>
</figure>
<h2>Steps</h2>
<pre>{{.Table}}</pre>
</body>
</html>
`))
