// Package backends names the places a world can run and opens the one a
// command asks for: the local backend (processes on this machine) or the
// container backend (Docker containers, with testcontainers-go).
package backends

import (
	"fmt"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local"
)

// The backends' names, as --backend and $KONG_BACKEND spell them.
const (
	Local      = local.BackendName
	Containers = containers.BackendName
)

// Names are the backends' names, the default first.
func Names() []string { return []string{Local, Containers} }

// Open is the backend called name ("" is Local); home is the local
// backend's folder of worlds' state.
func Open(name, home string) (topology.Backend, error) {
	switch name {
	case "", Local:
		return &local.Backend{Home: home}, nil
	case Containers:
		return &containers.Backend{}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: the backends are local and containers", name)
}

// LocalOnly refuses a command that measures this machine's processes on
// another backend than local.
func LocalOnly(b topology.Backend, command string) error {
	if b.Name() != Local {
		return fmt.Errorf("%s measures the world's processes on this machine (their CPU from /proc): it runs on the local backend only, not on %s", command, b.Name())
	}
	return nil
}
