// Package scenarios holds the game days, one file per scenario, each a
// registered spec that wires faults (harness/fault), workload
// (harness/workload) and checkers (harness/check) through the one runner
// (harness/run), and declares its broken worlds: the scenario with one
// protection switched off, and the checker that must catch it. The same
// registry feeds `kong run`, `kong gameday` and `go test ./scenarios/...`,
// whose TestScenarios runs every scenario healthy and in each of its broken
// worlds; the README's table of broken worlds is generated from it.
package scenarios

//go:generate go test ./readme -run TestREADMEBrokenWorlds -update
