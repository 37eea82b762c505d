package replcheck

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// EvidenceInterval is how often the evidence sampler asks every node, and
// evidenceTimeout how long one node's round of reads may take.
const (
	EvidenceInterval = 2 * time.Second
	evidenceTimeout  = 5 * time.Second
)

// evidenceSource says where each figure of the evidence comes from.
const evidenceSource = "each Cassandra node's own virtual tables, read over CQL from that node: " +
	"system_views.thread_pools (MutationStage pending, active and blocked tasks; HintsDispatcher completed tasks), " +
	"system_views.pending_hints (hint files), system_views.internode_outbound and internode_inbound (expired, overloaded and failed messages), " +
	"system_views.sstable_tasks (compactions running), and system_views.system_logs (GCInspector's pause lines) read once at the end"

// evidenceQuery is one virtual table the sampler reads, and how it adds
// its rows to a sample.
type evidenceQuery struct {
	table string
	cql   string
	scan  func(iter *gocql.Iter, s *history.NodeSample)
}

var evidenceQueries = []evidenceQuery{
	{"thread_pools", "SELECT name, active_tasks, pending_tasks, blocked_tasks, completed_tasks FROM system_views.thread_pools",
		func(iter *gocql.Iter, s *history.NodeSample) {
			var name string
			var active, pending, blocked, completed int64
			for iter.Scan(&name, &active, &pending, &blocked, &completed) {
				switch name {
				case "MutationStage":
					s.MutationActive, s.MutationPending, s.MutationBlocked = active, pending, blocked
				case "HintsDispatcher":
					s.HintsReplayed = completed
				}
			}
		}},
	{"pending_hints", "SELECT files FROM system_views.pending_hints",
		func(iter *gocql.Iter, s *history.NodeSample) {
			var files int64
			for iter.Scan(&files) {
				s.HintFiles += files
			}
		}},
	{"internode_outbound", "SELECT expired_count, overload_count, error_count FROM system_views.internode_outbound",
		func(iter *gocql.Iter, s *history.NodeSample) {
			var expired, overload, failed int64
			for iter.Scan(&expired, &overload, &failed) {
				s.Dropped += expired + overload + failed
			}
		}},
	{"internode_inbound", "SELECT expired_count, error_count FROM system_views.internode_inbound",
		func(iter *gocql.Iter, s *history.NodeSample) {
			var expired, failed int64
			for iter.Scan(&expired, &failed) {
				s.Dropped += expired + failed
			}
		}},
	{"sstable_tasks", "SELECT kind FROM system_views.sstable_tasks",
		func(iter *gocql.Iter, s *history.NodeSample) {
			var kind string
			for iter.Scan(&kind) {
				s.Compactions++
			}
		}},
}

// evidenceNode is one Cassandra node the sampler asks, and its session
// (nil until it could be opened).
type evidenceNode struct {
	id, addr string
	sess     *gocql.Session
}

// evidenceSampler asks every Cassandra node of a world for its own figures
// every interval, from Start until Stop, and keeps them with the time
// they were read.
type evidenceSampler struct {
	interval time.Duration
	nodes    []*evidenceNode

	mu       sync.Mutex
	samples  []timedSample
	unread   map[string]*unreadTable // by "node table"
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// unreadTable is how often a node's table could not be read, and the
// first error.
type unreadTable struct {
	times int
	first string
}

type timedSample struct {
	at time.Time
	s  history.NodeSample
}

// startEvidence starts sampling the Cassandra nodes of c every interval.
func startEvidence(ctx context.Context, c topology.Cluster, interval time.Duration) (*evidenceSampler, error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return nil, fmt.Errorf("evidence: list the nodes of world %s: %w", c.Name(), err)
	}
	e := &evidenceSampler{interval: interval, unread: map[string]*unreadTable{}, stop: make(chan struct{}), done: make(chan struct{})}
	for _, comp := range comps {
		if comp.Kind == topology.KindCassandra {
			e.nodes = append(e.nodes, &evidenceNode{id: comp.ID, addr: comp.Address})
		}
	}
	go e.loop()
	return e, nil
}

func (e *evidenceSampler) loop() {
	defer close(e.done)
	tick := time.NewTicker(e.interval)
	defer tick.Stop()
	for {
		e.sampleAll()
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
	}
}

// sampleAll asks every node once, the nodes side by side.
func (e *evidenceSampler) sampleAll() {
	var wg sync.WaitGroup
	for _, n := range e.nodes {
		wg.Go(func() { e.sampleNode(n) })
	}
	wg.Wait()
}

// sampleNode reads one node's tables; a table it cannot read leaves its
// figures at zero and a line in unread.
func (e *evidenceSampler) sampleNode(n *evidenceNode) {
	if n.sess == nil {
		s, err := cql.NodeSession(n.addr)
		if err != nil {
			e.note(n.id, "session", err)
			return
		}
		n.sess = s
	}
	// A busy node may take a while to answer: the next round waits.
	ctx, cancel := context.WithTimeout(context.Background(), evidenceTimeout)
	defer cancel()
	sample := history.NodeSample{Node: n.id}
	at := time.Now()
	read := 0
	for _, q := range evidenceQueries {
		iter := n.sess.Query(q.cql).IterContext(ctx)
		q.scan(iter, &sample)
		if err := iter.Close(); err != nil {
			e.note(n.id, q.table, err)
			continue
		}
		read++
	}
	if read == 0 {
		return
	}
	e.mu.Lock()
	e.samples = append(e.samples, timedSample{at, sample})
	e.mu.Unlock()
}

// SettleBound is how long a replication check waits at most, after its
// re-reads, for the world to be quiet again.
const SettleBound = 2 * time.Minute

// settle waits until a round of samples taken after it began shows every
// node quiet (no hint files, no pending mutations, no compactions), or
// until bound has passed or ctx ends; it returns how long it waited and,
// when the world was not quiet by then, what was still busy. The sampler
// keeps sampling at its interval meanwhile.
func (e *evidenceSampler) settle(ctx context.Context, bound time.Duration) (time.Duration, []string) {
	start := time.Now()
	tick := time.NewTicker(e.interval / 2)
	defer tick.Stop()
	var busy []string
	for {
		var ok bool
		if ok, busy = e.quietSince(start); ok {
			return time.Since(start), nil
		}
		if time.Since(start) >= bound {
			return time.Since(start), busy
		}
		select {
		case <-ctx.Done():
			return time.Since(start), append(busy, "the wait was cut short: "+ctx.Err().Error())
		case <-e.done:
			return time.Since(start), append(busy, "the sampling had stopped")
		case <-tick.C:
		}
	}
}

// quietSince says whether every node's latest sample taken after t shows
// it quiet, and otherwise what is busy or not yet sampled.
func (e *evidenceSampler) quietSince(t time.Time) (bool, []string) {
	e.mu.Lock()
	latest := map[string]history.NodeSample{}
	for _, ts := range e.samples {
		if !ts.at.Before(t) {
			latest[ts.s.Node] = ts.s
		}
	}
	e.mu.Unlock()
	var busy []string
	for _, n := range e.nodes {
		s, ok := latest[n.id]
		switch {
		case !ok:
			busy = append(busy, n.id+": not sampled yet")
		case s.HintFiles > 0 || s.MutationPending > 0 || s.Compactions > 0:
			busy = append(busy, fmt.Sprintf("%s: %d hint files, %d mutations pending, %d compactions", n.id, s.HintFiles, s.MutationPending, s.Compactions))
		}
	}
	return len(busy) == 0, busy
}

// halt stops the sampling (once) and waits for the sample under way.
func (e *evidenceSampler) halt() {
	e.stopOnce.Do(func() { close(e.stop) })
	<-e.done
}

// close stops the sampling and closes the sessions (finish does both).
func (e *evidenceSampler) close() {
	e.halt()
	for _, n := range e.nodes {
		cql.CloseSession(n.sess)
		n.sess = nil
	}
}

// note keeps the first error of a node's table.
func (e *evidenceSampler) note(node, table string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := node + " " + table
	u := e.unread[k]
	if u == nil {
		u = &unreadTable{first: err.Error()}
		e.unread[k] = u
	}
	u.times++
}

// finish stops the sampling, reads the nodes' GC pauses from their logs,
// closes the sessions, and returns the evidence with times in seconds
// since epoch.
func (e *evidenceSampler) finish(epoch time.Time) *history.NodeEvidence {
	e.halt()
	ev := &history.NodeEvidence{IntervalMs: float64(e.interval.Milliseconds()), Source: evidenceSource, Samples: []history.NodeSample{}}
	for _, n := range e.nodes {
		if n.sess == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		pauses, lines, err := gcPauses(ctx, n.sess, n.id, epoch)
		cancel()
		switch {
		case err != nil:
			e.note(n.id, "system_logs", err)
		case lines == 0:
			e.note(n.id, "system_logs", errors.New("empty: the node's logback configuration does not fill it, so its GC pauses are unknown"))
		default:
			ev.LogsRead++
		}
		ev.GC = append(ev.GC, pauses...)
		cql.CloseSession(n.sess)
		n.sess = nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.samples {
		t.s.At = t.at.Sub(epoch).Seconds()
		ev.Samples = append(ev.Samples, t.s)
	}
	for k, u := range e.unread {
		node, table, _ := strings.Cut(k, " ")
		ev.Unread = append(ev.Unread, fmt.Sprintf("%s: %s: %d time(s), first: %s", node, table, u.times, u.first))
	}
	slices.Sort(ev.Unread)
	slices.SortStableFunc(ev.GC, func(a, b history.GCPause) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return ev
}

// gcLine is GCInspector's line for a pause: "G1 Young Generation GC in
// 230ms.  G1 Eden Space: ...".
var gcLine = regexp.MustCompile(`^(.+?) GC in (\d+)ms`)

// gcPauses reads the GC pauses node logged from epoch on, from its
// system_views.system_logs (which the world's logback configuration
// fills); lines counts the lines it holds, GC or not.
func gcPauses(ctx context.Context, s *gocql.Session, node string, epoch time.Time) (pauses []history.GCPause, lines int, err error) {
	iter := s.Query("SELECT timestamp, logger, message FROM system_views.system_logs").IterContext(ctx)
	var at time.Time
	var logger, msg string
	for iter.Scan(&at, &logger, &msg) {
		lines++
		if p, ok := parseGCPause(logger, msg); ok && !at.Before(epoch) {
			p.At, p.Node = at.Sub(epoch).Seconds(), node
			pauses = append(pauses, p)
		}
	}
	return pauses, lines, iter.Close()
}

// parseGCPause reads one GCInspector line.
func parseGCPause(logger, msg string) (history.GCPause, bool) {
	if !strings.HasSuffix(logger, "GCInspector") {
		return history.GCPause{}, false
	}
	m := gcLine.FindStringSubmatch(msg)
	if m == nil {
		return history.GCPause{}, false
	}
	ms, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return history.GCPause{}, false
	}
	return history.GCPause{Ms: ms, Collector: m[1]}, true
}
