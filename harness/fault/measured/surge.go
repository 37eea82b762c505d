package measured

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

func init() {
	fault.Register(fault.Entry{Name: "surge", Targets: []fault.Scope{fault.ScopeRegion},
		Description: "a thundering herd: new members of a region's geo arrive at once, optionally after its caches were flushed",
		Params: []fault.Param{{Name: "rate", Default: "240", Help: "the surge's requests per second"},
			{Name: "members", Default: "3000", Help: "how many new members"},
			{Name: "cold_cache", Default: "true", Help: "flush the region's memcached servers first"}},
		New: func(c topology.Cluster, t fault.Target, a *fault.Args) (fault.Fault, error) {
			region, err := t.Region()
			cfg := workload.Config{Pacer: workload.Constant(a.Float("rate")), Members: a.Int("members")}
			return SurgeRegion(c, region, cfg, a.Bool("cold_cache")), err
		}})
}

// Surge is a thundering herd: a second workload of new members (whose data
// no cache holds) arrives at once at a rate several times a region's
// capacity, optionally after the region's caches were flushed. Its
// operations go into the run's history like the main workload's. From its
// injection until its cleanup it samples the region's data tier (the
// member services' Cassandra query counts) into the history, every second.
type Surge struct {
	cluster    topology.Cluster
	region     string
	cfg        workload.Config
	flushCache bool

	mu      sync.Mutex
	rec     *history.Recorder
	phase   func() string
	wl      *workload.Workload
	sampler *dataTierSampler
}

// SurgeRegion builds a surge of cfg's traffic (its Pacer, Members, Seed...)
// from members of region's geo; Director and History are filled in. With
// flushCache the region's memcached servers are flushed first (a cold
// cache).
func SurgeRegion(c topology.Cluster, region string, cfg workload.Config, flushCache bool) *Surge {
	return &Surge{cluster: c, region: region, cfg: cfg, flushCache: flushCache}
}

// UseHistory implements fault.HistoryUser: the surge records its operations in
// rec, in the phase under way.
func (s *Surge) UseHistory(rec *history.Recorder, phase func() string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec, s.phase = rec, phase
}

// Name implements fault.Fault.
func (s *Surge) Name() string { return "surge" }

// Target implements fault.Fault.
func (s *Surge) Target() fault.Target { return fault.Target{Regions: []string{s.region}} }

// Args implements fault.FaultArgs.
func (s *Surge) Args() map[string]string {
	rate := 0.0
	if s.cfg.Pacer != nil {
		rate = s.cfg.Pacer.Rate(0)
	}
	return map[string]string{"rate": strconv.FormatFloat(rate, 'g', -1, 64), "members": strconv.Itoa(s.cfg.Members),
		"cold_cache": strconv.FormatBool(s.flushCache)}
}

// Setup implements fault.Fault: build the surge's workload.
func (s *Surge) Setup(ctx context.Context) error {
	if _, ok := s.cluster.Spec().Region(s.region); !ok {
		return fmt.Errorf("surge: world %s has no region %s", s.cluster.Name(), s.region)
	}
	d, err := topology.Director(ctx, s.cluster)
	if err != nil {
		return err
	}
	cfg := s.cfg
	cfg.Director, cfg.Geos, cfg.GeoWeights = "http://"+d.Address, []string{s.region}, nil
	if cfg.Dial == nil {
		cfg.Dial = topology.DialFunc(s.cluster)
	}
	if cfg.MemberPrefix == "" {
		cfg.MemberPrefix = "herd"
	}
	if cfg.ProcessBase == 0 {
		cfg.ProcessBase = 1_000_000 // apart from the main workload's sessions
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec != nil {
		cfg.History = s.rec
		cfg.Phase = s.phase
	}
	wl, err := workload.New(cfg)
	if err != nil {
		return fmt.Errorf("surge: %w", err)
	}
	s.wl = wl
	return nil
}

// Inject implements fault.Fault: start sampling the region's data tier, flush
// the region's caches, then start the surge.
func (s *Surge) Inject(ctx context.Context) error {
	s.mu.Lock()
	if s.sampler == nil {
		s.sampler = startDataTier(s.cluster, s.region, s.rec, dataTierEvery)
	}
	s.mu.Unlock()
	if s.flushCache {
		var servers []string
		for _, addrs := range s.cluster.MemcachedAddrs(s.region) {
			servers = append(servers, addrs...)
		}
		sort.Strings(servers)
		for _, a := range servers {
			if err := memcache.New(a).FlushAll(); err != nil {
				return fmt.Errorf("surge: flush memcached %s: %w", a, err)
			}
		}
	}
	s.mu.Lock()
	wl := s.wl
	s.mu.Unlock()
	// The surge outlives this call: it runs until Recover.
	return wl.Start(context.WithoutCancel(ctx))
}

// WaitInjected implements fault.Fault: the surge's operations are under way.
func (s *Surge) WaitInjected(ctx context.Context) error {
	return fault.PollUntil(ctx, "the surge issuing operations", func(context.Context) error {
		if st := s.wl.Live(); st.Started == 0 {
			return errors.New("no surge operation started yet")
		}
		return nil
	})
}

// Recover implements fault.Fault: stop the surge (operations in flight drain).
func (s *Surge) Recover(context.Context) error {
	s.mu.Lock()
	wl := s.wl
	s.mu.Unlock()
	if wl == nil {
		return nil
	}
	_, err := wl.Stop()
	return err
}

// WaitRecovered implements fault.Fault: the surge has stopped.
func (s *Surge) WaitRecovered(ctx context.Context) error {
	select {
	case <-s.wl.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the surge did not stop: %w", context.Cause(ctx))
	case <-time.After(time.Minute):
		return errors.New("the surge did not stop within a minute")
	}
}

// Cleanup implements fault.Fault: a last data-tier sample, then the sampling
// stops.
func (s *Surge) Cleanup(context.Context) error {
	s.mu.Lock()
	d := s.sampler
	s.sampler = nil
	s.mu.Unlock()
	if d != nil {
		d.Stop()
	}
	return nil
}

// dataTierEvery is how often a data-tier sampler asks the member services.
const dataTierEvery = time.Second

// dataTierSampler measures the load on a region's data tier where it is
// put: every Every it asks each member service of the region for its count
// of Cassandra queries (GET /admin/stats) and records their sum as a Note
// event history.EventDataTier. The Shedding checker takes the data tier's
// rate from these samples, not from what the clients saw complete. A tick
// in which a member service did not answer records nothing: a sum over
// some of them would look like a drop.
type dataTierSampler struct {
	cluster topology.Cluster
	region  string
	rec     *history.Recorder
	every   time.Duration
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// startDataTier starts sampling region into rec until stop; with no
// recorder it samples nothing.
func startDataTier(c topology.Cluster, region string, rec *history.Recorder, every time.Duration) *dataTierSampler {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dataTierSampler{cluster: c, region: region, rec: rec, every: every, stop: cancel, done: make(chan struct{})}
	if rec == nil {
		close(d.done)
		return d
	}
	go func() {
		defer close(d.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			d.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return d
}

// sample records one sum, when every member service of the region answered.
func (d *dataTierSampler) sample(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, d.every)
	defer cancel()
	all, err := d.cluster.Components(ctx)
	if err != nil {
		return
	}
	var sum uint64
	n := 0
	for _, st := range all {
		if st.Kind != topology.KindMember || st.Region != d.region {
			continue
		}
		s, err := member.NewAdminClient("http://"+st.Address, d.cluster.Secret()).Stats(ctx)
		if err != nil {
			return
		}
		sum += s.CassandraOps
		n++
	}
	if n == 0 {
		return
	}
	d.rec.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: history.EventDataTier, Target: d.region,
		Detail: map[string]string{"cassandra_ops": strconv.FormatUint(sum, 10), "members": strconv.Itoa(n)}})
}

// Stop takes a last sample and stops; it is safe to call more than once.
func (d *dataTierSampler) Stop() {
	d.once.Do(func() {
		d.stop()
		<-d.done
		if d.rec != nil {
			d.sample(context.Background())
		}
	})
}
