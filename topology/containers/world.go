package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/modules/cassandra"
	"github.com/testcontainers/testcontainers-go/modules/localstack"
	"github.com/testcontainers/testcontainers-go/modules/memcached"
	tctoxiproxy "github.com/testcontainers/testcontainers-go/modules/toxiproxy"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/probe"
)

// KeepWorlds makes the worlds this process brings up outlive it: it turns
// testcontainers' reaper off. testcontainers reads that setting once, at
// its first call, so KeepWorlds must come before any (CheckEngine included).
func KeepWorlds() { os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") }

// Before testcontainers' first call, in every process that uses this
// package: its reaper is off (Ryuk's image comes only from a registry, and
// kong watches its test worlds with its own reaper, StartReaper), and it
// reaches the containers' published ports on 127.0.0.1, where they are
// published by default. Without that, inside a container of its own (a
// CI job's, this project's machines: /.dockerenv) it would look for them at
// the engine's gateway address, where nothing is published.
func init() {
	KeepWorlds()
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
}

// Options say which world to build and how.
type Options struct {
	// Name is the world's name (default topology.DefaultWorldName, "kong"): its containers, networks
	// and volumes are named after it and carry it as a label.
	Name   string
	Spec   *topology.Spec
	Images Images
	// BuildContext, when set, is kong's source tree (images.SourceTree):
	// Images.Kong is built from the kong executable built there, before
	// anything starts, when what it holds changed. Empty: the image must
	// exist or be pullable.
	BuildContext string
	// LogDir receives every container's log, followed while this process
	// runs (the components' Status.Log). Empty: no log files.
	LogDir string
	// ReadyTimeout bounds each wait for readiness (default 5m).
	ReadyTimeout time.Duration
	// PublishAddress is the host address the containers' ports are
	// published on (at ports the engine picks). The zero address means
	// DefaultPublishAddress, 127.0.0.1: only this machine reaches them.
	// 0.0.0.0 (or ::) publishes on every interface; another address
	// publishes there and on 127.0.0.1, where the readiness checks look.
	PublishAddress netip.Addr
	// Keep makes the world outlive this process: the testcontainers reaper
	// is turned off (KeepWorlds; call it yourself when this process asks
	// the engine anything before Up), and only Down or `kong down --backend
	// containers` removes the world. Tests leave it off, so that the engine removes
	// the world of a test binary that dies.
	Keep bool
	Log  *slog.Logger
	// Secret is the world's secret, which its servers' admin endpoints
	// want. Up makes a fresh one when empty; Attach reads the world's from
	// the label of its links network.
	Secret string
}

// World is a running world of containers. It implements topology.Cluster.
type World struct {
	// PlanAddrs is the layout's plan; it answers the Cluster methods that
	// follow from it.
	topology.PlanAddrs
	name   string
	spec   *topology.Spec
	layout *Layout
	cs     []Container
	cli    *testcontainers.DockerClient
	opts   Options
	log    *slog.Logger

	stopLogs context.CancelFunc
	logCtx   context.Context
	logs     sync.WaitGroup

	mu      sync.Mutex
	closing bool
	phases  topology.PhaseClock
}

var _ topology.Cluster = (*World)(nil)

// fillDefaults gives the images, readiness timeout and log that were left
// unset their defaults.
func (o *Options) fillDefaults() {
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Up brings a world up and returns when every component answers and the
// Cassandra cluster is whole. On error it returns the half-built world as
// well (when anything was created), so that the caller can Down it.
func Up(ctx context.Context, o Options) (*World, error) {
	var err error
	if o.Name, err = topology.CheckUp(o.Name, o.Spec); err != nil {
		return nil, err
	}
	o.fillDefaults()
	if o.Secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		o.Secret = hex.EncodeToString(b)
	}
	if o.Keep {
		KeepWorlds()
	}
	// testcontainers' own messages (the reaper, the engine it found) go to
	// the world's log too.
	tclog.SetDefault(tcLogger{o.Log})
	cli, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	if left, err := Leftovers(ctx, cli, o.Name); err != nil {
		cli.Close()
		return nil, fmt.Errorf("look for world %s on the engine: %w", o.Name, err)
	} else if len(left) > 0 {
		cli.Close()
		return nil, fmt.Errorf("world %s is already on the engine (%s): use it, or run `kong down --backend containers --world %s` first",
			o.Name, strings.Join(left, ", "), o.Name)
	}
	taken, err := usedSubnets(ctx, cli)
	if err != nil {
		cli.Close()
		return nil, err
	}
	slot, err := ChooseSlot(o.Name, taken)
	if err != nil {
		cli.Close()
		return nil, err
	}
	if o.Images == (Images{}) {
		if o.Images, err = chooseImages(ctx, cli, o.Log); err != nil {
			cli.Close()
			return nil, err
		}
	}
	w, err := newWorld(cli, o, slot)
	if err != nil {
		cli.Close()
		return nil, err
	}
	return w, w.bringUp(ctx)
}

func newWorld(cli *testcontainers.DockerClient, o Options, slot int) (*World, error) {
	l, err := NewLayout(o.Name, o.Spec, slot)
	if err != nil {
		return nil, err
	}
	l.Secret = o.Secret
	cs, err := Containers(l, o.Images)
	if err != nil {
		return nil, err
	}
	if token := os.Getenv("LOCALSTACK_AUTH_TOKEN"); token != "" {
		for i := range cs {
			if cs[i].Kind == topology.KindSQS {
				cs[i].Env["LOCALSTACK_AUTH_TOKEN"] = token
			}
		}
	}
	w := &World{PlanAddrs: topology.PlanAddrs{Plan: l.Plan}, name: o.Name, spec: o.Spec, layout: l, cs: cs, cli: cli, opts: o, log: o.Log}
	w.logCtx, w.stopLogs = context.WithCancel(context.Background())
	if o.LogDir != "" {
		if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
			return nil, fmt.Errorf("create log folder %s: %w", o.LogDir, err)
		}
	}
	return w, nil
}

func (w *World) bringUp(ctx context.Context) error {
	if w.opts.BuildContext != "" {
		w.beginPhase("image")
		if err := w.buildImage(ctx); err != nil {
			return err
		}
	}
	w.beginPhase("networks")
	if err := w.createNetworks(ctx); err != nil {
		return err
	}
	byKind := func(kinds ...string) []Container {
		var out []Container
		for _, c := range w.cs {
			for _, k := range kinds {
				if c.Kind == k {
					out = append(out, c)
				}
			}
		}
		return out
	}
	w.beginPhase("toxiproxy")
	if err := w.runAll(ctx, byKind(topology.KindToxiproxy)); err != nil {
		return err
	}
	if err := w.checkReach(ctx); err != nil {
		return err
	}
	w.beginPhase("link routers")
	if err := w.runAll(ctx, byKind(KindLinkRouter)); err != nil {
		return err
	}
	// SQS, memcached and the Cassandra seeds boot together; the other
	// nodes once the seeds answer.
	w.beginPhase("servers")
	var first, others []Container
	for _, c := range byKind(topology.KindSQS, topology.KindMemcached, topology.KindCassandra) {
		if c.Kind == topology.KindCassandra && !c.Seed {
			others = append(others, c)
		} else {
			first = append(first, c)
		}
	}
	if err := w.runAll(ctx, first); err != nil {
		return err
	}
	if len(others) > 0 {
		w.beginPhase("cassandra")
		if err := w.runAll(ctx, others); err != nil {
			return err
		}
	}
	w.beginPhase("cluster")
	sctx, cancel := context.WithTimeout(ctx, w.opts.ReadyTimeout)
	err := probe.SetupOf(w.layout.Plan).Run(sctx, w.log)
	cancel()
	if err != nil {
		return fmt.Errorf("world %s: %w", w.name, err)
	}
	w.beginPhase("links")
	if err := w.checkSQSLinks(ctx); err != nil {
		return err
	}
	w.beginPhase("application")
	for _, kind := range []string{topology.KindMember, topology.KindGateway, topology.KindDirector} {
		if err := w.runAll(ctx, byKind(kind)); err != nil {
			return err
		}
	}
	w.beginPhase("")
	w.log.Info("world ready", "world", w.name, "phases", w.Phases())
	return nil
}

// beginPhase ends the running phase of Up and begins the next ("": none).
func (w *World) beginPhase(next string) {
	w.phases.Next(next, w.log)
	if next != "" {
		w.log.Info("phase", "phase", next)
	}
}

// Phases reports how long each phase of Up took.
func (w *World) Phases() []topology.PhaseTime { return w.phases.Done() }

// buildImage builds Images.Kong from the kong executable built in the
// source tree (images.BuildKong: nothing is built when it is unchanged).
func (w *World) buildImage(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "kong-binary-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := images.KongBinary(ctx, w.opts.BuildContext, dir)
	if err != nil {
		return err
	}
	b, err := images.BuildKong(ctx, w.cli, images.Inputs{Kong: bin}, logWriter{w.log, "image build"})
	if err != nil {
		return fmt.Errorf("build %s: %w", images.Local[images.RoleKong], err)
	}
	w.opts.Images.Kong = b.Image
	return nil
}

// chooseImages picks each role's image (images.Choose) and pulls those
// the engine lacks; where a pull fails, the error names the images and
// `kong images build`.
func chooseImages(ctx context.Context, cli *testcontainers.DockerClient, log *slog.Logger) (Images, error) {
	choices, err := images.Choose(ctx, cli)
	if err != nil {
		return Images{}, err
	}
	var failed []images.Choice
	var why []error
	for i, c := range choices {
		log.Info("image chosen", "role", c.Role, "image", c.Image, "source", string(c.Source), "why", c.Why)
		if c.Present || c.Role == images.RoleKong {
			continue
		}
		if err := images.Pull(ctx, cli, c.Image); err != nil {
			failed = append(failed, c)
			why = append(why, err)
			continue
		}
		choices[i].Present = true
	}
	if len(failed) > 0 {
		return Images{}, fmt.Errorf("%w (%v)", images.Missing(failed), errors.Join(why...))
	}
	return imagesOf(choices), nil
}

func (w *World) createNetworks(ctx context.Context) error {
	spec, err := json.Marshal(w.spec)
	if err != nil {
		return err
	}
	for _, n := range w.layout.Networks() {
		labels := testcontainers.GenericLabels()
		labels[LabelWorld] = w.name
		labels[LabelKind] = KindNetwork
		if n.Region != "" {
			labels[LabelRegion] = n.Region
		} else {
			labels[LabelSpec] = string(spec)
			labels[LabelSecret] = w.opts.Secret
		}
		_, err := w.cli.NetworkCreate(ctx, n.Name, client.NetworkCreateOptions{
			Driver: "bridge",
			Labels: labels,
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: n.Subnet}}},
		})
		if err != nil {
			return fmt.Errorf("create network %s (%s): %w", n.Name, n.Subnet, err)
		}
	}
	return nil
}

// checkReach makes sure this machine reaches the containers' own
// addresses, as every client of the world (the harness, the workload, CQL
// drivers that learn their peers' addresses) does.
func (w *World) checkReach(ctx context.Context) error {
	addr := w.layout.Plan.Toxiproxy.Address
	var d net.Dialer
	var last error
	for try := 0; try < 10; try++ {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			return c.Close()
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("this machine cannot reach the containers' addresses (toxiproxy at %s: %v): the container backend needs an engine whose bridge networks are routed from here, such as Docker Engine on Linux; with Docker Desktop, run kong in a container on the same engine", addr, last)
}

// runAll creates and starts containers in parallel and waits until each is
// ready (the module's readiness check, within ReadyTimeout).
func (w *World) runAll(ctx context.Context, cs []Container) error {
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- w.run(ctx, c) }()
	}
	var all []error
	for range cs {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// run starts one container, through the testcontainers module of its kind.
func (w *World) run(ctx context.Context, c Container) error {
	w.mu.Lock()
	closing := w.closing
	w.mu.Unlock()
	if closing {
		return fmt.Errorf("world %s is going down: %s not started", w.name, c.Name)
	}
	opts := Customizers(c, w.opts.PublishAddress, tcLogger{w.log}, kindCustomizers(c, w.component(c.ID), w.opts.ReadyTimeout)...)
	var err error
	switch c.Kind {
	case topology.KindCassandra:
		_, err = cassandra.Run(ctx, c.Image, opts...)
	case topology.KindMemcached:
		_, err = memcached.Run(ctx, c.Image, opts...)
	case topology.KindSQS:
		_, err = localstack.Run(ctx, c.Image, opts...)
	case topology.KindToxiproxy:
		_, err = tctoxiproxy.Run(ctx, c.Image, opts...)
	default: // the link routers and the application
		_, err = testcontainers.Run(ctx, c.Image, opts...)
	}
	// The container exists as soon as it was created, ready or not.
	w.followLogs(c)
	if err != nil {
		return fmt.Errorf("start %s (%s): %w%s", logName(c), c.Image, err, w.logHint(c))
	}
	w.log.Info("ready", "container", c.Name)
	return nil
}

// kindCustomizers are the options of a container's kind, given after its
// own (Customizers): how the engine tells that it is ready, within
// deadline, and for SQS no engine socket. comp is the component the
// container runs (none for a link router).
func kindCustomizers(c Container, comp topology.Component, deadline time.Duration) []testcontainers.ContainerCustomizer {
	switch c.Kind {
	case topology.KindCassandra:
		// Asked from this host, as the local backend asks its nodes and as a
		// restarted container is asked: a CQL query to the node's address.
		// Not cqlsh in the container: a Python start per try, on the cores
		// the starting JVMs need (the start took 1.8x the local one's).
		return []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategyAndDeadline(deadline,
			&answering{comp: comp})}
	case topology.KindMemcached:
		return []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategyAndDeadline(deadline, wait.ForListeningPort(c.Ports[0]))}
	case topology.KindSQS:
		return []testcontainers.ContainerCustomizer{
			// LocalStack's module mounts the engine's socket for services
			// that start containers; SQS does not need it.
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.Binds = nil }),
			// The listening port, then the region's queue listed as the
			// application lists it: the same on LocalStack and on kong's
			// ElasticMQ image, which has no /_localstack/health.
			testcontainers.WithWaitStrategyAndDeadline(deadline,
				wait.ForListeningPort(c.Ports[0]),
				wait.ForExec([]string{"sh", "-c", c.Health}).WithExitCode(0))}
	case topology.KindToxiproxy:
		return []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategyAndDeadline(deadline,
			wait.ForHTTP("/version").WithPort(c.Ports[0]))}
	case KindLinkRouter:
		return []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategyAndDeadline(deadline, wait.ForLog(RouterReadyLine))}
	default: // the application
		return []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategyAndDeadline(deadline,
			wait.ForHTTP(app.PathHealth).WithPort(c.Ports[0]))}
	}
}

// answering is a wait strategy: ready once the component answers as
// probe.Answers asks it, from this host at the component's address,
// retried as a restarted container is (retry).
type answering struct{ comp topology.Component }

// WaitUntilReady implements wait.Strategy.
func (a *answering) WaitUntilReady(ctx context.Context, _ wait.StrategyTarget) error {
	if a.comp.Address == "" {
		return fmt.Errorf("%s: no address to ask", a.comp.ID)
	}
	return probe.Retry(ctx, a.String(), func(ctx context.Context) error { return probe.Answers(ctx, a.comp) })
}

// String names what it waits for, in testcontainers' messages.
func (a *answering) String() string { return a.comp.ID + " " + probe.Asks(a.comp.Kind) }

// RouterReadyLine is what `kong serve link-router` prints once it listens.
const RouterReadyLine = "link router listening"

func (w *World) logHint(c Container) string {
	if w.opts.LogDir == "" {
		return "; see `docker logs " + c.Name + "`"
	}
	return "; see its log " + LogPath(w.opts.LogDir, logName(c))
}

func logName(c Container) string {
	if c.ID != "" {
		return c.ID
	}
	return c.Service
}

// followLogs appends a container's output to its log file for as long as
// the world lives here, across restarts.
func (w *World) followLogs(c Container) {
	if w.opts.LogDir == "" {
		return
	}
	f, err := os.OpenFile(LogPath(w.opts.LogDir, logName(c)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.log.Warn("no log file", "container", c.Name, "err", err)
		return
	}
	w.logs.Add(1)
	go func() {
		defer w.logs.Done()
		defer f.Close()
		since := ""
		for w.logCtx.Err() == nil {
			rc, err := w.cli.ContainerLogs(w.logCtx, c.Name, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Since: since})
			if err == nil {
				_, _ = stdcopy.StdCopy(f, f, rc)
				rc.Close()
			}
			// The stream ends when the container stops; follow it again
			// once it runs, from where this one ended.
			since = strconv.FormatInt(time.Now().Unix(), 10)
			select {
			case <-w.logCtx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

// checkSQSLinks checks that each region's queue answers through every link.
func (w *World) checkSQSLinks(ctx context.Context) error {
	p := w.layout.Plan
	for _, l := range p.Links() {
		ep := w.SQSEndpoint(l.From, l.To)
		if err := retryFor(ctx, w.opts.ReadyTimeout, "the SQS queue of "+l.To+" through link "+l.Name+" ("+ep+")", func(ctx context.Context) error {
			return probe.SQSQueue(ctx, ep, l.To)
		}); err != nil {
			return err
		}
	}
	return nil
}

func retryFor(ctx context.Context, d time.Duration, what string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return probe.Retry(ctx, what, f)
}

// Name implements topology.Cluster.
func (w *World) Name() string { return w.name }

// Spec implements topology.Cluster.
func (w *World) Spec() *topology.Spec { return w.spec }

// Layout is where the world's containers sit.
func (w *World) Layout() *Layout { return w.layout }

// Plan is the world's plan, with container addresses.
func (w *World) Plan() *topology.Plan { return w.PlanAddrs.Plan }

// Containers lists the world's containers in start order.
func (w *World) Containers() []Container { return append([]Container(nil), w.cs...) }

// Components implements topology.Cluster: the state of each component's
// container as the engine reports it.
func (w *World) Components(ctx context.Context) ([]topology.Status, error) {
	res, err := w.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", WorldFilter(w.name))})
	if err != nil {
		return nil, fmt.Errorf("list containers of world %s: %w", w.name, err)
	}
	states := map[string]string{}
	for _, s := range res.Items {
		for _, n := range s.Names {
			states[strings.TrimPrefix(n, "/")] = string(s.State)
		}
	}
	return Statuses(w.cs, w.layout.Plan.Components(), states, nil, w.opts.LogDir), nil
}

// PIDs maps the ID of each component whose container runs to the host
// PID of the container's first process (the engine's State.Pid), for
// reading from /proc what the world's processes use (kong bench world).
// Components leaves Status.PID empty: it asks the engine one list, not an
// inspection per container.
func (w *World) PIDs(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, c := range w.cs {
		if c.ID == "" {
			continue
		}
		res, err := w.cli.ContainerInspect(ctx, c.Name, client.ContainerInspectOptions{})
		if isNotFound(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", c.Name, err)
		}
		if st := res.Container.State; st != nil && st.Running && st.Pid > 0 {
			out[c.ID] = st.Pid
		}
	}
	return out, nil
}

// state is the state of one container.
func (w *World) state(ctx context.Context, name string) (topology.State, error) {
	res, err := w.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		if isNotFound(err) {
			return topology.StateStopped, nil
		}
		return "", fmt.Errorf("inspect %s: %w", name, err)
	}
	if res.Container.State == nil {
		return topology.StateStopped, nil
	}
	return StateOf(string(res.Container.State.Status)), nil
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "no such container")
}

// do applies a Cluster operation to a component's container.
func (w *World) do(ctx context.Context, op, id string) error {
	c, err := findContainer(w.name, w.cs, id)
	if err != nil {
		return err
	}
	w.mu.Lock()
	closing := w.closing
	w.mu.Unlock()
	if closing && op == OpStart {
		return fmt.Errorf("world %s is going down: %s not started", w.name, id)
	}
	st, err := w.state(ctx, c.Name)
	if err != nil {
		return err
	}
	actions, err := Actions(op, st)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	for _, a := range actions {
		if err := w.act(ctx, a, c); err != nil {
			return fmt.Errorf("%s %s (container %s): %w", op, id, c.Name, err)
		}
	}
	return nil
}

func (w *World) act(ctx context.Context, a Action, c Container) error {
	var err error
	switch a {
	case ActionStart:
		if _, err = w.cli.ContainerStart(ctx, c.Name, client.ContainerStartOptions{}); err == nil {
			rctx, cancel := context.WithTimeout(ctx, w.opts.ReadyTimeout)
			err = probe.Retry(rctx, c.ID+" "+probe.Asks(c.Kind)+" again", func(ctx context.Context) error { return probe.Answers(ctx, w.component(c.ID)) })
			cancel()
		}
	case ActionStop:
		grace := 30
		_, err = w.cli.ContainerStop(ctx, c.Name, client.ContainerStopOptions{Timeout: &grace})
	case ActionKill:
		if _, err = w.cli.ContainerKill(ctx, c.Name, client.ContainerKillOptions{Signal: "KILL"}); err == nil {
			err = w.waitState(ctx, c.Name, topology.StateStopped)
		}
	case ActionPause:
		_, err = w.cli.ContainerPause(ctx, c.Name, client.ContainerPauseOptions{})
	case ActionUnpause:
		_, err = w.cli.ContainerUnpause(ctx, c.Name, client.ContainerUnpauseOptions{})
	default:
		err = fmt.Errorf("unknown action %q", a)
	}
	return err
}

func (w *World) waitState(ctx context.Context, name string, want topology.State) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return probe.Retry(ctx, name+" "+string(want), func(ctx context.Context) error {
		st, err := w.state(ctx, name)
		if err != nil {
			return err
		}
		if st != want {
			return fmt.Errorf("still %s", st)
		}
		return nil
	})
}

// component is the planned component of an ID, at its own address.
func (w *World) component(id string) topology.Component {
	for _, c := range w.Plan().Components() {
		if c.ID == id {
			return c
		}
	}
	return topology.Component{ID: id}
}

// Start implements topology.Cluster: a paused component is resumed, a
// stopped one started and waited for until it answers.
func (w *World) Start(ctx context.Context, id string) error { return w.do(ctx, OpStart, id) }

// Stop implements topology.Cluster (docker stop: SIGTERM, then SIGKILL).
func (w *World) Stop(ctx context.Context, id string) error { return w.do(ctx, OpStop, id) }

// Kill implements topology.Cluster (docker kill with SIGKILL).
func (w *World) Kill(ctx context.Context, id string) error { return w.do(ctx, OpKill, id) }

// Pause implements topology.Cluster (docker pause: every process frozen).
func (w *World) Pause(ctx context.Context, id string) error { return w.do(ctx, OpPause, id) }

// Resume implements topology.Cluster (docker unpause).
func (w *World) Resume(ctx context.Context, id string) error { return w.do(ctx, OpResume, id) }

// ZoneContainers names the containers of a zone, found by their labels.
func (w *World) ZoneContainers(region, zone string) []string {
	return ZoneContainers(w.name, region, zone, w.cs)
}

// Secret implements topology.Cluster.
func (w *World) Secret() string { return w.opts.Secret }

// Down removes every container, network and volume of the world (by its
// label, so also what a failed start left half-made) and stops following
// logs. It is safe on a nil or half-built world.
func (w *World) Down() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := Sweep(ctx, w.cli, w.name)
	w.stopLogs()
	w.logs.Wait()
	if left, lerr := Leftovers(ctx, w.cli, w.name); lerr == nil && len(left) > 0 {
		err = errors.Join(err, fmt.Errorf("world %s: still on the engine after down: %s", w.name, strings.Join(left, ", ")))
	}
	return errors.Join(err, w.cli.Close())
}

// Sweep removes every container (with its anonymous volumes), network and
// volume that carries the world's label.
func Sweep(ctx context.Context, cli *testcontainers.DockerClient, world string) error {
	f := make(client.Filters).Add("label", WorldFilter(world))
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list containers of world %s: %w", world, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range cs.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %v: %w", c.Names, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks of world %s: %w", world, err))
	} else {
		for _, n := range ns.Items {
			if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			}
		}
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list volumes of world %s: %w", world, err))
	} else {
		for _, v := range vs.Items {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Leftovers lists what of a world is still on the engine: containers,
// networks and volumes with its label.
func Leftovers(ctx context.Context, cli *testcontainers.DockerClient, world string) ([]string, error) {
	f := make(client.Filters).Add("label", WorldFilter(world))
	var left []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	for _, c := range cs.Items {
		left = append(left, "container "+strings.TrimPrefix(strings.Join(c.Names, ","), "/"))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	for _, n := range ns.Items {
		left = append(left, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	for _, v := range vs.Items {
		left = append(left, "volume "+v.Name)
	}
	return left, nil
}

// DownWorld removes a world by its name from any process: every container,
// network and volume with its label. It reports ErrNotUp when there was
// nothing of it.
func DownWorld(ctx context.Context, world string) error {
	if err := topology.CheckWorldName(world); err != nil {
		return err
	}
	cli, err := Connect(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	left, err := Leftovers(ctx, cli, world)
	if err != nil {
		return err
	}
	if len(left) == 0 {
		return fmt.Errorf("%w: world %s has no container, network or volume on the engine", ErrNotUp, world)
	}
	if err := Sweep(ctx, cli, world); err != nil {
		return err
	}
	if left, err := Leftovers(ctx, cli, world); err == nil && len(left) > 0 {
		return fmt.Errorf("world %s: still on the engine after down: %s", world, strings.Join(left, ", "))
	}
	return nil
}

// ErrNotUp means the engine has nothing of that world.
var ErrNotUp = errors.New("not up")

// Worlds lists the worlds the engine has containers or networks of.
func Worlds(ctx context.Context) ([]string, error) {
	cli, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	f := make(client.Filters).Add("label", LabelWorld)
	seen := map[string]bool{}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	for _, c := range cs.Items {
		seen[c.Labels[LabelWorld]] = true
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	for _, n := range ns.Items {
		seen[n.Labels[LabelWorld]] = true
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Attach finds a world that another process brought up, from the spec its
// links network carries. Its components can be started, stopped, killed,
// paused and resumed; Down removes it.
func Attach(ctx context.Context, world string, o Options) (*World, error) {
	if err := topology.CheckWorldName(world); err != nil {
		return nil, err
	}
	cli, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).
		Add("label", WorldFilter(world)).Add("label", LabelKind+"="+KindNetwork)})
	if err != nil {
		cli.Close()
		return nil, err
	}
	for _, n := range ns.Items {
		raw, ok := n.Labels[LabelSpec]
		if !ok {
			continue
		}
		var spec topology.Spec
		if err := json.Unmarshal([]byte(raw), &spec); err != nil {
			cli.Close()
			return nil, fmt.Errorf("world %s: the spec on network %s: %w", world, n.Name, err)
		}
		slot := -1
		for _, c := range n.IPAM.Config {
			slot = slotOf(c.Subnet)
		}
		if slot < 0 {
			cli.Close()
			return nil, fmt.Errorf("world %s: network %s has no kong subnet", world, n.Name)
		}
		o.Name, o.Spec, o.Secret = world, &spec, n.Labels[LabelSecret]
		o.fillDefaults()
		w, err := newWorld(cli, o, slot)
		if err != nil {
			cli.Close()
		}
		return w, err
	}
	cli.Close()
	return nil, fmt.Errorf("%w: world %s has no links network on the engine (start it with `kong up --backend containers`)", ErrNotUp, world)
}

// slotOf is the slot of a world's subnet, -1 if it is not one.
func slotOf(p netip.Prefix) int {
	a := p.Addr().As4()
	if !p.Addr().Is4() || a[0] != 10 || a[1] < 100 || int(a[1]) >= 100+topology.Slots {
		return -1
	}
	return int(a[1]) - 100
}

func usedSubnets(ctx context.Context, cli *testcontainers.DockerClient) ([]netip.Prefix, error) {
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list the engine's networks: %w", err)
	}
	var out []netip.Prefix
	for _, n := range ns.Items {
		for _, c := range n.IPAM.Config {
			if c.Subnet.IsValid() {
				out = append(out, c.Subnet)
			}
		}
	}
	return out, nil
}

// logWriter writes an image build's output to the log, line by line.
type logWriter struct {
	log  *slog.Logger
	what string
}

func (l logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			l.log.Debug(l.what, "line", line)
		}
	}
	return len(p), nil
}

var _ io.Writer = logWriter{}

// tcLogger sends testcontainers' messages to the world's log.
type tcLogger struct{ log *slog.Logger }

func (t tcLogger) Printf(format string, v ...any) {
	t.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "from", "testcontainers")
}

// KongBuildContext is where kong's image is built from on a start: the
// repository at or above this process's folder (BuildContext), or ""
// when KONG_IMAGE names the image to run or no repository is there (the
// image must then exist or be pullable).
func KongBuildContext() string {
	if os.Getenv("KONG_IMAGE") != "" {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return BuildContext(wd)
}

// BuildContext finds the repository (its go.mod names this module and a
// Dockerfile sits beside it) at dir or above, "" when there is none.
func BuildContext(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		mod, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(mod), "module github.com/kongchaos/kong\n") {
			if _, err := os.Stat(filepath.Join(d, "Dockerfile")); err == nil {
				return d
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Close lets go of the engine and stops following logs; the world stays up.
func (w *World) Close() error {
	if w == nil {
		return nil
	}
	w.stopLogs()
	w.logs.Wait()
	return w.cli.Close()
}
