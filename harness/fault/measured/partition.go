// Package measured holds the faults that measure what they do instead of
// leaving it to the workload: a partition that writes markers on both
// sides and records how many crossed during the cut and when they
// converged after it (WatchPartition), and a real-life failover that
// notices a region's degradation from its users' error rate, evacuates it
// and times each step (SignalFailover), and a thundering herd that samples
// the load its region's data tier sees while it lasts (Surge). Each records
// into the run's history as fault.HistoryUser, and heals like every fault.
package measured

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// WatchedPartition is a partition between two sides, each one region or
// more, that measures what it does to the data instead of assuming it:
// while the links are cut, each region writes a marker row every Every
// (LOCAL_QUORUM, in its own datacenter) and reads the markers of each
// region across the cut (LOCAL_ONE); after the heal it keeps reading until
// each region holds every marker of every region across it.
// It records, as events of the run, how many markers crossed during the cut
// (none should: "isolation"), how many reads of the other region's markers
// answered in each region (an isolation no read measured proves nothing),
// and when all had crossed after the heal
// ("converged", with the time since the heal); the SplitIsolation checker
// judges them.
type WatchedPartition struct {
	*fault.Partition
	cluster  topology.Cluster
	a, b     []string // the two sides of the cut
	keyspace string
	Every    time.Duration
	// Deadline bounds the wait for convergence after the heal.
	Deadline time.Duration

	mu       sync.Mutex
	rec      *history.Recorder
	sessions map[string]*gocql.Session
	run      string
	written  map[string]int // region -> markers written during the cut
	read     map[string]int // region -> reads of the other's markers that answered
	crossed  int            // markers seen across during the cut
	stop     context.CancelFunc
	wg       sync.WaitGroup
	healed   time.Time
	done     chan struct{}
	result   error
}

// WatchPartition cuts the links between a and b and watches the data.
func WatchPartition(c topology.Cluster, a, b string) *WatchedPartition {
	return watch(c, []string{a}, []string{b}, fault.PartitionRegions(c, a, b))
}

// WatchIsolation cuts every link between region and the other regions,
// which stay connected to each other, and watches the data across the cut.
func WatchIsolation(c topology.Cluster, region string) *WatchedPartition {
	others := slices.DeleteFunc(c.Spec().RegionNames(), func(r string) bool { return r == region })
	return watch(c, []string{region}, others, fault.IsolateRegion(c, region))
}

// WatchLeakyPartition cuts the proxies of the links between a and b except
// Cassandra's, and watches the data as WatchPartition does: a cut that
// leaves the storage links up (a firewall rule that missed a port), so the
// markers cross it. A broken world for the isolation checker.
func WatchLeakyPartition(c topology.Cluster, a, b string) *WatchedPartition {
	sides := func(p *fault.Partition) *WatchedPartition { return watch(c, []string{a}, []string{b}, p) }
	t, err := fault.Between(a, b).Select(context.Background(), c)
	if err != nil {
		return sides(fault.PartitionRegions(c, a, b))
	}
	t = fault.OnlyProxies(t, func(p string) bool {
		return p == topology.SQSProxyName(a, b) || p == topology.SQSProxyName(b, a) ||
			p == topology.IsthmusProxyName(a, b) || p == topology.IsthmusProxyName(b, a)
	})
	return sides(fault.PartitionLinks(c, t))
}

func watch(c topology.Cluster, a, b []string, p *fault.Partition) *WatchedPartition {
	return &WatchedPartition{Partition: p, cluster: c, a: a, b: b, keyspace: c.Spec().Cassandra.Keyspace,
		Every: 500 * time.Millisecond, Deadline: 3 * time.Minute}
}

// UseHistory implements fault.HistoryUser: the watch records isolation and
// convergence events in rec.
func (w *WatchedPartition) UseHistory(rec *history.Recorder, _ func() string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rec = rec
}

func (w *WatchedPartition) event(name string, detail map[string]string) {
	w.mu.Lock()
	rec := w.rec
	w.mu.Unlock()
	if rec != nil {
		rec.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: name, Target: strings.Join(w.regions(), ","), Detail: detail})
	}
}

// Setup implements fault.Fault: the partition's, then a session per region and
// the markers table.
func (w *WatchedPartition) Setup(ctx context.Context) error {
	if err := w.Partition.Setup(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sessions = map[string]*gocql.Session{}
	for _, r := range w.regions() {
		s, err := topology.RegionSession(w.cluster, r, w.keyspace)
		if err != nil {
			w.closeLocked()
			return fmt.Errorf("watch partition: session in %s: %w", r, err)
		}
		w.sessions[r] = s
	}
	if err := w.sessions[w.a[0]].Query(`CREATE TABLE IF NOT EXISTS split_markers (run text, src text, seq int, PRIMARY KEY ((run, src), seq))`).
		ExecContext(ctx); err != nil {
		w.closeLocked()
		return fmt.Errorf("watch partition: markers table: %w", err)
	}
	w.run = strconv.FormatInt(time.Now().UnixNano(), 36)
	w.written, w.read = map[string]int{}, map[string]int{}
	w.done = make(chan struct{})
	return nil
}

// regions are both sides' regions.
func (w *WatchedPartition) regions() []string { return append(slices.Clone(w.a), w.b...) }

// across are the pairs (src, dst) of regions on either side of the cut.
func (w *WatchedPartition) across() [][2]string {
	var out [][2]string
	for _, x := range w.a {
		for _, y := range w.b {
			out = append(out, [2]string{x, y}, [2]string{y, x})
		}
	}
	return out
}

func (w *WatchedPartition) closeLocked() {
	for _, s := range w.sessions {
		cql.CloseSession(s)
	}
	w.sessions = nil
}

// seen counts the markers of src that region holds.
func (w *WatchedPartition) seen(ctx context.Context, region, src string) (int, error) {
	w.mu.Lock()
	s := w.sessions[region]
	w.mu.Unlock()
	var n int
	err := s.Query(`SELECT COUNT(*) FROM split_markers WHERE run = ? AND src = ?`, w.run, src).
		Consistency(gocql.LocalOne).ScanContext(ctx, &n)
	return n, err
}

// WaitInjected implements fault.Fault: the links are cut; then the markers start.
func (w *WatchedPartition) WaitInjected(ctx context.Context) error {
	if err := w.Partition.WaitInjected(ctx); err != nil {
		return err
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.mu.Lock()
	w.stop = cancel
	w.mu.Unlock()
	w.wg.Add(1)
	go w.markers(mctx)
	return nil
}

func (w *WatchedPartition) markers(ctx context.Context) {
	defer w.wg.Done()
	tick := time.NewTicker(w.Every)
	defer tick.Stop()
	for {
		for _, src := range w.regions() {
			w.mu.Lock()
			s, seq := w.sessions[src], w.written[src]
			w.mu.Unlock()
			if err := s.Query(`INSERT INTO split_markers (run, src, seq) VALUES (?, ?, ?)`, w.run, src, seq).
				Consistency(gocql.LocalQuorum).ExecContext(ctx); err == nil {
				w.mu.Lock()
				w.written[src]++
				w.mu.Unlock()
			}
		}
		for _, pair := range w.across() {
			src, dst := pair[0], pair[1]
			if n, err := w.seen(ctx, dst, src); err == nil {
				w.mu.Lock()
				w.read[dst]++
				w.crossed = max(w.crossed, n)
				w.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Recover implements fault.Fault: stop the markers, record the isolation, heal.
func (w *WatchedPartition) Recover(ctx context.Context) error {
	w.mu.Lock()
	stop := w.stop
	w.mu.Unlock()
	if stop != nil {
		stop()
		w.wg.Wait()
		w.mu.Lock()
		detail := map[string]string{"crossed": strconv.Itoa(w.crossed)}
		for _, r := range w.regions() {
			detail["written_"+r], detail["read_"+r] = strconv.Itoa(w.written[r]), strconv.Itoa(w.read[r])
		}
		w.stop = nil
		w.mu.Unlock()
		w.event(history.EventIsolation, detail)
	}
	return w.Partition.Recover(ctx)
}

// WaitRecovered implements fault.Fault: the links carry traffic again; the wait
// for the markers to cross starts from here (see WaitConverged).
func (w *WatchedPartition) WaitRecovered(ctx context.Context) error {
	if err := w.Partition.WaitRecovered(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	if !w.healed.IsZero() {
		w.mu.Unlock()
		return nil
	}
	w.healed = time.Now()
	w.mu.Unlock()
	go w.converge(context.WithoutCancel(ctx))
	return nil
}

func (w *WatchedPartition) converge(ctx context.Context) {
	defer close(w.done)
	ctx, cancel := context.WithTimeout(ctx, w.Deadline)
	defer cancel()
	w.mu.Lock()
	want := maps.Clone(w.written)
	healed := w.healed
	w.mu.Unlock()
	err := fault.PollUntil(ctx, "every marker written during the cut seen across", func(ctx context.Context) error {
		for _, pair := range w.across() {
			n, err := w.seen(ctx, pair[1], pair[0])
			if err != nil {
				return err
			}
			if n < want[pair[0]] {
				return fmt.Errorf("%s holds %d of %s's %d markers", pair[1], n, pair[0], want[pair[0]])
			}
		}
		return nil
	})
	detail := map[string]string{"after_heal_ms": strconv.FormatInt(time.Since(healed).Milliseconds(), 10)}
	if err != nil {
		detail = map[string]string{"error": err.Error(), "deadline": w.Deadline.String()}
	}
	w.mu.Lock()
	w.result = err
	w.mu.Unlock()
	w.event(history.EventConverged, detail)
}

// WaitConverged waits until the markers crossed after the heal (or the
// deadline passed); call it before the run's history is closed.
func (w *WatchedPartition) WaitConverged(ctx context.Context) error {
	w.mu.Lock()
	done, healed := w.done, !w.healed.IsZero()
	w.mu.Unlock()
	if done == nil || !healed {
		return errors.New("watch partition: never healed")
	}
	select {
	case <-done:
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.result
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cleanup implements fault.Fault: close the sessions once the watch is over.
func (w *WatchedPartition) Cleanup(ctx context.Context) error {
	w.mu.Lock()
	stop, done, healed := w.stop, w.done, !w.healed.IsZero()
	w.mu.Unlock()
	if stop != nil {
		stop()
		w.wg.Wait()
	}
	if done != nil && healed {
		go func() {
			<-done
			w.mu.Lock()
			w.closeLocked()
			w.mu.Unlock()
		}()
		return nil
	}
	w.mu.Lock()
	w.closeLocked()
	w.mu.Unlock()
	return nil
}
