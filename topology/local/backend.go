package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
)

// BackendName is the local backend's name, as `kong --backend` spells it.
const BackendName = "local"

// Backend runs worlds as processes on this machine, each owned by a `kong
// serve world` process (see Launch) and found through its state under
// Home.
type Backend struct {
	Home string
	// Exe is the kong binary that owns the worlds Up brings up (default:
	// this process's executable).
	Exe string
}

var _ topology.Backend = (*Backend)(nil)

// Name is BackendName.
func (*Backend) Name() string { return BackendName }

// Up refuses a world that is already up, fetches what is missing first,
// saying so (the jars with Maven into the user's cache, on o.Out; memcached
// with apt-get, after a line on stderr with the command; KONG_NO_INSTALL=1
// names it and stops instead: the owner itself never installs anything),
// then launches the world's owner.
func (b *Backend) Up(ctx context.Context, world string, spec *topology.Spec, o topology.UpOptions) (topology.Started, error) {
	out, log := o.Out, o.Log
	if out == nil {
		out = io.Discard
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if st, err := ReadState(b.Home, world); err == nil {
		if _, aerr := Attach(b.Home, world); aerr == nil {
			return topology.Started{}, fmt.Errorf("world %s is already up (status %s, owner pid %d): use it, or run `kong down --world %s` first",
				world, st.Status, st.OwnerPID, world)
		}
	}
	exe := b.Exe
	if exe == "" {
		self, err := os.Executable()
		if err != nil {
			return topology.Started{}, err
		}
		exe = self
	}
	if err := PrepareHome(b.Home); err != nil {
		return topology.Started{}, err
	}
	if missing, cache, err := assets.JarsToFetch(spec.Cassandra.Version, spec.SQS.ElasticMQVersion); err == nil && len(missing) > 0 {
		fmt.Fprintf(out, "first fetching %s with Maven into %s\n", strings.Join(missing, " and "), cache)
	}
	// An install of a missing package (memcached) is announced on stderr,
	// apart from the start's own account on out.
	if _, err := assets.Setup(ctx, spec.Cassandra.Version, spec.SQS.ElasticMQVersion, os.Stderr, log); err != nil {
		return topology.Started{}, err
	}
	return Launch(ctx, LaunchOptions{Home: b.Home, World: world, Spec: spec, Exe: exe, Timeout: o.Timeout, Out: out, Progress: o.Progress})
}

// Attach finds a world through its state; release does nothing.
func (b *Backend) Attach(_ context.Context, world string) (topology.Cluster, func(), error) {
	r, err := Attach(b.Home, world)
	if err != nil {
		return nil, nil, err
	}
	return r, func() {}, nil
}

// Down is DownWorld.
func (b *Backend) Down(_ context.Context, world string, grace time.Duration) error {
	err := DownWorld(b.Home, world, grace)
	if errors.Is(err, ErrNotUp) {
		return fmt.Errorf("%w: %w", topology.ErrNotUp, err)
	}
	return err
}

// Worlds lists the worlds under Home.
func (b *Backend) Worlds(context.Context) ([]string, error) { return Worlds(b.Home), nil }

// Logs writes the end of the log file a component's state names.
func (b *Backend) Logs(_ context.Context, w io.Writer, world, id string, lines int) error {
	st, err := ReadState(b.Home, world)
	if err != nil {
		return err
	}
	var ids []string
	for _, c := range st.Components {
		ids = append(ids, c.ID)
		if c.ID == id {
			return writeTail(w, c.Log, lines)
		}
	}
	return fmt.Errorf("unknown component %q: the components are %s", id, strings.Join(ids, ", "))
}

// writeTail writes the last n lines (0: all) of the file at path.
func writeTail(w io.Writer, path string, n int) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no log yet at %s", path)
	}
	if err != nil {
		return err
	}
	ls := strings.SplitAfter(string(data), "\n")
	if n > 0 && len(ls) > n+1 {
		ls = ls[len(ls)-n-1:]
	}
	_, err = io.WriteString(w, strings.Join(ls, ""))
	return err
}

// RunLockPathOf is the file whose lock a run holds on a world that is up
// on the named backend, its folder made. A local world's lies in its state
// folder, and goes with it. A world of another backend has no state folder
// on this machine: its run lock is a file under home named by backend and
// world, which guards the runs started from this machine and this home.
func RunLockPathOf(home, backend, world string) (string, error) {
	if backend == BackendName {
		return RunLockPath(home, world), nil
	}
	if err := PrepareHome(home); err != nil {
		return "", err
	}
	dir := filepath.Join(home, "runs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return filepath.Join(dir, backend+"-"+world+".lock"), nil
}
