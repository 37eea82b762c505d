// Package run turns a topology into an experiment and runs it: one runner
// (Experiment) takes every run through the same phases (steady, inject,
// observe, recover, converge, verify; see phases), heals whatever it
// injected when the run ends (trial.finish), and leaves the run's folder:
// history.jsonl, run.json, phases.log, and the components' logs of a run
// that did not pass. It also holds the read-back verify step and the
// progress reports.
//
// The harness is split along its seams, each a package under harness/:
//
//	history    the leaf: operations, events, phases, the recorder, and one Go
//	           type per file of a run's folder; the source of truth
//	check      checkers that judge a history, and nothing else
//	workload   what users do: the pacer, members, sessions
//	fault      what breaks: the fault lifecycle, selectors, one file per
//	           fault; fault/preflight resets what a dead run left, and
//	           fault/measured holds the faults that measure their effect
//	run        this package: the runner that wires the three above through
//	           the phases, with a pluggable observe step (Observer)
//	replcheck  the replication check, an Observer of the one runner
//
// Package scenarios wires them into registered game days, package gameday
// runs suites of them, and package reports reads a run's folder and never
// talks to the world.
package run
