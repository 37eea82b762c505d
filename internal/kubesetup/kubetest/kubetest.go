// Package kubetest starts, for a test, the Kubernetes control plane that
// `kong setup --kubernetes` builds (make test runs it first).
package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/kubesetup"
	"github.com/kongchaos/kong/topology"
)

// ForProfile loads the named profile and starts the control plane with a
// kwok node for each zone of its first region, as Start does.
func ForProfile(ctx context.Context, t *testing.T, profile string) (*topology.Spec, *kubesetup.ControlPlane) {
	t.Helper()
	spec, err := topology.Profile(profile)
	require.NoError(t, err)
	_, cp := Start(ctx, t, spec.Regions[0].Zones)
	return spec, cp
}

// Start starts the control plane with a kwok node for each of zones, its
// state in a folder of the test's, and after the test stops it and checks
// that no process naming that folder (the control plane's, or a real
// node's started on it) outlived it. With -short it skips the test.
func Start(ctx context.Context, t *testing.T, zones []string) (*kubesetup.Tools, *kubesetup.ControlPlane) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a Kubernetes control plane; skipped with -short")
	}
	tools, err := kubesetup.Find()
	require.NoError(t, err)
	dir := t.TempDir()
	cp, err := kubesetup.Start(ctx, tools, dir, zones)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, cp.Stop())
		requireNoProcessNaming(t, dir)
	})
	return tools, cp
}

// requireNoProcessNaming fails the test when a process of the machine
// still has dir in its command line ten seconds on.
func requireNoProcessNaming(t *testing.T, dir string) {
	t.Helper()
	self := strconv.Itoa(os.Getpid())
	var left []string
	for range 50 {
		left = nil
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range procs {
			b, err := os.ReadFile(f)
			pid := filepath.Base(filepath.Dir(f))
			if err == nil && pid != self && strings.Contains(string(b), dir) {
				left = append(left, pid+": "+strings.ReplaceAll(string(b), "\x00", " "))
			}
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("processes of the control plane outlived it: %v", left)
}
