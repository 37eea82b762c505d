package containers

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/appconfig"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/linkrouter"
	"github.com/kongchaos/kong/topology/probe"
)

// Images are the images a world runs.
type Images struct {
	Cassandra string
	Memcached string
	SQS       string
	Toxiproxy string
	// Kong is the project's own image (the kong executable, built into it
	// by images.BuildKong; the repository's Dockerfile builds the same
	// where a registry answers): the application, the link routers and
	// compose's setup step.
	Kong string
}

// DefaultImages are the official images (images.Official): Cassandra
// 5.0, memcached 1.6, LocalStack for SQS, toxiproxy 2.12.0 (the version
// compiled into kong) and kong's own image.
func DefaultImages() Images {
	return imagesOf(nil)
}

// imagesOf are the chosen images, the official ones for roles not chosen.
func imagesOf(choices []images.Choice) Images {
	im := Images{
		Cassandra: images.Official[images.RoleCassandra],
		Memcached: images.Official[images.RoleMemcached],
		SQS:       images.Official[images.RoleSQS],
		Toxiproxy: images.Official[images.RoleToxiproxy],
		Kong:      images.Official[images.RoleKong],
	}
	field := map[string]*string{images.RoleCassandra: &im.Cassandra, images.RoleMemcached: &im.Memcached,
		images.RoleSQS: &im.SQS, images.RoleToxiproxy: &im.Toxiproxy, images.RoleKong: &im.Kong}
	for _, c := range choices {
		*field[c.Role] = c.Image
	}
	return im
}

// ImagesFromEnv are the default images with the overrides of KONG_IMAGE
// (kong's own), KONG_CASSANDRA_IMAGE, KONG_MEMCACHED_IMAGE, KONG_SQS_IMAGE
// and KONG_TOXIPROXY_IMAGE.
func ImagesFromEnv() Images {
	var set []images.Choice
	for _, role := range images.Roles {
		if v := os.Getenv(images.Env[role]); v != "" {
			set = append(set, images.Choice{Role: role, Image: v})
		}
	}
	return imagesOf(set)
}

// Roles maps each role (images.Roles) to its image.
func (im Images) Roles() map[string]string {
	return map[string]string{images.RoleCassandra: im.Cassandra, images.RoleMemcached: im.Memcached,
		images.RoleSQS: im.SQS, images.RoleToxiproxy: im.Toxiproxy, images.RoleKong: im.Kong}
}

// Container is everything the engine needs to run one container of a
// world, independent of how it is run (testcontainers or compose).
type Container struct {
	// Name is the Docker container name; Service its name in the compose
	// file (the name without the world's prefix).
	Name    string
	Service string
	Kind    string
	// ID is the component's ID ("" for link routers and the setup step).
	ID    string
	Image string
	Cmd   []string
	Env   map[string]string
	Files []File
	// Networks lists the container's networks with its fixed address on
	// each; the first is the one it is created on.
	Networks []Attachment
	Labels   map[string]string
	// Ports are the container's ports ("9042/tcp") that are published on
	// random host ports, on the host address the world publishes on
	// (Options.PublishAddress: 127.0.0.1 unless asked otherwise).
	Ports   []string
	Volumes []Volume
	Tmpfs   map[string]string
	// Health is a shell command that succeeds once the container serves
	// (compose's healthcheck); empty when only the host can tell.
	Health string
	// Seed is set on Cassandra seed nodes, which start first.
	Seed bool
}

// File is a file written into a container before it starts.
type File struct {
	Path    string
	Mode    int64
	Content []byte
}

// Attachment is a container's address on one network.
type Attachment struct {
	Network Network
	IP      netip.Addr
}

// Volume is a named, labeled volume mounted into a container.
type Volume struct {
	Name   string
	Target string
	Labels map[string]string
}

// Containers lists every container of a layout in start order: toxiproxy,
// the link routers, SQS, memcached, Cassandra (seeds first), the member
// services, gateways (for regions with members) and the director.
func Containers(l *Layout, im Images) ([]Container, error) {
	p := l.Plan
	s := p.Spec
	var out []Container
	tox := Container{Name: ContainerName(l.World, p.Toxiproxy.ID), Service: p.Toxiproxy.ID, Kind: topology.KindToxiproxy, ID: p.Toxiproxy.ID,
		Image: im.Toxiproxy, Cmd: []string{"-host=0.0.0.0", "-port=" + strconv.Itoa(s.Ports.Toxiproxy), "-config=" + toxiproxyConfigPath},
		Files:  []File{{Path: toxiproxyConfigPath, Mode: 0o644, Content: mustJSON(p.Proxies())}},
		Labels: worldLabels.Of(l.World, p.Toxiproxy),
		Ports:  []string{port(s.Ports.Toxiproxy)},
	}
	for _, n := range l.Networks() {
		tox.Networks = append(tox.Networks, Attachment{n, n.Host(hostToxiproxy)})
	}
	out = append(out, tox)

	for _, n := range p.Cassandra {
		route, err := routeOf(p, n.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Container{Name: RouterName(l.World, n.ID), Service: serviceName(n.ID) + "-router", Kind: KindLinkRouter,
			Image: im.Kong, Cmd: []string{"serve", "link-router", "--routes", routesPath},
			Files:    []File{{Path: routesPath, Mode: 0o644, Content: mustJSON([]linkrouter.Route{route})}},
			Networks: []Attachment{{l.Links, netip.MustParseAddr(n.Broadcast)}, {l.Network(n.Region), l.RouterRegionIP[n.ID]}},
			Labels:   worldLabels.OfRouter(l.World, n),
		})
	}
	for _, c := range p.SQS {
		out = append(out, Container{Name: ContainerName(l.World, c.ID), Service: serviceName(c.ID), Kind: c.Kind, ID: c.ID,
			Image: im.SQS,
			Env: map[string]string{
				"SERVICES":              "sqs",
				"EAGER_SERVICE_LOADING": "1",
				"SQS_ENDPOINT_STRATEGY": "off",
				"LOCALSTACK_HOST":       c.Address,
			},
			Files:    []File{{Path: localstackInitPath, Mode: 0o755, Content: []byte(images.SQSQueueScript(c.Region, topology.InvalidationQueue(c.Region)))}},
			Networks: []Attachment{attach(l.Network(c.Region), c.Address)},
			Labels:   worldLabels.Of(l.World, c),
			Ports:    []string{port(sqsPort)},
			Tmpfs:    map[string]string{"/var/lib/localstack": "rw"},
			Health:   images.SQSHealthCommand(topology.InvalidationQueue(c.Region)),
		})
	}
	for _, c := range p.Memcached {
		out = append(out, Container{Name: ContainerName(l.World, c.ID), Service: serviceName(c.ID), Kind: c.Kind, ID: c.ID,
			Image:    im.Memcached,
			Cmd:      []string{"memcached", "-p", strconv.Itoa(s.Ports.Memcached), "-U", "0", "-m", strconv.Itoa(s.Memcached.MemoryMB), "-t", "2", "-c", "1024"},
			Networks: []Attachment{attach(l.Network(c.Region), c.Address)},
			Labels:   worldLabels.Of(l.World, c),
			Ports:    []string{port(s.Ports.Memcached)},
		})
	}
	var seeds, others []Container
	for _, n := range p.Cassandra {
		cfg := cassandraConfig(l.World, p, n)
		c := Container{Name: ContainerName(l.World, n.ID), Service: serviceName(n.ID), Kind: n.Kind, ID: n.ID, Seed: n.Seed,
			Image: im.Cassandra,
			Env: map[string]string{
				"MAX_HEAP_SIZE": s.Cassandra.Heap,
				"HEAP_NEWSIZE":  "64M",
				"JVM_OPTS":      cassandraJVMOpts(n, cfg),
				// The image's entrypoint also writes these into its own
				// cassandra.yaml, which kong's replaces.
				"CASSANDRA_LISTEN_ADDRESS":    n.Listen,
				"CASSANDRA_BROADCAST_ADDRESS": n.Broadcast,
				"CASSANDRA_DC":                n.Region,
				"CASSANDRA_RACK":              n.Zone,
			},
			Files: []File{
				{Path: cassandraYAMLPath, Mode: 0o644, Content: []byte(cfg.YAML)},
				{Path: cassandraRackDCPath, Mode: 0o644, Content: []byte(cfg.RackDC)},
			},
			Networks: []Attachment{{l.Network(n.Region), netip.MustParseAddr(n.Listen)}, {l.Links, l.Outbound[n.ID]}},
			Labels:   worldLabels.Of(l.World, n.Component),
			Ports:    []string{port(s.Ports.CQL)},
			Volumes: []Volume{{Name: VolumeName(l.World, n.ID), Target: cassandraDataDir,
				Labels: map[string]string{LabelWorld: l.World, LabelKind: KindVolume, LabelComponent: n.ID}}},
			Health: "cqlsh -e 'SELECT bootstrapped FROM system.local' | grep -q COMPLETED",
		}
		if n.Seed {
			seeds = append(seeds, c)
		} else {
			others = append(others, c)
		}
	}
	out = append(append(out, seeds...), others...)

	app := func(c topology.Component, nw Network) error {
		cfg, err := appconfig.File(p, c, l.Secret)
		if err != nil {
			return err
		}
		_, portNum, _ := splitPort(c.Address)
		out = append(out, Container{Name: ContainerName(l.World, c.ID), Service: serviceName(c.ID), Kind: c.Kind, ID: c.ID,
			Image:    im.Kong,
			Cmd:      []string{"serve", c.Kind, "--listen", c.Address, "--config", appConfigPath},
			Files:    []File{{Path: appConfigPath, Mode: 0o644, Content: cfg}},
			Networks: []Attachment{attach(nw, c.Address)},
			Labels:   worldLabels.Of(l.World, c),
			Ports:    []string{port(portNum)},
		})
		return nil
	}
	for _, c := range p.Members {
		if err := app(c, l.Network(c.Region)); err != nil {
			return nil, err
		}
	}
	gateways := 0
	for _, g := range p.Gateways {
		if !hasMembers(p, g.Region) {
			continue // a region without member instances has nothing to serve
		}
		gateways++
		if err := app(g, l.Network(g.Region)); err != nil {
			return nil, err
		}
	}
	if gateways > 0 {
		if err := app(p.Director, l.Links); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetupContainer is compose's one-shot container that runs Setup on every
// region's network (the container backend runs Setup from the host).
func SetupContainer(l *Layout, im Images) Container {
	c := Container{Name: l.World + "-setup", Service: "setup", Kind: KindSetup, Image: im.Kong,
		Cmd:    []string{"serve", "world-setup", "--config", setupConfigPath},
		Files:  []File{{Path: setupConfigPath, Mode: 0o644, Content: mustJSON(probe.SetupOf(l.Plan))}},
		Labels: map[string]string{LabelWorld: l.World, LabelKind: KindSetup},
	}
	for _, n := range l.Regions {
		c.Networks = append(c.Networks, Attachment{n, n.Host(hostSetup)})
	}
	return c
}

func hasMembers(p *topology.Plan, region string) bool {
	for _, m := range p.Members {
		if m.Region == region {
			return true
		}
	}
	return false
}

func serviceName(id string) string { return ContainerName("", id)[1:] }

func port(n int) string { return strconv.Itoa(n) + "/tcp" }

func attach(n Network, addr string) Attachment {
	host, _, _ := net.SplitHostPort(addr)
	return Attachment{n, netip.MustParseAddr(host)}
}

func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return host, n, err
}

// DefaultPublishAddress is the host address the container backend publishes
// containers' ports on unless asked for another: the loopback address, so
// that nothing of a world (toxiproxy's API, CQL without authentication,
// memcached, SQS, the admin APIs) answers on the machine's other interfaces.
func DefaultPublishAddress() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, 1}) }

// ParsePublishAddress reads an address to publish the containers' ports on
// ("" for DefaultPublishAddress): an IP address without a zone.
func ParsePublishAddress(s string) (netip.Addr, error) {
	if s == "" {
		return DefaultPublishAddress(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q: not an IP address (such as 127.0.0.1, or 0.0.0.0 for every interface)", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q: give an address without a zone", s)
	}
	return a.Unmap(), nil
}

// Customizers turn a container into testcontainers options: name, command,
// environment, files, labels, exposed ports, volumes and tmpfs, and its
// networks with a fixed address on each (all given at creation, which
// Docker Engine 25 and later accept), then the options of its kind (more:
// wait strategies and the like), and last the host address its ports are
// published on (publish; the zero address is DefaultPublishAddress). Module
// defaults (wait strategies, environment, exposed ports) come before them
// and are overridden where they clash; the ports a module exposes are
// published on the same address as the container's own.
func Customizers(c Container, publish netip.Addr, log tclog.Logger, more ...testcontainers.ContainerCustomizer) []testcontainers.ContainerCustomizer {
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithName(c.Name),
		testcontainers.WithLabels(c.Labels),
	}
	if log != nil {
		opts = append(opts, testcontainers.WithLogger(log))
	}
	if c.Cmd != nil {
		opts = append(opts, testcontainers.WithCmd(c.Cmd...))
	}
	if len(c.Env) > 0 {
		opts = append(opts, testcontainers.WithEnv(maps.Clone(c.Env)))
	}
	if len(c.Ports) > 0 {
		opts = append(opts, testcontainers.WithExposedPorts(c.Ports...))
	}
	for _, f := range c.Files {
		opts = append(opts, testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader: bytes.NewReader(f.Content), ContainerFilePath: f.Path, FileMode: f.Mode}))
	}
	for _, v := range c.Volumes {
		opts = append(opts, testcontainers.WithMounts(testcontainers.ContainerMount{
			Source: testcontainers.DockerVolumeMountSource{Name: v.Name, VolumeOptions: &mount.VolumeOptions{Labels: maps.Clone(v.Labels)}},
			Target: testcontainers.ContainerMountTarget(v.Target),
		}))
	}
	if len(c.Tmpfs) > 0 {
		opts = append(opts, testcontainers.WithTmpfs(maps.Clone(c.Tmpfs)))
	}
	if len(c.Networks) > 0 {
		opts = append(opts, withNetworks(c))
	}
	opts = append(opts, more...)
	return append(opts, publishOn(publish))
}

// publishOn publishes every port the request exposes by now (the module's
// and the container's) on the host address addr, at a port the engine
// picks. testcontainers binds an exposed port that has no binding of its own
// to every interface of the host, and keeps the bindings it is given, so
// each exposed port gets one here. When addr is a specific address other
// than a loopback one, the port is published on 127.0.0.1 first as well:
// testcontainers' readiness checks dial the engine's host (localhost) at
// the first binding. The request's host config modifier (a module's, or one
// given before) runs first.
func publishOn(addr netip.Addr) testcontainers.CustomizeRequestOption {
	if !addr.IsValid() {
		addr = DefaultPublishAddress()
	}
	binds := []network.PortBinding{{HostIP: addr, HostPort: "0"}}
	if !addr.IsLoopback() && !addr.IsUnspecified() {
		binds = append([]network.PortBinding{{HostIP: DefaultPublishAddress(), HostPort: "0"}}, binds...)
	}
	return func(req *testcontainers.GenericContainerRequest) error {
		var ports []network.Port
		for _, s := range req.ExposedPorts {
			pr, err := network.ParsePortRange(s)
			if err != nil {
				return fmt.Errorf("exposed port %q: %w", s, err)
			}
			ports = slices.AppendSeq(ports, pr.All())
		}
		prev := req.HostConfigModifier
		req.HostConfigModifier = func(hc *container.HostConfig) {
			if prev != nil {
				prev(hc)
			}
			if hc.PortBindings == nil {
				hc.PortBindings = network.PortMap{}
			}
			for _, p := range ports {
				hc.PortBindings[p] = slices.Clone(binds)
			}
		}
		return nil
	}
}

// withNetworks creates the container on its first network, then connects
// it to the others before it starts (an engine older than API 1.44 takes
// one network at creation), each with its fixed address and the service
// name as alias.
func withNetworks(c Container) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		first := c.Networks[0]
		req.Networks = append(req.Networks[:0:0], first.Network.Name)
		req.NetworkAliases = map[string][]string{first.Network.Name: {c.Service}}
		req.EndpointSettingsModifier = func(settings map[string]*network.EndpointSettings) {
			es := settings[first.Network.Name]
			if es == nil {
				es = &network.EndpointSettings{}
				settings[first.Network.Name] = es
			}
			es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: first.IP}
			es.Aliases = []string{c.Service}
		}
		if len(c.Networks) == 1 {
			return nil
		}
		rest := c.Networks[1:]
		req.LifecycleHooks = append(req.LifecycleHooks, testcontainers.ContainerLifecycleHooks{
			PostCreates: []testcontainers.ContainerHook{func(ctx context.Context, ctr testcontainers.Container) error {
				cli, err := testcontainers.NewDockerClientWithOpts(ctx)
				if err != nil {
					return err
				}
				defer cli.Close()
				for _, a := range rest {
					if _, err := cli.NetworkConnect(ctx, a.Network.Name, client.NetworkConnectOptions{Container: ctr.GetContainerID(),
						EndpointConfig: &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: a.IP}, Aliases: []string{c.Service}}}); err != nil {
						return fmt.Errorf("connect %s to network %s at %s: %w", c.Name, a.Network.Name, a.IP, err)
					}
				}
				return nil
			}},
		})
		return nil
	}
}

// Request applies a container's customizers (with its ports published on
// publish, the zero address for DefaultPublishAddress) to an empty request,
// as testcontainers does before it asks the engine: what the engine would
// be asked, without an engine.
func Request(c Container, publish netip.Addr) (testcontainers.GenericContainerRequest, error) {
	req := testcontainers.GenericContainerRequest{ContainerRequest: testcontainers.ContainerRequest{Image: c.Image}, Started: true}
	for _, o := range Customizers(c, publish, nil) {
		if err := o.Customize(&req); err != nil {
			return req, fmt.Errorf("container %s: %w", c.Name, err)
		}
	}
	return req, nil
}
