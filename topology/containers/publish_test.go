package containers

import (
	"net/netip"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/kongchaos/kong/topology"
)

// hostConfigOf is the host configuration a request's modifier makes, before
// testcontainers adds a binding on every interface to each exposed port
// that has none.
func hostConfigOf(t *testing.T, req testcontainers.GenericContainerRequest) *container.HostConfig {
	t.Helper()
	require.NotNil(t, req.HostConfigModifier,
		"%s: no host config modifier, so testcontainers publishes %v on every interface of the host", req.Name, req.ExposedPorts)
	hc := &container.HostConfig{}
	req.HostConfigModifier(hc)
	return hc
}

// requirePublishedOn checks that every port the request exposes is
// published on exactly the given host addresses, in that order, at a port
// the engine picks, and that nothing else is published.
func requirePublishedOn(t *testing.T, req testcontainers.GenericContainerRequest, addrs ...string) {
	t.Helper()
	hc := hostConfigOf(t, req)
	var want []network.PortBinding
	for _, a := range addrs {
		want = append(want, network.PortBinding{HostIP: netip.MustParseAddr(a), HostPort: "0"})
	}
	exposed := map[network.Port]bool{}
	for _, s := range req.ExposedPorts {
		p, err := network.ParsePort(s)
		require.NoError(t, err)
		exposed[p] = true
		require.Equal(t, want, hc.PortBindings[p], "%s: port %s", req.Name, s)
	}
	for p := range hc.PortBindings {
		require.True(t, exposed[p], "%s: %s is bound but not exposed", req.Name, p)
	}
}

// By default every container of every profile publishes every port it
// exposes on 127.0.0.1 only.
func TestEveryPublishedPortBindsLoopbackByDefault(t *testing.T) {
	for _, name := range topology.Profiles() {
		t.Run(name, func(t *testing.T) {
			published := 0
			for _, c := range containersOf(t, layout(t, name)) {
				req, err := Request(c, netip.Addr{})
				require.NoError(t, err)
				require.Len(t, req.ExposedPorts, len(c.Ports), c.Name)
				if len(c.Ports) == 0 {
					continue
				}
				requirePublishedOn(t, req, "127.0.0.1")
				published++
			}
			require.Positive(t, published)
		})
	}
}

// A publish address asked for explicitly is used instead; a specific
// address that is not a loopback one comes with 127.0.0.1 first, where
// testcontainers' readiness checks dial.
func TestPublishAddressAskedFor(t *testing.T) {
	cs := containersOf(t, layout(t, "small"))
	for addr, want := range map[string][]string{
		"127.0.0.1":  {"127.0.0.1"},
		"0.0.0.0":    {"0.0.0.0"},
		"::":         {"::"},
		"::1":        {"::1"},
		"192.0.2.10": {"127.0.0.1", "192.0.2.10"},
	} {
		t.Run(addr, func(t *testing.T) {
			for _, c := range cs {
				if len(c.Ports) == 0 {
					continue
				}
				req, err := Request(c, netip.MustParseAddr(addr))
				require.NoError(t, err)
				requirePublishedOn(t, req, want...)
			}
		})
	}
}

// The options a world's start gives, in its order: a module's defaults
// first (ports it exposes itself, its own host config modifier), then the
// container's customizers with its kind's. The module's ports are
// published on the same address, and the modifiers before the binding
// still apply: LocalStack's engine socket is removed, another module
// setting is kept.
func TestModulePortsAndModifiersUnderThePublishAddress(t *testing.T) {
	cs := containersOf(t, layout(t, "small"))
	for _, kind := range []string{topology.KindSQS, topology.KindMemcached, topology.KindToxiproxy, topology.KindCassandra, topology.KindMember} {
		t.Run(kind, func(t *testing.T) {
			var c Container
			for _, o := range cs {
				if o.Kind == kind {
					c = o
					break
				}
			}
			require.NotEmpty(t, c.Name)
			req := testcontainers.GenericContainerRequest{ContainerRequest: testcontainers.ContainerRequest{Image: c.Image}, Started: true}
			module := []testcontainers.ContainerCustomizer{
				testcontainers.WithExposedPorts("4510/tcp", c.Ports[0]),
				testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
					hc.Binds = []string{"/var/run/docker.sock:/var/run/docker.sock"}
					hc.ShmSize = 1 << 20
				}),
			}
			for _, o := range append(module, Customizers(c, netip.Addr{}, nil, kindCustomizers(c, topology.Component{}, time.Minute)...)...) {
				require.NoError(t, o.Customize(&req))
			}
			require.Contains(t, req.ExposedPorts, "4510/tcp")
			requirePublishedOn(t, req, "127.0.0.1")
			hc := hostConfigOf(t, req)
			if kind == topology.KindSQS {
				require.Empty(t, hc.Binds, "LocalStack gets no engine socket")
			} else {
				require.Equal(t, []string{"/var/run/docker.sock:/var/run/docker.sock"}, hc.Binds, "the module's modifier runs")
				require.Equal(t, int64(1<<20), hc.ShmSize)
			}
		})
	}
}
