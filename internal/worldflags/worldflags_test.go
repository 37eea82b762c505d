package worldflags

import (
	"net/netip"
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

// --publish-address takes an IP address, a v4-mapped one as its v4 form;
// anything else is refused, naming the flag.
func TestPublishAddr(t *testing.T) {
	for given, want := range map[string]string{
		"":                 "127.0.0.1",
		"127.0.0.1":        "127.0.0.1",
		"0.0.0.0":          "0.0.0.0",
		"::":               "::",
		"192.0.2.10":       "192.0.2.10",
		"::ffff:127.0.0.1": "127.0.0.1",
	} {
		a, err := (&Publish{addr: given}).Addr()
		require.NoError(t, err, given)
		require.Equal(t, netip.MustParseAddr(want), a, given)
	}
	for _, bad := range []string{"localhost", "127.0.0.1:80", "fe80::1%eth0"} {
		_, err := (&Publish{addr: bad}).Addr()
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "--publish-address", bad)
	}
}
