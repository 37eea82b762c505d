package worldflags

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/backends"
	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/kube"
)

// RegisterRoot adds the root's persistent flags that say which world a
// command works on and where it runs: --world, --home, and --backend with
// the kubernetes backend's --kubeconfig, --context, --in-cluster and
// --namespace-prefix.
func RegisterRoot(root *cobra.Command) {
	f := root.PersistentFlags()
	f.String("world", EnvOr("KONG_WORLD", "kong"), "name of the world (its state folder, addresses and ports follow from it)")
	f.String("home", "", "folder of worlds' state (default $KONG_HOME or ~/.kong)")
	f.String("backend", EnvOr("KONG_BACKEND", backends.Local),
		"where worlds run: local (processes on this machine), containers (Docker, with testcontainers-go) or kubernetes (a cluster); default $KONG_BACKEND, else local")
	f.String("kubeconfig", "", "with --backend kubernetes: the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	f.String("context", "", "with --backend kubernetes: the kubeconfig's context (default its current one)")
	f.Bool("in-cluster", false, "with --backend kubernetes: reach the API server as the pod kong runs in (its service account)")
	f.String("namespace-prefix", EnvOr("KONG_NAMESPACE_PREFIX", kube.DefaultPrefix),
		"with --backend kubernetes: what the names of a world's namespaces begin with (<prefix><world> and <prefix><world>-<region>); default $KONG_NAMESPACE_PREFIX, else kong-")
	_ = root.RegisterFlagCompletionFunc("world", complete.Flag(complete.Worlds(Backend)))
	_ = root.RegisterFlagCompletionFunc("backend", complete.Flag(complete.Fixed(backends.Names()...)))
}

// Backend is the backend the command's --backend (or $KONG_BACKEND) names;
// an unknown one is bad input.
func Backend(cmd *cobra.Command) (topology.Backend, error) {
	name, _ := cmd.Flags().GetString("backend")
	kubeconfig, _ := cmd.Flags().GetString("kubeconfig")
	kubeContext, _ := cmd.Flags().GetString("context")
	inCluster, _ := cmd.Flags().GetBool("in-cluster")
	prefix, _ := cmd.Flags().GetString("namespace-prefix")
	b, err := backends.Open(name, backends.Options{Home: Home(cmd), Kubeconfig: kubeconfig, Context: kubeContext,
		InCluster: inCluster, NamespacePrefix: prefix})
	return b, exitstatus.Usage(err)
}

// Attach finds world on the command's backend (--backend); "" is the world
// --world names.
func Attach(cmd *cobra.Command, world string) (topology.Cluster, func(), error) {
	b, err := Backend(cmd)
	if err != nil {
		return nil, nil, err
	}
	if world == "" {
		world = World(cmd)
	}
	return b.Attach(cmd.Context(), world)
}

// EnvOr is the environment variable key, else def.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// PublishFlag is the flag of the host address a container world's ports
// are published on.
const PublishFlag = "publish-address"

// Publish is --publish-address, on the commands that bring a world up.
type Publish struct{ addr string }

// Register adds --publish-address to cmd.
func (p *Publish) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.addr, PublishFlag, containers.DefaultPublishAddress().String(),
		"with --backend containers: the host address the containers' ports are published on (0.0.0.0: every interface)")
}

// Addr is the address given ("" for the default).
func (p *Publish) Addr() (netip.Addr, error) {
	a, err := containers.ParsePublishAddress(p.addr)
	if err != nil {
		return a, fmt.Errorf("--%s %w", PublishFlag, err)
	}
	return a, nil
}

// On is the address for a world that b brings up: the container
// backend's; the local backend's servers listen on loopback addresses
// only, and refuse the flag. A bad one is bad input.
func (p *Publish) On(cmd *cobra.Command, b topology.Backend) (netip.Addr, error) {
	if b.Name() == backends.Containers {
		a, err := p.Addr()
		return a, exitstatus.Usage(err)
	}
	if cmd.Flags().Changed(PublishFlag) {
		return netip.Addr{}, exitstatus.Usage(fmt.Errorf("--%s is for the container backend (--backend containers): the local backend's servers listen on loopback addresses only", PublishFlag))
	}
	return netip.Addr{}, nil
}
