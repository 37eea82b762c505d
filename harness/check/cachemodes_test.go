package check

import (
	"fmt"
	"testing"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

func TestCacheModes(t *testing.T) {
	const east, west = "us-east-1", "us-west-2"
	// crossed builds n keys of kind ("profile", "history"), each written
	// in us-east-1 at i*10 s and read in us-west-2 2 s later; hit says
	// whether that first read hit the cache (with the written version).
	crossed := func(kind string, n int, hit func(i int) bool, extra func(b *hb, i int, key string)) func() *history.History {
		return func() *history.History {
			b := newHB()
			write, read := history.OpWriteProfile, history.OpReadProfile
			if kind == "history" {
				write, read = history.OpAppendHistory, history.OpReadHistory
			}
			for i := range n {
				key := fmt.Sprintf("%s/m%d", kind, i)
				at := i * 10_000
				b.add(op{Name: write, Key: key, Home: east, Entry: east, Region: east, Version: int64(at + 1), At: at, Dur: 5})
				if extra != nil {
					extra(b, i, key)
				}
				b.add(op{Name: read, Key: key, Home: east, Entry: west, Region: west, Version: int64(at + 1), Cache: hit(i), At: at + 2000, Dur: 5})
			}
			return b.history()
		}
	}
	always := func(int) bool { return true }
	never := func(int) bool { return false }
	runCases(t, []checkCase{
		{
			name:    "replicated profiles: the first read elsewhere hits the new value",
			checker: &CacheModes{Replicated: []string{"profiles"}},
			history: crossed("profile", 12, always, nil),
			want:    history.VerdictValid,
			reason:  []string{"profiles (replicated): 12 of 12 first reads"},
			figures: map[string]float64{"first_reads.profiles": 12, "as_mode_share.profiles": 1},
		},
		{
			name:    "replicated profiles that were only invalidated",
			checker: &CacheModes{Replicated: []string{"profiles"}},
			history: crossed("profile", 12, never, nil),
			want:    history.VerdictInvalid,
			reason:  []string{"profiles (replicated): 0 of 12", "below 90%"},
		},
		{
			name:    "invalidated histories: the first read elsewhere misses",
			checker: &CacheModes{Replicated: []string{"profiles"}},
			history: crossed("history", 12, never, nil),
			want:    history.VerdictValid,
			reason:  []string{"history (invalidated): 12 of 12"},
		},
		{
			name:    "an invalidated data set whose reads elsewhere still hit",
			checker: &CacheModes{},
			history: crossed("profile", 12, always, nil),
			want:    history.VerdictInvalid,
			reason:  []string{"profiles (invalidated): 0 of 12"},
		},
		{
			name:    "a few misses are within the share",
			checker: &CacheModes{Replicated: []string{"profiles"}},
			history: crossed("profile", 20, func(i int) bool { return i != 3 }, nil),
			want:    history.VerdictValid,
		},
		{
			name:    "not the first read there since the write: not judged (a read within the lag made it second)",
			checker: &CacheModes{Replicated: []string{"profiles"}},
			history: crossed("profile", 12, never, func(b *hb, i int, key string) {
				b.add(op{Name: history.OpReadProfile, Key: key, Home: east, Entry: west, Region: west, Version: int64(i*10_000 + 1), At: i*10_000 + 500, Dur: 5})
			}),
			want:   history.VerdictUnknown,
			reason: []string{"no read in a region after a write in another"},
		},
		{
			name:    "a read too soon after the write: not judged",
			checker: &CacheModes{Replicated: []string{"profiles"}, Lag: 3 * time.Second},
			history: crossed("profile", 12, never, nil),
			want:    history.VerdictUnknown,
		},
		{
			name:    "too few reads to measure",
			checker: &CacheModes{Replicated: []string{"profiles"}},
			history: crossed("profile", 4, never, nil),
			want:    history.VerdictUnknown,
			reason:  []string{"profiles: 4 first reads, fewer than 10"},
		},
	})
}
