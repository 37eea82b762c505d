// Package worldtest brings real worlds up for tests and breaks their links.
package worldtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/kongbin"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// Start brings a world of spec up on the local backend for one test and
// registers its teardown, which must leave no process and no state behind.
// It skips with -short, and on another backend (StartCluster honours
// KONG_BACKEND).
func Start(t *testing.T, name string, spec *topology.Spec) *local.World {
	t.Helper()
	if testing.Short() {
		t.Skip("brings up real Cassandra, memcached, ElasticMQ and toxiproxy; skipped with -short")
	}
	return StartEvenShort(t, name, spec)
}

// StartEvenShort is Start under -short too: for tests whose -short subset
// is a fast selection of real-world tests (Shared.EvenShort's counterpart).
func StartEvenShort(t *testing.T, name string, spec *topology.Spec) *local.World {
	t.Helper()
	if Backend() != BackendLocal {
		t.Skipf("drives the local backend's processes; KONG_BACKEND=%s", Backend())
	}
	bin, err := kongbin.Path()
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	home := t.TempDir()
	if Keep() {
		// t.TempDir would be removed under a world kept after a failure.
		home, err = os.MkdirTemp("", "kong-"+name+"-")
		require.NoError(t, err)
	}
	w, err := local.Up(ctx, local.Options{Name: name, Spec: spec, Home: home, KongBinary: bin, Log: log})
	t.Cleanup(func() {
		if w == nil {
			return
		}
		dir := w.Dir()
		if t.Failed() && Keep() {
			holdForDebugging(w, name, filepath.Dir(filepath.Dir(dir)))
		}
		require.NoError(t, w.Down())
		require.Empty(t, local.WorldProcesses(dir), "processes of world %s outlived its teardown", name)
		_, err := os.Stat(dir)
		require.True(t, os.IsNotExist(err), "state folder %s was not removed", dir)
	})
	require.NoError(t, err)
	t.Logf("world %s ready; phases %v", name, w.Phases())
	return w
}

// SetLinks enables or disables every proxy of the links between regions a
// and b, in both directions: a complete partition when disabled.
func SetLinks(t *testing.T, c topology.Cluster, a, b string, enabled bool) {
	t.Helper()
	set := (*toxiclient.Proxy).Disable
	if enabled {
		set = (*toxiclient.Proxy).Enable
	}
	OnLink(t, c, topology.LinkName(a, b), set)
	OnLink(t, c, topology.LinkName(b, a), set)
}

// OnLink calls do on every toxiproxy proxy of link (a LinkName) of world
// c; the test fails on the first error.
func OnLink(t *testing.T, c topology.Cluster, link string, do func(*toxiclient.Proxy) error) {
	t.Helper()
	client := toxiclient.NewClient(c.ToxiproxyAPI())
	for _, l := range c.Links() {
		if l.Name != link {
			continue
		}
		for _, name := range l.Proxies {
			p, err := client.Proxy(name)
			require.NoError(t, err)
			require.NoError(t, do(p), "proxy %s of link %s", name, link)
		}
	}
}

// LeaveLatency leaves on link what a run killed in the middle of a
// latency fault leaves: a toxic (left-latency) of ms on each of its
// proxies.
func LeaveLatency(t *testing.T, c topology.Cluster, link string, ms int) {
	t.Helper()
	OnLink(t, c, link, func(p *toxiclient.Proxy) error {
		_, err := p.AddToxic("left-latency", "latency", "upstream", 1, toxiclient.Attributes{"latency": ms})
		return err
	})
}

// StateOf is the state c reports for its component id; the test fails
// when c has no such component.
func StateOf(t *testing.T, c topology.Cluster, id string) topology.State {
	t.Helper()
	st, err := c.Components(context.Background())
	require.NoError(t, err)
	for _, s := range st {
		if s.ID == id {
			return s.State
		}
	}
	t.Fatalf("world %s has no component %s", c.Name(), id)
	return ""
}

// Shared is one real world for every test of a test binary: TestMain calls
// RunShared, and each test calls Get (any backend) or Local (the local
// backend's world, for tests that read its plan or processes). On the local
// backend the world comes up when a test first asks for it, so that a run of
// the binary's pure tests (or of a test with a world of its own) starts
// none, and Release takes it down for a test that needs the machine to
// itself.
type Shared struct {
	// EvenShort brings the world up under -short too (a package whose
	// -short tests are a fast subset of real-world tests).
	EvenShort bool

	mu      sync.Mutex
	cluster topology.Cluster
	world   *local.World
	err     error
	// up brings the local world up (set by RunShared); nil on the container
	// backend, whose world RunShared brings up before the tests.
	up func() (*local.World, error)
	// asked says that up ran (successfully or not) since the last Release.
	asked bool
	// skip is why the tests cannot have a world here (no Docker engine).
	skip string
	// kubeconfig reaches the control plane of the kubernetes backend's
	// world as its administrator.
	kubeconfig string
}

// RunShared runs the tests with a world of the profile on the backend
// KONG_BACKEND names (unless -short without EvenShort), takes the world
// down, fails when anything of it outlived it, and exits.
func RunShared(m *testing.M, s *Shared, name, profile string) {
	flag.Parse()
	if testing.Short() && !s.EvenShort {
		os.Exit(m.Run())
	}
	switch Backend() {
	case BackendContainers:
		os.Exit(runSharedContainers(m, s, name, profile))
	case BackendKubernetes:
		os.Exit(runSharedKube(m, s, name, profile))
	}
	home, err := os.MkdirTemp("", "kong-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.up = func() (*local.World, error) {
		bin, err := kongbin.Path()
		if err != nil {
			return nil, err
		}
		spec, err := topology.Profile(profile)
		if err != nil {
			return nil, err
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		return local.Up(ctx, local.Options{Name: name, Spec: spec, Home: home, KongBinary: bin, Log: log})
	}
	code := m.Run()
	s.mu.Lock()
	w := s.world
	s.mu.Unlock()
	if w != nil && code != 0 && Keep() {
		holdForDebugging(w, name, home)
	}
	if err := s.down(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.RemoveAll(home)
	os.Exit(code)
}

// Release takes the shared local world down, if it is up, so that a test
// can bring up a world of its own without two worlds sharing the machine's
// cores; a later Get brings it up again. It does nothing on the container
// backend.
func (s *Shared) Release(t *testing.T) {
	t.Helper()
	require.NoError(t, s.down())
}

// down takes the local world down and checks that nothing of it is left;
// the next Get brings it up again.
func (s *Shared) down() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up == nil {
		return nil // the container backend's world: RunShared's to remove
	}
	w := s.world
	s.world, s.cluster, s.err, s.asked = nil, nil, nil, false
	if w == nil {
		return nil
	}
	dir := w.Dir()
	if err := w.Down(); err != nil {
		return fmt.Errorf("taking world %s down: %w", w.Name(), err)
	}
	if left := local.WorldProcesses(dir); len(left) > 0 {
		return fmt.Errorf("processes outlived world %s: %v", w.Name(), left)
	}
	return nil
}

// Keep says whether KONG_KEEP=1 asks to keep a world up after a failure.
func Keep() bool { return os.Getenv("KONG_KEEP") == "1" }

// holdForDebugging keeps a failed test's world up, with its control API
// served so that kong status, logs, kill or run can attach to it, until
// Ctrl-C or SIGTERM (or the test binary's timeout); the caller then takes
// it down as usual. The world's processes die with the test binary, so
// keeping it means keeping the binary.
func holdForDebugging(w *local.World, name, home string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = w.ServeControl(ctx) }()
	fmt.Fprintf(os.Stderr, "\nKONG_KEEP=1: a test failed; world %s stays up for debugging until Ctrl-C.\n"+
		"  KONG_HOME=%s kong status --world %s\n  KONG_HOME=%s kong logs --world %s us-east-1/cassandra/a\n", name, home, name, home, name)
	<-ctx.Done()
	fmt.Fprintf(os.Stderr, "taking world %s down\n", name)
}

// Get returns the shared world, whatever its backend, bringing the local
// one up on first use; it skips with -short (unless EvenShort), skips when
// the backend cannot run here (no Docker engine), and fails when the world
// did not come up.
func (s *Shared) Get(t *testing.T) topology.Cluster {
	t.Helper()
	if testing.Short() && !s.EvenShort {
		t.Skip("needs the real world; skipped with -short")
	}
	if s.skip != "" {
		t.Skip(s.skip)
	}
	c, err := s.get()
	require.NoError(t, err, "the world did not come up")
	return c
}

// get is the shared world, brought up on first use (the local backend).
func (s *Shared) get() (topology.Cluster, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil && !s.asked {
		s.asked = true
		start := time.Now()
		s.world, s.err = s.up()
		if s.world != nil {
			s.cluster = s.world
			fmt.Fprintf(os.Stderr, "shared world %s ready in %s\n", s.world.Name(), time.Since(start).Round(time.Millisecond))
		}
	}
	if s.err == nil && s.cluster == nil {
		return nil, errors.New("no shared world: TestMain must call worldtest.RunShared")
	}
	return s.cluster, s.err
}

// Local returns the shared world of the local backend, for tests that read
// its plan or its processes; it skips on another backend.
func (s *Shared) Local(t *testing.T) *local.World {
	t.Helper()
	c := s.Get(t)
	w, ok := c.(*local.World)
	if !ok {
		t.Skipf("reads the local backend's world, and this one is a %T (KONG_BACKEND=%s)", c, Backend())
	}
	return w
}
