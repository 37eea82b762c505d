package chart

import (
	"math"
	"time"

	"gonum.org/v1/plot"
)

// MaxPoints bounds the points of a series over time: longer runs are drawn
// in windows of several seconds.
const MaxPoints = 600

// Windows groups a per-second series of Seconds seconds into N windows of K
// seconds, so that a long run keeps at most MaxPoints points.
type Windows struct{ K, N, Seconds int }

// NewWindows groups seconds seconds into windows.
func NewWindows(seconds int) Windows {
	k := 1
	if seconds > MaxPoints {
		k = (seconds + MaxPoints - 1) / MaxPoints
	}
	return Windows{K: k, N: (seconds + k - 1) / k, Seconds: seconds}
}

// Span is window i's seconds: [lo, hi).
func (w Windows) Span(i int) (lo, hi int) { return i * w.K, min(i*w.K+w.K, w.Seconds) }

// X is the middle of each window, in seconds since the start.
func (w Windows) X() []float64 {
	xs := make([]float64, w.N)
	for i := range xs {
		lo, hi := w.Span(i)
		xs[i] = float64(lo+hi) / 2
	}
	return xs
}

// TimeAxis spans the x axis, of Unix seconds, over [tmin, tmax] with a
// little room (half a day either side of a single instant), and marks it
// with round instants.
func TimeAxis(p *plot.Plot, tmin, tmax float64) {
	pad := max((tmax-tmin)*0.05, 0)
	if pad == 0 {
		pad = 12 * 3600
	}
	p.X.Min, p.X.Max = tmin-pad, tmax+pad
	p.X.Tick.Marker = timeTicks{}
}

// timeTicks marks round instants (minutes, hours, days) of an axis of Unix
// seconds, at most about six of them, in UTC.
type timeTicks struct{}

func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	const minute, hour, day = 60.0, 3600.0, 86400.0
	steps := []float64{minute, 5 * minute, 15 * minute, hour, 3 * hour, 6 * hour, 12 * hour, day, 2 * day, 7 * day, 14 * day, 30 * day, 91 * day, 365 * day}
	step := steps[len(steps)-1]
	for _, st := range steps {
		if (hi-lo)/st <= 6 {
			step = st
			break
		}
	}
	format := "Jan 2 15:04"
	switch {
	case step >= 30*day:
		format = "2006-01-02"
	case step >= day:
		format = "Jan 2"
	}
	var ticks []plot.Tick
	for t := math.Ceil(lo/step) * step; t <= hi; t += step {
		ticks = append(ticks, plot.Tick{Value: t, Label: time.Unix(int64(t), 0).UTC().Format(format)})
	}
	return ticks
}
