package history

import (
	"hash/fnv"
	"math/rand/v2"
)

// A run's seed (RunInfo.Seed, --seed, every Spec and Config that draws) is
// one uint64. Everything a run draws at random comes from Rand with that
// seed, so that `kong run NAME --seed N` makes the same choices again.

// NewSeed draws the seed of a run that was given none. It fits in an int64,
// so every reader of run.json and --seed takes it back whole.
func NewSeed() uint64 { return rand.Uint64() >> 1 }

// Rand is the source one kind of a run's choices is drawn from (the
// components a fault picks, the members' homes, the request schedule, the
// faults of a random schedule): a PCG seeded with the run's seed and the
// choice's name, so that a seed makes the same choices in every replay and
// the streams of two kinds of choice are unrelated.
func Rand(seed uint64, choice string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(choice))
	return rand.New(rand.NewPCG(seed, seed^h.Sum64()))
}
