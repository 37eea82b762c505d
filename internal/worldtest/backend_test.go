package worldtest

import (
	"errors"
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
	t.Setenv("KONG_BACKEND", "kubernetes")
	require.Equal(t, BackendKubernetes, Backend())
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

	s = &Shared{EvenShort: true, cluster: &containers.World{}}
	t.Run("local", func(t *testing.T) {
		got = t
		s.Local(t)
		t.Error("Local did not skip")
	})
	require.True(t, got.Skipped())

	w := &local.World{}
	s = &Shared{EvenShort: true, cluster: w, world: w}
	t.Run("local world", func(t *testing.T) {
		require.Same(t, w, s.Local(t))
	})
}

// The local world comes up when a test first asks for it, once; a world that
// did not come up fails every test that asks, with the reason.
func TestSharedComesUpOnFirstUse(t *testing.T) {
	w := &local.World{}
	ups := 0
	s := &Shared{EvenShort: true, up: func() (*local.World, error) { ups++; return w, nil }}
	require.Equal(t, 0, ups, "nothing asked yet")
	require.Same(t, w, s.Local(t))
	require.Same(t, w, s.Local(t))
	require.Equal(t, 1, ups)

	ups = 0
	s = &Shared{EvenShort: true, up: func() (*local.World, error) { ups++; return nil, errors.New("port 9042 in use") }}
	for range 2 {
		_, err := s.get()
		require.ErrorContains(t, err, "port 9042 in use")
	}
	require.Equal(t, 1, ups, "a world that failed is not brought up again for every test")

	// The container backend's world is RunShared's: Release leaves it.
	c := &containers.World{}
	s = &Shared{EvenShort: true, cluster: c}
	s.Release(t)
	require.Same(t, c, s.Get(t))
}
