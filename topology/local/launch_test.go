package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/topologytest"
)

// owner writes a stand-in for `kong serve world`: a shell script.
func owner(t *testing.T, script string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "kong")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"+script+"\n"), 0o755))
	return exe
}

// An owner that gives up is named with the reason it logged; one that is
// still starting when the start is interrupted is stopped, and the start
// says so.
func TestLaunchReportsAnOwnerThatGaveUpAndStopsOneInterrupted(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	require.NoError(t, PrepareHome(home))
	spec := topologytest.Profile(t, "small")
	var out bytes.Buffer
	var done int
	o := LaunchOptions{Home: home, World: "w", Spec: spec, Timeout: time.Minute, Out: &out,
		Progress: func(p topology.UpProgress) {
			if p.Done {
				done++
			}
		}}

	o.Exe = owner(t, `echo "FAILED: no memcached"; exit 1`)
	_, err := Launch(context.Background(), o)
	require.ErrorContains(t, err, "world w did not come up: no memcached (exit: exit status 1); log: "+OwnerLog(home, "w"))
	require.Contains(t, out.String(), "bringing up world w (profile small, ")
	require.Equal(t, 1, done)

	o.Exe = owner(t, `exec sleep 30`)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Launch(ctx, o)
	require.EqualError(t, err, "world w did not come up: interrupted")
	require.Contains(t, out.String(), "interrupted: stopping everything world w started")
	require.Less(t, time.Since(start), 20*time.Second, "SIGTERM stopped the owner")
	require.Equal(t, 2, done)
}

func TestOwnerArgsReadTheSpecAgain(t *testing.T) {
	spec := topologytest.Profile(t, "small")
	require.Equal(t, []string{"--profile", "small"}, OwnerArgs(spec))

	file := filepath.Join(t.TempDir(), "w.yaml")
	require.NoError(t, os.WriteFile(file, []byte("cassandra:\n  replication_factor: 1\nregions:\n  - name: r1\n    zones: [a]\n"), 0o644))
	spec, err := topology.Load(file)
	require.NoError(t, err)
	require.Equal(t, []string{"--topology", file}, OwnerArgs(spec))
}
