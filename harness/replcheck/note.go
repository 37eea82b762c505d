package replcheck

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// The replication summary travels in the history as one note event, so that
// checkers judge it from the history alone.
const replicationNote = "replication-check"

// noteEvent encodes a summary's figures as a history event.
func noteEvent(r history.Replication, at time.Time) history.Event {
	d := map[string]string{"from": r.From, "to": r.To, "write_consistency": r.WriteConsistency, "read_consistency": r.ReadConsistency}
	for k, v := range r.Figures() {
		d[k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return history.Event{Kind: history.Note, Time: at, Name: replicationNote, Target: r.From + "->" + r.To, Detail: d}
}

// fromHistory finds the last replication summary in a history.
func fromHistory(h *history.History) (history.Replication, bool, error) {
	for i := len(h.Events) - 1; i >= 0; i-- {
		e := h.Events[i]
		if e.Kind != history.Note || e.Name != replicationNote {
			continue
		}
		f := map[string]float64{}
		for k, v := range e.Detail {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				f[k] = x
			}
		}
		for _, k := range []string{history.FigReplicationSamples, history.FigReplicationVisibleAtRead, history.FigReplicationMissing} {
			if _, ok := f[k]; !ok {
				return history.Replication{}, true, fmt.Errorf("the replication-check event has no %s", k)
			}
		}
		return history.Replication{
			Samples: int(f[history.FigReplicationSamples]), VisibleAtRead: f[history.FigReplicationVisibleAtRead], Missing: int(f[history.FigReplicationMissing]),
			P50: f[history.FigReplicationP50], P90: f[history.FigReplicationP90], P99: f[history.FigReplicationP99], P999: f[history.FigReplicationP999], Max: f[history.FigReplicationMax],
			AllVisibleAfterMs: f[history.FigReplicationAllVisibleAfter],
			From:              e.Detail["from"], To: e.Detail["to"],
			WriteConsistency: e.Detail["write_consistency"], ReadConsistency: e.Detail["read_consistency"],
			Records: int(f["replication.records"]), ReadAfterMs: f["replication.read_after_ms"],
			WriteErrors: int(f["replication.write_errors"]), ReadErrors: int(f["replication.read_errors"]),
			Late: int(f["replication.late"]), Sampled: int(f["replication.sampled"]),
			ReadsLate: int(f["replication.reads_late"]), ReadDelayP99Ms: f["replication.read_delay_p99_ms"],
			VisibleLateReads: int(f["replication.visible_late_reads"]),
			VisibleAtReadMin: f["replication.visible_at_read_min"], VisibleAtReadLow: f["replication.visible_at_read_low"],
			PollLatencyP50Ms: f["replication.poll_latency_p50_ms"],
			WriteSeconds:     f["replication.write_seconds"], WriteRate: f["replication.write_rate"],
			SeenAfterWritesMs: f["replication.seen_after_writes_ms"], ConvergeSeconds: f["replication.converge_seconds"],
			SeenAfterConvergeMs: f["replication.seen_after_converge_ms"],
		}, true, nil
	}
	return history.Replication{}, false, nil
}
