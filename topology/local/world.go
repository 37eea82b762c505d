// Package local runs a topology as real processes on this machine: one JVM
// per Cassandra node on its own loopback address, memcached per zone,
// ElasticMQ per region, and the kong binary's embedded toxiproxy server in
// front of every cross-region path.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/topology"
)

// Options say which world to build and where.
type Options struct {
	// Name is the world's name (default "kong"); it picks the state folder,
	// the address range and the ports.
	Name string
	Spec *topology.Spec
	// Home holds worlds' state folders: $KONG_HOME, else ~/.kong.
	Home string
	// KongBinary runs the embedded toxiproxy server (`kong serve toxiproxy`).
	KongBinary string
	// ReadyTimeout bounds the wait for every component to be ready (default 5m).
	// ReadyTimeout bounds the wait for readiness after the assets are there.
	ReadyTimeout time.Duration
	Log          *slog.Logger
	// Progress, when set, hears about every step of the start.
	Progress func(Event)
}

// Event is one step of bringing a world up.
type Event struct {
	Phase     string        // assets, ports, toxiproxy, sqs, memcached, cassandra, cluster, ready
	Component string        // the component that became ready, if any
	Done      int           // components ready so far
	Total     int           // components in the world
	Elapsed   time.Duration // since Up began
}

// World is a running local world. It implements topology.Cluster.
type World struct {
	name   string
	spec   *topology.Spec
	plan   *topology.Plan
	dir    string
	home   string
	assets *Assets
	opts   Options
	log    *slog.Logger
	start  time.Time

	mu       sync.Mutex
	saveMu   sync.Mutex     // serializes state file writes
	inflight sync.WaitGroup // control requests under way
	closing  bool           // Down has begun: no more starts
	upDone   bool           // Up has finished: restarts do not count as progress
	procs    map[string]*process
	order    []string
	phases   []PhaseTime
	done     int

	phase    string
	status   string
	errText  string
	control  string
	lockFile *os.File
	secret   string // the world's secret (secret.go)
}

// PhaseTime is how long one phase of Up took.
type PhaseTime struct {
	Phase    string        `json:"phase"`
	Duration time.Duration `json:"duration"`
}

var _ topology.Cluster = (*World)(nil)

// Up brings a world up and returns when every component is ready. On error
// it returns the half-built world as well, so the caller can Down it.
func Up(ctx context.Context, o Options) (*World, error) {
	if o.Name == "" {
		o.Name = "kong"
	}
	if err := topology.CheckWorldName(o.Name); err != nil {
		return nil, err
	}
	if o.Spec == nil {
		return nil, errors.New("no topology spec given")
	}
	if o.Home == "" {
		o.Home = Home()
	}
	if err := PrepareHome(o.Home); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	if o.KongBinary == "" {
		return nil, errors.New("no kong binary given: it runs the embedded toxiproxy server (build it with `make build`, or set KONG_BIN)")
	}
	if _, err := os.Stat(o.KongBinary); err != nil {
		return nil, fmt.Errorf("kong binary %s: %w (build it with `make build`, or set KONG_BIN)", o.KongBinary, err)
	}
	w := &World{name: o.Name, spec: o.Spec, home: o.Home, dir: StateDir(o.Home, o.Name), opts: o, log: o.Log,
		start: time.Now(), procs: map[string]*process{}}

	if err := w.claim(); err != nil {
		return nil, err
	}
	return w, w.bringUp(ctx)
}

func (w *World) bringUp(ctx context.Context) error {
	phase := w.phaseTimer()
	phase("assets")
	var err error
	// Downloads are not held to the readiness deadline: a first run on a slow
	// network may take a while, and Ctrl-C still cancels it.
	w.assets, err = EnsureAssets(ctx, w.spec.Cassandra.Version, w.spec.SQS.ElasticMQVersion, w.log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.ReadyTimeout)
	defer cancel()
	phase("ports")
	if err := w.checkPorts(); err != nil {
		return err
	}
	if err := w.defineProcesses(); err != nil {
		return err
	}
	if err := w.saveState("starting", ""); err != nil {
		return err
	}

	phase("toxiproxy")
	if err := w.startComponent(ctx, topology.KindToxiproxy); err != nil {
		return err
	}
	// SQS, memcached and the Cassandra seeds boot together; the other nodes
	// start once a seed listens, then every readiness check runs in parallel.
	phase("servers")
	var seeds, others []string
	for _, n := range w.plan.Cassandra {
		if n.Seed {
			seeds = append(seeds, n.ID)
		} else {
			others = append(others, n.ID)
		}
	}
	var first []string
	for _, c := range w.plan.SQS {
		first = append(first, c.ID)
	}
	for _, c := range w.plan.Memcached {
		first = append(first, c.ID)
	}
	first = append(first, seeds...)
	for _, id := range first {
		if err := w.procs[id].start(); err != nil {
			return err
		}
	}
	_ = w.saveState("", "")
	if len(others) > 0 {
		phase("cassandra seeds")
		if err := w.eachParallel(ctx, seeds, func(ctx context.Context, id string) error {
			return w.waitPort(ctx, id, w.procs[id].comp.Extra["storage"])
		}); err != nil {
			return err
		}
		for _, id := range others {
			if err := w.procs[id].start(); err != nil {
				return err
			}
		}
		_ = w.saveState("", "")
	}
	phase("readiness")
	if err := w.eachParallel(ctx, append(first, others...), w.waitReady); err != nil {
		return err
	}
	phase("cluster")
	if err := w.waitCluster(ctx); err != nil {
		return err
	}
	phase("application")
	if err := w.poll(ctx, w.plan.Cassandra[0].ID, "creating the application's tables", func(ctx context.Context) error {
		return createAppSchema(ctx, w.plan)
	}); err != nil {
		return err
	}
	var app []string
	for _, c := range w.plan.Components() {
		if c.Kind == topology.KindMember || c.Kind == topology.KindGateway || c.Kind == topology.KindDirector {
			if _, ok := w.procs[c.ID]; ok {
				app = append(app, c.ID)
			}
		}
	}
	for _, id := range app {
		if err := w.procs[id].start(); err != nil {
			return err
		}
	}
	_ = w.saveState("", "")
	if err := w.eachParallel(ctx, app, w.waitReady); err != nil {
		return err
	}
	phase("")
	w.mu.Lock()
	w.upDone = true
	w.mu.Unlock()
	w.progress(Event{Phase: "ready"})
	return w.saveState("ready", "")
}

// eachParallel runs f for every id at once and returns the first error.
func (w *World) eachParallel(ctx context.Context, ids []string, f func(context.Context, string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() { errs <- f(ctx, id) }()
	}
	var first error
	for range ids {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// phaseTimer returns a function that closes the running phase and opens the next.
func (w *World) phaseTimer() func(string) {
	current, began := "", time.Now()
	return func(next string) {
		now := time.Now()
		if current != "" {
			w.mu.Lock()
			w.phases = append(w.phases, PhaseTime{Phase: current, Duration: now.Sub(began)})
			w.mu.Unlock()
			w.log.Info("phase done", "phase", current, "took", now.Sub(began).Round(time.Millisecond))
		}
		current, began = next, now
		w.mu.Lock()
		w.phase = next
		w.mu.Unlock()
		if next != "" {
			_ = w.saveState("", "")
			w.progress(Event{Phase: next})
		}
	}
}

// Phases reports how long each phase of Up took.
func (w *World) Phases() []PhaseTime {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]PhaseTime(nil), w.phases...)
}

func (w *World) progress(e Event) {
	if w.opts.Progress == nil {
		return
	}
	w.mu.Lock()
	e.Done, e.Total = w.done, len(w.order)
	w.mu.Unlock()
	e.Elapsed = time.Since(w.start)
	w.opts.Progress(e)
}

func (w *World) markReady(id string) {
	w.mu.Lock()
	if !w.upDone {
		w.done++
	}
	w.mu.Unlock()
	w.log.Info("ready", "component", id)
	_ = w.saveState("", "")
	w.progress(Event{Phase: "ready", Component: id})
}

// defineProcesses writes every component's configuration and creates
// (without starting) its supervisor.
func (w *World) defineProcesses() error {
	add := func(c topology.Component, argv []string) {
		w.procs[c.ID] = &process{comp: c, argv: argv, stateDir: w.dir,
			logPath: filepath.Join(w.dir, "logs", fileName(c.ID)+".log")}
		w.order = append(w.order, c.ID)
	}
	routes := filepath.Join(w.dir, "link-routes.json")
	if err := WriteRoutes(routes, PlanRoutes(w.plan)); err != nil {
		return fmt.Errorf("write link routes: %w", err)
	}
	add(w.plan.Toxiproxy, []string{w.opts.KongBinary, "serve", "toxiproxy", "--listen", w.plan.Toxiproxy.Address, "--routes", routes,
		"--allow-listen", w.plan.Prefix() + ".0.0/16"})
	for _, c := range w.plan.SQS {
		argv, err := elasticMQCommand(w.assets, w.spec, c, w.nodeDir(c.ID))
		if err != nil {
			return err
		}
		add(c, argv)
	}
	for _, c := range w.plan.Memcached {
		add(c, memcachedCommand(w.assets, w.spec, c))
	}
	for _, n := range w.plan.Cassandra {
		argv, err := cassandraCommand(w.assets, w.plan, n, w.name, w.nodeDir(n.ID))
		if err != nil {
			return err
		}
		add(n.Component, argv)
	}
	for _, c := range w.plan.Members {
		cfg := memberConfig(w.plan, c)
		cfg.AdminSecret = w.secret
		path, err := w.writeConfig(c.ID, cfg)
		if err != nil {
			return err
		}
		add(c, []string{w.opts.KongBinary, "serve", "member", "--listen", c.Address, "--config", path})
	}
	for _, g := range w.plan.Gateways {
		if len(gatewayConfig(w.plan, g).Members) == 0 {
			continue // a region without member instances has nothing to serve
		}
		cfg := gatewayConfig(w.plan, g)
		cfg.AdminSecret = w.secret
		path, err := w.writeConfig(g.ID, cfg)
		if err != nil {
			return err
		}
		add(g, []string{w.opts.KongBinary, "serve", "gateway", "--listen", g.Address, "--config", path})
	}
	if len(w.plan.Gateways) > 0 {
		d := w.plan.Director
		cfg := directorConfig(w.plan)
		cfg.AdminSecret = w.secret
		path, err := w.writeConfig(d.ID, cfg)
		if err != nil {
			return err
		}
		add(d, []string{w.opts.KongBinary, "serve", "director", "--listen", d.Address, "--config", path})
	}
	return nil
}

func fileName(id string) string { return strings.ReplaceAll(id, "/", "_") }

// nodeDir is the folder of a Cassandra node or an SQS endpoint.
func (w *World) nodeDir(id string) string { return filepath.Join(w.dir, "nodes", fileName(id)) }

// startComponent starts one component and waits until it is ready.
func (w *World) startComponent(ctx context.Context, id string) error {
	p, ok := w.procs[id]
	if !ok {
		return w.unknown(id)
	}
	w.mu.Lock()
	closing := w.closing
	w.mu.Unlock()
	if closing {
		return fmt.Errorf("world %s is going down: %s not started", w.name, id)
	}
	if err := p.start(); err != nil {
		return err
	}
	_ = w.saveState("", "")
	ctx, cancel := context.WithTimeout(ctx, w.opts.ReadyTimeout)
	defer cancel()
	return w.waitReady(ctx, id)
}

// Name implements topology.Cluster.
func (w *World) Name() string { return w.name }

// Spec implements topology.Cluster.
func (w *World) Spec() *topology.Spec { return w.spec }

// Dir is the world's state folder.
func (w *World) Dir() string { return w.dir }

// Plan is the world's address plan.
func (w *World) Plan() *topology.Plan { return w.plan }

// Components implements topology.Cluster.
func (w *World) Components(context.Context) ([]topology.Status, error) {
	return w.statuses(), nil
}

func (w *World) statuses() []topology.Status {
	out := make([]topology.Status, 0, len(w.order))
	for _, id := range w.order {
		p := w.procs[id]
		out = append(out, topology.Status{Component: p.comp, PID: p.pid(), State: p.state(), Log: w.LogPath(id)})
	}
	return out
}

// LogPath is the most useful log of a component: Cassandra's system.log, the
// console log of the others.
func (w *World) LogPath(id string) string {
	p, ok := w.procs[id]
	if !ok {
		return ""
	}
	if p.comp.Kind == topology.KindCassandra {
		return filepath.Join(w.nodeDir(id), "logs", "system.log")
	}
	return p.logPath
}

func (w *World) unknown(id string) error {
	ids := append([]string(nil), w.order...)
	sort.Strings(ids)
	return fmt.Errorf("unknown component %q in world %s: the components are %s", id, w.name, strings.Join(ids, ", "))
}

// Start implements topology.Cluster.
func (w *World) Start(ctx context.Context, id string) error {
	p, ok := w.procs[id]
	if !ok {
		return w.unknown(id)
	}
	if p.state() == topology.StatePaused {
		return w.Resume(ctx, id)
	}
	return w.startComponent(ctx, id)
}

// Stop implements topology.Cluster.
func (w *World) Stop(_ context.Context, id string) error {
	p, ok := w.procs[id]
	if !ok {
		return w.unknown(id)
	}
	if err := p.stop(30 * time.Second); err != nil {
		return err
	}
	return w.saveState("", "")
}

// Kill implements topology.Cluster.
func (w *World) Kill(_ context.Context, id string) error {
	p, ok := w.procs[id]
	if !ok {
		return w.unknown(id)
	}
	if err := p.kill(); err != nil {
		return err
	}
	return w.saveState("", "")
}

// Pause implements topology.Cluster.
func (w *World) Pause(_ context.Context, id string) error {
	p, ok := w.procs[id]
	if !ok {
		return w.unknown(id)
	}
	return p.signal(syscall.SIGSTOP)
}

// Resume implements topology.Cluster.
func (w *World) Resume(_ context.Context, id string) error {
	p, ok := w.procs[id]
	if !ok {
		return w.unknown(id)
	}
	return p.signal(syscall.SIGCONT)
}

// CQLContactPoints implements topology.Cluster.
func (w *World) CQLContactPoints(region string) []string { return contactPoints(w.plan, region) }

// MemcachedAddrs implements topology.Cluster.
func (w *World) MemcachedAddrs(region string) map[string][]string {
	return memcachedAddrs(w.plan, region)
}

// SQSEndpoint implements topology.Cluster.
func (w *World) SQSEndpoint(from, to string) string { return sqsEndpoint(w.plan, from, to) }

// InvalidationQueue implements topology.Cluster.
func (w *World) InvalidationQueue(region string) string { return topology.InvalidationQueue(region) }

// ToxiproxyAPI implements topology.Cluster.
func (w *World) ToxiproxyAPI() string { return w.plan.Toxiproxy.Address }

// Secret implements topology.Cluster.
func (w *World) Secret() string { return w.secret }

// Links implements topology.Cluster.
func (w *World) Links() []topology.Link { return w.plan.Links() }

func contactPoints(p *topology.Plan, region string) []string {
	var out []string
	for _, n := range p.Cassandra {
		if n.Region == region {
			out = append(out, n.Address)
		}
	}
	return out
}

func memcachedAddrs(p *topology.Plan, region string) map[string][]string {
	out := map[string][]string{}
	for _, c := range p.Memcached {
		if c.Region == region {
			out[c.Zone] = append(out[c.Zone], c.Address)
		}
	}
	return out
}

func sqsEndpoint(p *topology.Plan, from, to string) string {
	if from == to {
		for _, c := range p.SQS {
			if c.Region == to {
				return "http://" + c.Address
			}
		}
		return ""
	}
	if addr, ok := p.SQSLinks[topology.LinkName(from, to)]; ok {
		return "http://" + addr
	}
	return ""
}

// createProxies creates the toxiproxy proxies of every link: one per Cassandra
// node and other region (the link router at the node's broadcast address
// picks it by the sender's region), and one in front of every region's SQS
// endpoint for every other region.
func createProxies(p *topology.Plan) error {
	client := toxiclient.NewClient(p.Toxiproxy.Address)
	var proxies []toxiclient.Proxy
	for _, n := range p.Cassandra {
		for _, from := range p.Spec.RegionNames() {
			if listen, ok := n.LinkProxies[from]; ok {
				proxies = append(proxies, toxiclient.Proxy{Name: topology.ProxyName(n.ID, from),
					Listen: listen, Upstream: n.Extra["storage"], Enabled: true})
			}
		}
	}
	for _, l := range p.Links() {
		up := strings.TrimPrefix(sqsEndpoint(p, l.To, l.To), "http://")
		proxies = append(proxies, toxiclient.Proxy{Name: topology.SQSProxyName(l.From, l.To),
			Listen: p.SQSLinks[l.Name], Upstream: up, Enabled: true})
		for _, g := range p.Gateways {
			if g.Region == l.To {
				proxies = append(proxies, toxiclient.Proxy{Name: topology.IsthmusProxyName(l.From, l.To),
					Listen: p.IsthmusLinks[l.Name], Upstream: g.Address, Enabled: true})
			}
		}
	}
	if _, err := client.Populate(proxies); err != nil {
		return fmt.Errorf("create toxiproxy links at %s: %w", p.Toxiproxy.Address, err)
	}
	return nil
}

// checkPorts makes sure every address the world will listen on is free.
func (w *World) checkPorts() error {
	var addrs []string
	for _, c := range w.plan.Components() {
		addrs = append(addrs, c.Address)
		for role, a := range c.Extra {
			if role != "storage" || c.Kind == topology.KindCassandra {
				addrs = append(addrs, a)
			}
		}
	}
	addrs = append(addrs, w.plan.Control)
	for _, n := range w.plan.Cassandra {
		for _, a := range n.LinkProxies {
			addrs = append(addrs, a)
		}
	}
	for _, a := range w.plan.SQSLinks {
		addrs = append(addrs, a)
	}
	for _, a := range w.plan.IsthmusLinks {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("address %s of world %s is in use (%v): stop what listens there, run `kong down --world %s` if it is an old world, or pick another world name",
				a, w.name, err, w.name)
		}
		l.Close()
	}
	return nil
}
