package history

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Replication is replication.json: what a replication check found. The first
// fields are the lag distribution a report draws (and rebuilds from run
// figures when there is no replication.json); the others say how the check
// ran and how exact it is. Durations are in milliseconds.
type Replication struct {
	// Samples is how many records were followed: every record whose write
	// was acknowledged.
	Samples int `json:"samples"`
	// VisibleAtRead is the share of them the read ReadAfter after the
	// acknowledgement found, 0..1.
	VisibleAtRead float64 `json:"visible_at_read"`
	// Missing counts records never seen in the other region before the
	// deadline.
	Missing int `json:"missing"`
	// Lag percentiles over the records seen (see the method).
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	// Histogram of the lags of the records seen.
	Histogram []LagBucket `json:"histogram,omitempty"`
	// AllVisibleAfterMs: every record was seen in the other region at most
	// this long after its own write was acknowledged (the read's delay for
	// records visible at the read, the re-read that first saw it for the
	// late ones); 0 when records are missing.
	AllVisibleAfterMs float64 `json:"all_visible_after_ms"`

	From             string  `json:"from"`
	To               string  `json:"to"`
	Records          int     `json:"records"`
	WriteConsistency string  `json:"write_consistency"`
	ReadConsistency  string  `json:"read_consistency"`
	ReadAfterMs      float64 `json:"read_after_ms"`
	Concurrency      int     `json:"concurrency"`
	// Batch is how many records one write carried.
	Batch int `json:"batch"`
	// WriteErrors counts records whose write was refused at every attempt
	// (they were not applied, and are not followed).
	WriteErrors int `json:"write_errors"`
	// WriteTimeouts counts records whose write was never acknowledged and
	// timed out at least once (or lost its connection): the outcome is
	// unknown, so they are followed like acknowledged ones but counted
	// apart, neither in Samples nor in Missing; WriteTimeoutsSeen those of
	// them seen in the other region (their write was applied).
	WriteTimeouts     int `json:"write_timeouts,omitempty"`
	WriteTimeoutsSeen int `json:"write_timeouts_seen,omitempty"`
	// ReadErrors counts reads at ReadAfter that failed (their records
	// count as not visible at the read and are re-read).
	ReadErrors int `json:"read_errors"`
	// Late counts records not visible at the read; LateSeen those of them
	// seen later.
	Late     int `json:"late"`
	LateSeen int `json:"late_seen"`
	// Sampled counts records whose lag was polled from the acknowledgement.
	Sampled int `json:"sampled"`
	// PollIntervalMs is the sample's first poll interval; later polls are
	// 10 % of the time since the acknowledgement apart.
	PollIntervalMs float64 `json:"poll_interval_ms"`
	// Read delays: how long after the acknowledgement the read was issued;
	// ReadsLate counts reads issued more than ReadToleranceMs after they
	// were due.
	ReadDelayP50Ms  float64 `json:"read_delay_p50_ms"`
	ReadDelayP99Ms  float64 `json:"read_delay_p99_ms"`
	ReadDelayMaxMs  float64 `json:"read_delay_max_ms"`
	ReadsLate       int     `json:"reads_late"`
	ReadToleranceMs float64 `json:"read_tolerance_ms"`
	// VisibleLateReads counts the records found visible by a read issued
	// late: at ReadAfter exactly they may not have been.
	VisibleLateReads int `json:"visible_late_reads"`
	// Bounds of the share visible at ReadAfter exactly. VisibleAtReadMin
	// counts every record a late read found as not visible. VisibleAtReadLow
	// is a 95 % lower bound: of the sampled records that a late read found
	// (SampledLateRead, a random part of the VisibleLateReads), SampledLateSlow
	// were not seen by the polls before ReadAfter; the upper end of the 95 %
	// Wilson interval of that proportion, applied to VisibleLateReads, is
	// subtracted (all of them when no sampled record was found late). Both
	// equal VisibleAtRead when no read was late.
	VisibleAtReadMin float64 `json:"visible_at_read_min"`
	VisibleAtReadLow float64 `json:"visible_at_read_low"`
	SampledLateRead  int     `json:"sampled_late_read"`
	SampledLateSlow  int     `json:"sampled_late_slow"`
	// SampledVisible counts the sampled records visible at their read,
	// SampledSlow those of them the polls did not see before ReadAfter.
	SampledVisible int `json:"sampled_visible"`
	SampledSlow    int `json:"sampled_slow"`
	// PollLatency: how long a sample poll took (lags are upper bounds by
	// about one poll).
	PollLatencyP50Ms float64 `json:"poll_latency_p50_ms"`
	PollLatencyP99Ms float64 `json:"poll_latency_p99_ms"`
	// ConfirmedEarly counts records found by a read issued before their
	// due (the first read of their partition, due for an older record).
	ConfirmedEarly int `json:"confirmed_early"`
	// CQL reads the check issued: Reads that settle records at ReadAfter
	// (about one per partition), SamplePolls of sampled records, Rereads of late
	// partitions; SampleDropped counts sampled records not polled because
	// too many polls were under way.
	Reads         int `json:"reads"`
	SamplePolls   int `json:"sample_polls"`
	Rereads       int `json:"rereads"`
	SampleDropped int `json:"sample_dropped"`
	// WriteSeconds is the time from the first write to the last
	// acknowledgement; WriteRate the records acknowledged per second in it.
	WriteSeconds float64 `json:"write_seconds"`
	WriteRate    float64 `json:"write_rate"`
	// RateAsked is the pace the writes were asked to keep, in records per
	// second (0: unpaced); WritesLate counts the writes (batches) sent more
	// than ReadToleranceMs after their time, the latest WriteLateMaxMs late.
	RateAsked      float64 `json:"rate_asked,omitempty"`
	WritesLate     int     `json:"writes_late,omitempty"`
	WriteLateMaxMs float64 `json:"write_late_max_ms,omitempty"`
	// SeenAfterWritesMs is how long after the last acknowledgement the last
	// record was first seen (the reads and re-reads included); 0 when
	// records are missing.
	SeenAfterWritesMs float64 `json:"seen_after_writes_ms"`
	// ConvergeSeconds is how long the late records were re-read after the
	// writes (and any heal) ended; SeenAfterConvergeMs how long after that
	// began the last record was first seen (0 when every record was seen
	// before, or records are missing): after a healed partition, the time
	// until everything written during it was visible.
	ConvergeSeconds     float64 `json:"converge_seconds"`
	SeenAfterConvergeMs float64 `json:"seen_after_converge_ms"`
	// Method says in words what was measured exactly and what is bounded.
	Method string `json:"method"`
	// Timeline is the lag second by second of the writes, and Evidence the
	// nodes' own figures over the same seconds (nil when not sampled).
	Timeline []LagSecond   `json:"timeline,omitempty"`
	Evidence *NodeEvidence `json:"evidence,omitempty"`
}

// LagBucket is one bucket of a lag histogram: Count records with a lag at
// most UpperMs and above the previous bucket's bound.
type LagBucket struct {
	UpperMs float64 `json:"upper_ms"`
	Count   int     `json:"count"`
}

// Figure names a replication check adds to run.json (the first ones are
// those a report rebuilds its replication section from when there is no
// replication.json).
const (
	FigReplicationSamples         = "replication.samples"
	FigReplicationVisibleAtRead   = "replication.visible_at_read"
	FigReplicationMissing         = "replication.missing"
	FigReplicationP50             = "replication.p50_ms"
	FigReplicationP90             = "replication.p90_ms"
	FigReplicationP99             = "replication.p99_ms"
	FigReplicationP999            = "replication.p999_ms"
	FigReplicationMax             = "replication.max_ms"
	FigReplicationAllVisibleAfter = "replication.all_visible_after_ms"
)

// Figures are the summary as run figures.
func (r Replication) Figures() map[string]float64 {
	figs := r.figures()
	if r.Evidence != nil {
		figs["replication.settle_seconds"] = r.Evidence.SettleSeconds
	}
	return figs
}

func (r Replication) figures() map[string]float64 {
	return map[string]float64{
		FigReplicationSamples:                float64(r.Samples),
		FigReplicationVisibleAtRead:          r.VisibleAtRead,
		FigReplicationMissing:                float64(r.Missing),
		FigReplicationP50:                    r.P50,
		FigReplicationP90:                    r.P90,
		FigReplicationP99:                    r.P99,
		FigReplicationP999:                   r.P999,
		FigReplicationMax:                    r.Max,
		FigReplicationAllVisibleAfter:        r.AllVisibleAfterMs,
		"replication.records":                float64(r.Records),
		"replication.read_after_ms":          r.ReadAfterMs,
		"replication.write_errors":           float64(r.WriteErrors),
		"replication.write_timeouts":         float64(r.WriteTimeouts),
		"replication.write_timeouts_seen":    float64(r.WriteTimeoutsSeen),
		"replication.read_errors":            float64(r.ReadErrors),
		"replication.late":                   float64(r.Late),
		"replication.sampled":                float64(r.Sampled),
		"replication.reads_late":             float64(r.ReadsLate),
		"replication.visible_late_reads":     float64(r.VisibleLateReads),
		"replication.visible_at_read_min":    r.VisibleAtReadMin,
		"replication.visible_at_read_low":    r.VisibleAtReadLow,
		"replication.poll_latency_p50_ms":    r.PollLatencyP50Ms,
		"replication.reads":                  float64(r.Reads),
		"replication.sample_polls":           float64(r.SamplePolls),
		"replication.rereads":                float64(r.Rereads),
		"replication.read_delay_p99_ms":      r.ReadDelayP99Ms,
		"replication.write_seconds":          r.WriteSeconds,
		"replication.write_rate":             r.WriteRate,
		"replication.seen_after_writes_ms":   r.SeenAfterWritesMs,
		"replication.converge_seconds":       r.ConvergeSeconds,
		"replication.seen_after_converge_ms": r.SeenAfterConvergeMs,
	}
}

// LoadReplication reads dir/replication.json.
func LoadReplication(dir string) (*Replication, error) {
	b, err := os.ReadFile(filepath.Join(dir, ReplicationFile))
	if err != nil {
		return nil, err
	}
	var r Replication
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ReplicationFile), err)
	}
	return &r, nil
}

// SaveReplication writes dir/replication.json (indented, atomically).
func SaveReplication(dir string, r Replication) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", ReplicationFile, err)
	}
	return WriteFileAtomic(filepath.Join(dir, ReplicationFile), append(b, '\n'))
}
