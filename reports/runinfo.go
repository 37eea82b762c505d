package reports

import (
	"github.com/kongchaos/kong/harness/history"
)

// Names of the report files written into a run's folder, beside the files
// the run wrote (history.HistoryFile, history.RunInfoFile, ...).
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	JUnitFile    = "junit.xml"
)

// replicationFromFigures builds the replication section from run figures,
// or returns nil when they hold none.
func replicationFromFigures(f map[string]float64) *history.Replication {
	names := []string{history.FigReplicationSamples, history.FigReplicationVisibleAtRead, history.FigReplicationMissing,
		history.FigReplicationP50, history.FigReplicationP90, history.FigReplicationP99, history.FigReplicationP999,
		history.FigReplicationMax, history.FigReplicationAllVisibleAfter}
	found := false
	for _, n := range names {
		if _, ok := f[n]; ok {
			found = true
		}
	}
	if !found {
		return nil
	}
	return &history.Replication{
		Samples:           int(f[history.FigReplicationSamples]),
		VisibleAtRead:     f[history.FigReplicationVisibleAtRead],
		Missing:           int(f[history.FigReplicationMissing]),
		P50:               f[history.FigReplicationP50],
		P90:               f[history.FigReplicationP90],
		P99:               f[history.FigReplicationP99],
		P999:              f[history.FigReplicationP999],
		Max:               f[history.FigReplicationMax],
		AllVisibleAfterMs: f[history.FigReplicationAllVisibleAfter],
	}
}
