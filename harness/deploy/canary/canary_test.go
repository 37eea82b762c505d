package canary

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// latencies draws n log-normal latencies around median ms, scaled by
// factor: the shape a service's response times have.
func latencies(r *rand.Rand, n int, median, factor float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = factor * median * math.Exp(0.5*r.NormFloat64())
	}
	return out
}

// errs draws n requests' outcomes, 1 for an error, at rate p.
func errs(r *rand.Rand, n int, p float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		if r.Float64() < p {
			out[i] = 1
		}
	}
	return out
}

func TestClassifyExactSmallSample(t *testing.T) {
	// Every canary value above every baseline value: of the 20 ways to
	// split six ranks three and three, only this one is as extreme, so
	// the one-sided p-value is exactly 1/20.
	m := Metric{Name: "latency", Harm: Increase, MinSamples: 3}
	c := Classify(m, []float64{4, 5, 6}, []float64{1, 2, 3}, 0.1)
	assert.InDelta(t, 0.05, c.P, 1e-9)
	assert.Equal(t, High, c.Result, c.Reason)
	assert.Equal(t, 3.0, c.Change)
	assert.Equal(t, 1.5, c.Relative)

	// The same samples the other way round are no harm for an increase...
	c = Classify(m, []float64{1, 2, 3}, []float64{4, 5, 6}, 0.1)
	assert.Equal(t, Pass, c.Result, c.Reason)
	assert.InDelta(t, 1.0, c.P, 1e-9)
	// ...and a finding for a metric whose decrease harms.
	c = Classify(Metric{Name: "hits", Harm: Decrease, MinSamples: 3}, []float64{1, 2, 3}, []float64{4, 5, 6}, 0.1)
	assert.Equal(t, Low, c.Result, c.Reason)
	assert.InDelta(t, 0.05, c.P, 1e-9)
}

func TestClassifyFalseAlarmRate(t *testing.T) {
	// Canary and baseline from the same population: a metric must be
	// found worse in about alpha of the runs, and not much more often.
	const runs, alpha = 1000, 0.02
	m := Metric{Name: "latency", Harm: Increase}
	found := 0
	for seed := range uint64(runs) {
		r := rand.New(rand.NewPCG(seed, 1))
		c := Classify(m, latencies(r, 100, 20, 1), latencies(r, 100, 20, 1), alpha)
		if c.Result != Pass {
			found++
		}
	}
	rate := float64(found) / runs
	assert.Greater(t, rate, 0.005, "the test never fires: it cannot be at its level")
	assert.Less(t, rate, 0.04, "%d of %d healthy canaries found worse at alpha %g", found, runs, alpha)
}

func TestClassifyFindsASlowerCanary(t *testing.T) {
	// A canary 30 % slower, 200 samples a side: found nearly every time.
	m := Metric{Name: "latency", Harm: Increase, Tolerance: 0.1}
	found := 0
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 2))
		c := Classify(m, latencies(r, 200, 20, 1.3), latencies(r, 200, 20, 1), 0.02)
		if c.Result == High {
			found++
		}
	}
	assert.GreaterOrEqual(t, found, 190, "a canary 30 %% slower found in %d of 200 runs", found)
}

func TestClassifyToleranceAndFloor(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	canary, baseline := latencies(r, 4000, 20, 1.05), latencies(r, 4000, 20, 1)

	strict := Classify(Metric{Name: "latency", Harm: Increase}, canary, baseline, 0.02)
	require.Equal(t, High, strict.Result, "5 %% slower over 4000 samples is significant: %s", strict.Reason)

	tolerant := Classify(Metric{Name: "latency", Harm: Increase, Tolerance: 0.1}, canary, baseline, 0.02)
	assert.Equal(t, Pass, tolerant.Result)
	assert.Contains(t, tolerant.Reason, "within the tolerance")

	floored := Classify(Metric{Name: "latency", Harm: Increase, Floor: 5}, canary, baseline, 0.02)
	assert.Equal(t, Pass, floored.Result)
	assert.Contains(t, floored.Reason, "within the floor")
}

func TestClassifyErrorRates(t *testing.T) {
	m := Metric{Name: "errors", Harm: Increase, Floor: 0.01, Critical: true}
	r := rand.New(rand.NewPCG(3, 3))

	bad := Classify(m, errs(r, 300, 0.3), errs(r, 300, 0.01), 0.02)
	assert.Equal(t, High, bad.Result, bad.Reason)
	assert.True(t, bad.Critical)

	clean := Classify(m, errs(r, 300, 0), errs(r, 300, 0), 0.02)
	assert.Equal(t, Pass, clean.Result)
	assert.Equal(t, 1.0, clean.P)

	// The baseline erring more than the canary is not the canary's fault.
	better := Classify(m, errs(r, 300, 0.01), errs(r, 300, 0.3), 0.02)
	assert.Equal(t, Pass, better.Result, better.Reason)
}

func TestClassifyNoData(t *testing.T) {
	c := Classify(Metric{Name: "latency"}, []float64{1, 2}, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.02)
	assert.Equal(t, NoData, c.Result)
	assert.Contains(t, c.Reason, "2 canary and 11 baseline samples, 10 needed")
}

func TestJudge(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	same := func() []float64 { return latencies(r, 200, 20, 1) }
	slow := func() []float64 { return latencies(r, 200, 20, 2) }
	metrics := func(n int) []Metric {
		var ms []Metric
		for i := range n {
			ms = append(ms, Metric{Name: string(rune('a' + i)), Harm: Increase, Tolerance: 0.1})
		}
		return ms
	}
	// samples gives the first bad of n metrics a slow canary.
	samples := func(n, bad int) (map[string][]float64, map[string][]float64) {
		c, b := map[string][]float64{}, map[string][]float64{}
		for i := range n {
			name := string(rune('a' + i))
			b[name] = same()
			if i < bad {
				c[name] = slow()
			} else {
				c[name] = same()
			}
		}
		return c, b
	}

	c, b := samples(4, 0)
	j := Judge(metrics(4), c, b, DefaultThresholds)
	assert.Equal(t, VerdictPass, j.Verdict, j.Reason)
	assert.Equal(t, 100.0, j.Score)
	assert.Len(t, j.Metrics, 4)

	c, b = samples(5, 1) // 80: marginal
	j = Judge(metrics(5), c, b, DefaultThresholds)
	assert.Equal(t, VerdictMarginal, j.Verdict, j.Reason)
	assert.Equal(t, 80.0, j.Score)
	assert.Contains(t, j.Reason, "a high")

	c, b = samples(4, 2) // 50: fail
	j = Judge(metrics(4), c, b, DefaultThresholds)
	assert.Equal(t, VerdictFail, j.Verdict, j.Reason)
	assert.Equal(t, 50.0, j.Score)

	// A critical metric fails the canary even when the score would pass.
	ms := metrics(20)
	ms[0].Critical = true
	c, b = samples(20, 1) // 95 of 100
	j = Judge(ms, c, b, DefaultThresholds)
	assert.Equal(t, 95.0, j.Score)
	assert.Equal(t, VerdictFail, j.Verdict)
	assert.Equal(t, "critical metric a high", j.Reason)

	// Without the critical flag the same canary passes on its score.
	c, b = samples(20, 1)
	j = Judge(metrics(20), c, b, DefaultThresholds)
	assert.Equal(t, VerdictPass, j.Verdict, j.Reason)

	// Nothing measured is nothing shown good.
	j = Judge(metrics(3), map[string][]float64{}, map[string][]float64{}, DefaultThresholds)
	assert.Equal(t, VerdictFail, j.Verdict)
	assert.Equal(t, "no metric had enough samples to be judged", j.Reason)

	// A metric without data is left out of the score, unless critical.
	c, b = samples(2, 0)
	ms = metrics(3)
	j = Judge(ms, c, b, DefaultThresholds)
	assert.Equal(t, VerdictPass, j.Verdict, j.Reason)
	assert.Equal(t, NoData, j.Metrics[2].Result)
	ms[2].Critical = true
	j = Judge(ms, c, b, DefaultThresholds)
	assert.Equal(t, VerdictFail, j.Verdict)
	assert.Equal(t, "critical metric c nodata", j.Reason)
}

// A critical metric found worse is a finding; one without enough samples
// yet, or a non-critical metric found worse, is not.
func TestCriticalFinding(t *testing.T) {
	j := Judgement{Metrics: []Classification{
		{Metric: "latency", Result: High},
		{Metric: "errors", Result: NoData, Critical: true},
	}}
	if got := j.CriticalFinding(); got != "" {
		t.Fatalf("CriticalFinding() = %q, want none", got)
	}
	j.Metrics[1].Result = High
	if got := j.CriticalFinding(); got != "errors" {
		t.Fatalf("CriticalFinding() = %q, want errors", got)
	}
}
