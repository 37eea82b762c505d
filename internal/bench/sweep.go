package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/replcheck"
)

// SweepStep is one step of a replication sweep: records written paced at
// Rate records per second, Batch to a write, for a step's duration.
type SweepStep struct {
	Rate  float64
	Batch int
}

// SweepPlan is the steps of a sweep: every rate of rates (ascending) for
// each batch size of batches, in that order.
func SweepPlan(batches []int, rates []float64) []SweepStep {
	rates = slices.Clone(rates)
	slices.Sort(rates)
	var out []SweepStep
	for _, b := range batches {
		for _, r := range rates {
			out = append(out, SweepStep{Rate: r, Batch: b})
		}
	}
	return out
}

// SweepResult is what one step measured: its replication check's summary
// (replication.json) and the machine's CPU over it.
type SweepResult struct {
	Step SweepStep
	Dir  string
	Sum  history.Replication
	// MachineCores is the whole machine's CPU over the step, in cores.
	MachineCores float64
	// Err is why the step did not finish (its figures are then unknown).
	Err error
}

// keptShare is how much of the asked rate a step must keep to count as
// run at that rate.
const keptShare = 0.97

// Holds says whether the step kept the promise at its rate: the writes
// kept at least 97 % of the rate asked, none was missing, and the 95 %
// lower bound of the share visible at the read is at least minShare. Why
// says what failed when it did not.
func (r SweepResult) Holds(minShare float64) (ok bool, why string) {
	s := r.Sum
	switch {
	case r.Err != nil:
		return false, r.Err.Error()
	case s.Samples == 0:
		return false, "no record was written"
	case s.WriteRate < keptShare*r.Step.Rate:
		return false, fmt.Sprintf("kept %.0f/s of the %.0f/s asked", s.WriteRate, r.Step.Rate)
	case s.Missing > 0:
		return false, fmt.Sprintf("%d records missing", s.Missing)
	case s.VisibleAtReadLow < minShare:
		return false, fmt.Sprintf("%.3f%% visible at %.0f ms (95%% lower bound), below %.1f%%", 100*s.VisibleAtReadLow, s.ReadAfterMs, 100*minShare)
	}
	return true, ""
}

// Sweep runs the steps of a plan one after the other with run, and stops
// raising the rate of a batch size after the first step of it that does
// not hold (a higher rate would not hold either, and only loads the world
// for the steps after).
type Sweep struct {
	Steps    []SweepStep
	MinShare float64
	Run      func(ctx context.Context, s SweepStep) SweepResult
	// Progress gets a line as each step ends (nil: none).
	Progress io.Writer
}

// Do runs the sweep and returns every step's result, in order (a step
// skipped after its batch size failed is not in it).
func (sw Sweep) Do(ctx context.Context) []SweepResult {
	var out []SweepResult
	failed := map[int]bool{}
	for _, st := range sw.Steps {
		if ctx.Err() != nil {
			break
		}
		if failed[st.Batch] {
			continue
		}
		r := sw.Run(ctx, st)
		r.Step = st
		out = append(out, r)
		ok, why := r.Holds(sw.MinShare)
		if !ok {
			failed[st.Batch] = true
		}
		if sw.Progress != nil {
			verdict := "holds"
			if !ok {
				verdict = "does not hold: " + why
			}
			fmt.Fprintf(sw.Progress, "step %.0f records/s, %d to a write: %s\n", st.Rate, st.Batch, verdict)
		}
	}
	return out
}

// Knee is the step with the highest rate kept among those that hold: the
// fastest the world keeps its promise. ok is false when none held.
func Knee(results []SweepResult, minShare float64) (knee SweepResult, ok bool) {
	for _, r := range results {
		if held, _ := r.Holds(minShare); held && (!ok || r.Sum.WriteRate > knee.Sum.WriteRate) {
			knee, ok = r, true
		}
	}
	return knee, ok
}

// WriteSweep writes the sweep's table (a row per step: the rate asked and
// kept, the writes sent late, the share visible at the read with its lower
// bound, the lag p50/p99/p99.9, the machine's CPU, whether it held) and
// its finding: the knee, and how long a million records take at it.
func WriteSweep(w io.Writer, results []SweepResult, minShare float64) {
	fmt.Fprintln(w, "| batch | rate asked | rate kept | writes late | visible at read (95 % low) | found at all | missing | lag p50 | p99 | p99.9 | machine CPU | holds |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range results {
		s := r.Sum
		ok, why := r.Holds(minShare)
		verdict := "yes"
		if !ok {
			verdict = "no: " + why
		}
		if r.Err != nil {
			fmt.Fprintf(w, "| %d | %.0f/s | - | - | - | - | - | - | - | - | - | %s |\n", r.Step.Batch, r.Step.Rate, verdict)
			continue
		}
		fmt.Fprintf(w, "| %d | %.0f/s | %.0f/s | %d | %.3f%% | %.3f%% | %d | %.0f ms | %.0f ms | %.0f ms | %.2f cores | %s |\n",
			r.Step.Batch, r.Step.Rate, s.WriteRate, s.WritesLate, 100*s.VisibleAtReadLow, 100*s.VisibleAtRead, s.Missing,
			s.P50, s.P99, s.P999, r.MachineCores, verdict)
	}
	knee, ok := Knee(results, minShare)
	if !ok {
		fmt.Fprintf(w, "\nno step held %.1f%% visible at the read: the knee is below the lowest rate tried\n", 100*minShare)
		return
	}
	million := time.Duration(1e6 / knee.Sum.WriteRate * float64(time.Second))
	fmt.Fprintf(w, "\nknee: %.0f records/s kept, %d to a write, with %.3f%% visible at %.0f ms (95%% lower bound): a million records in %s\n",
		knee.Sum.WriteRate, knee.Step.Batch, 100*knee.Sum.VisibleAtReadLow, knee.Sum.ReadAfterMs, million.Round(time.Second))
}

// SweepStepRunner is a Sweep's Run around check, which runs the
// replication check of one step and returns its run folder: it measures
// the machine's CPU over the step and reads the check's summary.
func (g Groups) SweepStepRunner(check func(context.Context, SweepStep) (dir string, err error)) func(context.Context, SweepStep) SweepResult {
	return func(ctx context.Context, s SweepStep) SweepResult {
		before := g.Sample()
		dir, err := check(ctx, s)
		use := before.Until(g.Sample())
		r := SweepResult{Dir: dir, Err: err}
		if sec := use.Wall.Seconds(); sec > 0 {
			r.MachineCores = use.Machine / sec
		}
		if err == nil {
			sum, lerr := history.LoadReplication(dir)
			if lerr != nil {
				r.Err = lerr
			} else {
				r.Sum = *sum
			}
		}
		return r
	}
}

// ParseBatches reads a comma-separated list of batch sizes ("1,16,64"),
// each dividing a partition (replcheck.BatchFits).
func ParseBatches(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || !replcheck.BatchFits(n) {
			return nil, fmt.Errorf("batch %q: records to a write, one of 1, 2, 4, 8, 16, 32 or 64", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseRates reads a comma-separated list of rates ("1000,2000,4000").
func ParseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		var r float64
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%g", &r); err != nil || r <= 0 {
			return nil, fmt.Errorf("rate %q: give records per second above 0", f)
		}
		out = append(out, r)
	}
	return out, nil
}
