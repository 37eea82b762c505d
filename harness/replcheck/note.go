package replcheck

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// The replication summary travels in the history as one note event, so that
// checkers judge it from the history alone: the whole summary as JSON under
// noteSummary, and its figures beside it for a reader of history.jsonl.
const (
	replicationNote = "replication-check"
	noteSummary     = "summary"
)

// noteEvent encodes a summary as a history event.
func noteEvent(r history.Replication, at time.Time) history.Event {
	d := map[string]string{}
	for k, v := range r.Figures() {
		d[k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	if b, err := json.Marshal(r); err == nil {
		d[noteSummary] = string(b)
	}
	return history.Event{Kind: history.Note, Time: at, Name: replicationNote, Target: r.From + "->" + r.To, Detail: d}
}

// fromHistory finds the last replication summary in a history.
func fromHistory(h *history.History) (history.Replication, bool, error) {
	for i := len(h.Events) - 1; i >= 0; i-- {
		e := h.Events[i]
		if e.Kind != history.Note || e.Name != replicationNote {
			continue
		}
		var r history.Replication
		if err := json.Unmarshal([]byte(e.Detail[noteSummary]), &r); err != nil {
			return history.Replication{}, true, fmt.Errorf("the replication-check event holds no readable summary: %w", err)
		}
		return r, true, nil
	}
	return history.Replication{}, false, nil
}
