package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/worldflags"
)

// The commands that bring a world up publish the containers' ports on
// 127.0.0.1 unless --publish-address says otherwise.
func TestPublishAddressFlag(t *testing.T) {
	for _, cmd := range []string{"up", "gameday"} {
		c, _, err := newRoot().Find([]string{cmd})
		require.NoError(t, err)
		f := c.Flags().Lookup(worldflags.PublishFlag)
		require.NotNil(t, f, "kong %s has no --%s", cmd, worldflags.PublishFlag)
		require.Equal(t, "127.0.0.1", f.DefValue, cmd)
	}

}

// A bad address fails before anything starts (no engine is needed to
// tell), and the local backend, whose servers listen on loopback
// addresses, refuses the flag.
func TestPublishAddressFlagErrors(t *testing.T) {
	// The home is a file: an up that got past the check would fail to
	// create its state folder rather than start anything.
	home := filepath.Join(t.TempDir(), "home")
	require.NoError(t, os.WriteFile(home, nil, 0o644))
	run := func(args ...string) error {
		root := newRoot()
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append([]string{"--home", home}, args...))
		return root.Execute()
	}
	err := run("up", "--backend", "containers", "--profile", "small", "--publish-address", "everywhere")
	require.ErrorContains(t, err, `--publish-address "everywhere": not an IP address`)

	err = run("up", "--backend", "local", "--profile", "small", "--publish-address", "0.0.0.0")
	require.ErrorContains(t, err, "--publish-address is for the container backend")
}
