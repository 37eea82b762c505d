package check

import (
	"testing"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// storeProbe is a probe of key in region's Cassandra.
func storeProbe(key, region string, version int64, at int) op {
	o := probe(key, region, version, at)
	o.Source = history.SourceStore
	return o
}

func TestBehindStore(t *testing.T) {
	// k1 v2 acknowledged at 910 ms.
	b := &BehindStore{Grace: time.Second}
	runCases(t, []checkCase{
		{
			name:    "the gateway serves what the store holds",
			checker: b,
			history: func() *history.History {
				return writesK1().add(storeProbe("k1", "us-east", 2, 5000), probe("k1", "us-east", 2, 5500)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"probes_compared": 1, "probes_behind": 0},
		},
		{
			// A read below quorum reaches a replica that missed v2.
			name:    "the gateway serves an older version than the store showed before",
			checker: b,
			history: func() *history.History {
				return writesK1().add(storeProbe("k1", "us-east", 2, 5000), probe("k1", "us-east", 1, 5500)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"1 of 1 probes", "key k1 in region us-east", "served version 1", "showed 2"},
			figures: map[string]float64{"probes_behind": 1},
		},
		{
			name:    "a probe before the store's is not compared with it",
			checker: b,
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 1, 4000), storeProbe("k1", "us-east", 2, 5000)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"no probe through a gateway followed"},
		},
		{
			// Late in the whole region: the store does not show it either.
			name:    "a write late in the region's Cassandra too is not behind",
			checker: b,
			history: func() *history.History {
				return writesK1().add(storeProbe("k1", "eu-west", 1, 5000), probe("k1", "eu-west", 1, 5500)).history()
			},
			want: history.VerdictValid,
		},
		{
			// Another region's write whose invalidation is on its way.
			name:    "within the grace of the write",
			checker: b,
			history: func() *history.History {
				return writesK1().add(storeProbe("k1", "us-east", 2, 1200), probe("k1", "us-east", 1, 1500)).history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "another region's store says nothing of this one",
			checker: b,
			history: func() *history.History {
				return writesK1().add(storeProbe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 1, 5500)).history()
			},
			want: history.VerdictUnknown,
		},
	})
}
