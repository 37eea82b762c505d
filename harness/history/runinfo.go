package history

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
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

// Known reports whether s is one of the statuses above.
func (s Status) Known() bool {
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
	// Backend is "local", "containers" or "kubernetes".
	Backend  string    `json:"backend,omitempty"`
	Seed     uint64    `json:"seed"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Status   Status    `json:"status"`
	// Reason says why the run stopped (the stop condition, the error, or the
	// failed checkers).
	Reason string `json:"reason,omitempty"`
	// Replay is the command line that replays the run (same seed).
	Replay   string   `json:"replay,omitempty"`
	Checkers []Result `json:"checkers,omitempty"`
	// Figures are free-form key figures (replication lag percentiles,
	// convergence time, ...) that the report copies through; see the
	// Fig* names for the ones it understands.
	Figures map[string]float64 `json:"figures,omitempty"`
	// Generator says whether the workload kept the rate it was asked for.
	Generator *GeneratorReport `json:"generator,omitempty"`
}

// LoadRunInfo reads dir/run.json.
func LoadRunInfo(dir string) (RunInfo, error) {
	var ri RunInfo
	b, err := os.ReadFile(filepath.Join(dir, RunInfoFile))
	if err != nil {
		return ri, err
	}
	if err := json.Unmarshal(b, &ri); err != nil {
		return ri, fmt.Errorf("%s: %w", filepath.Join(dir, RunInfoFile), err)
	}
	return ri, nil
}

// SaveRunInfo writes dir/run.json (indented, atomically), for runners.
func SaveRunInfo(dir string, ri RunInfo) error {
	b, err := json.MarshalIndent(ri, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", RunInfoFile, err)
	}
	return WriteFileAtomic(filepath.Join(dir, RunInfoFile), append(b, '\n'))
}

// GeneratorReport says whether the generator kept the rate it was asked
// for: requested operations (what the pacer wanted by Elapsed) against
// started ones, and how many started late.
type GeneratorReport struct {
	Elapsed time.Duration `json:"elapsed_ns"`
	// Requested is the number of operations the pacer intended by Elapsed
	// (bounded by MaxOps), RequestedRate that per second.
	Requested     float64 `json:"requested"`
	RequestedRate float64 `json:"requested_rate"`
	Scheduled     uint64  `json:"scheduled"`
	Started       uint64  `json:"started"`
	Completed     uint64  `json:"completed"`
	// AchievedRate is Started per second of Elapsed.
	AchievedRate float64 `json:"achieved_rate"`
	// Late counts operations that started more than LateThreshold after
	// they were due; MaxLateness is the worst.
	Late          uint64        `json:"late"`
	LateThreshold time.Duration `json:"late_threshold_ns"`
	MaxLateness   time.Duration `json:"max_lateness_ns"`
	// Dropped counts operations that were due but never started: the
	// backlog at stop of a generator that fell behind (they were neither
	// sent nor judged).
	Dropped     uint64 `json:"dropped"`
	PeakWorkers int64  `json:"peak_workers"`
	MaxWorkers  int    `json:"max_workers"`
	// Kept is true when the generator started (almost) every requested
	// operation and (almost) none late; Reason says why or why not.
	// RateKept says it started (almost) every requested operation, late or
	// not; LateTolerance is the share of late operations it allows.
	Kept          bool    `json:"kept"`
	RateKept      bool    `json:"rate_kept"`
	LateTolerance float64 `json:"late_tolerance"`
	Reason        string  `json:"reason"`
}

// String is the report's reason.
func (r GeneratorReport) String() string { return r.Reason }

// EventGenerator names the note event the runner records when the traffic
// stops: the generator report, so that checkers, which see only the
// history, can tell whether the world got the load it was meant to.
const EventGenerator = "generator"

// Event is the report as a history note (History.Generator reads it back).
func (r GeneratorReport) Event(at time.Time) Event {
	d := map[string]string{"kept": strconv.FormatBool(r.Kept), "reason": r.Reason}
	if b, err := json.Marshal(r); err == nil {
		d["report"] = string(b)
	}
	return Event{Kind: Note, Time: at, Name: EventGenerator, Detail: d}
}

// Generator returns the last generator report the history holds; found is
// false when it holds none (a run without traffic, or one recorded before
// the report travelled in the history).
func (h *History) Generator() (r GeneratorReport, found bool, err error) {
	for i := len(h.Events) - 1; i >= 0; i-- {
		e := h.Events[i]
		if e.Kind != Note || e.Name != EventGenerator {
			continue
		}
		if err := json.Unmarshal([]byte(e.Detail["report"]), &r); err != nil {
			return GeneratorReport{}, true, fmt.Errorf("the generator event holds no readable report: %w", err)
		}
		return r, true, nil
	}
	return GeneratorReport{}, false, nil
}
