package replcheck

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/topologytest"
)

func lagsInto(s *lagStats, head bool, ms ...float64) {
	for _, m := range ms {
		d := time.Duration(m * float64(time.Millisecond))
		if head {
			recordLag(s.head, d)
		} else {
			recordLag(s.tail, d)
		}
	}
}

func TestScaleToAddsUpExactly(t *testing.T) {
	for _, tc := range []struct {
		counts []float64
		total  int
		want   []int
	}{
		{[]float64{1, 1, 1}, 10, []int{4, 3, 3}},
		{[]float64{0, 2, 0, 2}, 5, []int{0, 3, 0, 2}},
		{[]float64{5, 0}, 0, []int{0, 0}},
		{[]float64{0, 0}, 7, []int{0, 0}},
		{[]float64{997, 2, 1}, 1_000_000, []int{997000, 2000, 1000}},
	} {
		got := scaleTo(tc.counts, tc.total)
		assert.Equal(t, tc.want, got, "scaleTo(%v, %d)", tc.counts, tc.total)
		sum := 0
		for _, c := range got {
			sum += c
		}
		if tc.total > 0 && tc.counts[0]+tc.counts[1] > 0 {
			assert.Equal(t, tc.total, sum)
		}
	}
}

func TestBucketOf(t *testing.T) {
	b := []float64{1, 2, 5}
	assert.Equal(t, 0, bucketOf(0.2, b))
	assert.Equal(t, 0, bucketOf(1, b), "a bound holds its own value")
	assert.Equal(t, 1, bucketOf(1.001, b))
	assert.Equal(t, 2, bucketOf(5, b))
	assert.Equal(t, 2, bucketOf(99, b), "beyond the last bound: the last bucket")
}

// The share visible at the read is over acknowledged records; percentiles
// below it come from the sample, above it from the late records.
func TestLagStatsQuantilesJoinSampleAndLateRecords(t *testing.T) {
	s := newLagStats()
	s.acked, s.visibleAtRead = 1000, 990
	// 100 sampled lags: 1..100 ms.
	for i := 1; i <= 100; i++ {
		lagsInto(s, true, float64(i))
	}
	// 8 late records seen at 600..1300 ms, 2 never seen.
	lagsInto(s, false, 600, 700, 800, 900, 1000, 1100, 1200, 1300)
	s.missing = 2
	assert.InDelta(t, 0.99, s.share(), 1e-12)
	assert.Equal(t, 998, s.seen())
	within := func(want float64, us int64) {
		t.Helper()
		assert.InEpsilon(t, want, float64(us)/1000, 0.002)
	}
	within(51, s.quantile(0.50))   // rank 499 of 998: each sampled lag stands for 9.9 records, 51 ms for ranks 496-504
	within(91, s.quantile(0.90))   // rank 899 of 990 visible: 90.8 % of the sample
	within(900, s.quantile(0.995)) // rank 994: the 4th late record
	within(1300, s.quantile(1))
	within(1300, s.max())
	// Rank 990 is the last record visible at the read; 991 the first late one.
	within(100, s.quantile(990.0/998))
	within(600, s.quantile(991.0/998))
}

// A record found by a read issued late can have a lag beyond every late
// record's (seen in a 1,000,000-record run: a sampled lag of over 2 s, late
// records up to 961 ms). The maximum and the top quantiles take it, and
// they agree with the histogram.
func TestLagStatsSampledLagBeyondTheLateRecords(t *testing.T) {
	s := newLagStats()
	s.acked, s.visibleAtRead = 1000, 990
	for i := 1; i <= 98; i++ {
		lagsInto(s, true, float64(i))
	}
	lagsInto(s, true, 2500, 2600) // two sampled records, 9.9 records each
	lagsInto(s, false, 600, 700, 800, 900, 961, 600, 700, 800, 900, 961)
	within := func(want float64, us int64) {
		t.Helper()
		assert.InEpsilon(t, want, float64(us)/1000, 0.002)
	}
	within(2600, s.max())
	within(2600, s.quantile(1))
	within(961, s.quantile(980.0/1000)) // ranks 971-980: the ten late records, 961 the last
	within(2500, s.quantile(990.0/1000))
	var over2s int
	for _, b := range s.buckets() {
		if b.UpperMs > 2000 {
			over2s += b.Count
		}
	}
	assert.Equal(t, 20, over2s, "the histogram counts the two slow sampled lags as 9.9 records each")
}

func TestLagStatsWithoutSampleUsesReadDelayBound(t *testing.T) {
	s := newLagStats()
	s.acked, s.visibleAtRead = 10, 10
	for range 10 {
		recordLag(s.readDelay, 501*time.Millisecond)
	}
	assert.InEpsilon(t, 501.0, float64(s.quantile(0.5))/1000, 0.002)
	assert.InEpsilon(t, 501.0, float64(s.max())/1000, 0.002)
	b := s.buckets()
	require.Len(t, b, 1)
	assert.Equal(t, history.LagBucket{UpperMs: 1000, Count: 10}, b[0])
}

func TestLagStatsEmpty(t *testing.T) {
	s := newLagStats()
	assert.Equal(t, 0.0, s.share())
	assert.Equal(t, int64(0), s.quantile(0.99))
	assert.Equal(t, int64(0), s.max())
	assert.Nil(t, s.buckets())
	sum := s.summary()
	assert.Equal(t, 0, sum.Samples)
	assert.Equal(t, 0.0, sum.AllVisibleAfterMs)
}

// Buckets: the sample scaled to the records visible at the read, the late
// records counted one by one, empty ends dropped, counts adding up to the
// records seen.
func TestLagStatsBuckets(t *testing.T) {
	s := newLagStats()
	s.acked, s.visibleAtRead = 10_000, 9_990
	lagsInto(s, true, 3, 3, 3, 15, 15, 40, 40, 40, 40, 40) // 30 % ≤5, 20 % ≤20, 50 % ≤50
	lagsInto(s, false, 700, 1500, 1500, 2500, 25_000)
	s.missing = 5
	got := s.buckets()
	want := []history.LagBucket{
		{UpperMs: 5, Count: 2997}, {UpperMs: 10, Count: 0}, {UpperMs: 20, Count: 1998}, {UpperMs: 50, Count: 4995}, {UpperMs: 100, Count: 0}, {UpperMs: 200, Count: 0}, {UpperMs: 500, Count: 0},
		{UpperMs: 1000, Count: 1}, {UpperMs: 2000, Count: 2}, {UpperMs: 5000, Count: 1}, {UpperMs: 10000, Count: 0}, {UpperMs: 20000, Count: 0}, {UpperMs: 30000, Count: 1},
	}
	assert.Equal(t, want, got)
	total := 0
	for _, b := range got {
		total += b.Count
	}
	assert.Equal(t, s.seen(), total)
}

func TestWilsonUpper(t *testing.T) {
	assert.InDelta(t, 0.00392, wilsonUpper(0, 976), 0.00001)
	assert.InDelta(t, 0.1118, wilsonUpper(5, 100), 0.0001)
	assert.Equal(t, 1.0, wilsonUpper(0, 0))
	assert.Less(t, wilsonUpper(1, 10000), wilsonUpper(1, 1000))
}

// Late reads that found their record: the hard bound counts them all as
// not visible at ReadAfter; the sampled records a late read found say how
// many of them could have been.
func TestShareBoundsWithLateReads(t *testing.T) {
	hard, low := shareBounds(200_000, 200_000, 0, 0, 0)
	assert.Equal(t, 1.0, hard)
	assert.Equal(t, 1.0, low, "no late read: both bounds are the share")
	hard, low = shareBounds(200_000, 200_000, 50_000, 1000, 0)
	assert.Equal(t, 0.75, hard)
	assert.InDelta(t, 1-0.25*wilsonUpper(0, 1000), low, 1e-12, "no sampled late-found record was slow")
	_, low = shareBounds(200_000, 200_000, 50_000, 1000, 100) // a tenth of them were not visible at ReadAfter
	assert.Less(t, low, 0.975)
	assert.GreaterOrEqual(t, low, hard)
	hard, low = shareBounds(200_000, 200_000, 50_000, 0, 0)
	assert.Equal(t, hard, low, "no sampled record was found late: only the hard bound")
	hard, low = shareBounds(0, 0, 0, 0, 0)
	assert.Zero(t, hard)
	assert.Zero(t, low)
}

// The lower bound is a 95 % bound of the share visible at ReadAfter: in a
// simulated check whose true share is known (97 % of the records visible at
// 500 ms), with reads issued late for part of the run and records slower
// while they are (a saturated machine delays both), the bound lies above
// the truth in at most 5 % of seeds. The estimate the check used before,
// which took the share of slow records over every sampled record, lay above
// it in most seeds: the simulation tells the two apart.
func TestShareLowerBoundHoldsAtNinetyFivePercent(t *testing.T) {
	type world struct {
		name                      string
		lateShare, slowWhenLate   float64
		foundLateIfSlow, sampling float64
	}
	worlds := []world{
		{"a few late reads", 0.05, 0.10, 0.8, 0.02},
		{"reads late a fifth of the time", 0.20, 0.10, 0.8, 0.02},
		{"rare late reads, mostly slow records", 0.01, 0.50, 0.9, 0.02},
		{"late reads find every slow record", 0.10, 0.05, 1.0, 0.01},
	}
	const records, seeds = 20_000, 400
	for _, w := range worlds {
		t.Run(w.name, func(t *testing.T) {
			// The share slow outside the late windows, so that 97 % are visible
			// at 500 ms over the whole run.
			slowOnTime := (0.03 - w.lateShare*w.slowWhenLate) / (1 - w.lateShare)
			above, aboveOld := 0, 0
			for seed := range uint64(seeds) {
				rng := rand.New(rand.NewPCG(seed, 500))
				visible, visibleLate, visibleAt500 := 0, 0, 0
				sampledVisible, sampledSlow, sampledLate, sampledLateSlow := 0, 0, 0, 0
				for range records {
					late := rng.Float64() < w.lateShare
					slow := rng.Float64() < slowOnTime
					if late {
						slow = rng.Float64() < w.slowWhenLate
					}
					if !slow {
						visibleAt500++
					}
					// An on-time read finds only what was visible at 500 ms; a late
					// read finds that, and slow records that arrived meanwhile.
					found := !slow || (late && rng.Float64() < w.foundLateIfSlow)
					sampled := rng.Float64() < w.sampling
					if !found {
						continue
					}
					visible++
					if late {
						visibleLate++
					}
					if sampled {
						sampledVisible++
						if slow {
							sampledSlow++
						}
						if late {
							sampledLate++
							if slow {
								sampledLateSlow++
							}
						}
					}
				}
				truth := float64(visibleAt500) / records
				_, low := shareBounds(records, visible, visibleLate, sampledLate, sampledLateSlow)
				if low > truth {
					above++
				}
				old := (float64(visible) - wilsonUpper(sampledSlow, sampledVisible)*float64(visibleLate)) / records
				if old > truth {
					aboveOld++
				}
			}
			t.Logf("lower bound above the truth in %d of %d seeds (the old estimate: %d)", above, seeds, aboveOld)
			assert.LessOrEqual(t, above, seeds*5/100, "the 95 %% lower bound lay above the true share too often")
			if w.slowWhenLate > 0 {
				assert.Greater(t, aboveOld, seeds/2, "the simulation cannot tell a wrong bound from a right one")
			}
		})
	}
}

func TestSummaryAllVisibleAfter(t *testing.T) {
	s := newLagStats()
	s.acked, s.visibleAtRead = 3, 2
	lagsInto(s, false, 800)
	s.seenWithin = 800 * time.Millisecond
	sum := s.summary()
	assert.Equal(t, 800.0, sum.AllVisibleAfterMs)
	assert.Equal(t, 1, sum.Late)
	assert.Equal(t, 1, sum.LateSeen)
	s.missing = 1
	assert.Equal(t, 0.0, s.summary().AllVisibleAfterMs, "not all visible: no time")
}

func TestReplicationSummaryTravelsInTheHistory(t *testing.T) {
	sum := history.Replication{Samples: 20000, VisibleAtRead: 0.9995, Missing: 3, P50: 1.5, P90: 3, P99: 40, P999: 700, Max: 900,
		AllVisibleAfterMs: 0, From: "us-east-1", To: "us-west-2", Records: 20000, WriteConsistency: "LOCAL_QUORUM",
		ReadConsistency: "LOCAL_ONE", ReadAfterMs: 500, Late: 10, ReadsLate: 4, VisibleLateReads: 2, VisibleAtReadLow: 0.9993, ReadDelayP99Ms: 503.5, WriteRate: 4321.5,
		ConvergeSeconds: 12.25}
	h := &history.History{Events: []history.Event{{Kind: history.Note, Name: "something else"}, noteEvent(sum, time.Now())}}
	got, found, err := fromHistory(h)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, sum, got, "every field of the summary reaches the checkers")

	_, found, err = fromHistory(&history.History{})
	require.NoError(t, err)
	assert.False(t, found)
	bad := history.Event{Kind: history.Note, Name: replicationNote, Detail: map[string]string{"from": "x"}}
	_, found, err = fromHistory(&history.History{Events: []history.Event{bad}})
	assert.True(t, found)
	assert.Error(t, err)
}

func replHistory(s history.Replication) *history.History {
	return &history.History{Events: []history.Event{noteEvent(s, time.Now())}}
}

func TestReplicationCheckers(t *testing.T) {
	good := history.Replication{Samples: 1000, VisibleAtRead: 0.995, VisibleAtReadLow: 0.995, From: "us-east-1", To: "us-west-2", ReadAfterMs: 500,
		Late: 5, AllVisibleAfterMs: 740}
	missing := good
	missing.Missing, missing.ConvergeSeconds = 7, 20
	low := good
	low.VisibleAtRead, low.VisibleAtReadLow, low.Late = 0.9, 0.9, 100
	behind := good // 200 late reads found their record: at 500 ms the share may have been 0.795
	behind.ReadsLate, behind.VisibleLateReads, behind.VisibleAtReadLow = 250, 200, 0.795
	harmless := good // 3 late reads found their record: at least 0.992 at 500 ms
	harmless.ReadsLate, harmless.VisibleLateReads, harmless.VisibleAtReadLow = 4, 3, 0.992

	r := Complete{}.Check(history.NewIndex(replHistory(good)))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	r = Complete{}.Check(history.NewIndex(replHistory(missing)))
	assert.Equal(t, history.VerdictInvalid, r.Valid)
	assert.Contains(t, r.Reason, "7 of 1000 records written in us-east-1 were never seen in us-west-2")
	r = Complete{}.Check(history.NewIndex(&history.History{}))
	assert.Equal(t, history.VerdictUnknown, r.Valid)
	r = Complete{}.Check(history.NewIndex(replHistory(history.Replication{WriteErrors: 10, From: "us-east-1"})))
	assert.Equal(t, history.VerdictUnknown, r.Valid)
	assert.Contains(t, r.Reason, "no record was acknowledged")

	at := VisibleAtRead{MinShare: 0.99}
	r = at.Check(history.NewIndex(replHistory(good)))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	r = at.Check(history.NewIndex(replHistory(low)))
	assert.Equal(t, history.VerdictInvalid, r.Valid)
	assert.Contains(t, r.Reason, "90.000% of the records written in us-east-1 were visible in us-west-2 500 ms after their write, below the 99.000% required")
	r = at.Check(history.NewIndex(replHistory(behind)))
	assert.Equal(t, history.VerdictUnknown, r.Valid, "late reads found 20 %% of the records: the share at 500 ms is not known: %s", r.Reason)
	assert.Contains(t, r.Reason, "between 79.500% and 99.500%")
	r = at.Check(history.NewIndex(replHistory(harmless)))
	assert.Equal(t, history.VerdictValid, r.Valid, "even without the records late reads found, 99.2 %% were visible: %s", r.Reason)
	lowAndLate := low
	lowAndLate.ReadsLate, lowAndLate.VisibleLateReads, lowAndLate.VisibleAtReadLow = 500, 400, 0.5
	r = at.Check(history.NewIndex(replHistory(lowAndLate)))
	assert.Equal(t, history.VerdictInvalid, r.Valid, "below the share even with the late reads")
	r = at.Check(history.NewIndex(&history.History{}))
	assert.Equal(t, history.VerdictUnknown, r.Valid)
}

func TestLateSetRereadsWithGrowingGaps(t *testing.T) {
	var l lateSet
	l.init(0)
	l.add(3, 0b101, 100*time.Millisecond)
	l.add(3, 0b010, 120*time.Millisecond) // merged into partition 3
	l.add(9, 0b1, 110*time.Millisecond)
	assert.Equal(t, 2, l.len())
	assert.Equal(t, 4, l.owedRecords())
	assert.Empty(t, l.dueFor(99*time.Millisecond, 10))
	assert.Equal(t, []uint32{3, 9}, l.dueFor(110*time.Millisecond, 10), "in order of their next re-read")
	assert.Empty(t, l.dueFor(time.Hour, 10), "partitions being re-read are not due again")

	var seen []int
	l.done(3, 0b001, true, 200*time.Millisecond, func(seq int) { seen = append(seen, seq) })
	assert.Equal(t, []int{3 * RecordsPerPartition}, seen)
	assert.Equal(t, 3, l.owedRecords())
	// A failed read sees nothing.
	l.done(9, 0b1, false, 150*time.Millisecond, func(int) { t.Fatal("a failed read saw a record") })
	// Partition 9: late since 110 ms, re-read at 150 ms: next after the minimum gap.
	assert.Equal(t, []uint32{9}, l.dueFor(170*time.Millisecond, 10))
	l.done(9, 0b1, true, 171*time.Millisecond, func(int) {})
	assert.Equal(t, 1, l.len())
	// Partition 3: late since 100 ms, re-read at 200 ms: next at 200 + 100/5 = 220 ms... at least 20 ms.
	assert.Empty(t, l.dueFor(219*time.Millisecond, 10))
	assert.Equal(t, []uint32{3}, l.dueFor(220*time.Millisecond, 10))
	l.done(3, 0, true, 10*time.Second, func(int) {})
	// Late for ~10 s: the next re-read is 2 s later, unless convergence begins.
	assert.Empty(t, l.dueFor(11*time.Second, 10))
	l.rereadAll(11 * time.Second)
	assert.Equal(t, []uint32{3}, l.dueFor(11*time.Second, 10))
	l.done(3, 0b110, true, 11*time.Second+time.Millisecond, func(int) {})
	assert.Equal(t, 0, l.len())
	assert.Equal(t, 0, l.owedRecords())
}

// specWorld is a topology.Cluster with only a name and a spec, for
// configuration checks; it runs nothing and every other call panics.
type specWorld struct {
	topology.Cluster
	spec *topology.Spec
}

func (w specWorld) Name() string         { return "spec-only" }
func (w specWorld) Spec() *topology.Spec { return w.spec }

func TestReplicationCheckConfiguration(t *testing.T) {
	spec := topologytest.Profile(t, "default")
	w := specWorld{spec: spec}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Cluster: w, From: "eu-west-1", To: "us-west-2", Records: 1}, `region "eu-west-1" is not in world spec-only (regions: [us-east-1 us-west-2])`},
		{Config{Cluster: w, From: "us-east-1", To: "mars", Records: 1}, `region "mars" is not in world`},
		{Config{Cluster: w, From: "us-east-1", To: "us-east-1", Records: 1}, "both us-east-1"},
		{Config{Cluster: w, From: "us-east-1", To: "us-west-2"}, "0 records"},
		{Config{From: "us-east-1", To: "us-west-2", Records: 1}, "no cluster"},
		{Config{Cluster: w, From: "us-east-1", To: "us-west-2", Records: 1, Batch: 3}, "batches of 3 records"},
		{Config{Cluster: w, From: "us-east-1", To: "us-west-2", Records: 1, Batch: 128}, "use 1, 2, 4, 8, 16, 32 or 64"},
	} {
		err := tc.c.setDefaults()
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	c := Config{Cluster: w, From: "us-east-1", To: "us-west-2", Records: 1_000_000, Seed: 7}
	require.NoError(t, c.setDefaults())
	assert.Equal(t, 500*time.Millisecond, c.ReadAfter)
	assert.Equal(t, "kong", c.Keyspace)
	assert.Equal(t, 1, c.Batch, "a write per record")
	assert.Equal(t, 5_000, c.Samples, "0.5 % of a million")
	small := Config{Cluster: w, From: "us-east-1", To: "us-west-2", Records: 300}
	require.NoError(t, small.setDefaults())
	assert.Equal(t, 300, small.Samples, "at most every record")
}

// The seeded sample has about the size asked for, and the same seed draws
// the same records.
func TestReplicationSampleIsSeeded(t *testing.T) {
	draw := func(seed uint64, n, samples int) []int {
		r := &Check{cfg: Config{Seed: seed}}
		r.sampleCut = uint64(float64(samples) / float64(n) * float64(^uint64(0)))
		var out []int
		for i := range n {
			if r.sampled(i) {
				out = append(out, i)
			}
		}
		return out
	}
	a := draw(1, 200_000, 2000)
	assert.InDelta(t, 2000, len(a), 4*math.Sqrt(2000))
	assert.Equal(t, a, draw(1, 200_000, 2000))
	assert.NotEqual(t, a, draw(2, 200_000, 2000))
}

// The defaults a check runs with need no world, so a command line can show
// them.
func TestDefaultsNeedNoWorld(t *testing.T) {
	d := Defaults()
	assert.Equal(t, 500*time.Millisecond, d.ReadAfter)
	assert.Equal(t, gocql.LocalQuorum, d.WriteConsistency)
	assert.Equal(t, gocql.LocalOne, d.ReadConsistency)
	assert.Equal(t, 2*time.Minute, d.Deadline)
	assert.Equal(t, 64, d.Concurrency)
	assert.Equal(t, 1, d.Batch)
	assert.Equal(t, Table, d.Table)
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
		assert.True(t, BatchFits(n), n)
	}
	for _, n := range []int{-1, 0, 3, 48, 128} {
		assert.False(t, BatchFits(n), n)
	}
	assert.Equal(t, "ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, LOCAL_ONE", LevelNames(ReadLevels))
}
