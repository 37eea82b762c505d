package replcheck

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

func TestWriteSummary(t *testing.T) {
	var b bytes.Buffer
	WriteSummary(&b, history.Replication{Samples: 1000, From: "us-east-1", To: "us-west-2", WriteConsistency: "LOCAL_QUORUM",
		ReadConsistency: "LOCAL_ONE", ReadAfterMs: 500, WriteRate: 2000, VisibleAtRead: 0.999, Late: 1, LateSeen: 1,
		P50: 12, P90: 30, P99: 80, P999: 300, Max: 612, AllVisibleAfterMs: 612, SeenAfterWritesMs: 40,
		Histogram: []history.LagBucket{{UpperMs: 10, Count: 400}, {UpperMs: 1000, Count: 600}}})
	out := b.String()
	require.Contains(t, out, "1000 records written in us-east-1 (LOCAL_QUORUM, 2000/s), read in us-west-2 (LOCAL_ONE) 500 ms after each write:")
	require.Contains(t, out, "  visible at 500 ms  99.9000% (1 late, 1 of them seen later)\n")
	require.Contains(t, out, "  all visible       within 612 ms of each write")
	require.Contains(t, out, " ≤10ms:400 ≤1000ms:600\n")
	require.NotContains(t, out, "convergence", "no convergence line without a fault healed")
	require.NotContains(t, out, "to a batch")
}

func TestWriteSummaryOfAPacedCheck(t *testing.T) {
	var b bytes.Buffer
	WriteSummary(&b, history.Replication{Samples: 1000, From: "us-east-1", To: "us-west-2", WriteRate: 2950, RateAsked: 3000,
		WritesLate: 12, WriteLateMaxMs: 140, ReadToleranceMs: 25, ReadAfterMs: 500})
	require.Contains(t, b.String(), "  pace              3000 records/s asked, 2950/s kept; 12 writes sent more than 25 ms after their time (the latest 140 ms)\n")
	b.Reset()
	WriteSummary(&b, history.Replication{Samples: 1000, WriteRate: 2950})
	require.NotContains(t, b.String(), "pace", "an unpaced check has no pace to tell")
}

func TestPaceDue(t *testing.T) {
	require.Zero(t, paceDue(0, 3000))
	require.Equal(t, time.Second, paceDue(3000, 3000))
	require.Equal(t, 16*time.Millisecond/3, paceDue(16, 3000), "a batch of 16 at 3000/s every 5.33 ms")
}

func TestProgressPaceSaysWhatWasWrittenAndSeen(t *testing.T) {
	p := Progress{Records: 1_000_000, Written: 250_000, Read: 240_000, Visible: 239_928}
	got := p.Pace("us-west-2", 500*time.Millisecond)
	require.Equal(t, 250_000, got.Done)
	require.Equal(t, 1_000_000, got.Total)
	require.Equal(t, "records written", got.What)
	require.Equal(t, "99.97% seen in us-west-2 at 500ms", got.Note)
	require.Empty(t, Progress{Records: 10, Written: 3}.Pace("us-west-2", time.Second).Note, "nothing read yet: no share to tell")
}
