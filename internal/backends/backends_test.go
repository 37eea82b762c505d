package backends

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpen(t *testing.T) {
	for _, name := range append(Names(), "") {
		b, err := Open(name, t.TempDir())
		require.NoError(t, err, name)
		if name == "" {
			name = Local
		}
		require.Equal(t, name, b.Name())
	}
	_, err := Open("kubernetes", t.TempDir())
	require.EqualError(t, err, `unknown backend "kubernetes": the backends are local and containers`)
}
