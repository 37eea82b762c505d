// Package workload generates the traffic of an experiment: open-loop, paced
// traffic of simulated members (a Population) against a world, through its
// director and gateways, with every operation recorded in the history. It
// imports history and app (the protocol headers) and nothing else of kong.
//
// Open loop: a scheduler asks the Pacer when each operation is due and hands
// it to a pool of workers at that time, whether or not earlier operations
// have completed. The pool starts with Workers goroutines and grows up to
// MaxWorkers while all are busy; when the pool is at MaxWorkers and every
// worker is busy, due operations wait for one. Their latency is nevertheless
// measured from the time they were due (the intended start), so a stall of
// the system under test is charged to every operation it delayed, not only
// to the one that saw it (coordinated-omission correction). Operations that
// started late by more than LateThreshold are counted, and Report says
// whether the generator kept the requested rate, so a scenario can tell "the
// system was slow" from "the generator was the bottleneck".
//
// History: each operation writes an Invoke when a worker starts it (Time =
// that actual start; Entry = the region the director sent the session to)
// and then its completion (ok, fail or info, see workloadOutcome; Time = when
// it ended; Latency = completion time minus the intended start, so Latency
// can exceed Time minus the invoke's Time by the operation's lateness).
// Process is the session's index in the Population and Seq counts that
// session's operations from 1; a session's invokes reach the history in Seq
// order. Key is "profile/<member>" or "history/<member>"; Home is the
// member's geo; Phase is the phase current at the start. Completions repeat
// the invoke's identity fields and add what the response headers say:
// serving Region, Zone, Instance, Version (X-Kong-Version), CacheHit,
// Proxied (first X-Kong-Route value is "isthmus"), Failover (any value is
// "failover"), Shed (X-Kong-Shed: 1), Redirected (a 307/308 was followed,
// once), Status and Error.
package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// OpMix weighs the operations the workload issues; the weights need not add
// up to anything in particular.
type OpMix struct {
	ReadProfile   float64
	WriteProfile  float64
	AppendHistory float64
	ReadHistory   float64
}

// DefaultOpMix is 70 % profile reads, 15 % profile writes, 10 % history
// appends and 5 % history reads.
var DefaultOpMix = OpMix{ReadProfile: 70, WriteProfile: 15, AppendHistory: 10, ReadHistory: 5}

// OpSink receives history records; *history.Recorder is one.
type OpSink interface {
	Op(history.Op)
}

// Config configures a Workload. Director and Geos are required; the
// rest has defaults.
type Config struct {
	// Director is the director's base URL, e.g. "http://127.0.0.1:7000";
	// sessions ask it GET /v1/route?geo=G&key=SESSION.
	Director string
	// Geos are the members' home geos (geo names are region names).
	Geos []string
	// GeoWeights distributes members over Geos; nil means equally, and a
	// geo missing from a non-nil map gets no members.
	GeoWeights map[string]float64
	// Members is the number of simulated members (default 100), each with
	// 1-3 device sessions; MemberPrefix starts their ids (default "m").
	Members      int
	MemberPrefix string
	// ProcessBase is added to each session's index to make the Process of
	// its operations, so that two workloads can share one history.
	ProcessBase int
	// Seed draws the population and the sequence of operations.
	Seed uint64

	// Pacer schedules the operations (default Constant(50)).
	Pacer Pacer
	// Duration bounds the run (0: until the pacer stops, Stop, or the
	// context ends); MaxOps bounds the number of operations (0: no bound).
	Duration time.Duration
	MaxOps   uint64
	// Mix weighs the operations (zero value: DefaultOpMix).
	Mix OpMix

	// Workers is the initial pool size (default 64); MaxWorkers the most
	// it grows to while every worker is busy (default max(1024, Workers)).
	Workers    int
	MaxWorkers int
	// RequestTimeout bounds each HTTP request, the director's included
	// (default 5 s).
	RequestTimeout time.Duration
	// RouteTTL is how long a session trusts the director's answer
	// (default 1 s).
	RouteTTL time.Duration
	// DrainTimeout is how long Stop waits for operations in flight before
	// cancelling them (default RequestTimeout + 1 s).
	DrainTimeout time.Duration
	// LateThreshold is the lateness (actual start after intended start)
	// beyond which an operation counts as late (default 250 ms). Operations
	// are judged in the phase of their intended start, so a small lateness
	// changes no verdict; what does is a generator that stalls for a good
	// part of a second, pushing requests past an outage (availability is
	// then unknown). The default is that, not the scheduler's jitter on a
	// busy machine.
	LateThreshold time.Duration
	// LateTolerance is the share of late operations up to which the
	// generator still counts as having kept the rate (default 0.01), and
	// RateTolerance the shortfall of started operations against the
	// requested ones (default 0.05).
	LateTolerance float64
	RateTolerance float64

	// History receives the operations (nil: not recorded).
	History OpSink
	// Phase, when set, names the current phase; else SetPhase does.
	Phase func() string
	// Client overrides the HTTP client (its redirect policy is replaced:
	// the workload follows redirects itself).
	Client *http.Client
	// Dial, when set, dials the director and the gateways it names for
	// the workload's own client (topology.DialFunc of a world whose
	// gateways' names this machine cannot resolve).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c *Config) setDefaults() error {
	if c.Director == "" {
		return errors.New("workload: no director URL")
	}
	u, err := url.Parse(c.Director)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("workload: director %q is not an http(s) base URL like http://127.0.0.1:7000", c.Director)
	}
	if c.Members == 0 {
		c.Members = 100
	}
	if c.Pacer == nil {
		c.Pacer = Constant(50)
	}
	if c.Mix == (OpMix{}) {
		c.Mix = DefaultOpMix
	}
	m := c.Mix
	for _, w := range []float64{m.ReadProfile, m.WriteProfile, m.AppendHistory, m.ReadHistory} {
		if w < 0 || w != w {
			return fmt.Errorf("workload: op mix %+v: weights must be >= 0", m)
		}
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = max(1024, c.Workers)
	}
	if c.MaxWorkers < c.Workers {
		return fmt.Errorf("workload: max workers %d < workers %d", c.MaxWorkers, c.Workers)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.RouteTTL <= 0 {
		c.RouteTTL = time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = c.RequestTimeout + time.Second
	}
	if c.LateThreshold <= 0 {
		c.LateThreshold = 250 * time.Millisecond
	}
	if c.LateTolerance <= 0 {
		c.LateTolerance = 0.01
	}
	if c.RateTolerance <= 0 {
		c.RateTolerance = 0.05
	}
	return nil
}

// Workload generates paced traffic; build it with New, then Start
// it and Stop it (or Wait for the pacer, Duration or MaxOps to end it).
type Workload struct {
	cfg         Config
	pop         *Population
	client      *http.Client
	ownClient   bool
	directorURL string
	mixCum      [4]float64

	phase atomic.Pointer[string]
	stats *workloadStats

	jobs    chan workloadJob
	workers sync.WaitGroup
	nwork   atomic.Int64

	startOnce sync.Once
	started   atomic.Bool
	stopOnce  sync.Once
	stopCh    chan struct{}
	done      chan struct{}
	// reqCtx carries in-flight requests; it outlives the Start context so
	// that operations under way finish, and abort cancels it at the drain
	// deadline.
	reqCtx context.Context
	abort  context.CancelFunc
	result *Result
}

// workloadJob is one operation, as scheduled.
type workloadJob struct {
	intended time.Time
	sess     *DeviceSession
	kind     uint8 // index into workloadOps
	arg      uint32
}

var workloadOps = [4]string{history.OpReadProfile, history.OpWriteProfile, history.OpAppendHistory, history.OpReadHistory}

// New checks the configuration and draws the population.
func New(cfg Config) (*Workload, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	pop, err := NewPopulation(cfg.Seed, cfg.Members, cfg.Geos, cfg.GeoWeights, cfg.MemberPrefix)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	w := &Workload{cfg: cfg, pop: pop, stopCh: make(chan struct{}), done: make(chan struct{}),
		directorURL: strings.TrimRight(cfg.Director, "/") + "/v1/route"}
	m := cfg.Mix
	w.mixCum[0] = m.ReadProfile
	w.mixCum[1] = w.mixCum[0] + m.WriteProfile
	w.mixCum[2] = w.mixCum[1] + m.AppendHistory
	w.mixCum[3] = w.mixCum[2] + m.ReadHistory
	if w.mixCum[3] <= 0 {
		return nil, fmt.Errorf("workload: op mix %+v adds up to 0", m)
	}
	if cfg.Client != nil {
		c := *cfg.Client
		c.CheckRedirect = noRedirects
		w.client = &c
	} else {
		w.client, w.ownClient = newWorkloadClient(cfg.MaxWorkers, cfg.Dial), true
	}
	w.stats = newWorkloadStats(cfg.LateThreshold)
	empty := ""
	w.phase.Store(&empty)
	return w, nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newWorkloadClient is the workload's HTTP client: keep-alive connections
// for every worker, no compression, no automatic redirects, no proxy from
// the environment; per-request deadlines come from contexts. dial, when
// set, dials (within the same 2 s).
func newWorkloadClient(conns int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	dialer := (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if dial != nil {
		dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return dial(ctx, network, addr)
		}
	}
	tr := &http.Transport{
		DialContext:         dialer,
		MaxIdleConns:        0, // no global bound
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirects}
}

// Population returns the simulated members and sessions.
func (w *Workload) Population() *Population { return w.pop }

// SetPhase names the phase recorded in the operations invoked from now on
// (ignored when Config.Phase is set). Safe for concurrent use.
func (w *Workload) SetPhase(name string) { w.phase.Store(&name) }

// Phase returns the current phase name.
func (w *Workload) Phase() string {
	if w.cfg.Phase != nil {
		return w.cfg.Phase()
	}
	return *w.phase.Load()
}

// Start begins generating traffic; it returns at once. The run ends when
// ctx ends, Stop is called, the pacer stops, Duration passes or MaxOps
// operations were issued; then operations in flight are waited for (up to
// DrainTimeout). Start may be called once.
func (w *Workload) Start(ctx context.Context) error {
	first := false
	w.startOnce.Do(func() {
		first = true
		w.reqCtx, w.abort = context.WithCancel(context.WithoutCancel(ctx))
		w.jobs = make(chan workloadJob)
		w.stats.begin(time.Now())
		for i := 0; i < w.cfg.Workers; i++ {
			w.spawn(nil)
		}
		w.started.Store(true)
		go w.run(ctx)
	})
	if !first {
		return errors.New("workload: already started")
	}
	return nil
}

// Stop ends scheduling, waits for operations in flight (up to
// DrainTimeout, then cancels them) and returns the result. Safe to call more
// than once and after the run ended by itself.
func (w *Workload) Stop() (*Result, error) {
	w.stopOnce.Do(func() { close(w.stopCh) })
	return w.Wait()
}

// Wait waits until the run has ended and its operations have drained.
func (w *Workload) Wait() (*Result, error) {
	if !w.started.Load() {
		return nil, errors.New("workload: not started")
	}
	<-w.done
	return w.result, nil
}

// Done is closed when the run has ended and drained.
func (w *Workload) Done() <-chan struct{} { return w.done }

// Run generates traffic as configured until ctx ends or the schedule is
// over, and returns the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	w, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	return w.Wait()
}

func (w *Workload) spawn(first *workloadJob) {
	w.workers.Add(1)
	w.nwork.Add(1)
	go func() {
		defer w.workers.Done()
		if first != nil {
			w.execute(*first)
		}
		for j := range w.jobs {
			w.execute(j)
		}
	}()
}

// run is the scheduler, then the drain.
func (w *Workload) run(ctx context.Context) {
	defer close(w.done)
	w.schedule(ctx)
	close(w.jobs)

	drained := make(chan struct{})
	go func() { w.workers.Wait(); close(drained) }()
	t := time.NewTimer(w.cfg.DrainTimeout)
	select {
	case <-drained:
		t.Stop()
	case <-t.C:
		w.stats.abandoning.Store(true)
		w.abort()
		<-drained
	}
	w.abort()
	if w.ownClient {
		w.client.CloseIdleConnections()
	}
	w.result = w.stats.result(w)
}

// maxSchedulerSleep bounds one sleep of the scheduler, so that it notices
// the end of the run while the pacer is idle.
const maxSchedulerSleep = 250 * time.Millisecond

func (w *Workload) schedule(ctx context.Context) {
	start := w.stats.start()
	rng := history.Rand(w.cfg.Seed, "workload.schedule")
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var hits uint64
	defer func() { w.stats.endScheduling(time.Now(), hits) }()
	for {
		if w.cfg.MaxOps > 0 && hits >= w.cfg.MaxOps {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-w.stopCh:
			return
		default:
		}
		elapsed := time.Since(start)
		if w.cfg.Duration > 0 && elapsed >= w.cfg.Duration {
			return
		}
		wait, stop := w.cfg.Pacer.Pace(elapsed, hits)
		if stop {
			return
		}
		if wait > 0 {
			// Sleep, then ask the pacer again: it gives the exact lateness of
			// an operation that became due meanwhile.
			d := min(wait, maxSchedulerSleep)
			if w.cfg.Duration > 0 {
				d = min(d, w.cfg.Duration-elapsed)
			}
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			case <-w.stopCh:
				return
			}
			continue
		}
		j := w.nextJob(rng, start.Add(elapsed+wait))
		hits++
		w.stats.scheduled.Store(hits)
		if !w.dispatch(ctx, j) {
			w.stats.dropped.Add(1)
			return
		}
	}
}

// nextJob draws the next operation: a member, one of its sessions, an
// operation from the mix and its argument.
func (w *Workload) nextJob(rng *rand.Rand, intended time.Time) workloadJob {
	m := w.pop.Members[rng.IntN(len(w.pop.Members))]
	s := m.Sessions[rng.IntN(len(m.Sessions))]
	x := rng.Float64() * w.mixCum[3]
	k := 0
	for k < 3 && x >= w.mixCum[k] {
		k++
	}
	for k > 0 && w.mixCum[k] == w.mixCum[k-1] { // x rounded up onto a zero weight
		k--
	}
	return workloadJob{intended: intended, sess: s, kind: uint8(k), arg: rng.Uint32()}
}

// dispatch hands j to a free worker, else to a new one while the pool may
// grow, else waits for one. It returns false if the run ended meanwhile.
func (w *Workload) dispatch(ctx context.Context, j workloadJob) bool {
	select {
	case w.jobs <- j:
		return true
	default:
	}
	if w.nwork.Load() < int64(w.cfg.MaxWorkers) {
		w.spawn(&j)
		return true
	}
	select {
	case w.jobs <- j:
		return true
	case <-ctx.Done():
		return false
	case <-w.stopCh:
		return false
	}
}
