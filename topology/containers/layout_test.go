package containers

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/topologytest"
)

func profile(t *testing.T, name string) *topology.Spec {
	t.Helper()
	s := topologytest.Profile(t, name)
	return s
}

func layout(t *testing.T, name string) *Layout {
	t.Helper()
	l, err := NewLayout("kong", profile(t, name), 7)
	require.NoError(t, err)
	return l
}

func addrIP(t *testing.T, hostport string) netip.Addr {
	t.Helper()
	h, _, err := net.SplitHostPort(hostport)
	require.NoError(t, err, hostport)
	return netip.MustParseAddr(h)
}

// The container plan keeps everything of the topology's plan but the
// addresses: IDs, tokens, seeds, links and proxy names are the same on both
// backends, so faults and reports name the same things.
func TestLayoutKeepsThePlanButTheAddresses(t *testing.T) {
	for _, name := range topology.Profiles() {
		t.Run(name, func(t *testing.T) {
			spec := profile(t, name)
			want, err := topology.NewPlan(spec, 7)
			require.NoError(t, err)
			l := layout(t, name)
			got := l.Plan
			ids := func(cs []topology.Component) []string {
				var out []string
				for _, c := range cs {
					out = append(out, c.ID+"|"+c.Kind+"|"+c.Region+"|"+c.Zone)
				}
				return out
			}
			require.Equal(t, ids(want.Components()), ids(got.Components()))
			require.Equal(t, want.Links(), got.Links())
			for i, n := range got.Cassandra {
				require.Equal(t, want.Cassandra[i].Token, n.Token)
				require.Equal(t, want.Cassandra[i].Seed, n.Seed)
				require.Len(t, n.LinkProxies, len(spec.Regions)-1)
			}
		})
	}
}

func TestLayoutPutsEveryComponentOnItsRegionsNetwork(t *testing.T) {
	l := layout(t, "global")
	require.Equal(t, "10.107.0.0/16", Subnet(7).String())
	require.Equal(t, "10.107.0.0/24", l.Links.Subnet.String())
	require.Equal(t, "kong-links", l.Links.Name)
	for r, n := range l.Regions {
		require.Equal(t, l.Plan.Spec.Regions[r].Name, n.Region)
		require.Equal(t, "kong-"+n.Region, n.Name)
		require.True(t, Subnet(7).Contains(n.Subnet.Addr()))
	}
	for _, c := range l.Plan.Components() {
		ip := addrIP(t, c.Address)
		switch c.Kind {
		case topology.KindToxiproxy, topology.KindDirector:
			require.True(t, l.Links.Subnet.Contains(ip), "%s at %s", c.ID, c.Address)
		default:
			require.True(t, l.Network(c.Region).Subnet.Contains(ip), "%s at %s is not on %s", c.ID, c.Address, l.Network(c.Region).Name)
		}
	}
	for _, n := range l.Plan.Cassandra {
		require.NotEqual(t, n.Listen, n.Broadcast)
		require.True(t, l.Network(n.Region).Subnet.Contains(netip.MustParseAddr(n.Listen)), "listen address of %s", n.ID)
		require.True(t, l.Links.Subnet.Contains(netip.MustParseAddr(n.Broadcast)), "broadcast address of %s", n.ID)
		require.True(t, l.Links.Subnet.Contains(l.Outbound[n.ID]))
		require.True(t, l.Network(n.Region).Subnet.Contains(l.RouterRegionIP[n.ID]))
		for _, proxy := range n.LinkProxies {
			require.Equal(t, l.Links.Host(hostToxiproxy), addrIP(t, proxy), "link proxies listen on toxiproxy's links address")
		}
	}
	// A region reaches another's SQS endpoint and gateway only through
	// toxiproxy's address on its own network.
	for _, link := range l.Plan.Links() {
		tox := l.Network(link.From).Host(hostToxiproxy)
		require.Equal(t, tox, addrIP(t, l.Plan.SQSLinks[link.Name]), link.Name)
		require.Equal(t, tox, addrIP(t, l.Plan.IsthmusLinks[link.Name]), link.Name)
		require.Equal(t, "http://"+l.Plan.SQSLinks[link.Name], topology.PlanAddrs{Plan: l.Plan}.SQSEndpoint(link.From, link.To))
	}
	for _, c := range l.Plan.SQS {
		require.Equal(t, "http://"+c.Address, topology.PlanAddrs{Plan: l.Plan}.SQSEndpoint(c.Region, c.Region))
	}
}

func TestLayoutLimits(t *testing.T) {
	spec := profile(t, "small")
	_, err := NewLayout("Not A Name", spec, 0)
	require.ErrorContains(t, err, "world name")
	big := *spec
	big.PerZone = map[string]int{topology.KindCassandra: perRegion + 1, topology.KindMemcached: 1, topology.KindMember: 1}
	_, err = NewLayout("kong", &big, 0)
	require.ErrorContains(t, err, "at most")
}

func TestChooseSlotSkipsRangesInUse(t *testing.T) {
	first := topology.SlotFor("kong")
	slot, err := ChooseSlot("kong", nil)
	require.NoError(t, err)
	require.Equal(t, first, slot)

	// Another network inside the preferred /16 (a /24 of it) moves the world on.
	taken := []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16"), netip.PrefixFrom(Subnet(first).Addr(), 24)}
	slot, err = ChooseSlot("kong", taken)
	require.NoError(t, err)
	require.Equal(t, (first+1)%topology.Slots, slot)

	// A network that spans every range leaves no slot.
	_, err = ChooseSlot("kong", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	require.ErrorContains(t, err, "no free address range")
}

func TestSlotOfIsTheInverseOfSubnet(t *testing.T) {
	for slot := 0; slot < topology.Slots; slot++ {
		require.Equal(t, slot, slotOf(Subnet(slot)))
	}
	require.Equal(t, -1, slotOf(netip.MustParsePrefix("172.17.0.0/16")))
}

func TestBuildContextIsTheRepository(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := BuildContext(wd)
	require.NotEmpty(t, root, "no repository with a Dockerfile above %s", wd)
	require.FileExists(t, filepath.Join(root, "Dockerfile"))
	require.True(t, strings.HasSuffix(wd, filepath.Join("topology", "containers")))
	require.Empty(t, BuildContext(t.TempDir()))
}

// The kong image is built with the Go toolchain the module names (its
// toolchain line, else its go line), from a context that keeps every file
// the build embeds.
func TestDockerfileMatchesTheModule(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := BuildContext(wd)
	require.NotEmpty(t, root)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	var goVersion, toolchain string
	for _, line := range strings.Split(string(mod), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok {
			goVersion = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "toolchain go"); ok {
			toolchain = strings.TrimSpace(v)
		}
	}
	require.NotEmpty(t, goVersion)
	if toolchain != "" {
		goVersion = toolchain
	}
	require.Contains(t, string(docker), "ARG GO_VERSION="+goVersion+"\n", "the Dockerfile builds with another Go than go.mod's %s", goVersion)
	require.Contains(t, string(docker), "./cmd/kong")
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(ignore), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, kept := range []string{"go.mod", "go.sum", "cmd", "topology", "app", "harness", "reports", "scenarios", "internal"} {
			require.NotEqual(t, kept, strings.Trim(line, "/"), ".dockerignore leaves %s out of the build", kept)
		}
	}
}
