// Package reports builds a run's report (JSON, Markdown, HTML with charts,
// JUnit XML) from its recorded history and timeline only; it never talks to
// the world, so `kong report DIR` can rebuild every format later.
package reports
