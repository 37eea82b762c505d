package worldtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/kongbin"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
)

// Backends a test world can run on.
const (
	BackendLocal      = "local"
	BackendContainers = "containers"
)

// Backend is the backend that KONG_BACKEND names: "local" (the default),
// "containers" or "kubernetes".
func Backend() string {
	switch b := os.Getenv("KONG_BACKEND"); b {
	case BackendContainers, BackendKubernetes:
		return b
	}
	return BackendLocal
}

// StartCluster brings a world of spec up for one test on the backend that
// KONG_BACKEND names and registers its teardown, which must leave nothing
// of it behind. It skips with -short, and on the container backend when no
// Docker engine answers.
func StartCluster(t *testing.T, name string, spec *topology.Spec) topology.Cluster {
	t.Helper()
	switch Backend() {
	case BackendLocal:
		return Start(t, name, spec)
	case BackendKubernetes:
		t.Skip("a world of its own for one test is not brought up on the kubernetes backend: its tests share one (worldtest.RunShared)")
	}
	if testing.Short() {
		t.Skip("brings up real Cassandra, memcached, LocalStack and toxiproxy containers; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	w, reaper, err := UpContainers(ctx, name, spec, t.TempDir())
	if errors.Is(err, containers.ErrNoEngine) {
		t.Skip(err.Error())
	}
	t.Cleanup(func() {
		defer func() { require.NoError(t, reaper.Release(), "the reaper of world %s", name) }()
		if w == nil {
			return
		}
		if t.Failed() && Keep() {
			holdContainers(name)
		}
		require.NoError(t, w.Down(), "take world %s down", name)
	})
	require.NoError(t, err)
	t.Logf("world %s ready (containers); phases %v", name, w.Phases())
	return w
}

// UpContainers brings a container world up for tests: the kong image built
// from this repository, every container's log under dir, and kong's
// reaper watching (a test binary that dies leaves nothing behind), which
// the caller releases after its Down.
func UpContainers(ctx context.Context, name string, spec *topology.Spec, dir string) (*containers.World, *containers.Reaper, error) {
	// The engine's own reaper is an image only a registry serves.
	containers.KeepWorlds()
	if err := containers.CheckEngine(ctx); err != nil {
		return nil, nil, err
	}
	bin, err := kongbin.Path()
	if err != nil {
		return nil, nil, err
	}
	reaper, err := containers.StartReaper(bin, name, filepath.Join(os.TempDir(), "kong-reaper-"+name+".log"))
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := containers.Up(ctx, containers.Options{Name: name, Spec: spec,
		BuildContext: containers.KongBuildContext(), LogDir: dir, Log: log})
	if w == nil {
		// Up made nothing (a world of that name may be another owner's):
		// the reaper must leave it alone.
		_ = reaper.Disarm()
		return nil, nil, err
	}
	return w, reaper, err
}

// runSharedContainers is RunShared on the container backend; it returns the
// exit code.
func runSharedContainers(m *testing.M, s *Shared, name, profile string) int {
	dir, err := os.MkdirTemp("", "kong-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	var w *containers.World
	var reaper *containers.Reaper
	spec, err := topology.Profile(profile)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		w, reaper, err = UpContainers(ctx, name, spec, dir)
		cancel()
	}
	defer func() {
		if err := reaper.Release(); err != nil {
			fmt.Fprintln(os.Stderr, "reaper:", err)
		}
	}()
	switch {
	case errors.Is(err, containers.ErrNoEngine):
		s.skip = err.Error()
	case err != nil:
		s.err = err
	}
	if w != nil {
		s.cluster = w
	}
	code := m.Run()
	if w == nil {
		return code
	}
	if code != 0 && Keep() {
		holdContainers(name)
	}
	if err := w.Down(); err != nil {
		fmt.Fprintln(os.Stderr, "down:", err)
		code = 1
	}
	return code
}

// holdContainers keeps a failed test's container world up until Ctrl-C or
// SIGTERM (kong's reaper removes it when the test binary exits).
func holdContainers(name string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "\nKONG_KEEP=1: a test failed; container world %s stays up for debugging until Ctrl-C.\n"+
		"  docker ps --filter label=%s\n  docker logs %s\n", name, containers.WorldFilter(name), containers.ContainerName(name, "us-east-1/cassandra/a"))
	<-ctx.Done()
	fmt.Fprintf(os.Stderr, "taking world %s down\n", name)
}
