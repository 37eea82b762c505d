package registry

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOf(t *testing.T) {
	var r Of[int]
	require.Empty(t, r.All())
	_, ok := r.Get("one")
	require.False(t, ok)
	require.True(t, r.Add("two", 2))
	require.True(t, r.Add("one", 1))
	require.False(t, r.Add("two", 22), "a name is added once")
	require.Equal(t, []string{"one", "two"}, r.Names())
	require.Equal(t, []int{1, 2}, r.All(), "by name")
	v, ok := r.Get("two")
	require.True(t, ok)
	require.Equal(t, 2, v, "the first entry of a name stays")
}
