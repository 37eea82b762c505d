package chart

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Shade shades the x windows spans over the full height of the plot, in
// FaultShade, with a legend entry named name (none when there are no
// windows).
func Shade(p *plot.Plot, spans [][2]float64, name string) {
	if len(spans) == 0 {
		return
	}
	b := &band{spans: spans, color: FaultShade}
	p.Add(b)
	p.Legend.Add(name, b)
}

// Mark draws dashed vertical lines at xs over the full height, with a
// legend entry named name (none when there are no xs).
func Mark(p *plot.Plot, xs []float64, name string) {
	if len(xs) == 0 {
		return
	}
	m := &marks{xs: xs, labels: make([]string, len(xs)),
		style: draw.LineStyle{Color: MarkColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}}
	p.Add(m)
	p.Legend.Add(name, m)
}

// Target draws a labelled dashed line at x, in TargetColor, with a legend
// entry of the same label.
func Target(p *plot.Plot, x float64, label string) {
	m := &marks{xs: []float64{x}, labels: []string{label},
		style: draw.LineStyle{Color: TargetColor, Width: vg.Points(1.4), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}}
	p.Add(m)
	p.Legend.Add(label, m)
}

// band shades x windows over the full height of the plot area.
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

func (b *band) Thumbnail(c *draw.Canvas) { Swatch{b.color}.Thumbnail(c) }

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

// Box is a filled box in data coordinates.
type Box struct {
	X0, X1, Y0, Y1 float64
	Color          color.Color
}

// Boxes draws filled boxes (the bars of a histogram or a timeline), each
// outlined in Line when it has a width.
type Boxes struct {
	Boxes []Box
	Line  draw.LineStyle
}

// Plot implements plot.Plotter.
func (r *Boxes) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, b := range r.Boxes {
		x0, x1 := trX(b.X0), trX(b.X1)
		if x1-x0 < vg.Points(1.5) {
			x1 = x0 + vg.Points(1.5) // a short stage stays visible
		}
		pts := []vg.Point{{X: x0, Y: trY(b.Y0)}, {X: x1, Y: trY(b.Y0)}, {X: x1, Y: trY(b.Y1)}, {X: x0, Y: trY(b.Y1)}}
		c.FillPolygon(b.Color, c.ClipPolygonXY(pts))
		if r.Line.Width > 0 {
			c.StrokeLines(r.Line, c.ClipLinesXY(append(pts, pts[0]))...)
		}
	}
}

// DataRange implements plot.DataRanger.
func (r *Boxes) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, b := range r.Boxes {
		xmin, xmax = min(xmin, b.X0), max(xmax, b.X1)
		ymin, ymax = min(ymin, b.Y0), max(ymax, b.Y1)
	}
	return
}

// Swatch is a legend entry of one colour.
type Swatch struct{ Color color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s Swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.Color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// Label is a text at (X, Y), starting there or, when Right is set, ending
// there.
type Label struct {
	X, Y  float64
	Text  string
	Right bool
}

// Labels adds labels in 9-point type. They do not narrow the plot area to
// fit: they may run past the data.
func Labels(p *plot.Plot, ls []Label) error {
	xys, texts := make(plotter.XYs, len(ls)), make([]string, len(ls))
	for i, l := range ls {
		xys[i], texts[i] = plotter.XY{X: l.X, Y: l.Y}, l.Text
	}
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Size = vg.Points(9)
		if ls[i].Right {
			labels.TextStyle[i].XAlign = draw.XRight
		}
	}
	p.Add(looseLabels{labels})
	return nil
}

// looseLabels are labels that do not narrow the plot area to fit.
type looseLabels struct{ l *plotter.Labels }

func (l looseLabels) Plot(c draw.Canvas, p *plot.Plot) { l.l.Plot(c, p) }

func (l looseLabels) DataRange() (xmin, xmax, ymin, ymax float64) { return l.l.DataRange() }

// Line adds a series with gaps (NaN values) as lines between the defined
// points, an isolated point as a dot, and one legend entry named name (none
// when name is empty).
func Line(p *plot.Plot, name string, xs, ys []float64, sty draw.LineStyle) {
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
	var thumb plot.Thumbnailer = &plotter.Line{LineStyle: sty}
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
	if name != "" {
		p.Legend.Add(name, thumb)
	}
}

// Points adds a line through xys with a dot at each point, and one legend
// entry named name; a secondary series is dashed, with rings for dots.
func Points(p *plot.Plot, name string, xys plotter.XYs, c color.Color, secondary bool) error {
	sty, glyph := Solid(c), draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	if secondary {
		sty, glyph.Shape = Dashed(c), draw.RingGlyph{}
	}
	l, sp, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.LineStyle, sp.GlyphStyle = sty, glyph
	p.Add(l, sp)
	p.Legend.Add(name, l, sp)
	return nil
}

// XYs pairs xs with ys.
func XYs(xs, ys []float64) plotter.XYs {
	out := make(plotter.XYs, len(xs))
	for i := range xs {
		out[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	return out
}

// Dots adds a dot of colour c and radius r (in points) at each point, with
// one legend entry named name (none when name is empty).
func Dots(p *plot.Plot, name string, xs, ys []float64, c color.Color, r float64) error {
	sc, err := plotter.NewScatter(XYs(xs, ys))
	if err != nil {
		return err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(r), Shape: draw.CircleGlyph{}}
	p.Add(sc)
	if name != "" {
		p.Legend.Add(name, sc)
	}
	return nil
}
