// Package reports builds a run's report (JSON, Markdown, HTML with charts,
// JUnit XML) from its recorded history and timeline only; it never talks to
// the world, so `kong report DIR` can rebuild every format later.
//
// A run's artifacts directory holds what the runner wrote:
//
//   - history.jsonl: the harness history (operations and timeline events),
//     read leniently: a truncated last line or a garbled line is skipped and
//     noted, never fatal;
//   - run.json: the run's metadata and checker results, a history.RunInfo;
//   - replication.json (optional): a history.Replication measured by a
//     replication check.
//
// Build reads them and computes the Report model (phases, fault timeline,
// traffic changes, per-second series per region, key figures per phase).
// A run that failed, aborted or crashed still gets a report of what was
// known: what is missing is listed in Report.Notes.
//
// WriteAll writes every format in Writers into the directory (report.json,
// report.md, junit.xml, and report.html with charts drawn as inline SVG by
// package chart: one file that fetches nothing); a new format is one more
// Writer in that list. Load reads report.json back. KeyFigures picks the
// few numbers that say whether a run held; package index lists every run of a
// reports folder (index.md, index.html with the trends of those figures),
// Diff compares two runs, and package prune removes old runs.
package reports
