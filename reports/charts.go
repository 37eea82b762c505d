package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/kongchaos/kong/harness/history"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are drawn with gonum.org/v1/plot into SVG, which the HTML pages
// inline: the pages need no script and fetch nothing.

func init() {
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotter.DefaultFont = plot.DefaultFont
}

// Chart is one chart of a page: ID is its element id, SVG the drawing (empty
// when there was nothing to draw, and then Empty says why).
type Chart struct {
	ID      string
	Title   string
	Caption string
	SVG     template.HTML
	Empty   string
}

// Chart size in points; the page scales it to its width.
const (
	chartW = 9 * vg.Inch
	chartH = 3.4 * vg.Inch
)

// maxChartPoints bounds the points of a series over time: longer runs are
// drawn in windows of several seconds.
const maxChartPoints = 600

// palette is Okabe and Ito's, readable by colour-blind readers.
var palette = []color.Color{
	rgb(0x0072B2), rgb(0xD55E00), rgb(0x009E73), rgb(0xE69F00),
	rgb(0xCC79A7), rgb(0x56B4E9), rgb(0x000000), rgb(0xF0E442),
}

var (
	faultShade  = color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0x2E}
	gridColor   = color.Gray{Y: 0xE0}
	markColor   = color.Gray{Y: 0x60}
	targetColor = rgb(0xC00000)
)

func rgb(v uint32) color.Color {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}
}

func regionColor(i int) color.Color { return palette[i%len(palette)] }

// regionName is a region's name in a legend.
func regionName(s string) string {
	if s == "-" {
		return "no region"
	}
	return s
}

// newPlot returns a plot with the house style: a light grid; the legend
// is drawn to the right of the plot (see renderSVG).
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.Padding = vg.Points(2)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridColor, gridColor
	p.Add(g)
	return p
}

var (
	svgProlog = regexp.MustCompile(`(?s)^.*?<svg `)
	svgSize   = regexp.MustCompile(`^width="[^"]*" height="[^"]*"`)
	svgFont   = regexp.MustCompile(`font-family:Liberation (Sans|Serif|Mono)`)
)

// renderSVG draws p and returns an SVG element to inline in a page: no XML
// prolog, scaled to the page's width, and fonts that fall back to the
// reader's sans-serif when Liberation is not installed.
func renderSVG(p *plot.Plot, id, title string) (template.HTML, error) {
	return renderSVGSize(p, id, title, chartW, chartH)
}

func renderSVGSize(p *plot.Plot, id, title string, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	// The legend gets a column of its own on the right, so that it never
	// hides data.
	leg := p.Legend
	p.Legend = plot.NewLegend()
	if lw := leg.Rectangle(dc).Size().X; lw > 0 {
		const gap = 12
		p.Draw(draw.Crop(dc, 0, -(lw + vg.Points(2*gap)), 0, 0))
		leg.Draw(draw.Crop(dc, w-lw-vg.Points(gap), 0, 0, -vg.Points(gap)))
	} else {
		p.Draw(dc)
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("chart %s: %w", id, err)
	}
	s := svgProlog.ReplaceAllString(buf.String(), "<svg ")
	s = "<svg " + svgSize.ReplaceAllString(strings.TrimPrefix(s, "<svg "),
		fmt.Sprintf(`id="%s-svg" class="chart" role="img" aria-label="%s" width="100%%"`, id, template.HTMLEscapeString(title)))
	s = svgFont.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.HasSuffix(m, "Mono"):
			return "font-family:'Liberation Mono',monospace"
		case strings.HasSuffix(m, "Serif"):
			return "font-family:'Liberation Serif',serif"
		}
		return "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif"
	})
	return template.HTML(strings.TrimSpace(s)), nil
}

// band shades x windows over the full height of the plot area, with a
// legend entry.
type band struct {
	spans [][2]float64
	color color.Color
}

func (b *band) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, s := range b.spans {
		x0, x1 := max(trX(s[0]), c.Min.X), min(trX(s[1]), c.Max.X)
		if x1 <= x0 {
			x1 = min(x0+vg.Points(1), c.Max.X)
		}
		c.FillPolygon(b.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

func (b *band) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// marks draws vertical lines at xs over the full height, each with an
// optional label at its top.
type marks struct {
	xs     []float64
	labels []string
	style  draw.LineStyle
}

func (m *marks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := draw.TextStyle{Color: m.style.Color, Font: font.From(plot.DefaultFont, 9), XAlign: draw.XLeft, YAlign: draw.YTop,
		Handler: p.TextHandler}
	for i, x := range m.xs {
		vx := trX(x)
		if vx < c.Min.X || vx > c.Max.X {
			continue
		}
		c.StrokeLine2(m.style, vx, c.Min.Y, vx, c.Max.Y)
		if i < len(m.labels) && m.labels[i] != "" {
			c.FillText(sty, vg.Point{X: vx + vg.Points(3), Y: c.Max.Y - vg.Points(3)}, m.labels[i])
		}
	}
}

func (m *marks) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = slices.Min(m.xs), slices.Max(m.xs)
	return xmin, xmax, math.Inf(1), math.Inf(-1)
}

func (m *marks) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(m.style, c.Min.X, y, c.Max.X, y)
}

// rect is a filled box in data coordinates.
type rect struct {
	x0, x1, y0, y1 float64
	color          color.Color
}

// rects draws filled boxes (the bars of the fault timeline).
type rects struct {
	boxes []rect
	line  draw.LineStyle
}

func (r *rects) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, b := range r.boxes {
		x0, x1 := trX(b.x0), trX(b.x1)
		if x1-x0 < vg.Points(1.5) {
			x1 = x0 + vg.Points(1.5) // a short stage stays visible
		}
		pts := []vg.Point{{X: x0, Y: trY(b.y0)}, {X: x1, Y: trY(b.y0)}, {X: x1, Y: trY(b.y1)}, {X: x0, Y: trY(b.y1)}}
		c.FillPolygon(b.color, c.ClipPolygonXY(pts))
		if r.line.Width > 0 {
			c.StrokeLines(r.line, c.ClipLinesXY(append(pts, pts[0]))...)
		}
	}
}

func (r *rects) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, b := range r.boxes {
		xmin, xmax = min(xmin, b.x0), max(xmax, b.x1)
		ymin, ymax = min(ymin, b.y0), max(ymax, b.y1)
	}
	return
}

// looseLabels are labels that do not narrow the plot area to fit: they may
// run past the data (the fault timeline's labels are long).
type looseLabels struct{ l *plotter.Labels }

func (l looseLabels) Plot(c draw.Canvas, p *plot.Plot) { l.l.Plot(c, p) }

func (l looseLabels) DataRange() (xmin, xmax, ymin, ymax float64) { return l.l.DataRange() }

// swatch is a legend entry of one colour.
type swatch struct{ color color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// addSeries adds a series with gaps (NaN values) as lines between the
// defined points, an isolated point as a dot, and one legend entry.
func addSeries(p *plot.Plot, name string, xs, ys []float64, sty draw.LineStyle) {
	var segs []plotter.XYs
	var cur plotter.XYs
	for i := range xs {
		if math.IsNaN(ys[i]) {
			if len(cur) > 0 {
				segs = append(segs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: xs[i], Y: ys[i]})
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	var thumb plot.Thumbnailer
	for _, s := range segs {
		if len(s) == 1 {
			sc, _ := plotter.NewScatter(s)
			sc.GlyphStyle = draw.GlyphStyle{Color: sty.Color, Radius: vg.Points(1.8), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			continue
		}
		l, _ := plotter.NewLine(s)
		l.LineStyle = sty
		p.Add(l)
		thumb = l
	}
	if thumb == nil {
		l := &plotter.Line{LineStyle: sty}
		thumb = l
	}
	if name != "" {
		p.Legend.Add(name, thumb)
	}
}

// timeWindows groups the per-second series into windows of k seconds so
// that a long run keeps at most maxChartPoints points.
func timeWindows(seconds int) (k, n int) {
	k = 1
	if seconds > maxChartPoints {
		k = (seconds + maxChartPoints - 1) / maxChartPoints
	}
	return k, (seconds + k - 1) / k
}

// windowX is the middle of window i, in seconds since the start.
func windowX(i, k, seconds int) float64 {
	lo := i * k
	hi := min(lo+k, seconds)
	return float64(lo+hi) / 2
}

// windowCounts sums the counts of a region's points over window i.
func windowCounts(pts []Point, i, k int) (c Counts, p50, p99 float64) {
	var w float64
	p50 = math.NaN()
	p99 = math.NaN()
	for _, pt := range pts[i*k : min(i*k+k, len(pts))] {
		c.add(pt.Counts)
		if pt.P99Ms > 0 || pt.P50Ms > 0 {
			n := float64(max(pt.OK-pt.Shed, 1))
			if math.IsNaN(p50) {
				p50, p99 = 0, 0
			}
			p50 += pt.P50Ms * n
			w += n
			p99 = max(p99, pt.P99Ms)
		}
	}
	if w > 0 {
		p50 /= w
	}
	return c, p50, p99
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

// timeAxis spans the x axis over the whole run.
func timeAxis(p *plot.Plot, r *Report) {
	p.X.Min = 0
	if r.DurationS > 0 {
		p.X.Max = r.DurationS
	}
}

// addFaultShading shades the fault windows and marks the traffic changes.
func addFaultShading(p *plot.Plot, r *Report, traffic bool) {
	if w := faultWindows(r); len(w) > 0 {
		b := &band{spans: w, color: faultShade}
		p.Add(b)
		p.Legend.Add("fault on", b)
	}
	if traffic && len(r.Traffic) > 0 {
		m := &marks{style: draw.LineStyle{Color: markColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}}
		for _, e := range r.Traffic {
			m.xs = append(m.xs, r.Rel(e.Time))
			m.labels = append(m.labels, "")
		}
		p.Add(m)
		p.Legend.Add("traffic change", m)
	}
}

func solid(c color.Color) draw.LineStyle { return draw.LineStyle{Color: c, Width: vg.Points(1.6)} }

func dashed(c color.Color) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
}

const xSeconds = "seconds since the start of the run"

// ReportCharts draws the charts of a run's report, in page order. A chart
// with nothing to draw says why instead.
func ReportCharts(r *Report) ([]Chart, error) {
	var out []Chart
	for _, f := range []func(*Report) (Chart, error){
		chartRequests, chartRates, chartLatency, chartReplicationHistogram, chartReplicationCDF, chartCacheHits, chartFaults,
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

func windowNote(k int) string {
	if k == 1 {
		return ""
	}
	return fmt.Sprintf(" Each point covers %d seconds.", k)
}

func noSeries(r *Report) string {
	if r.Series.Seconds == 0 || len(r.Series.Regions) == 0 {
		return "No completed user operations were recorded."
	}
	return ""
}

func chartRequests(r *Report) (Chart, error) {
	c := Chart{ID: "chart-requests", Title: "Requests per second, by region",
		Caption: "Completed user requests per second in each region (the region the director sent them to), with the fault windows shaded and traffic changes marked."}
	if c.Empty = noSeries(r); c.Empty != "" {
		return c, nil
	}
	k, n := timeWindows(r.Series.Seconds)
	c.Caption += windowNote(k)
	p := newPlot(xSeconds, "requests per second")
	addFaultShading(p, r, true)
	timeAxis(p, r)
	xs := make([]float64, n)
	total := make([]float64, n)
	for i := range xs {
		xs[i] = windowX(i, k, r.Series.Seconds)
	}
	for ri, rs := range r.Series.Regions {
		ys := make([]float64, n)
		for i := range ys {
			cnt, _, _ := windowCounts(rs.Points, i, k)
			// The last window may end with the run, part of a second in.
			width := min(float64(i*k+k), max(r.DurationS, float64(r.Series.Seconds-1))) - float64(i*k)
			if width < 0.5 {
				ys[i], total[i] = math.NaN(), math.NaN()
				continue
			}
			ys[i] = float64(cnt.Requests) / width
			total[i] += ys[i]
		}
		addSeries(p, regionName(rs.Region), xs, ys, solid(regionColor(ri)))
	}
	if len(r.Series.Regions) > 1 {
		addSeries(p, "all regions", xs, total, dashed(color.Gray{Y: 0x70}))
	}
	p.Y.Min = 0
	var err error
	c.SVG, err = renderSVG(p, c.ID, c.Title)
	return c, err
}

func chartRates(r *Report) (Chart, error) {
	c := Chart{ID: "chart-rates", Title: "Success, shed and error rates",
		Caption: "Share of the completed user requests, all regions, that succeeded, were shed, or failed otherwise (errors and unknown outcomes), with the fault windows shaded."}
	if c.Empty = noSeries(r); c.Empty != "" {
		return c, nil
	}
	k, n := timeWindows(r.Series.Seconds)
	c.Caption += windowNote(k)
	p := newPlot(xSeconds, "% of requests")
	addFaultShading(p, r, false)
	timeAxis(p, r)
	xs := make([]float64, n)
	succ, shed, errs := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i] = windowX(i, k, r.Series.Seconds)
		var all Counts
		for _, rs := range r.Series.Regions {
			cnt, _, _ := windowCounts(rs.Points, i, k)
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
	addSeries(p, "success", xs, succ, solid(palette[2]))
	addSeries(p, "shed", xs, shed, solid(palette[3]))
	addSeries(p, "error", xs, errs, solid(palette[1]))
	p.Y.Min, p.Y.Max = 0, 100
	var err error
	c.SVG, err = renderSVG(p, c.ID, c.Title)
	return c, err
}

func chartLatency(r *Report) (Chart, error) {
	c := Chart{ID: "chart-latency", Title: "Latency percentiles, by region",
		Caption: "p50 (dashed) and p99 (solid) latency of the requests that completed ok and were not shed, per second and region, measured from their intended start; gaps are seconds without such requests."}
	if c.Empty = noSeries(r); c.Empty != "" {
		return c, nil
	}
	k, n := timeWindows(r.Series.Seconds)
	if k > 1 {
		c.Caption += fmt.Sprintf(" Each point covers %d seconds: the highest p99 and the mean p50 of its seconds.", k)
	}
	p := newPlot(xSeconds, "latency (ms)")
	addFaultShading(p, r, false)
	timeAxis(p, r)
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = windowX(i, k, r.Series.Seconds)
	}
	drawn := false
	for ri, rs := range r.Series.Regions {
		p50s, p99s := make([]float64, n), make([]float64, n)
		any := false
		for i := range xs {
			_, p50s[i], p99s[i] = windowCounts(rs.Points, i, k)
			any = any || !math.IsNaN(p99s[i])
		}
		if !any {
			continue
		}
		addSeries(p, regionName(rs.Region)+" p99", xs, p99s, solid(regionColor(ri)))
		addSeries(p, regionName(rs.Region)+" p50", xs, p50s, dashed(regionColor(ri)))
		drawn = true
	}
	if !drawn {
		c.SVG, c.Empty = "", "No request completed ok: there is no latency to show."
		return c, nil
	}
	p.Y.Min = 0
	var err error
	c.SVG, err = renderSVG(p, c.ID, c.Title)
	return c, err
}

// replicationTarget is the lag a replicated write should stay under.
const replicationTarget = 500.0

func targetMark() *marks {
	return &marks{xs: []float64{replicationTarget}, labels: []string{"500 ms"},
		style: draw.LineStyle{Color: targetColor, Width: vg.Points(1.4), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}}
}

func chartReplicationHistogram(r *Report) (Chart, error) {
	rl := r.Replication
	if rl == nil {
		return Chart{}, nil
	}
	c := Chart{ID: "chart-replication-histogram", Title: "Replication lag: histogram",
		Caption: fmt.Sprintf("How long after its acknowledgement a write became readable in another region: %d samples, %s missing; the dashed line marks 500 ms.",
			rl.Samples, fmt.Sprint(rl.Missing))}
	if len(rl.Histogram) == 0 {
		c.Empty = "The run recorded replication-lag percentiles but no histogram."
		return c, nil
	}
	p := newPlot("replication lag (ms)", "samples")
	h := &rects{line: draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}}
	lo := lagAxis(p, rl)
	if lo > 0 {
		c.Caption += " The lag axis is logarithmic."
	}
	for _, b := range rl.Histogram {
		h.boxes = append(h.boxes, rect{x0: lo, x1: b.UpperMs, y0: 0, y1: float64(b.Count), color: palette[0]})
		lo = b.UpperMs
	}
	p.Add(h)
	p.Legend.Add("samples per bucket", swatch{palette[0]})
	m := targetMark()
	p.Add(m)
	p.Legend.Add("500 ms", m)
	p.Y.Min = 0
	var err error
	c.SVG, err = renderSVG(p, c.ID, c.Title)
	return c, err
}

func chartReplicationCDF(r *Report) (Chart, error) {
	rl := r.Replication
	if rl == nil {
		return Chart{}, nil
	}
	c := Chart{ID: "chart-replication-cdf", Title: "Replication lag: cumulative distribution",
		Caption: fmt.Sprintf("Share of the writes readable in another region within a given lag (the steps from the histogram, the dots at the recorded percentiles); %s were visible at the first read, and the dashed line marks 500 ms.",
			percent(&rl.VisibleAtRead))}
	p := newPlot("replication lag (ms)", "% of writes visible")
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
		l, err := plotter.NewLine(plotter.XYs(xyPairs(xs, ys)))
		if err != nil {
			return c, fmt.Errorf("chart %s: %w", c.ID, err)
		}
		l.LineStyle = solid(palette[0])
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
		sc, err := plotter.NewScatter(plotter.XYs(xyPairs(qx, qy)))
		if err != nil {
			return c, fmt.Errorf("chart %s: %w", c.ID, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: palette[1], Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		p.Legend.Add("p50, p90, p99, p99.9, max", sc)
		entries++
	}
	if entries == 0 {
		c.Empty = "The replication check recorded no lag."
		return c, nil
	}
	m := targetMark()
	p.Add(m)
	p.Legend.Add("500 ms", m)
	p.Y.Min, p.Y.Max = 0, 100
	if _, log := p.X.Scale.(plot.LogScale); !log {
		p.X.Min = 0
	}
	var err error
	c.SVG, err = renderSVG(p, c.ID, c.Title)
	return c, err
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

func xyPairs(xs, ys []float64) plotter.XYs {
	out := make(plotter.XYs, len(xs))
	for i := range xs {
		out[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	return out
}

func chartCacheHits(r *Report) (Chart, error) {
	c := Chart{ID: "chart-cache", Title: "Cache hit rate, by region",
		Caption: "Share of the completed user reads served from the region's cache, per second and region, with the fault windows shaded; gaps are seconds without reads."}
	if c.Empty = noSeries(r); c.Empty != "" {
		return c, nil
	}
	k, n := timeWindows(r.Series.Seconds)
	c.Caption += windowNote(k)
	p := newPlot(xSeconds, "% of reads from the cache")
	addFaultShading(p, r, false)
	timeAxis(p, r)
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = windowX(i, k, r.Series.Seconds)
	}
	drawn := false
	for ri, rs := range r.Series.Regions {
		ys := make([]float64, n)
		any := false
		for i := range ys {
			cnt, _, _ := windowCounts(rs.Points, i, k)
			if cnt.Reads == 0 {
				ys[i] = math.NaN()
				continue
			}
			ys[i] = 100 * min(1, float64(cnt.CacheHits)/float64(cnt.Reads))
			any = true
		}
		if !any {
			continue
		}
		addSeries(p, regionName(rs.Region), xs, ys, solid(regionColor(ri)))
		drawn = true
	}
	if !drawn {
		c.Empty = "No user reads were recorded (a report written before reads were counted has none)."
		return c, nil
	}
	p.Y.Min, p.Y.Max = 0, 100
	var err error
	c.SVG, err = renderSVG(p, c.ID, c.Title)
	return c, err
}

// Colours of the fault timeline's stages.
var (
	stageEffect  = rgb(0xE69F00) // injected, effect not seen yet
	stageOn      = rgb(0xD55E00) // in effect
	stageHealing = rgb(0x009E73) // recovered, healing not seen yet
	stageUnseen  = color.NRGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0x55}
	phaseColors  = []color.Color{color.Gray{Y: 0xC8}, color.Gray{Y: 0xE4}}
)

func chartFaults(r *Report) (Chart, error) {
	c := Chart{ID: "chart-faults", Title: "Timeline of faults and phases",
		Caption: "Each fault from its injection: orange until its effect was measured, red while in effect, green from its recovery until it was seen healed (pale when never seen healed); the labels give the measured times to effect and to heal. The top row shows the phases."}
	if len(r.Faults) == 0 && len(r.Phases) == 0 {
		c.Empty = "No phases or faults were recorded."
		return c, nil
	}
	p := newPlot(xSeconds, "")
	rows := len(r.Faults) + 1
	// Rows bottom-up: the last fault at 0, the phases at the top.
	names := make([]string, rows)
	names[rows-1] = "phases"
	h := &rects{}
	phases := &rects{line: draw.LineStyle{Color: color.White, Width: vg.Points(1)}}
	var lx, ly []float64
	var lt []string
	var right []bool
	end := r.DurationS
	const half = 0.26
	for i, ph := range r.Phases {
		x0, x1 := r.Rel(ph.Start), r.Rel(ph.End)
		y := float64(rows - 1)
		phases.boxes = append(phases.boxes, rect{x0: x0, x1: x1, y0: y - half, y1: y + half, color: phaseColors[i%2]})
		if end > 0 && (x1-x0)/end > 0.08 {
			lx, ly, lt, right = append(lx, x0+end*0.005), append(ly, y-0.1), append(lt, ph.Name), append(right, false)
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
			h.boxes = append(h.boxes, rect{x0: t0, x1: on, y0: y - half, y1: y + half, color: stageEffect})
		}
		off, last := end, end
		if f.Recover != nil {
			off = r.Rel(*f.Recover)
		}
		h.boxes = append(h.boxes, rect{x0: on, x1: off, y0: y - half, y1: y + half, color: stageOn})
		text := fmt.Sprintf("inject +%.3fs: ", t0)
		if f.TimeToEffectS != nil {
			text += fmt.Sprintf("effect after %.3fs", *f.TimeToEffectS)
		} else {
			text += "effect not seen"
		}
		if f.Recover != nil {
			if f.Recovered != nil {
				last = r.Rel(*f.Recovered)
				h.boxes = append(h.boxes, rect{x0: off, x1: last, y0: y - half, y1: y + half, color: stageHealing})
			} else {
				h.boxes = append(h.boxes, rect{x0: off, x1: end, y0: y - half, y1: y + half, color: stageUnseen})
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
		if end > 0 && t0/end > 0.45 {
			lx, right = append(lx, last), append(right, true)
		} else {
			lx, right = append(lx, t0), append(right, false)
		}
		ly, lt = append(ly, y+half+0.06), append(lt, text)
	}
	p.Add(phases, h)
	if len(lt) > 0 {
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xyPairs(lx, ly), Labels: lt})
		if err != nil {
			return c, fmt.Errorf("chart %s: %w", c.ID, err)
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Font.Size = vg.Points(9)
			if right[i] {
				labels.TextStyle[i].XAlign = draw.XRight
			}
		}
		p.Add(looseLabels{labels})
	}
	if len(r.Faults) > 0 {
		p.Legend.Add("taking effect", swatch{stageEffect})
		p.Legend.Add("in effect", swatch{stageOn})
		p.Legend.Add("healing", swatch{stageHealing})
		p.Legend.Add("not seen healed", swatch{stageUnseen})
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
	p.X.Min = 0
	if end > 0 {
		p.X.Max = end
	}
	height := chartH
	if rows > 4 {
		height = vg.Length(float64(chartH) * float64(rows) / 4)
	}
	var err error
	c.SVG, err = renderSVGSize(p, c.ID, c.Title, chartW, height)
	return c, err
}

func faultRowName(f Fault) string {
	if f.Target == "" {
		return label(f.Name)
	}
	t := f.Target
	if len(t) > 28 {
		t = t[:27] + "…"
	}
	return label(f.Name) + " " + t
}
