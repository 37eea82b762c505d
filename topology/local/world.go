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
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/appconfig"
	"github.com/kongchaos/kong/topology/linkrouter"
	"github.com/kongchaos/kong/topology/local/assets"
)

// Options say which world to build and where.
type Options struct {
	// Name is the world's name (default topology.DefaultWorldName, "kong"); it picks the state folder,
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
	// PlanAddrs is the world's address plan; it answers the Cluster
	// methods that follow from it.
	topology.PlanAddrs
	name   string
	spec   *topology.Spec
	dir    string
	home   string
	assets *assets.Paths
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
	phases   topology.PhaseClock
	done     int

	phase    string
	status   string
	errText  string
	control  string
	lockFile *os.File
	secret   string // the world's secret (secret.go)

	// classTrainer is the node that records its classes for the
	// class-data archive (classList; "" when the archive is built).
	classTrainer string
}

var _ topology.Cluster = (*World)(nil)

// Up brings a world up and returns when every component is ready. On error
// it returns the half-built world as well, so the caller can Down it.
func Up(ctx context.Context, o Options) (*World, error) {
	var err error
	if o.Name, err = topology.CheckUp(o.Name, o.Spec); err != nil {
		return nil, err
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
	w.beginPhase("assets")
	var err error
	// Downloads are not held to the readiness deadline: a first run on a slow
	// network may take a while, and Ctrl-C still cancels it.
	w.assets, err = assets.Ensure(ctx, w.spec.Cassandra.Version, w.spec.SQS.ElasticMQVersion, w.log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.ReadyTimeout)
	defer cancel()
	w.beginPhase("ports")
	if err := w.checkPorts(); err != nil {
		return err
	}
	if err := w.defineProcesses(); err != nil {
		return err
	}
	if err := w.saveState("starting", ""); err != nil {
		return err
	}

	w.beginPhase("toxiproxy")
	if err := w.startComponent(ctx, topology.KindToxiproxy); err != nil {
		return err
	}
	// SQS, memcached and the Cassandra seeds boot together; the other nodes
	// start once a seed listens, then every readiness check runs in parallel.
	w.beginPhase("servers")
	var seeds, others []string
	for _, n := range w.Plan().Cassandra {
		if n.Seed {
			seeds = append(seeds, n.ID)
		} else {
			others = append(others, n.ID)
		}
	}
	var first []string
	for _, c := range w.Plan().SQS {
		first = append(first, c.ID)
	}
	for _, c := range w.Plan().Memcached {
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
		w.beginPhase("cassandra seeds")
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
	w.beginPhase("readiness")
	if err := w.eachParallel(ctx, append(first, others...), w.waitReady); err != nil {
		return err
	}
	w.beginPhase("cluster")
	if err := w.waitCluster(ctx); err != nil {
		return err
	}
	w.beginPhase("application")
	var app []string
	for _, c := range w.Plan().Components() {
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
	w.buildClassArchive(ctx)
	w.beginPhase("")
	w.mu.Lock()
	w.upDone = true
	w.mu.Unlock()
	w.progress(Event{Phase: "ready"})
	return w.saveState("ready", "")
}

// buildClassArchive builds the Cassandra class-data archive into the cache
// from the classes the world's first seed recorded, when it had none to
// map; a later start of that node records nothing. A failure costs only the
// speed-up: the world is ready, and it is logged.
func (w *World) buildClassArchive(ctx context.Context) {
	if w.classTrainer == "" {
		return
	}
	w.beginPhase("class archive")
	if err := assets.BuildClassArchive(ctx, w.assets, w.classList(w.classTrainer), w.log); err != nil {
		w.log.Warn("no Cassandra class-data archive: the nodes start without one", "err", err)
	}
	p := w.procs[w.classTrainer]
	p.mu.Lock()
	p.argv = slices.DeleteFunc(slices.Clone(p.argv), func(a string) bool { return strings.HasPrefix(a, "-XX:DumpLoadedClassList=") })
	p.mu.Unlock()
}

// classList is where node id records the classes it loads.
func (w *World) classList(id string) string { return filepath.Join(w.nodeDir(id), "classes.lst") }

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

// beginPhase ends the running phase of Up and begins the next ("": none).
func (w *World) beginPhase(next string) {
	w.phases.Next(next, w.log)
	w.mu.Lock()
	w.phase = next
	w.mu.Unlock()
	if next != "" {
		_ = w.saveState("", "")
		w.progress(Event{Phase: next})
	}
}

// Phases reports how long each phase of Up took.
func (w *World) Phases() []topology.PhaseTime { return w.phases.Done() }

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
	if err := linkrouter.WriteRoutes(routes, linkrouter.PlanRoutes(w.Plan())); err != nil {
		return fmt.Errorf("write link routes: %w", err)
	}
	add(w.Plan().Toxiproxy, []string{w.opts.KongBinary, "serve", "toxiproxy", "--listen", w.Plan().Toxiproxy.Address, "--routes", routes,
		"--allow-listen", w.Plan().Prefix() + ".0.0/16"})
	for _, c := range w.Plan().SQS {
		argv, err := elasticMQCommand(w.assets, w.spec, c, w.nodeDir(c.ID))
		if err != nil {
			return err
		}
		add(c, argv)
	}
	for _, c := range w.Plan().Memcached {
		add(c, memcachedCommand(w.assets, w.spec, c))
	}
	for _, n := range w.Plan().Cassandra {
		// Without a class-data archive, the first seed records the
		// classes it loads, and the archive is built from them once the
		// world is ready (buildClassArchive).
		classList := ""
		if w.classTrainer == "" && n.Seed && w.assets.CassandraArchive != "" && w.assets.ClassArchiveFlag() == "" {
			w.classTrainer, classList = n.ID, w.classList(n.ID)
		}
		argv, err := cassandraCommand(w.assets, w.Plan(), n, w.name, w.nodeDir(n.ID), classList)
		if err != nil {
			return err
		}
		add(n.Component, argv)
	}
	// Gateways serve regions that have member instances, and the director
	// a world that has gateways.
	for _, c := range w.Plan().Components() {
		switch {
		case c.Kind == topology.KindMember,
			c.Kind == topology.KindGateway && len(appconfig.Gateway(w.Plan(), c).Members) > 0,
			c.Kind == topology.KindDirector && len(w.Plan().Gateways) > 0:
		default:
			continue
		}
		path, err := w.writeConfig(c)
		if err != nil {
			return err
		}
		add(c, []string{w.opts.KongBinary, "serve", c.Kind, "--listen", c.Address, "--config", path})
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
func (w *World) Plan() *topology.Plan { return w.PlanAddrs.Plan }

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
	return w.onProcess(id, true, func(p *process) error { return p.stop(30 * time.Second) })
}

// Kill implements topology.Cluster.
func (w *World) Kill(_ context.Context, id string) error {
	return w.onProcess(id, true, (*process).kill)
}

// Pause implements topology.Cluster.
func (w *World) Pause(_ context.Context, id string) error {
	return w.onProcess(id, false, func(p *process) error { return p.signal(syscall.SIGSTOP) })
}

// Resume implements topology.Cluster.
func (w *World) Resume(_ context.Context, id string) error {
	return w.onProcess(id, false, func(p *process) error { return p.signal(syscall.SIGCONT) })
}

// onProcess runs act on the process of component id and, when save is set
// and act succeeded, saves the world's state (which processes run).
func (w *World) onProcess(id string, save bool, act func(*process) error) error {
	p, ok := w.procs[id]
	if !ok {
		return w.unknown(id)
	}
	if err := act(p); err != nil || !save {
		return err
	}
	return w.saveState("", "")
}

// Secret implements topology.Cluster.
func (w *World) Secret() string { return w.secret }

// createProxies creates the toxiproxy proxies of every link (Plan.Proxies).
func createProxies(p *topology.Plan) error {
	var proxies []toxiclient.Proxy
	for _, x := range p.Proxies() {
		proxies = append(proxies, toxiclient.Proxy{Name: x.Name, Listen: x.Listen, Upstream: x.Upstream, Enabled: x.Enabled})
	}
	if _, err := toxiclient.NewClient(p.Toxiproxy.Address).Populate(proxies); err != nil {
		return fmt.Errorf("create toxiproxy links at %s: %w", p.Toxiproxy.Address, err)
	}
	return nil
}

// checkPorts makes sure every address the world will listen on is free.
func (w *World) checkPorts() error {
	var addrs []string
	for _, c := range w.Plan().Components() {
		addrs = append(addrs, c.Address)
		for role, a := range c.Extra {
			if role != "storage" || c.Kind == topology.KindCassandra {
				addrs = append(addrs, a)
			}
		}
	}
	addrs = append(addrs, w.Plan().Control)
	for _, n := range w.Plan().Cassandra {
		for _, a := range n.LinkProxies {
			addrs = append(addrs, a)
		}
	}
	for _, a := range w.Plan().SQSLinks {
		addrs = append(addrs, a)
	}
	for _, a := range w.Plan().IsthmusLinks {
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
