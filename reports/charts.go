package reports

import (
	"fmt"
	"image/color"
	"math"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/chart"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// This file says what each chart of a run's report shows; package chart
// draws them.

// ReportCharts draws the charts of a run's report, in page order. A chart
// with nothing to draw says why instead.
func ReportCharts(r *Report) ([]chart.Chart, error) {
	var out []chart.Chart
	for _, f := range []func(*Report) (chart.Chart, error){
		chartRequests, chartRates, chartLatency, chartReplicationHistogram, chartReplicationCDF, chartReplicationEvidence, chartCacheHits, chartFaults,
	} {
		c, err := f(r)
		if err != nil {
			return nil, err
		}
		if c.ID != "" {
			out = append(out, c)
		}
	}
	return out, nil
}

const xSeconds = "seconds since the start of the run"

// timeChart starts a chart of the run's per-second series: the x axis spans
// the run, the fault windows are shaded and, when traffic is set, the
// traffic changes marked; w groups the seconds into windows. It returns a
// nil plot, with c.Empty saying why, when the run recorded no series.
func timeChart(r *Report, c *chart.Chart, yLabel string, traffic bool) (p *plot.Plot, w chart.Windows) {
	if r.Series.Seconds == 0 || len(r.Series.Regions) == 0 {
		c.Empty = "No completed user operations were recorded."
		return nil, w
	}
	w = chart.NewWindows(r.Series.Seconds)
	p = chart.New(xSeconds, yLabel)
	chart.Shade(p, faultWindows(r), "fault on")
	if traffic {
		var xs []float64
		for _, e := range r.Traffic {
			xs = append(xs, r.Rel(e.Time))
		}
		chart.Mark(p, xs, "traffic change")
	}
	p.X.Min = 0
	if r.DurationS > 0 {
		p.X.Max = r.DurationS
	}
	return p, w
}

// faultWindows are the windows during which each fault was on, in seconds
// since the start: from its injection to its healing (else its recovery,
// else the end of the run).
func faultWindows(r *Report) [][2]float64 {
	var out [][2]float64
	for _, f := range r.Faults {
		if f.Inject == nil {
			continue
		}
		end := r.End
		switch {
		case f.Recovered != nil:
			end = *f.Recovered
		case f.Recover != nil:
			end = *f.Recover
		}
		out = append(out, [2]float64{r.Rel(*f.Inject), r.Rel(end)})
	}
	return out
}

// windowCounts sums the counts of a region's points over window i, with the
// mean p50 and the highest p99 of its seconds (NaN without latencies).
func windowCounts(pts []Point, w chart.Windows, i int) (c Counts, p50, p99 float64) {
	var n float64
	p50, p99 = math.NaN(), math.NaN()
	lo, hi := w.Span(i)
	for _, pt := range pts[lo:hi] {
		c.add(pt.Counts)
		if pt.P99Ms > 0 || pt.P50Ms > 0 {
			weight := float64(max(pt.OK-pt.Shed, 1))
			if math.IsNaN(p50) {
				p50, p99 = 0, 0
			}
			p50 += pt.P50Ms * weight
			n += weight
			p99 = max(p99, pt.P99Ms)
		}
	}
	if n > 0 {
		p50 /= n
	}
	return c, p50, p99
}

// regionLine is a line drawn for each region: its name after the region's,
// its style, and its value in a window (NaN: no point there).
type regionLine struct {
	suffix string
	style  func(color.Color) draw.LineStyle
	value  func(c Counts, p50, p99 float64) float64
}

// regionLines adds the lines of each region that has a point on the first
// of them, in the region's colour; it reports whether any region had one.
func regionLines(p *plot.Plot, r *Report, w chart.Windows, lines ...regionLine) bool {
	drawn := false
	for ri, rs := range r.Series.Regions {
		ys, any := make([][]float64, len(lines)), false
		for l := range lines {
			ys[l] = make([]float64, w.N)
		}
		for i := range w.N {
			c, p50, p99 := windowCounts(rs.Points, w, i)
			for l, line := range lines {
				ys[l][i] = line.value(c, p50, p99)
			}
			any = any || !math.IsNaN(ys[0][i])
		}
		if !any {
			continue
		}
		for l, line := range lines {
			chart.Line(p, regionName(rs.Region)+line.suffix, w.X(), ys[l], line.style(chart.Color(ri)))
		}
		drawn = true
	}
	return drawn
}

// regionName is a region's name in a legend.
func regionName(s string) string {
	if s == "-" {
		return "no region"
	}
	return s
}

func windowNote(w chart.Windows) string {
	if w.K == 1 {
		return ""
	}
	return fmt.Sprintf(" Each point covers %d seconds.", w.K)
}

func chartRequests(r *Report) (chart.Chart, error) {
	c := chart.Chart{ID: "chart-requests", Title: "Requests per second, by region",
		Caption: "Completed user requests per second in each region (the region the director sent them to), with the fault windows shaded and traffic changes marked."}
	p, w := timeChart(r, &c, "requests per second", true)
	if p == nil {
		return c, nil
	}
	c.Caption += windowNote(w)
	xs, total := w.X(), make([]float64, w.N)
	for ri, rs := range r.Series.Regions {
		ys := make([]float64, w.N)
		for i := range ys {
			cnt, _, _ := windowCounts(rs.Points, w, i)
			// The last window may end with the run, part of a second in.
			lo, _ := w.Span(i)
			width := min(float64(lo+w.K), max(r.DurationS, float64(r.Series.Seconds-1))) - float64(lo)
			if width < 0.5 {
				ys[i], total[i] = math.NaN(), math.NaN()
				continue
			}
			ys[i] = float64(cnt.Requests) / width
			total[i] += ys[i]
		}
		chart.Line(p, regionName(rs.Region), xs, ys, chart.Solid(chart.Color(ri)))
	}
	if len(r.Series.Regions) > 1 {
		chart.Line(p, "all regions", xs, total, chart.Dashed(color.Gray{Y: 0x70}))
	}
	p.Y.Min = 0
	return c, c.Draw(p)
}

func chartRates(r *Report) (chart.Chart, error) {
	c := chart.Chart{ID: "chart-rates", Title: "Success, shed and error rates",
		Caption: "Share of the completed user requests, all regions, that succeeded, were shed, or failed otherwise (errors and unknown outcomes), with the fault windows shaded."}
	p, w := timeChart(r, &c, "% of requests", false)
	if p == nil {
		return c, nil
	}
	c.Caption += windowNote(w)
	succ, shed, errs := make([]float64, w.N), make([]float64, w.N), make([]float64, w.N)
	for i := range succ {
		var all Counts
		for _, rs := range r.Series.Regions {
			cnt, _, _ := windowCounts(rs.Points, w, i)
			all.add(cnt)
		}
		if all.Requests == 0 {
			succ[i], shed[i], errs[i] = math.NaN(), math.NaN(), math.NaN()
			continue
		}
		req := float64(all.Requests)
		succ[i] = 100 * float64(all.OK) / req
		shed[i] = 100 * float64(all.Shed) / req
		errs[i] = 100 * float64(all.Fail+all.Info-all.Shed) / req
	}
	chart.Line(p, "success", w.X(), succ, chart.Solid(chart.Palette[2]))
	chart.Line(p, "shed", w.X(), shed, chart.Solid(chart.Palette[3]))
	chart.Line(p, "error", w.X(), errs, chart.Solid(chart.Palette[1]))
	p.Y.Min, p.Y.Max = 0, 100
	return c, c.Draw(p)
}

func chartLatency(r *Report) (chart.Chart, error) {
	c := chart.Chart{ID: "chart-latency", Title: "Latency percentiles, by region",
		Caption: "p50 (dashed) and p99 (solid) latency of the requests that completed ok and were not shed, per second and region, measured from their intended start; gaps are seconds without such requests."}
	p, w := timeChart(r, &c, "latency (ms)", false)
	if p == nil {
		return c, nil
	}
	if w.K > 1 {
		c.Caption += fmt.Sprintf(" Each point covers %d seconds: the highest p99 and the mean p50 of its seconds.", w.K)
	}
	drawn := regionLines(p, r, w,
		regionLine{" p99", chart.Solid, func(_ Counts, _, p99 float64) float64 { return p99 }},
		regionLine{" p50", chart.Dashed, func(_ Counts, p50, _ float64) float64 { return p50 }})
	if !drawn {
		c.Empty = "No request completed ok: there is no latency to show."
		return c, nil
	}
	p.Y.Min = 0
	return c, c.Draw(p)
}

func chartCacheHits(r *Report) (chart.Chart, error) {
	c := chart.Chart{ID: "chart-cache", Title: "Cache hit rate, by region",
		Caption: "Share of the completed user reads served from the region's cache, per second and region, with the fault windows shaded; gaps are seconds without reads."}
	p, w := timeChart(r, &c, "% of reads from the cache", false)
	if p == nil {
		return c, nil
	}
	c.Caption += windowNote(w)
	drawn := regionLines(p, r, w, regionLine{"", chart.Solid, func(cnt Counts, _, _ float64) float64 {
		if cnt.Reads == 0 {
			return math.NaN()
		}
		return 100 * min(1, float64(cnt.CacheHits)/float64(cnt.Reads))
	}})
	if !drawn {
		c.Empty = "No user reads were recorded (a report written before reads were counted has none)."
		return c, nil
	}
	p.Y.Min, p.Y.Max = 0, 100
	return c, c.Draw(p)
}

// replicationTarget is the lag a replicated write should stay under.
const replicationTarget = 500.0

func chartReplicationHistogram(r *Report) (chart.Chart, error) {
	rl := r.Replication
	if rl == nil {
		return chart.Chart{}, nil
	}
	c := chart.Chart{ID: "chart-replication-histogram", Title: "Replication lag: histogram",
		Caption: fmt.Sprintf("How long after its acknowledgement a write became readable in another region: %d samples, %s missing; the dashed line marks 500 ms.",
			rl.Samples, fmt.Sprint(rl.Missing))}
	if len(rl.Histogram) == 0 {
		c.Empty = "The run recorded replication-lag percentiles but no histogram."
		return c, nil
	}
	p := chart.New("replication lag (ms)", "samples")
	h := &chart.Boxes{Line: draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}}
	lo := lagAxis(p, rl)
	if lo > 0 {
		c.Caption += " The lag axis is logarithmic."
	}
	for _, b := range rl.Histogram {
		h.Boxes = append(h.Boxes, chart.Box{X0: lo, X1: b.UpperMs, Y0: 0, Y1: float64(b.Count), Color: chart.Palette[0]})
		lo = b.UpperMs
	}
	p.Add(h)
	p.Legend.Add("samples per bucket", chart.Swatch{Color: chart.Palette[0]})
	chart.Target(p, replicationTarget, "500 ms")
	p.Y.Min = 0
	return c, c.Draw(p)
}

func chartReplicationCDF(r *Report) (chart.Chart, error) {
	rl := r.Replication
	if rl == nil {
		return chart.Chart{}, nil
	}
	c := chart.Chart{ID: "chart-replication-cdf", Title: "Replication lag: cumulative distribution",
		Caption: fmt.Sprintf("Share of the writes readable in another region within a given lag (the steps from the histogram, the dots at the recorded percentiles); %s, and the dashed line marks 500 ms.",
			visibleAtReadWords(rl))}
	p := chart.New("replication lag (ms)", "% of writes visible")
	entries := 0
	if len(rl.Histogram) > 0 {
		total := 0
		for _, b := range rl.Histogram {
			total += b.Count
		}
		den := float64(max(total, rl.Samples))
		lo := lagAxis(p, rl)
		if lo > 0 {
			c.Caption += " The lag axis is logarithmic."
		}
		xs, ys := []float64{lo}, []float64{0}
		cum := 0
		for _, b := range rl.Histogram {
			cum += b.Count
			xs = append(xs, b.UpperMs)
			ys = append(ys, 100*float64(cum)/den)
		}
		l, err := plotter.NewLine(chart.XYs(xs, ys))
		if err != nil {
			return c, fmt.Errorf("chart %s: %w", c.ID, err)
		}
		l.LineStyle = chart.Solid(chart.Palette[0])
		l.StepStyle = plotter.PostStep
		p.Add(l)
		p.Legend.Add("from the histogram", l)
		entries++
	}
	var qx, qy []float64
	for _, q := range []struct{ ms, share float64 }{{rl.P50, 50}, {rl.P90, 90}, {rl.P99, 99}, {rl.P999, 99.9}, {rl.Max, 100}} {
		if q.ms > 0 {
			qx, qy = append(qx, q.ms), append(qy, q.share)
		}
	}
	if len(qx) > 0 {
		if err := chart.Dots(p, "p50, p90, p99, p99.9, max", qx, qy, chart.Palette[1], 3); err != nil {
			return c, fmt.Errorf("chart %s: %w", c.ID, err)
		}
		entries++
	}
	if entries == 0 {
		c.Empty = "The replication check recorded no lag."
		return c, nil
	}
	chart.Target(p, replicationTarget, "500 ms")
	p.Y.Min, p.Y.Max = 0, 100
	if _, log := p.X.Scale.(plot.LogScale); !log {
		p.X.Min = 0
	}
	return c, c.Draw(p)
}

// lagAxis makes the lag axis logarithmic when the histogram spans two
// decades or more (the replication check's buckets run from 1 ms to hours),
// and returns the lower bound of the first bucket: 0 on a linear axis; on a
// log axis the bound below it, taken in the ratio of the next bucket.
func lagAxis(p *plot.Plot, rl *history.Replication) float64 {
	hs := rl.Histogram
	if len(hs) == 0 || hs[0].UpperMs <= 0 || hs[len(hs)-1].UpperMs/hs[0].UpperMs < 100 {
		return 0
	}
	lo := hs[0].UpperMs / 2
	if len(hs) > 1 && hs[1].UpperMs > hs[0].UpperMs {
		lo = hs[0].UpperMs * hs[0].UpperMs / hs[1].UpperMs
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Min = min(lo, replicationTarget)
	return lo
}

// Colours of the fault timeline's stages.
var (
	stageEffect  = chart.RGB(0xE69F00) // injected, effect not seen yet
	stageOn      = chart.RGB(0xD55E00) // in effect
	stageHealing = chart.RGB(0x009E73) // recovered, healing not seen yet
	stageUnseen  = color.NRGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0x55}
	phaseColors  = []color.Color{color.Gray{Y: 0xC8}, color.Gray{Y: 0xE4}}
)

func chartFaults(r *Report) (chart.Chart, error) {
	c := chart.Chart{ID: "chart-faults", Title: "Timeline of faults and phases",
		Caption: "Each fault from its injection: orange until its effect was measured, red while in effect, green from its recovery until it was seen healed (pale when never seen healed); the labels give the measured times to effect and to heal. The top row shows the phases."}
	if len(r.Faults) == 0 && len(r.Phases) == 0 {
		c.Empty = "No phases or faults were recorded."
		return c, nil
	}
	p := chart.New(xSeconds, "")
	rows := len(r.Faults) + 1
	// Rows bottom-up: the last fault at 0, the phases at the top.
	names := make([]string, rows)
	names[rows-1] = "phases"
	h := &chart.Boxes{}
	phases := &chart.Boxes{Line: draw.LineStyle{Color: color.White, Width: vg.Points(1)}}
	var labels []chart.Label
	end := r.DurationS
	const half = 0.26
	bar := func(b *chart.Boxes, x0, x1, y float64, col color.Color) {
		b.Boxes = append(b.Boxes, chart.Box{X0: x0, X1: x1, Y0: y - half, Y1: y + half, Color: col})
	}
	for i, ph := range r.Phases {
		x0, x1 := r.Rel(ph.Start), r.Rel(ph.End)
		y := float64(rows - 1)
		bar(phases, x0, x1, y, phaseColors[i%2])
		if end > 0 && (x1-x0)/end > 0.08 {
			labels = append(labels, chart.Label{X: x0 + end*0.005, Y: y - 0.1, Text: ph.Name})
		}
	}
	for i, f := range r.Faults {
		y := float64(rows - 2 - i)
		names[rows-2-i] = faultRowName(f)
		if f.Inject == nil {
			continue
		}
		t0 := r.Rel(*f.Inject)
		on := t0
		if f.Injected != nil {
			on = r.Rel(*f.Injected)
			bar(h, t0, on, y, stageEffect)
		}
		off, last := end, end
		if f.Recover != nil {
			off = r.Rel(*f.Recover)
		}
		bar(h, on, off, y, stageOn)
		text := fmt.Sprintf("inject +%.3fs: ", t0)
		if f.TimeToEffectS != nil {
			text += fmt.Sprintf("effect after %.3fs", *f.TimeToEffectS)
		} else {
			text += "effect not seen"
		}
		if f.Recover != nil {
			if f.Recovered != nil {
				last = r.Rel(*f.Recovered)
				bar(h, off, last, y, stageHealing)
			} else {
				bar(h, off, end, y, stageUnseen)
			}
			text += fmt.Sprintf("; recover +%.3fs: ", off)
			if f.TimeToHealS != nil {
				text += fmt.Sprintf("healed after %.3fs", *f.TimeToHealS)
			} else {
				text += "not seen healed"
			}
		} else {
			text += "; not recovered"
		}
		// The label sits above its bar, from the injection, or ending at
		// the bar's end when the injection is late in the run.
		l := chart.Label{X: t0, Y: y + half + 0.06, Text: text}
		if end > 0 && t0/end > 0.45 {
			l.X, l.Right = last, true
		}
		labels = append(labels, l)
	}
	p.Add(phases, h)
	if len(labels) > 0 {
		if err := chart.Labels(p, labels); err != nil {
			return c, fmt.Errorf("chart %s: %w", c.ID, err)
		}
	}
	if len(r.Faults) > 0 {
		p.Legend.Add("taking effect", chart.Swatch{Color: stageEffect})
		p.Legend.Add("in effect", chart.Swatch{Color: stageOn})
		p.Legend.Add("healing", chart.Swatch{Color: stageHealing})
		p.Legend.Add("not seen healed", chart.Swatch{Color: stageUnseen})
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
	p.X.Min = 0
	if end > 0 {
		p.X.Max = end
	}
	height := chart.Height
	if rows > 4 {
		height = vg.Length(float64(chart.Height) * float64(rows) / 4)
	}
	return c, c.DrawSize(p, chart.Width, height)
}

func faultRowName(f Fault) string {
	if f.Target == "" {
		return Label(f.Name)
	}
	t := f.Target
	if len(t) > 28 {
		t = t[:27] + "…"
	}
	return Label(f.Name) + " " + t
}

// visibleAtReadWords says what share was visible at the first read, with
// the bounds a replication check measured.
func visibleAtReadWords(rl *history.Replication) string {
	if rl.ReadAfterMs == 0 {
		return percent(&rl.VisibleAtRead) + " were visible at the first read"
	}
	return fmt.Sprintf("at %s ms at least %s were visible (95 %% lower bound; %s found by reads on time, %s found at all)",
		num(rl.ReadAfterMs), percent(&rl.VisibleAtReadLow), percent(&rl.VisibleAtReadMin), percent(&rl.VisibleAtRead))
}

// evidencePanel is the height of one panel of the evidence chart.
const evidencePanel = 1.5 * vg.Inch

// chartReplicationEvidence draws the lag of a replication check second by
// second above what the nodes said over the same seconds, so that a tail
// can be matched to its cause.
func chartReplicationEvidence(r *Report) (chart.Chart, error) {
	rl := r.Replication
	if rl == nil || len(rl.Timeline) == 0 {
		return chart.Chart{}, nil
	}
	c := chart.Chart{ID: "chart-replication-evidence", Title: "Replication lag and the nodes' evidence over time",
		Caption: "From the top, by the second of the writes: the longest lag measured among the records written in it, and how many of them were not visible at the read; " +
			"then what the Cassandra nodes said of themselves over the same seconds: the longest MutationStage queue, hint files and compactions of any node, " +
			"the internode messages all nodes dropped, and each GC pause a node logged."}
	const x = "seconds since the first write"
	secs, lag, late := make([]float64, len(rl.Timeline)), make([]float64, len(rl.Timeline)), make([]float64, len(rl.Timeline))
	for i, s := range rl.Timeline {
		secs[i], late[i], lag[i] = float64(s.Second), float64(s.Late), math.NaN()
		if s.MaxLagMs > 0 {
			lag[i] = s.MaxLagMs
		}
	}
	pLag := chart.New("", "longest lag (ms)")
	chart.Line(pLag, "longest lag measured", secs, lag, chart.Solid(chart.Palette[0]))
	pLate := chart.New("", "records")
	chart.Line(pLate, "late at the read", secs, late, chart.Solid(chart.Palette[1]))
	panels := []*plot.Plot{pLag, pLate}
	if ev := rl.Evidence; ev != nil && len(ev.Samples) > 0 {
		at, pending, hints, compactions, dropped := evidenceTicks(ev)
		pTasks := chart.New("", "tasks, files")
		chart.Line(pTasks, "MutationStage pending", at, pending, chart.Solid(chart.Palette[2]))
		chart.Line(pTasks, "hint files", at, hints, chart.Dashed(chart.Palette[3]))
		chart.Line(pTasks, "compactions", at, compactions, chart.Dashed(chart.Palette[4]))
		pDropped := chart.New("", "messages")
		chart.Line(pDropped, "dropped (all nodes)", at, dropped, chart.Solid(chart.Palette[5]))
		pGC := chart.New(x, "GC pause (ms)")
		var gx, gy []float64
		for _, g := range ev.GC {
			gx, gy = append(gx, g.At), append(gy, g.Ms)
		}
		if len(gx) > 0 {
			if err := chart.Dots(pGC, "GC pause logged", gx, gy, chart.Palette[6], 2.5); err != nil {
				return c, fmt.Errorf("chart %s: %w", c.ID, err)
			}
		}
		nodes := map[string]bool{}
		for _, s := range ev.Samples {
			nodes[s.Node] = true
		}
		switch {
		case ev.LogsRead < len(nodes):
			c.Caption += fmt.Sprintf(" The logs of %d of the %d nodes could not be read: their GC pauses are unknown.", len(nodes)-ev.LogsRead, len(nodes))
		case len(gx) == 0:
			c.Caption += " No node logged a GC pause."
		}
		pGC.X.Min, pGC.X.Max = 0, secs[len(secs)-1]
		panels = append(panels, pTasks, pDropped, pGC)
	} else {
		pLate.X.Label.Text = x
		c.Caption += " The nodes' evidence was not sampled in this run."
	}
	for _, p := range panels {
		p.Y.Min = 0
	}
	return c, c.DrawStack(panels, chart.Width, evidencePanel)
}
