package check

import (
	"fmt"
	"testing"

	"github.com/kongchaos/kong/harness/history"
)

// BenchmarkCheckersMillionOps runs every checker, composed, over a
// synthetic history of 1,000,000 op records: 500,000 operations, each an
// invoke and its completion (about 460,000 user requests and 40,000
// probes), across two regions and six phases.
func BenchmarkCheckersMillionOps(b *testing.B) {
	h := synthHistory(1_000_000)
	if len(h.Ops) != 1_000_000 {
		b.Fatalf("synthetic history has %d records", len(h.Ops))
	}
	checkers := allCheckers()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := checkers.Check(history.NewIndex(h))
		if r.Valid != history.VerdictValid {
			b.Fatalf("%s: %s", r.Valid, r.Reason)
		}
	}
	b.ReportMetric(float64(len(h.Ops)), "records")
}

// BenchmarkIndexHistory measures the pairing that the checkers share.
func BenchmarkIndexHistory(b *testing.B) {
	h := synthHistory(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		history.NewIndex(h)
	}
}

// BenchmarkCheckersScaling shows the composed checkers' cost growing
// linearly with the history's size.
func BenchmarkCheckersScaling(b *testing.B) {
	for _, n := range []int{125_000, 250_000, 500_000, 1_000_000, 2_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			h := synthHistory(n)
			checkers := allCheckers()
			b.ResetTimer()
			for b.Loop() {
				if r := checkers.Check(history.NewIndex(h)); r.Valid != history.VerdictValid {
					b.Fatalf("%s: %s", r.Valid, r.Reason)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
		})
	}
}
