// Package scenarios holds the game days, one file per scenario, each a
// registered spec that wires faults, workload and checkers from package
// harness; the same registry feeds `go test ./scenarios/...` and `kong run`.
package scenarios
