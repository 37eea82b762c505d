package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// Names of the report files written into a run's folder, beside the files
// the run wrote (history.HistoryFile, history.RunInfoFile, ...).
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	JUnitFile    = "junit.xml"
)

// Status is how a run ended.
type Status string

const (
	// StatusPassed: the run completed and every checker was valid.
	StatusPassed Status = "passed"
	// StatusFailed: the run completed and a checker was not valid.
	StatusFailed Status = "failed"
	// StatusAborted: a stop condition (or the user) stopped the run early;
	// the world was healed.
	StatusAborted Status = "aborted"
	// StatusError: the harness itself failed (the world did not come up, a
	// fault could not be injected, ...).
	StatusError Status = "error"
)

func (s Status) known() bool {
	switch s {
	case StatusPassed, StatusFailed, StatusAborted, StatusError:
		return true
	}
	return false
}

// RunInfo is the metadata a runner writes to run.json next to the history:
// what ran, how it ended and what the checkers said.
type RunInfo struct {
	Scenario    string `json:"scenario"`
	Description string `json:"description,omitempty"`
	// World names the world the run used (e.g. its directory or name).
	World   string `json:"world,omitempty"`
	Profile string `json:"profile,omitempty"`
	// Backend is "local" or "containers".
	Backend  string    `json:"backend,omitempty"`
	Seed     int64     `json:"seed"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Status   Status    `json:"status"`
	// Reason says why the run stopped (the stop condition, the error, or the
	// failed checkers).
	Reason string `json:"reason,omitempty"`
	// Replay is the command line that replays the run (same seed).
	Replay   string           `json:"replay,omitempty"`
	Checkers []history.Result `json:"checkers,omitempty"`
	// Figures are free-form key figures (replication lag percentiles,
	// convergence time, ...) that the report copies through; see the
	// Fig* names for the ones it understands.
	Figures map[string]float64 `json:"figures,omitempty"`
}

// Figure names in RunInfo.Figures from which the report builds its
// replication-lag section when there is no replication.json.
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

// ReplicationLag is the distribution of cross-region replication lag: how
// long after a write was acknowledged in one region it became readable in
// another. Durations are in milliseconds.
type ReplicationLag struct {
	// Samples is how many writes were followed.
	Samples int `json:"samples"`
	// VisibleAtRead is the share of samples visible at the first read in the
	// other region (e.g. 500 ms after the write), 0..1.
	VisibleAtRead float64 `json:"visible_at_read"`
	// Missing counts samples never seen in the other region.
	Missing           int      `json:"missing"`
	P50               float64  `json:"p50_ms"`
	P90               float64  `json:"p90_ms"`
	P99               float64  `json:"p99_ms"`
	P999              float64  `json:"p999_ms"`
	Max               float64  `json:"max_ms"`
	Histogram         []Bucket `json:"histogram,omitempty"`
	AllVisibleAfterMs float64  `json:"all_visible_after_ms"`
}

// Bucket is one histogram bucket: Count samples with a lag at most UpperMs
// (and above the previous bucket's bound).
type Bucket struct {
	UpperMs float64 `json:"upper_ms"`
	Count   int     `json:"count"`
}

// LoadRunInfo reads dir/run.json.
func LoadRunInfo(dir string) (RunInfo, error) {
	var ri RunInfo
	b, err := os.ReadFile(filepath.Join(dir, history.RunInfoFile))
	if err != nil {
		return ri, err
	}
	if err := json.Unmarshal(b, &ri); err != nil {
		return ri, fmt.Errorf("%s: %w", filepath.Join(dir, history.RunInfoFile), err)
	}
	return ri, nil
}

// SaveRunInfo writes dir/run.json (indented, atomically), for runners.
func SaveRunInfo(dir string, ri RunInfo) error {
	b, err := json.MarshalIndent(ri, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", history.RunInfoFile, err)
	}
	return writeFileAtomic(filepath.Join(dir, history.RunInfoFile), append(b, '\n'))
}

// LoadReplication reads dir/replication.json.
func LoadReplication(dir string) (*ReplicationLag, error) {
	b, err := os.ReadFile(filepath.Join(dir, history.ReplicationFile))
	if err != nil {
		return nil, err
	}
	var rl ReplicationLag
	if err := json.Unmarshal(b, &rl); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, history.ReplicationFile), err)
	}
	return &rl, nil
}

// replicationFromFigures builds the replication section from run figures,
// or returns nil when they hold none.
func replicationFromFigures(f map[string]float64) *ReplicationLag {
	names := []string{FigReplicationSamples, FigReplicationVisibleAtRead, FigReplicationMissing,
		FigReplicationP50, FigReplicationP90, FigReplicationP99, FigReplicationP999,
		FigReplicationMax, FigReplicationAllVisibleAfter}
	found := false
	for _, n := range names {
		if _, ok := f[n]; ok {
			found = true
		}
	}
	if !found {
		return nil
	}
	return &ReplicationLag{
		Samples:           int(f[FigReplicationSamples]),
		VisibleAtRead:     f[FigReplicationVisibleAtRead],
		Missing:           int(f[FigReplicationMissing]),
		P50:               f[FigReplicationP50],
		P90:               f[FigReplicationP90],
		P99:               f[FigReplicationP99],
		P999:              f[FigReplicationP999],
		Max:               f[FigReplicationMax],
		AllVisibleAfterMs: f[FigReplicationAllVisibleAfter],
	}
}
