package replcheck

import (
	"fmt"
	"io"

	"github.com/kongchaos/kong/harness/history"
)

// WriteSummaryOf writes the figures of the replication check whose run
// folder is dir (see WriteSummary); nothing when it left no
// replication.json.
func WriteSummaryOf(w io.Writer, dir string) {
	if s, err := history.LoadReplication(dir); err == nil {
		WriteSummary(w, *s)
	}
}

// WriteSummary writes the figures of a replication check's summary (its
// replication.json) as kong prints them after the check.
func WriteSummary(w io.Writer, s history.Replication) {
	per := ""
	if s.Batch > 1 {
		per = fmt.Sprintf(", %d to a batch", s.Batch)
	}
	fmt.Fprintf(w, "\n%d records written in %s (%s%s, %.0f/s), read in %s (%s) %.0f ms after each write:\n",
		s.Samples, s.From, s.WriteConsistency, per, s.WriteRate, s.To, s.ReadConsistency, s.ReadAfterMs)
	if s.RateAsked > 0 {
		fmt.Fprintf(w, "  pace              %.0f records/s asked, %.0f/s kept; %d writes sent more than %.0f ms after their time (the latest %.0f ms)\n",
			s.RateAsked, s.WriteRate, s.WritesLate, s.ReadToleranceMs, s.WriteLateMaxMs)
	}
	fmt.Fprintf(w, "  visible at %.0f ms  %.4f%% (%d late, %d of them seen later)\n", s.ReadAfterMs, 100*s.VisibleAtRead, s.Late, s.LateSeen)
	fmt.Fprintf(w, "  missing           %d\n", s.Missing)
	fmt.Fprintf(w, "  lag               p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  p99.9 %.1f ms  max %.1f ms\n", s.P50, s.P90, s.P99, s.P999, s.Max)
	if s.Missing == 0 {
		fmt.Fprintf(w, "  all visible       within %.0f ms of each write; the last %.0f ms after the last write\n", s.AllVisibleAfterMs, s.SeenAfterWritesMs)
	}
	if s.SeenAfterConvergeMs > 0 {
		fmt.Fprintf(w, "  convergence       every record visible %.0f ms after the writes ended (and any fault was healed)\n", s.SeenAfterConvergeMs)
	}
	fmt.Fprintf(w, "  reads             %d records found by a read issued before their due; delay of the settling read p50 %.1f ms, p99 %.1f ms, max %.1f ms;\n"+
		"                    %d records settled more than %.0f ms late, %d of them found\n",
		s.ConfirmedEarly, s.ReadDelayP50Ms, s.ReadDelayP99Ms, s.ReadDelayMaxMs, s.ReadsLate, s.ReadToleranceMs, s.VisibleLateReads)
	if s.VisibleLateReads > 0 {
		fmt.Fprintf(w, "  at %.0f ms exactly between %.4f%% (95%% confidence; %d of %d sampled records visible at their read were slow) and %.4f%%\n",
			s.ReadAfterMs, 100*s.VisibleAtReadLow, s.SampledSlow, s.SampledVisible, 100*s.VisibleAtRead)
	}
	fmt.Fprintf(w, "  lag resolution    sampled lags are upper bounds by one poll (poll latency p50 %.1f ms, p99 %.1f ms)\n", s.PollLatencyP50Ms, s.PollLatencyP99Ms)
	fmt.Fprintf(w, "  CQL reads         %d settling reads (partitions of %d records), %d polls of %d sampled records, %d re-reads of late partitions\n",
		s.Reads, RecordsPerPartition, s.SamplePolls, s.Sampled, s.Rereads)
	if len(s.Histogram) > 0 {
		fmt.Fprintf(w, "  histogram        ")
		for _, b := range s.Histogram {
			fmt.Fprintf(w, " ≤%gms:%d", b.UpperMs, b.Count)
		}
		fmt.Fprintln(w)
	}
}
