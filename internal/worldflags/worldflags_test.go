package worldflags

import (
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// A topology file given wins over the profile, whatever the profile says.
func TestLoadPrefersTheTopologyFile(t *testing.T) {
	spec, err := (&Spec{Profile: "small"}).Load()
	require.NoError(t, err)
	require.NotNil(t, spec)
	_, err = (&Spec{Profile: "small", File: filepath.Join(t.TempDir(), "absent.yaml")}).Load()
	require.Error(t, err)
	_, err = (&Spec{Profile: "nope"}).Load()
	require.Error(t, err)
}

// --home given is the home; not given, $KONG_HOME is.
func TestHomeFallsBackToKongHome(t *testing.T) {
	t.Setenv("KONG_HOME", "/from/env")
	cmd := &cobra.Command{}
	cmd.Flags().String("home", "", "")
	cmd.Flags().String("world", "kong", "")
	require.Equal(t, "/from/env", Home(cmd))
	require.NoError(t, cmd.Flags().Set("home", "/given"))
	require.Equal(t, "/given", Home(cmd))
	require.Equal(t, "kong", World(cmd))
}
