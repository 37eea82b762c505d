// Package chart draws the charts of kong's HTML pages with gonum.org/v1/plot
// into SVG that a page inlines, so that the page needs no script and fetches
// nothing. It knows lines, shaded windows, marks, boxes and time axes, not
// runs: the reports package says what each chart shows.
package chart

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

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

// Width and Height are a chart's size in points; the page scales it to its
// width.
const (
	Width  = 9 * vg.Inch
	Height = 3.4 * vg.Inch
)

// Palette is Okabe and Ito's, readable by colour-blind readers.
var Palette = []color.Color{
	RGB(0x0072B2), RGB(0xD55E00), RGB(0x009E73), RGB(0xE69F00),
	RGB(0xCC79A7), RGB(0x56B4E9), RGB(0x000000), RGB(0xF0E442),
}

// Colours of the shaded windows, the marks and a target line.
var (
	FaultShade  = color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0x2E}
	MarkColor   = color.Gray{Y: 0x60}
	TargetColor = RGB(0xC00000)
	gridColor   = color.Gray{Y: 0xE0}
)

// RGB is an opaque colour from its hex value.
func RGB(v uint32) color.Color {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}
}

// Color is the palette's i-th colour, round again after the last.
func Color(i int) color.Color { return Palette[i%len(Palette)] }

// Solid is the line style of a main series.
func Solid(c color.Color) draw.LineStyle { return draw.LineStyle{Color: c, Width: vg.Points(1.6)} }

// Dashed is the line style of a secondary series.
func Dashed(c color.Color) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
}

// New returns a plot in the house style: a light grid; the legend is drawn
// to the right of the plot (see Chart.Draw).
func New(xLabel, yLabel string) *plot.Plot {
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

// Draw draws p, Width by Height, into c.SVG.
func (c *Chart) Draw(p *plot.Plot) error { return c.DrawSize(p, Width, Height) }

// DrawSize draws p, w by h, into c.SVG: an SVG element to inline in a page,
// with no XML prolog, scaled to the page's width, and fonts that fall back
// to the reader's sans-serif when Liberation is not installed.
func (c *Chart) DrawSize(p *plot.Plot, w, h vg.Length) error {
	canvas := vgsvg.New(w, h)
	drawWithLegend(draw.New(canvas), p)
	return c.finish(canvas)
}

// DrawStack draws ps one above the other into c.SVG, each w by panelH,
// with the same x range (the widest of theirs) and their plotting areas
// aligned (plot.Align): panels of one time axis. Each panel's legend stands
// to its right, in a column as wide as the widest legend. A panel whose
// values are all zero shows 0 to 1.
func (c *Chart) DrawStack(ps []*plot.Plot, w, panelH vg.Length) error {
	if len(ps) == 0 {
		return fmt.Errorf("chart %s: no panels", c.ID)
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, p := range ps {
		xmin, xmax = min(xmin, p.X.Min), max(xmax, p.X.Max)
	}
	canvas := vgsvg.New(w, panelH*vg.Length(len(ps)))
	dc := draw.New(canvas)
	var legendW vg.Length
	grid := make([][]*plot.Plot, len(ps))
	legends := make([]plot.Legend, len(ps))
	for i, p := range ps {
		legendW = max(legendW, p.Legend.Rectangle(dc).Size().X)
		p.X.Min, p.X.Max = xmin, xmax
		if p.Y.Max <= p.Y.Min {
			p.Y.Max = p.Y.Min + 1
		}
		legends[i], p.Legend = p.Legend, plot.NewLegend()
		grid[i] = []*plot.Plot{p}
	}
	right := vg.Length(0)
	if legendW > 0 {
		right = legendW + vg.Points(2*legendGap)
	}
	cells := plot.Align(grid, draw.Tiles{Rows: len(ps), Cols: 1}, draw.Crop(dc, 0, -right, 0, 0))
	for i, p := range ps {
		p.Draw(cells[i][0])
		if legendW > 0 {
			// The canvas's y grows upwards: panel i's bottom is n-1-i
			// panels up, its top i panels down.
			row := draw.Crop(dc, 0, 0, panelH*vg.Length(len(ps)-1-i), -panelH*vg.Length(i))
			legends[i].Draw(draw.Crop(row, w-legendW-vg.Points(legendGap), 0, 0, -vg.Points(legendGap)))
		}
	}
	return c.finish(canvas)
}

// legendGap is the room around the legend's column.
const legendGap = 12

// drawWithLegend draws p into dc, its legend in a column of its own on the
// right, so that it never hides data.
func drawWithLegend(dc draw.Canvas, p *plot.Plot) {
	drawLegendColumn(dc, p, p.Legend.Rectangle(dc).Size().X)
}

// drawLegendColumn draws p into dc with a column lw wide on the right for
// its legend (none when lw is 0).
func drawLegendColumn(dc draw.Canvas, p *plot.Plot, lw vg.Length) {
	leg := p.Legend
	p.Legend = plot.NewLegend()
	if lw <= 0 {
		p.Draw(dc)
		return
	}
	w := dc.Max.X - dc.Min.X
	p.Draw(draw.Crop(dc, 0, -(lw + vg.Points(2*legendGap)), 0, 0))
	leg.Draw(draw.Crop(dc, w-lw-vg.Points(legendGap), 0, 0, -vg.Points(legendGap)))
}

// finish renders canvas into c.SVG.
func (c *Chart) finish(canvas *vgsvg.Canvas) error {
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return fmt.Errorf("chart %s: %w", c.ID, err)
	}
	s := svgProlog.ReplaceAllString(buf.String(), "<svg ")
	s = "<svg " + svgSize.ReplaceAllString(strings.TrimPrefix(s, "<svg "),
		fmt.Sprintf(`id="%s-svg" class="chart" role="img" aria-label="%s" width="100%%"`, c.ID, template.HTMLEscapeString(c.Title)))
	s = svgFont.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.HasSuffix(m, "Mono"):
			return "font-family:'Liberation Mono',monospace"
		case strings.HasSuffix(m, "Serif"):
			return "font-family:'Liberation Serif',serif"
		}
		return "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif"
	})
	c.SVG = template.HTML(strings.TrimSpace(s))
	return nil
}
