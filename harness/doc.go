// Package harness turns a topology into an experiment: faults (what breaks),
// workload (what users do) and checkers (what must hold) kept apart, and a
// history of everything that happened, which is the source of truth that
// checkers and reports read after the run.
package harness
