// Package canary judges a canary against its baseline, as automated canary
// analysis does (Netflix's Kayenta and its judge): each metric's samples
// from the canary instances are compared with the same metric's samples
// from the baseline instances over the same window by a Mann-Whitney U
// test, a metric whose canary is significantly worse by more than its
// tolerance is classified high (or low), and the share of metrics that
// pass is the canary's score. The score against two thresholds gives the
// verdict: pass, marginal or fail.
//
// The package is pure: it takes samples and returns a judgement, so that a
// deploy pipeline can record every score and decision in the history and a
// report can show them without a world.
package canary

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/aclements/go-moremath/stats"
)

// Harm says which change of a metric makes the canary worse.
type Harm int

const (
	// Increase: a canary whose values run higher is worse (error rate,
	// latency).
	Increase Harm = iota
	// Decrease: a canary whose values run lower is worse (throughput,
	// cache hits).
	Decrease
	// Either: any significant change is a finding.
	Either
)

func (h Harm) String() string {
	switch h {
	case Increase:
		return "increase"
	case Decrease:
		return "decrease"
	case Either:
		return "either"
	}
	return fmt.Sprintf("Harm(%d)", int(h))
}

// Metric names what is compared and how much change is tolerated.
type Metric struct {
	Name string
	Harm Harm
	// Tolerance is the change of the canary's mean against the baseline's,
	// relative to the baseline's, that still passes even when it is
	// significant (0.1: the canary may be 10 % worse).
	Tolerance float64
	// Floor is the absolute change of the mean that passes whatever the
	// test says (2 ms of latency; an error rate 0.005 higher).
	Floor float64
	// Critical makes the whole canary fail when this metric does not pass,
	// whatever the score (an error rate, typically).
	Critical bool
	// MinSamples is how many samples each side needs for the metric to be
	// judged at all (DefaultMinSamples when 0).
	MinSamples int
}

// DefaultMinSamples is the fewest samples a side needs for a metric to be
// judged when the metric does not say.
const DefaultMinSamples = 10

// Result is one metric's classification.
type Result string

const (
	Pass   Result = "pass"
	High   Result = "high"
	Low    Result = "low"
	NoData Result = "nodata"
)

// Side summarises one side's samples of a metric.
type Side struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
}

// Classification is one metric's finding, with what it was based on.
type Classification struct {
	Metric   string `json:"metric"`
	Result   Result `json:"result"`
	Critical bool   `json:"critical,omitempty"`
	Canary   Side   `json:"canary"`
	Baseline Side   `json:"baseline"`
	// P is the Mann-Whitney test's p-value for the harmful direction (both
	// directions for Either); 1 when the samples are all equal.
	P float64 `json:"p"`
	// Change is the canary's mean less the baseline's; Relative is that
	// over the baseline's mean (0 when the baseline's mean is 0).
	Change   float64 `json:"change"`
	Relative float64 `json:"relative"`
	Reason   string  `json:"reason"`
}

// Thresholds turn a score (0 to 100) into a verdict.
type Thresholds struct {
	// Pass is the lowest score that passes; Marginal the lowest that is
	// marginal rather than a failure.
	Pass, Marginal float64
	// Alpha is the significance level of each metric's test.
	Alpha float64
}

// DefaultThresholds are Kayenta's usual ones: 95 to pass, 75 to be
// marginal, each metric tested at 98 % confidence.
var DefaultThresholds = Thresholds{Pass: 95, Marginal: 75, Alpha: 0.02}

// Verdict is the canary's outcome.
type Verdict string

const (
	VerdictPass     Verdict = "pass"
	VerdictMarginal Verdict = "marginal"
	VerdictFail     Verdict = "fail"
)

// Judgement is the whole analysis: the score, the verdict, why, and every
// metric's classification.
type Judgement struct {
	Score   float64          `json:"score"`
	Verdict Verdict          `json:"verdict"`
	Reason  string           `json:"reason"`
	Metrics []Classification `json:"metrics"`
}

// CriticalFinding names the first critical metric the canary was found
// significantly worse on ("" when none), unlike a critical metric without
// enough data yet. A pipeline that looks at intervals tests the same
// metric again and again: unless it divides alpha among the looks
// (deploy.Pipeline.CorrectLooks), each look adds its chance of failing a
// good canary.
func (j Judgement) CriticalFinding() string {
	for _, c := range j.Metrics {
		if c.Critical && (c.Result == High || c.Result == Low) {
			return c.Metric
		}
	}
	return ""
}

// Classify compares one metric's canary samples with its baseline samples.
func Classify(m Metric, canary, baseline []float64, alpha float64) Classification {
	c := Classification{
		Metric: m.Name, Critical: m.Critical,
		Canary: summarise(canary), Baseline: summarise(baseline), P: 1,
	}
	c.Change = c.Canary.Mean - c.Baseline.Mean
	if c.Baseline.Mean != 0 {
		c.Relative = c.Change / math.Abs(c.Baseline.Mean)
	}
	least := m.MinSamples
	if least <= 0 {
		least = DefaultMinSamples
	}
	if c.Canary.N < least || c.Baseline.N < least {
		c.Result = NoData
		c.Reason = fmt.Sprintf("%d canary and %d baseline samples, %d needed on each side", c.Canary.N, c.Baseline.N, least)
		return c
	}
	alt := stats.LocationDiffers
	switch m.Harm {
	case Increase:
		alt = stats.LocationGreater
	case Decrease:
		alt = stats.LocationLess
	}
	res, err := stats.MannWhitneyUTest(canary, baseline, alt)
	switch {
	case errors.Is(err, stats.ErrSamplesEqual):
		c.Result, c.Reason = Pass, "every sample on both sides is the same value"
		return c
	case err != nil:
		c.Result, c.Reason = NoData, "the test could not run: "+err.Error()
		return c
	}
	c.P = res.P
	worse := High
	if c.Change < 0 {
		worse = Low
	}
	switch {
	case c.P >= alpha:
		c.Result = Pass
		c.Reason = fmt.Sprintf("no significant difference (p=%.3g, alpha %g)", c.P, alpha)
	case math.Abs(c.Change) <= m.Floor:
		c.Result = Pass
		c.Reason = fmt.Sprintf("significant (p=%.3g) but the mean moved %s, within the floor of %s", c.P, num(c.Change), num(m.Floor))
	case c.Baseline.Mean != 0 && math.Abs(c.Relative) <= m.Tolerance:
		c.Result = Pass
		c.Reason = fmt.Sprintf("significant (p=%.3g) but the mean moved %+.1f %%, within the tolerance of %.1f %%", c.P, 100*c.Relative, 100*m.Tolerance)
	case (m.Harm == Increase && worse == Low) || (m.Harm == Decrease && worse == High):
		// The one-sided test found the harmful direction, yet the means
		// moved the other way (a skewed sample): not a finding.
		c.Result = Pass
		c.Reason = fmt.Sprintf("ranks lean the harmful way (p=%.3g) but the mean moved %s, the harmless way", c.P, num(c.Change))
	default:
		c.Result = worse
		c.Reason = fmt.Sprintf("canary mean %s against baseline %s (%+.1f %%), p=%.3g", num(c.Canary.Mean), num(c.Baseline.Mean), 100*c.Relative, c.P)
	}
	return c
}

// Judge classifies every metric and scores the canary: the share of the
// judged metrics (those with data) that pass, 0 to 100. A critical metric
// that does not pass, with data or without, fails the canary whatever the
// score; a canary none of whose metrics could be judged fails, because
// nothing was shown to be good.
func Judge(metrics []Metric, canary, baseline map[string][]float64, th Thresholds) Judgement {
	if th.Alpha <= 0 {
		th.Alpha = DefaultThresholds.Alpha
	}
	j := Judgement{}
	judged, passed := 0, 0
	var critical, failing []string
	for _, m := range metrics {
		c := Classify(m, canary[m.Name], baseline[m.Name], th.Alpha)
		j.Metrics = append(j.Metrics, c)
		if c.Result != NoData {
			judged++
		}
		switch {
		case c.Result == Pass:
			passed++
		case m.Critical:
			critical = append(critical, fmt.Sprintf("%s %s", m.Name, c.Result))
		case c.Result != NoData:
			failing = append(failing, fmt.Sprintf("%s %s", m.Name, c.Result))
		}
	}
	if judged > 0 {
		j.Score = 100 * float64(passed) / float64(judged)
	}
	sort.Strings(failing)
	switch {
	case len(critical) > 0:
		j.Verdict = VerdictFail
		j.Reason = "critical metric " + strings.Join(critical, ", ")
	case judged == 0:
		j.Verdict = VerdictFail
		j.Reason = "no metric had enough samples to be judged"
	case j.Score >= th.Pass:
		j.Verdict = VerdictPass
		j.Reason = fmt.Sprintf("score %.0f of 100 (%d of %d metrics pass), at least %.0f passes", j.Score, passed, judged, th.Pass)
	case j.Score >= th.Marginal:
		j.Verdict = VerdictMarginal
		j.Reason = fmt.Sprintf("score %.0f of 100, below %.0f: %s", j.Score, th.Pass, strings.Join(failing, ", "))
	default:
		j.Verdict = VerdictFail
		j.Reason = fmt.Sprintf("score %.0f of 100, below %.0f: %s", j.Score, th.Marginal, strings.Join(failing, ", "))
	}
	return j
}

func summarise(xs []float64) Side {
	s := Side{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	sorted := append([]float64(nil), xs...)
	sort.Float64s(sorted)
	sum := 0.0
	for _, x := range sorted {
		sum += x
	}
	s.Mean = sum / float64(len(sorted))
	mid := len(sorted) / 2
	if len(sorted)%2 == 1 {
		s.Median = sorted[mid]
	} else {
		s.Median = (sorted[mid-1] + sorted[mid]) / 2
	}
	return s
}

func num(x float64) string { return fmt.Sprintf("%.4g", x) }
