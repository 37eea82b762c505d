package workload

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPacerConstant(t *testing.T) {
	p := Constant(200)
	// Operation n is due at n/200 s: 0 at once, 1 after 5 ms.
	w, stop := p.Pace(0, 0)
	assert.False(t, stop)
	assert.Equal(t, time.Duration(0), w)
	w, _ = p.Pace(0, 1)
	assert.Equal(t, 5*time.Millisecond, w)
	w, _ = p.Pace(2*time.Millisecond, 1)
	assert.Equal(t, 3*time.Millisecond, w)
	// Overdue: a negative wait says by how much.
	w, _ = p.Pace(time.Second, 100)
	assert.Equal(t, -500*time.Millisecond, w)
	assert.InDelta(t, 400, p.Hits(2*time.Second), 1e-9)
	assert.Equal(t, 200.0, p.Rate(time.Hour))
	_, ok := p.Duration()
	assert.False(t, ok)

	// Simulating the pacer over 2 s issues exactly 400 operations.
	assert.Equal(t, 400, simulatePacer(p, 2*time.Second))
}

func TestPacerConstantZeroNeverIssuesNorStops(t *testing.T) {
	for _, r := range []float64{0, -5, math.NaN()} {
		p := Constant(r)
		w, stop := p.Pace(0, 0)
		assert.False(t, stop)
		assert.Equal(t, maxPacerWait, w)
		assert.Equal(t, 0.0, p.Hits(time.Minute))
	}
}

func TestPacerRamp(t *testing.T) {
	p := Ramp(0, 100, 10*time.Second)
	// Integral of a 0 -> 100/s ramp over 10 s is 500, then 100/s.
	assert.InDelta(t, 500, p.Hits(10*time.Second), 1e-9)
	assert.InDelta(t, 125, p.Hits(5*time.Second), 1e-9)
	assert.InDelta(t, 600, p.Hits(11*time.Second), 1e-9)
	assert.InDelta(t, 50, p.Rate(5*time.Second), 1e-9)
	assert.InDelta(t, 100, p.Rate(20*time.Second), 1e-9)
	// Due is the inverse of Hits.
	for _, n := range []uint64{0, 1, 7, 125, 499, 500, 501, 1234} {
		d, ok := p.Due(n)
		require.True(t, ok)
		assert.InDelta(t, float64(n), p.Hits(d), 1e-6, "n=%d due %s", n, d)
	}
	d, _ := p.Due(125)
	assert.InDelta(t, float64(5*time.Second), float64(d), float64(time.Microsecond))

	// A decreasing ramp is the mirror image and holds its end rate.
	q := Ramp(100, 20, 4*time.Second)
	assert.InDelta(t, 240, q.Hits(4*time.Second), 1e-9)
	for _, n := range []uint64{0, 1, 100, 239, 240, 300} {
		d, ok := q.Due(n)
		require.True(t, ok)
		assert.InDelta(t, float64(n), q.Hits(d), 1e-6, "n=%d", n)
	}
	// Ramping down to zero issues the integral, then waits for ever.
	z := Ramp(10, 0, 2*time.Second)
	assert.Equal(t, 10, simulatePacer(z, 5*time.Second))
	w, stop := z.Pace(3*time.Second, 10)
	assert.False(t, stop)
	assert.Equal(t, maxPacerWait, w)

	// over <= 0 is Constant(to).
	assert.Equal(t, 50.0, Ramp(1, 50, 0).Rate(0))
	assert.Equal(t, 2000, simulatePacer(Ramp(0, 1000, 2*time.Second), 3*time.Second)) // 1000 + 1000
}

func TestPacerSteps(t *testing.T) {
	p := Steps([]Step{{Rate: 100, For: time.Second}, {Rate: 0, For: 500 * time.Millisecond}, {Rate: 10, For: 2 * time.Second}})
	d, ok := p.Duration()
	require.True(t, ok)
	assert.Equal(t, 3500*time.Millisecond, d)
	assert.InDelta(t, 100, p.Hits(1200*time.Millisecond), 1e-9)
	assert.InDelta(t, 120, p.Hits(3500*time.Millisecond), 1e-9)
	assert.Equal(t, 0.0, p.Rate(1200*time.Millisecond))
	assert.Equal(t, 10.0, p.Rate(2*time.Second))
	// The first operation after the pause is due when it ends.
	due, ok := p.Due(100)
	require.True(t, ok)
	assert.Equal(t, 1500*time.Millisecond, due)
	due, _ = p.Due(101)
	assert.Equal(t, 1600*time.Millisecond, due)
	// After the last operation it waits until the schedule's end, then stops.
	_, ok = p.Due(120)
	assert.False(t, ok)
	w, stop := p.Pace(3400*time.Millisecond, 120)
	assert.False(t, stop)
	assert.Equal(t, 100*time.Millisecond, w)
	_, stop = p.Pace(3500*time.Millisecond, 120)
	assert.True(t, stop)
	assert.Equal(t, 120, simulatePacer(p, time.Minute))

	// A starting pause issues nothing during it.
	q := Steps([]Step{{Rate: 0, For: time.Second}, {Rate: 4, For: time.Second}})
	due, _ = q.Due(0)
	assert.Equal(t, time.Second, due)
	w, _ = q.Pace(0, 0)
	assert.Equal(t, time.Second, w)

	// A last step without a length holds for ever.
	h := Steps([]Step{{Rate: 10, For: time.Second}, {Rate: 50}})
	_, ok = h.Duration()
	assert.False(t, ok)
	assert.InDelta(t, 110, h.Hits(3*time.Second), 1e-9)
	_, stop = h.Pace(time.Hour, 10)
	assert.False(t, stop)

	// No steps: stops at once.
	_, stop = Steps(nil).Pace(0, 0)
	assert.True(t, stop)
}

func TestPacerPure(t *testing.T) {
	p := Ramp(5, 500, 3*time.Second)
	for i := 0; i < 3; i++ {
		w1, s1 := p.Pace(1234*time.Millisecond, 77)
		w2, s2 := p.Pace(1234*time.Millisecond, 77)
		assert.Equal(t, w1, w2)
		assert.Equal(t, s1, s2)
	}
}

// simulatePacer runs a pacer on a virtual clock for d and counts the
// operations it issues.
func simulatePacer(p Pacer, d time.Duration) int {
	var elapsed time.Duration
	var hits uint64
	for {
		w, stop := p.Pace(elapsed, hits)
		if stop {
			return int(hits)
		}
		if w > 0 {
			// Sleep, then ask again (as the workload's scheduler does).
			elapsed += w
			if elapsed >= d {
				return int(hits)
			}
			continue
		}
		hits++
	}
}
