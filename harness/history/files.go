package history

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

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

// WriteFileAtomic writes a file through a temporary file in the same
// directory and a rename.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
