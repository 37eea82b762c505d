package backends

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpen(t *testing.T) {
	for _, name := range append(Names(), "") {
		b, err := Open(name, Options{Home: t.TempDir()})
		require.NoError(t, err, name)
		if name == "" {
			name = Local
		}
		require.Equal(t, name, b.Name())
	}
	_, err := Open("nomad", Options{Home: t.TempDir()})
	require.EqualError(t, err, `unknown backend "nomad": the backends are local, containers and kubernetes`)
}

func TestLocalOnly(t *testing.T) {
	local, err := Open(Local, Options{Home: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, LocalOnly(local, "kong bench world"))
	containers, err := Open(Containers, Options{Home: t.TempDir()})
	require.NoError(t, err)
	require.EqualError(t, LocalOnly(containers, "kong bench world"),
		"kong bench world measures the world's processes on this machine (their CPU from /proc): it runs on the local backend only, not on containers")
}
