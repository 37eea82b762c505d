package replcheck

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// Record states, as bits.
const (
	stSampled     uint8 = 1 << iota // polled from its acknowledgement
	stAcked                         // the write was acknowledged
	stWriteFailed                   // every attempt failed, none with an unknown outcome
	stTimedOut                      // no attempt was acknowledged and one timed out: the outcome is unknown
	stVisible                       // visible at the read
	stLate                          // not visible at the read (or the read failed)
	stLateRead                      // visible, found by a read issued late
)

// Check is a replication check under way: Start it, Write the
// records (which also reads them at ReadAfter), Converge (re-read the late
// ones), then take its Summary and Close it.
type Check struct {
	cfg          Config
	wsess, rsess *gocql.Session
	insert       string
	selBucket    string
	selOne       string

	epoch time.Time
	n     int
	// Per record, indexed by its number: acknowledgement (since epoch),
	// state bits, and when it was first seen (µs after its
	// acknowledgement; -1: not seen) by the read, the sampler and a
	// re-read. Each slot is written by one goroutine at a time, handed on
	// through channels and locks.
	ack        []int64
	state      []uint8
	readDoneUs []int32
	sampleUs   []int32
	lateUs     []int32

	// Per partition: the records followed (acknowledged, or timed out) and
	// those settled by a read (bit i is record bucket*64+i), and whether a
	// read of it is under way (readBusy) and must then be made again
	// (readAgain).
	followed, settled []atomic.Uint64
	readState         []atomic.Uint32

	sampleCut uint64 // a record is sampled when its hash is below it
	next      atomic.Int64
	due       chan uint32
	jobs      chan uint32
	sampleSem chan struct{}
	sampleWG  sync.WaitGroup
	readerWG  sync.WaitGroup
	late      lateSet
	lateStop  chan struct{}
	lateDone  chan struct{}

	written, writeErrors, writeRetries atomic.Int64
	writeTimeouts                      atomic.Int64
	readCount, visible, readErrors     atomic.Int64
	lateSeen, sampleDropped            atomic.Int64
	reads, samplePolls, rereads        atomic.Int64 // CQL reads issued
	lastAck                            atomic.Int64
	writesLate, writeLateMax           atomic.Int64 // paced batches sent late, and the latest
	writeStart, writeEnd               time.Duration
	convergeStart, convergeEnd         time.Duration
	converging                         atomic.Int64 // convergeStart+1 once Converge began

	mu        sync.Mutex // guards readStats and pollLatency
	readStats []*readerStats
	// pollLatency holds how long each sample poll took: lags are upper
	// bounds by about one of them.
	pollLatency *hdrhistogram.Histogram
	closeOnce   sync.Once
}

// Bits of Check.readState.
const (
	readBusy  = 1
	readAgain = 2
)

type readerStats struct {
	delay *hdrhistogram.Histogram
	// readsLate counts records settled by a read issued more than
	// ReadTolerance after their due; visibleLate those of them the read
	// found; early those found by a read issued before their due.
	readsLate, visibleLate, early int
}

// Start checks the configuration, opens a CQL session in each region and
// creates the table.
func (c Config) Start(ctx context.Context) (*Check, error) {
	if err := c.setDefaults(); err != nil {
		return nil, err
	}
	r := &Check{cfg: c, n: c.Records,
		insert:    Insert(c.Keyspace, c.Table),
		selBucket: fmt.Sprintf(`SELECT seq FROM %s.%s WHERE run = ? AND bucket = ?`, c.Keyspace, c.Table),
		selOne:    fmt.Sprintf(`SELECT seq FROM %s.%s WHERE run = ? AND bucket = ? AND seq = ?`, c.Keyspace, c.Table),
		lateStop:  make(chan struct{}), lateDone: make(chan struct{}),
	}
	var err error
	if r.wsess, err = topology.RegionSession(c.Cluster, c.From, c.Keyspace); err != nil {
		return nil, err
	}
	if r.rsess, err = topology.RegionSession(c.Cluster, c.To, c.Keyspace); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.wsess.Query(Schema(c.Keyspace, c.Table)).ExecContext(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("create table %s.%s: %w", c.Keyspace, c.Table, err)
	}
	if c.Samples > 0 {
		r.sampleCut = uint64(float64(c.Samples) / float64(c.Records) * float64(^uint64(0)))
		if c.Samples == c.Records {
			r.sampleCut = ^uint64(0)
		}
	}
	n := c.Records
	r.ack = make([]int64, n)
	r.state = make([]uint8, n)
	r.readDoneUs = make([]int32, n)
	r.sampleUs = make([]int32, n)
	r.lateUs = make([]int32, n)
	for i := range n {
		r.readDoneUs[i], r.sampleUs[i], r.lateUs[i] = -1, -1, -1
	}
	r.late.init(n)
	r.pollLatency = newLagHist()
	parts := (n + RecordsPerPartition - 1) / RecordsPerPartition
	r.followed = make([]atomic.Uint64, parts)
	r.settled = make([]atomic.Uint64, parts)
	r.readState = make([]atomic.Uint32, parts)
	return r, nil
}

// Close closes the sessions (with a bounded wait) and stops the re-reads.
func (r *Check) Close() {
	r.closeOnce.Do(func() {
		r.stopLate()
		cql.CloseSession(r.wsess)
		cql.CloseSession(r.rsess)
	})
}

func (r *Check) now() time.Duration { return time.Since(r.epoch) }

// Epoch is when the first write began (zero before Write): the time the
// check's timeline counts from.
func (r *Check) Epoch() time.Time { return r.epoch }

// timeline gathers the lag second by second of the writes.
type timeline struct{ seconds []history.LagSecond }

// second is the second of the writes acknowledged at ack (since the
// epoch), added with the seconds before it when new.
func (t *timeline) second(ack time.Duration) *history.LagSecond {
	i := int(max(ack, 0) / time.Second)
	for len(t.seconds) <= i {
		t.seconds = append(t.seconds, history.LagSecond{Second: len(t.seconds)})
	}
	return &t.seconds[i]
}

// sampled says whether record seq is in the seeded sample.
func (r *Check) sampled(seq int) bool {
	if r.sampleCut == 0 {
		return false
	}
	if r.sampleCut == ^uint64(0) {
		return true
	}
	return splitmix(r.cfg.Seed^uint64(seq)*0x9e3779b97f4a7c15) < r.sampleCut
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Write writes every record and reads each one at ReadAfter; it returns
// once the last read is done (the late records are re-read meanwhile and
// after, until Converge ends). A cancelled ctx stops it early.
func (r *Check) Write(ctx context.Context) error {
	c := r.cfg
	r.epoch = time.Now()
	r.due = make(chan uint32, 1<<16)
	r.jobs = make(chan uint32, 4*c.Readers)
	r.sampleSem = make(chan struct{}, 4096)
	go r.repoll(ctx)
	for range c.Readers {
		st := &readerStats{delay: newLagHist()}
		r.mu.Lock()
		r.readStats = append(r.readStats, st)
		r.mu.Unlock()
		r.readerWG.Add(1)
		go r.reader(ctx, st)
	}
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		r.schedule(ctx)
	}()
	r.writeStart = r.now()
	if c.Rate > 0 {
		r.pacedWrites(ctx)
	} else {
		var wg sync.WaitGroup
		for range c.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.writer(ctx)
			}()
		}
		wg.Wait()
	}
	r.writeEnd = time.Duration(r.lastAck.Load())
	close(r.due)
	<-schedDone
	r.readerWG.Wait()
	r.sampleWG.Wait()
	return ctx.Err()
}

// writer writes records until none is left. Config.Concurrency writers
// take record numbers from a counter and insert each record (or each batch
// of Config.Batch records) with a prepared statement in region From, at
// LOCAL_QUORUM by default, retrying a failed write Config.WriteRetries
// times. The acknowledgement time of each record is kept, and the record is
// handed to the read scheduler (and, when sampled, to a sampler).
//
// A write that no attempt got acknowledged failed (WriteErrors) when every
// attempt was refused, and timed out (WriteTimeouts) when an attempt timed
// out or lost its connection (see outcomeUnknown): such a write may have
// been applied, so its records are followed like acknowledged ones, from
// the end of the last attempt, and Summary says how many of them were seen.
func (r *Check) writer(ctx context.Context) {
	c := r.cfg
	for ctx.Err() == nil {
		first := int(r.next.Add(int64(c.Batch)) - int64(c.Batch))
		if first >= r.n {
			return
		}
		if !r.writeBatch(ctx, first, min(c.Batch, r.n-first)) {
			return
		}
	}
}

// pacedWrites writes the records open loop at Config.Rate records per
// second (see PaceWrites); Concurrency caps the writes in flight.
func (r *Check) pacedWrites(ctx context.Context) {
	c := r.cfg
	late, worst := PaceWrites(ctx, r.n, c.Batch, c.Rate, c.Concurrency, c.ReadTolerance, func(ctx context.Context, first, count int) {
		r.writeBatch(ctx, first, count)
	})
	r.writesLate.Store(int64(late))
	r.writeLateMax.Store(int64(worst))
}

// PaceWrites writes records 0 .. n-1, batch to a write, open loop at rate
// records per second: each write is sent at its own time (its first
// record / rate after the call), in its own goroutine, whether or not the
// writes before it were answered; inFlight only caps the writes under way.
// It returns when every write returned (or ctx ended), with how many were
// sent more than tolerance after their time (the cap was reached, or the
// machine could not keep up) and the latest of them: the rate kept is then
// below the rate asked. The replication check and the plain loop it is
// measured against are paced by it.
func PaceWrites(ctx context.Context, n, batch int, rate float64, inFlight int, tolerance time.Duration,
	write func(ctx context.Context, first, count int)) (late int, worst time.Duration) {
	slots := make(chan struct{}, max(inFlight, 1))
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	for first := 0; first < n; first += batch {
		due := paceDue(first, rate)
		if wait := due - time.Since(start); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return late, worst
			case <-t.C:
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return late, worst
		}
		if behind := time.Since(start) - due; behind > tolerance {
			late++
			worst = max(worst, behind)
		}
		wg.Add(1)
		go func(first int) {
			defer func() { <-slots; wg.Done() }()
			write(ctx, first, min(batch, n-first))
		}(first)
	}
	return late, worst
}

// storeMax raises a to v when v is more.
func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// paceDue is when the write of record first is due, after the writes
// began, at rate records per second.
func paceDue(first int, rate float64) time.Duration {
	return time.Duration(float64(first) / rate * float64(time.Second))
}

// writeBatch writes records first .. first+count-1 (see writer); it
// returns false if ctx ended while the records were handed on.
func (r *Check) writeBatch(ctx context.Context, first, count int) bool {
	c := r.cfg
	var err error
	unknown := false
	for attempt := 0; attempt <= c.WriteRetries; attempt++ {
		if attempt > 0 {
			r.writeRetries.Add(1)
		}
		err = WriteRecords(ctx, r.wsess, r.insert, c.RunID, first, count, c.WriteConsistency)
		if err == nil || ctx.Err() != nil {
			break
		}
		unknown = unknown || outcomeUnknown(err)
	}
	switch {
	case err == nil:
		ack := r.now()
		storeMax(&r.lastAck, int64(ack))
		r.written.Add(int64(count))
		return r.follow(ctx, first, count, ack, stAcked)
	case unknown && ctx.Err() == nil:
		r.writeTimeouts.Add(int64(count))
		return r.follow(ctx, first, count, r.now(), stTimedOut)
	default:
		for seq := first; seq < first+count; seq++ {
			r.state[seq] |= stWriteFailed
		}
		r.writeErrors.Add(int64(count))
	}
	return ctx.Err() == nil
}

// follow hands records first .. first+count-1, written (state stAcked) or
// timed out (stTimedOut) at time at, to the read scheduler, and the
// sampled acknowledged ones to a sampler. It returns false if ctx ended.
func (r *Check) follow(ctx context.Context, first, count int, at time.Duration, state uint8) bool {
	for seq := first; seq < first+count; seq++ {
		r.ack[seq] = int64(at)
		st := state
		if state == stAcked && r.sampled(seq) {
			st |= stSampled
		}
		r.state[seq] = st
		if st&stSampled != 0 {
			r.sample(ctx, seq, at)
		}
	}
	bits := (uint64(1)<<count - 1) << (first % RecordsPerPartition)
	if count == RecordsPerPartition {
		bits = ^uint64(0)
	}
	r.followed[first/RecordsPerPartition].Or(bits)
	for seq := first; seq < first+count; seq++ {
		select {
		case r.due <- uint32(seq):
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// outcomeUnknown says whether a failed write may have been applied all
// the same: it timed out (at the coordinator, or with no answer in the
// driver's time) or its connection closed while it waited for the answer.
// A refusal (unavailable, overloaded, a bad request) or a write that never
// found a connection was not applied.
func outcomeUnknown(err error) bool {
	var wt *gocql.RequestErrWriteTimeout
	return errors.As(err, &wt) || errors.Is(err, gocql.ErrTimeoutNoResponse) ||
		errors.Is(err, gocql.ErrConnectionClosed) || errors.Is(err, context.DeadlineExceeded)
}

// sample polls one record in region To from its acknowledgement until it
// is seen or due for the read at ReadAfter. A seeded sample of the records
// (Config.Samples, 0.5 % by default, at least 1000) is polled one by one,
// every PollInterval (2 ms) at first and then every 10 % of the time since
// the acknowledgement: their lag is measured to within the poll gap plus
// one read.
func (r *Check) sample(ctx context.Context, seq int, ack time.Duration) {
	select {
	case r.sampleSem <- struct{}{}:
	default:
		r.sampleDropped.Add(1)
		r.state[seq] &^= stSampled
		return
	}
	r.sampleWG.Add(1)
	go func() {
		defer r.sampleWG.Done()
		defer func() { <-r.sampleSem }()
		c := r.cfg
		due := ack + c.ReadAfter
		var got int
		for ctx.Err() == nil {
			if r.now() >= due {
				return
			}
			start := r.now()
			err := r.rsess.Query(r.selOne, c.RunID, seq/RecordsPerPartition, seq).Consistency(c.ReadConsistency).
				ScanContext(ctx, &got)
			r.samplePolls.Add(1)
			done := r.now()
			r.mu.Lock()
			recordLag(r.pollLatency, done-start)
			r.mu.Unlock()
			if err == nil {
				r.sampleUs[seq] = clampUs(done - ack)
				return
			}
			gap := max(c.PollInterval, (done-ack)/10)
			wait := min(gap, due-done)
			if wait <= 0 {
				return
			}
			if run.Sleep(ctx, wait) != nil {
				return
			}
		}
	}()
}

// schedule waits until each acknowledged record is due and has its
// partition read unless a read settled the record already.
//
// Records live 64 to a partition (partition key run and bucket = seq/64,
// clustering seq), so one read at LOCAL_ONE in region To returns every
// record of the partition visible there. The scheduler takes the
// acknowledged records in acknowledgement order and waits until each is due
// (acknowledgement + ReadAfter); unless a read already settled it, it has
// its partition read (see readPartition). Reads of a partition never
// overlap: a record that comes due while its partition is being read makes
// the reader read it again at once (requestRead). So every record is
// settled by a read issued at its due at the latest (plus scheduling),
// usually one read per partition. The read delays are measured and
// reported, and records settled by a read issued more than ReadTolerance
// after their due are counted.
func (r *Check) schedule(ctx context.Context) {
	defer close(r.jobs)
	c := r.cfg
	for {
		var seq uint32
		var ok bool
		select {
		case seq, ok = <-r.due:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		due := time.Duration(r.ack[seq]) + c.ReadAfter
		if run.Sleep(ctx, due-r.now()) != nil {
			return
		}
		b := seq / RecordsPerPartition
		if r.settled[b].Load()&(1<<(seq%RecordsPerPartition)) != 0 {
			continue
		}
		if !r.requestRead(ctx, b) {
			return
		}
	}
}

// requestRead has partition b read now: by a reader, or, when a read of b
// is under way, by the same reader again as soon as that read is done.
func (r *Check) requestRead(ctx context.Context, b uint32) bool {
	st := &r.readState[b]
	for {
		v := st.Load()
		if v&readBusy != 0 {
			if v&readAgain != 0 || st.CompareAndSwap(v, v|readAgain) {
				return true
			}
			continue
		}
		if st.CompareAndSwap(v, readBusy) {
			select {
			case r.jobs <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
	}
}

// reader reads the partitions the scheduler hands it, each as often as it
// is asked to while it reads it.
func (r *Check) reader(ctx context.Context, st *readerStats) {
	defer r.readerWG.Done()
	for b := range r.jobs {
		for {
			r.readPartition(ctx, b, st)
			if r.readState[b].CompareAndSwap(readBusy, 0) {
				break
			}
			// The scheduler asked again while this read was under way
			// (readBusy|readAgain, which it leaves alone): read again.
			r.readState[b].Store(readBusy)
		}
	}
}

// readPartition reads partition b once and settles what it can: records
// found are visible at their due; records not found whose due has come
// are late; the others wait for their due, when they are read again.
//
// Why a record found early counts as visible at its due: the reads of a
// partition go to the same replica of region To (token-aware routing
// without shuffling, which topology.RegionSession sets up), and a replica
// that holds a record keeps it. Should that replica change (it is down),
// the shares are still right for every record read at its due, and the
// early ones are counted (ConfirmedEarly).
func (r *Check) readPartition(ctx context.Context, b uint32, st *readerStats) {
	c := r.cfg
	mask := r.followed[b].Load() &^ r.settled[b].Load()
	if mask == 0 {
		return
	}
	start := r.now()
	seen, err := r.readBucket(ctx, b)
	done := r.now()
	if err != nil {
		r.readErrors.Add(1)
	}
	var settle, lateMask, lateUnknown uint64
	for m := mask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		seq := int(b)*RecordsPerPartition + i
		ack := time.Duration(r.ack[seq])
		delay := start - ack
		found := err == nil && seen&(1<<i) != 0
		if !found && delay < c.ReadAfter {
			continue // not due yet: read again at its due
		}
		settle |= 1 << i
		if r.state[seq]&stTimedOut != 0 {
			// Its write timed out: only whether and when it is seen
			// counts, not in the figures of the acknowledged records.
			if found {
				r.state[seq] |= stVisible
				r.readDoneUs[seq] = clampUs(done - ack)
			} else {
				r.state[seq] |= stLate
				lateUnknown |= 1 << i
			}
			continue
		}
		recordLag(st.delay, delay)
		lateRead := delay > c.ReadAfter+c.ReadTolerance
		if lateRead {
			st.readsLate++
		}
		if found {
			if delay < c.ReadAfter {
				st.early++
			}
			if lateRead {
				st.visibleLate++
				r.state[seq] |= stLateRead
			}
			r.state[seq] |= stVisible
			r.readDoneUs[seq] = clampUs(done - ack)
			r.visible.Add(1)
		} else {
			r.state[seq] |= stLate
			lateMask |= 1 << i
		}
		r.readCount.Add(1)
	}
	r.late.add(b, lateMask, done)
	r.late.addUnknown(b, lateUnknown, done)
	r.settled[b].Or(settle)
}

// readBucket returns which records of a partition region To sees.
func (r *Check) readBucket(ctx context.Context, bucket uint32) (uint64, error) {
	c := r.cfg
	it := r.rsess.Query(r.selBucket, c.RunID, int(bucket)).Consistency(c.ReadConsistency).IterContext(ctx)
	r.reads.Add(1)
	var seq int
	var mask uint64
	for it.Scan(&seq) {
		if seq/RecordsPerPartition == int(bucket) {
			mask |= 1 << (seq % RecordsPerPartition)
		}
	}
	return mask, it.Close()
}

// Converge re-reads the late records until every acknowledged one was
// seen, the deadline passed or ctx ended (records whose write timed out
// are re-read meanwhile, but not waited for). Call it after Write (and after healing any
// fault: the re-reads start over at once).
func (r *Check) Converge(ctx context.Context) error {
	if r.epoch.IsZero() {
		return errors.New("replication check: Converge before Write")
	}
	r.convergeStart = r.now()
	r.converging.Store(int64(r.convergeStart) + 1)
	r.late.rereadAll(r.convergeStart)
	deadline := time.NewTimer(r.cfg.Deadline)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for r.late.owedRecords() > 0 {
		select {
		case <-deadline.C:
			break wait
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		case <-tick.C:
		}
	}
	r.stopLate()
	r.convergeEnd = r.now()
	return err
}

// Progress is a snapshot of a check under way.
type Progress struct {
	// Phase is the experiment's phase (set by ReplicationExperiment).
	Phase   string
	Elapsed time.Duration
	// Records to write; Written acknowledged; WriteErrors failed;
	// WriteTimeouts timed out (outcome unknown).
	Records, Written, WriteErrors, WriteTimeouts int
	// Read at ReadAfter, of which Visible; Late not seen yet (acknowledged
	// records only).
	Read, Visible, Late int
	// Converging is set once the late records are re-read until the deadline.
	Converging bool
}

// Progress says how far the check got; safe to call at any time.
func (r *Check) Progress() Progress {
	p := Progress{Records: r.n, Written: int(r.written.Load()), WriteErrors: int(r.writeErrors.Load()),
		WriteTimeouts: int(r.writeTimeouts.Load()), Read: int(r.readCount.Load()), Visible: int(r.visible.Load()), Converging: r.converging.Load() > 0}
	if !r.epoch.IsZero() {
		p.Elapsed = r.now()
		p.Late = r.late.owedRecords()
	}
	return p
}

// Summary aggregates what the check saw. Call it after Converge.
func (r *Check) Summary() history.Replication {
	c := r.cfg
	s := newLagStats()
	early := 0
	r.mu.Lock()
	for _, st := range r.readStats {
		s.readDelay.Merge(st.delay)
		s.readsLate += st.readsLate
		s.visibleLate += st.visibleLate
		early += st.early
	}
	r.mu.Unlock()
	sampled := 0
	var lastSeen time.Duration
	timeouts, timeoutsSeen := 0, 0
	var tl timeline
	for seq := range r.n {
		st := r.state[seq]
		if st&stTimedOut != 0 {
			timeouts++
			if st&stVisible != 0 || r.lateUs[seq] >= 0 {
				timeoutsSeen++
			}
			continue
		}
		if st&stAcked == 0 {
			continue
		}
		s.acked++
		ack := time.Duration(r.ack[seq])
		sec := tl.second(ack)
		sec.Written++
		if st&stSampled != 0 {
			sampled++
		}
		var seenAfter int32 = -1
		switch {
		case st&stVisible != 0:
			s.visibleAtRead++
			seenAfter = r.readDoneUs[seq]
			if lag := r.sampleUs[seq]; st&stSampled != 0 && lag >= 0 {
				sec.MaxLagMs = max(sec.MaxLagMs, float64(lag)/1000)
			}
			if st&stSampled != 0 {
				s.sampledVisible++
				lag := r.sampleUs[seq]
				slow := lag < 0
				if slow {
					lag = r.readDoneUs[seq] // not seen by the polls, seen by the read
					s.sampledSlow++
				}
				if st&stLateRead != 0 {
					s.sampledLateRead++
					if slow {
						s.sampledLateSlow++
					}
				}
				recordLag(s.head, time.Duration(lag)*time.Microsecond)
			}
		case st&stLate != 0:
			sec.Late++
			if lag := r.lateUs[seq]; lag >= 0 {
				recordLag(s.tail, time.Duration(lag)*time.Microsecond)
				seenAfter = lag
				sec.MaxLagMs = max(sec.MaxLagMs, float64(lag)/1000)
			} else {
				s.missing++
				sec.Missing++
			}
		default:
			s.missing++ // acknowledged but never read (the run was stopped)
			sec.Missing++
		}
		if seenAfter >= 0 {
			d := time.Duration(seenAfter) * time.Microsecond
			s.seenWithin = max(s.seenWithin, d)
			lastSeen = max(lastSeen, ack+d)
		}
	}
	out := s.summary()
	out.Timeline = tl.seconds
	out.From, out.To, out.Records = c.From, c.To, c.Records
	out.WriteConsistency, out.ReadConsistency = c.WriteConsistency.String(), c.ReadConsistency.String()
	out.ReadAfterMs = ms(c.ReadAfter)
	out.Concurrency = c.Concurrency
	out.Batch = c.Batch
	out.WriteErrors = int(r.writeErrors.Load())
	out.WriteTimeouts, out.WriteTimeoutsSeen = timeouts, timeoutsSeen
	out.ReadErrors = int(r.readErrors.Load())
	out.Sampled = sampled
	out.PollIntervalMs = ms(c.PollInterval)
	out.ReadToleranceMs = ms(c.ReadTolerance)
	out.SampleDropped = int(r.sampleDropped.Load())
	out.ConfirmedEarly = early
	r.mu.Lock()
	out.PollLatencyP50Ms = ms(time.Duration(r.pollLatency.ValueAtQuantile(50)) * time.Microsecond)
	out.PollLatencyP99Ms = ms(time.Duration(r.pollLatency.ValueAtQuantile(99)) * time.Microsecond)
	r.mu.Unlock()
	rereads := r.rereads.Load()
	out.Reads = int(r.reads.Load() - rereads) // readBucket counts the re-reads too
	out.SamplePolls = int(r.samplePolls.Load())
	out.Rereads = int(rereads)
	out.RateAsked = c.Rate
	out.WritesLate = int(r.writesLate.Load())
	out.WriteLateMaxMs = ms(time.Duration(r.writeLateMax.Load()))
	if d := r.writeEnd - r.writeStart; d > 0 {
		out.WriteSeconds = d.Seconds()
		out.WriteRate = float64(s.acked) / d.Seconds()
	}
	if s.missing == 0 && s.acked > 0 {
		out.SeenAfterWritesMs = ms(max(0, lastSeen-r.writeEnd))
	}
	if r.convergeEnd > 0 {
		out.ConvergeSeconds = (r.convergeEnd - r.convergeStart).Seconds()
		if s.missing == 0 && s.acked > 0 {
			out.SeenAfterConvergeMs = ms(max(0, lastSeen-r.convergeStart))
		}
	}
	writes := fmt.Sprintf("one write per record at %s, %d in flight", c.WriteConsistency, c.Concurrency)
	if c.Batch > 1 {
		writes = fmt.Sprintf("records written %d to an unlogged single-partition batch at %s, %d batches in flight", c.Batch, c.WriteConsistency, c.Concurrency)
	}
	out.Method = fmt.Sprintf("%s; every record settled in %s by a read issued %s after its write was acknowledged in %s or earlier (one read settles every record of a partition of %d it finds, "+
		"and those it does not find once due; a record found early would have been found at its due on the same replica); %d sampled records polled from the acknowledgement (gap %s, then 10%% of the elapsed time) give the lag of the records visible at the read (an estimate); "+
		"every late record re-read until seen (gap 20%% of the time since it was found late, at least %s) gives its own lag (measured); lags are upper bounds: the completion of the first read that saw the record; "+
		"a record whose write timed out (outcome unknown) is read and re-read the same way from the end of its last attempt, and counted apart: seen (it was applied) or not",
		writes, c.To, c.ReadAfter, c.From, RecordsPerPartition, sampled, c.PollInterval, lateMinGap)
	return out
}

func clampUs(d time.Duration) int32 {
	us := d.Microseconds()
	switch {
	case us < 0:
		return 0
	case us > 1<<31-1:
		return 1<<31 - 1
	}
	return int32(us)
}

// ms renders a duration in milliseconds for the summary's figures.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
