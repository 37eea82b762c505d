package worldtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local"
)

func TestBackend(t *testing.T) {
	t.Setenv("KONG_BACKEND", "")
	require.Equal(t, BackendLocal, Backend())
	t.Setenv("KONG_BACKEND", "containers")
	require.Equal(t, BackendContainers, Backend())
	t.Setenv("KONG_BACKEND", "local")
	require.Equal(t, BackendLocal, Backend())
}

// Without a Docker engine, the shared world's tests skip with the reason;
// tests that need the local backend's world skip on another backend.
func TestSharedSkipsWithTheReason(t *testing.T) {
	s := &Shared{EvenShort: true, skip: "no Docker engine answers at unix:///var/run/docker.sock: none here"}
	var got *testing.T
	t.Run("get", func(t *testing.T) {
		got = t
		s.Get(t)
		t.Error("Get did not skip")
	})
	require.True(t, got.Skipped())

	s = &Shared{EvenShort: true, Cluster: (*containers.World)(nil)}
	t.Run("local", func(t *testing.T) {
		got = t
		s.Local(t)
		t.Error("Local did not skip")
	})
	require.True(t, got.Skipped())

	w := &local.World{}
	s = &Shared{EvenShort: true, Cluster: w, World: w}
	t.Run("local world", func(t *testing.T) {
		require.Same(t, w, s.Local(t))
	})
}
