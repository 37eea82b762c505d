package replcheck

import (
	"container/heap"
	"context"
	"math/bits"
	"sync"
	"time"
)

// lateSet holds the late records, by partition, until they are seen: a
// map to merge records into their partition, and a heap of the partitions
// waiting for their next re-read (a partition being re-read is only in the
// map until it is put back).
//
// Every record not visible at its read (late) is re-read, a partition at a
// time, until it is seen or the deadline passes: first at once, then every
// 20 % of the time since it was found late (at least lateMinGap); when the
// convergence phase begins (after a fault was healed) every late partition
// is re-read at once and the gaps count from then (rereadAll). The lag of
// each late record is therefore measured to within its re-read gap.
// Records never seen are missing.
//
// Records whose write timed out (its outcome unknown) are re-read the same
// way, but nothing waits for them: owed counts only the acknowledged
// records not seen yet, and convergence ends when it is 0.
type lateSet struct {
	mu      sync.Mutex
	buckets map[uint32]*lateBucket
	queue   lateQueue
	owed    int
}

type lateBucket struct {
	bucket uint32
	mask   uint64
	// unknown marks the records of mask whose write's outcome is unknown.
	unknown uint64
	// since is when the partition's oldest late record was found late (or
	// convergence began); next when it is re-read next (since the epoch).
	since, next time.Duration
	// index in the queue; -1 while it is being re-read.
	index int
}

// lateQueue is a min-heap of partitions by next re-read.
type lateQueue []*lateBucket

func (q lateQueue) Len() int           { return len(q) }
func (q lateQueue) Less(i, j int) bool { return q[i].next < q[j].next }
func (q lateQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *lateQueue) Push(x any) {
	b := x.(*lateBucket)
	b.index = len(*q)
	*q = append(*q, b)
}
func (q *lateQueue) Pop() any {
	old := *q
	b := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	b.index = -1
	return b
}

func (l *lateSet) init(int) { l.buckets = map[uint32]*lateBucket{} }

// add adds acknowledged late records (mask) of a partition.
func (l *lateSet) add(bucket uint32, mask uint64, at time.Duration) {
	l.addRecords(bucket, mask, 0, at)
}

// addUnknown adds late records of a partition whose write timed out: they
// are re-read like the others, but they are not owed.
func (l *lateSet) addUnknown(bucket uint32, mask uint64, at time.Duration) {
	l.addRecords(bucket, mask, mask, at)
}

func (l *lateSet) addRecords(bucket uint32, mask, unknown uint64, at time.Duration) {
	if mask == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[bucket]; ok {
		l.owed += bits.OnesCount64(mask &^ unknown &^ b.mask)
		b.mask |= mask
		b.unknown |= unknown
		return
	}
	l.owed += bits.OnesCount64(mask &^ unknown)
	b := &lateBucket{bucket: bucket, mask: mask, unknown: unknown, since: at, next: at}
	l.buckets[bucket] = b
	heap.Push(&l.queue, b)
}

func (l *lateSet) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// owedRecords counts the acknowledged late records not seen yet.
func (l *lateSet) owedRecords() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owed
}

// dueFor takes the partitions due for a re-read at now (at most max) off
// the queue.
func (l *lateSet) dueFor(now time.Duration, max int) []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []uint32
	for len(l.queue) > 0 && l.queue[0].next <= now && len(out) < max {
		out = append(out, heap.Pop(&l.queue).(*lateBucket).bucket)
	}
	return out
}

// done puts a re-read partition back: gone when every record was seen,
// else queued for its next re-read.
func (l *lateSet) done(bucket uint32, seen uint64, ok bool, at time.Duration, seenRecord func(seq int)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[bucket]
	if ok {
		for m := b.mask & seen; m != 0; m &= m - 1 {
			seenRecord(int(bucket)*RecordsPerPartition + bits.TrailingZeros64(m))
		}
		l.owed -= bits.OnesCount64(b.mask & seen &^ b.unknown)
		b.mask &^= seen
		b.unknown &^= seen
	}
	if b.mask == 0 {
		delete(l.buckets, bucket)
		return
	}
	b.next = at + max(lateMinGap, (at-b.since)/5)
	heap.Push(&l.queue, b)
}

// rereadAll makes every late partition due at once, its gaps counting from
// at (the start of convergence).
func (l *lateSet) rereadAll(at time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.buckets {
		b.next = at
		b.since = max(b.since, at)
	}
	heap.Init(&l.queue)
}

// lateMinGap is the shortest gap between two re-reads of a late partition.
const lateMinGap = 20 * time.Millisecond

// repoll re-reads the late partitions until stopLate.
func (r *Check) repoll(ctx context.Context) {
	defer close(r.lateDone)
	c := r.cfg
	work := make(chan uint32)
	var wg sync.WaitGroup
	for range c.LateReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				r.reread(ctx, b)
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.lateStop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, b := range r.late.dueFor(r.now(), 4*c.LateReaders) {
			select {
			case work <- b:
			case <-r.lateStop:
				return
			case <-ctx.Done():
				return
			}
		}
	}
}

// reread reads one late partition again and records the records seen.
func (r *Check) reread(ctx context.Context, bucket uint32) {
	r.rereads.Add(1)
	seen, err := r.readBucket(ctx, bucket)
	done := r.now()
	r.late.done(bucket, seen, err == nil, done, func(seq int) {
		r.lateUs[seq] = clampUs(done - time.Duration(r.ack[seq]))
		r.lateSeen.Add(1)
	})
}

func (r *Check) stopLate() {
	select {
	case <-r.lateStop:
	default:
		close(r.lateStop)
	}
	if r.epoch.IsZero() {
		return // Write never ran, so no re-reader either
	}
	<-r.lateDone
}
