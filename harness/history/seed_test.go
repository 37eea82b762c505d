package history

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func draws(seed uint64, choice string) []uint64 {
	r := Rand(seed, choice)
	out := make([]uint64, 8)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

// A seed makes the same choices again; another seed, or another kind of
// choice with the same seed, draws another stream.
func TestRandReplaysPerSeedAndChoice(t *testing.T) {
	assert.Equal(t, draws(42, "fault.RandomPick"), draws(42, "fault.RandomPick"))
	assert.NotEqual(t, draws(42, "fault.RandomPick"), draws(43, "fault.RandomPick"))
	assert.NotEqual(t, draws(42, "fault.RandomPick"), draws(42, "workload.members"))
	for range 100 {
		assert.LessOrEqual(t, NewSeed(), uint64(math.MaxInt64), "a seed fits in an int64")
	}
}
