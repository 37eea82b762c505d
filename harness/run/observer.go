package run

import (
	"context"

	"github.com/kongchaos/kong/harness/history"
)

// Observer is an experiment's own measurement, run by the runner in place
// of the timed observe and converge phases: the replication check
// (harness/replcheck) writes its records in observe and re-reads the late
// ones in converge. The workload runs beside it, the faults are injected
// before observe and healed before converge (unless HoldFaults), and the
// checkers judge the history it recorded.
type Observer interface {
	// Start prepares the measurement after the preflight, before the
	// first phase; an error ends the run. a is where it writes.
	Start(ctx context.Context, a Artifacts) error
	// Observe is the observe phase: it returns once its measurement is
	// taken. An error after ctx ended aborts the run as interrupted.
	Observe(ctx context.Context) error
	// Converge is the converge phase, after the faults were healed (or
	// held): the measurement of what arrives late. An error after ctx
	// ended aborts the run as interrupted.
	Converge(ctx context.Context) error
	// Verify runs in the verify phase, after the traffic stopped and
	// before the checkers: it records what it found (in the history, for
	// the checkers; in the run's folder) and returns figures for run.json.
	Verify(ctx context.Context) (map[string]float64, error)
	// Close releases what Start took. The runner calls it after a Start
	// that succeeded, whatever happened next, once the traffic stopped and
	// the faults were healed.
	Close()
}

// PacedObserver is an Observer whose observe phase lasts as long as its
// work takes: the progress reports plan the phase from the pace so far.
type PacedObserver interface {
	Observer
	// Pace says how much of the observe phase's work is done, of how much.
	Pace() Pace
}

// Pace is how far a PacedObserver's observe phase got: Done of Total units
// of work (What names them, such as "records written"), and a Note on how
// the work goes (such as the share of the records seen so far), or "".
type Pace struct {
	Done, Total int
	What, Note  string
}

// ReportingObserver is an Observer with progress of its own to report: the
// runner hands it the run's progress about once a second and a last time
// when the run is over, never from two goroutines at once.
type ReportingObserver interface {
	Observer
	Report(Progress)
}

// Artifacts is what a run lends its Observer to write into: the run's
// folder, its history and its phases.log.
type Artifacts struct {
	Dir     string
	History *history.Recorder
	Log     *PhaseLog
}
