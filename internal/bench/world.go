package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// World brings a world up in a temporary home for a benchmark, with this
// process's executable as its kong binary; done takes it down and removes
// the home, reporting a failed teardown on its writer. done is safe to call
// whatever the error.
func World(ctx context.Context, name string, spec *topology.Spec, log *slog.Logger) (*local.World, func(io.Writer), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, func(io.Writer) {}, err
	}
	home, err := os.MkdirTemp("", "kong-bench-")
	if err != nil {
		return nil, func(io.Writer) {}, err
	}
	w, err := local.Up(ctx, local.Options{Name: name, Spec: spec, Home: home, KongBinary: self, Log: log})
	return w, func(out io.Writer) {
		if derr := w.Down(); derr != nil {
			fmt.Fprintln(out, "down:", derr)
		}
		os.RemoveAll(home)
	}, err
}
