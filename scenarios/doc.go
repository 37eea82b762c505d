// Package scenarios holds the game days, one file per scenario, each a
// registered spec that wires faults (harness/fault), workload
// (harness/workload) and checkers (harness/check) through the one runner
// (harness/run); the same registry feeds `go test ./scenarios/...` and
// `kong run`.
package scenarios
