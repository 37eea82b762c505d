// Package backends names the places a world can run and opens the one a
// command asks for: the local backend (processes on this machine), the
// container backend (Docker containers, with testcontainers-go) or the
// Kubernetes backend (a cluster the user points kong at).
package backends

import (
	"fmt"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/kube"
	"github.com/kongchaos/kong/topology/local"
)

// The backends' names, as --backend and $KONG_BACKEND spell them.
const (
	Local      = local.BackendName
	Containers = containers.BackendName
	Kubernetes = kube.BackendName
)

// Names are the backends' names, the default first.
func Names() []string { return []string{Local, Containers, Kubernetes} }

// Options are what a backend needs to find its worlds.
type Options struct {
	// Home is the local backend's folder of worlds' state.
	Home string
	// Kubeconfig and Context name the Kubernetes backend's cluster (""
	// each: $KUBECONFIG or ~/.kube/config, and its current context);
	// InCluster reaches it as the pod kong runs in; NamespacePrefix
	// begins the names of a world's namespaces ("": kong-).
	Kubeconfig, Context string
	InCluster           bool
	NamespacePrefix     string
}

// Open is the backend called name ("" is Local).
func Open(name string, o Options) (topology.Backend, error) {
	switch name {
	case "", Local:
		return &local.Backend{Home: o.Home}, nil
	case Containers:
		return &containers.Backend{}, nil
	case Kubernetes:
		if err := kube.CheckPrefix(o.NamespacePrefix); err != nil {
			return nil, err
		}
		return &kube.Backend{Kubeconfig: o.Kubeconfig, Context: o.Context, InCluster: o.InCluster, Prefix: o.NamespacePrefix}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: the backends are local, containers and kubernetes", name)
}

// LocalOnly refuses a command that measures this machine's processes on
// another backend than local.
func LocalOnly(b topology.Backend, command string) error {
	if b.Name() != Local {
		return fmt.Errorf("%s measures the world's processes on this machine (their CPU from /proc): it runs on the local backend only, not on %s", command, b.Name())
	}
	return nil
}
