package scenarios

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNamedAndWriteList(t *testing.T) {
	all, err := Named("")
	require.NoError(t, err)
	require.Len(t, all, len(All()), "no names: every scenario")
	specs, err := Named("split-brain, chaos-kong")
	require.NoError(t, err)
	require.Equal(t, "split-brain", specs[0].Name)
	require.Equal(t, "chaos-kong", specs[1].Name)
	_, err = Named("split-brain,flood")
	require.ErrorContains(t, err, `unknown scenario "flood"`)

	var b bytes.Buffer
	require.NoError(t, WriteList(&b))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Equal(t, []string{"SCENARIO", "PROFILE", "TIMEOUT", "DESCRIPTION"}, strings.Fields(lines[0]))
	require.Len(t, lines, 1+len(All()))
}
