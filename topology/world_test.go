package topology

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckWorldName(t *testing.T) {
	for _, ok := range []string{"kong", "a", "0", "east-test", "w1", strings.Repeat("a", MaxWorldName), "a-"} {
		assert.NoError(t, CheckWorldName(ok), ok)
	}
	for _, bad := range []string{"", ".", "..", "../..", "../../..", "/", "/etc", "a/b", "x/../../y", "-a",
		"A", "kong ", " kong", "k\x00ng", "k\nng", "kong.", "kong_1", "wörld", "\xff", strings.Repeat("a", MaxWorldName+1),
		strings.Repeat("a", 200), "~", "$HOME", "*"} {
		err := CheckWorldName(bad)
		require.Error(t, err, "%q", bad)
		assert.ErrorIs(t, err, ErrWorldName)
		assert.Contains(t, err.Error(), "lower-case letters, digits and dashes")
	}
}

// FuzzCheckWorldName: whatever the input, a name that passes is one plain
// path element that cannot climb out of a folder.
func FuzzCheckWorldName(f *testing.F) {
	for _, s := range []string{"kong", "..", "../..", "/", "", "a/b", "wörld", strings.Repeat("z", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckWorldName(name) != nil {
			return
		}
		if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00. ") || len(name) == 0 || len(name) > MaxWorldName {
			t.Fatalf("accepted %q", name)
		}
	})
}
