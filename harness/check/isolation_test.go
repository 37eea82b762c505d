package check

import (
	"testing"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

func TestSplitIsolation(t *testing.T) {
	hist := func(iso, conv map[string]string) func() *history.History {
		return func() *history.History {
			b := newHB()
			if iso != nil {
				b.h.Events = append(b.h.Events, history.Event{Kind: history.Note, Name: history.EventIsolation, Time: b.at(0), Detail: iso})
			}
			if conv != nil {
				b.h.Events = append(b.h.Events, history.Event{Kind: history.Note, Name: history.EventConverged, Time: b.at(100), Detail: conv})
			}
			return b.history()
		}
	}
	written := map[string]string{"crossed": "0", "written_us-east": "20", "written_us-west": "19"}
	runCases(t, []checkCase{
		{name: "apart, then converged", checker: &SplitIsolation{MaxConvergence: time.Minute},
			history: hist(written, map[string]string{"after_heal_ms": "4200"}), want: history.VerdictValid,
			reason:  []string{"none of 39 markers", "4.2s after the heal"},
			figures: map[string]float64{FigConvergence: 4.2, "crossed_during_cut": 0, "written_during_cut.us-west": 19}},
		{name: "markers crossed the cut", checker: &SplitIsolation{},
			history: hist(map[string]string{"crossed": "3", "written_us-east": "20", "written_us-west": "19"}, map[string]string{"after_heal_ms": "10"}),
			want:    history.VerdictInvalid, reason: []string{"3 markers written during the cut were seen across it"}},
		{name: "a region could not write", checker: &SplitIsolation{},
			history: hist(map[string]string{"crossed": "0", "written_us-east": "20", "written_us-west": "0"}, map[string]string{"after_heal_ms": "10"}),
			want:    history.VerdictInvalid, reason: []string{"region us-west wrote nothing"}},
		{name: "never converged", checker: &SplitIsolation{},
			history: hist(written, map[string]string{"error": "us-west holds 3 of us-east's 20 markers", "deadline": "3m0s"}),
			want:    history.VerdictInvalid, reason: []string{"holds 3 of"}},
		{name: "too slow", checker: &SplitIsolation{MaxConvergence: time.Second},
			history: hist(written, map[string]string{"after_heal_ms": "4200"}), want: history.VerdictInvalid, reason: []string{"(max 1s)"}},
		{name: "not measured", checker: &SplitIsolation{}, history: hist(nil, nil), want: history.VerdictUnknown},
		{name: "apart, every region's reads answered", checker: &SplitIsolation{MaxConvergence: time.Minute},
			history: hist(map[string]string{"crossed": "0", "written_us-east": "20", "written_us-west": "19", "read_us-east": "19", "read_us-west": "20"},
				map[string]string{"after_heal_ms": "4200"}), want: history.VerdictValid,
			figures: map[string]float64{"reads_during_cut.us-east": 19, "reads_during_cut.us-west": 20}},
		{name: "no read answered in a region: nothing measured there", checker: &SplitIsolation{MaxConvergence: time.Minute},
			history: hist(map[string]string{"crossed": "0", "written_us-east": "20", "written_us-west": "19", "read_us-east": "19", "read_us-west": "0"},
				map[string]string{"after_heal_ms": "4200"}), want: history.VerdictUnknown,
			reason: []string{"no read of the other region's markers answered in region us-west", "not measured"}},
		{name: "unread and a region that wrote nothing", checker: &SplitIsolation{MaxConvergence: time.Minute},
			history: hist(map[string]string{"crossed": "0", "written_us-east": "0", "written_us-west": "19", "read_us-east": "0", "read_us-west": "0"},
				map[string]string{"after_heal_ms": "4200"}), want: history.VerdictInvalid,
			reason: []string{"region us-east wrote nothing", "region us-east, us-west"}},
	})
}
