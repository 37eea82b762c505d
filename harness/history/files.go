package history

// Names of the files in a run's folder.
const (
	// HistoryFile is the history: one Record per line.
	HistoryFile = "history.jsonl"
	// RunInfoFile is what ran, how it ended and what the checkers said.
	RunInfoFile = "run.json"
	// ReplicationFile is the replication check's summary, when it ran.
	ReplicationFile = "replication.json"
	// PhaseLogFile is the human-readable log of the phases.
	PhaseLogFile = "phases.log"
	// LogsDir receives the components' logs of a run that did not pass.
	LogsDir = "logs"
)
