package scenarios

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
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

// A game day without names runs what the profile's world has the regions
// for: the global scenarios only on the global profile, every other one on
// both.
func TestFittingByProfile(t *testing.T) {
	names := func(profile string) []string {
		spec, err := topology.Profile(profile)
		require.NoError(t, err)
		return Names(Fitting(All(), spec))
	}
	def, global := names("default"), names("global")
	require.NotContains(t, def, "global-kong")
	require.NotContains(t, def, "global-split-brain")
	require.Contains(t, def, "chaos-kong")
	require.Contains(t, global, "global-kong")
	require.Contains(t, global, "global-split-brain")
	require.Len(t, global, len(All()), "three regions fit every scenario")
	require.Contains(t, global, "global-misrouted")
	require.Len(t, def, len(All())-len(ofProfile(All(), "global")))
}

// A world without the regions a scenario needs is refused, saying which
// profile brings one up.
func TestFitsNamesTheProfile(t *testing.T) {
	spec, err := topology.Profile("default")
	require.NoError(t, err)
	s, err := Get("global-kong")
	require.NoError(t, err)
	err = s.Fits(twoRegionWorld{spec: spec})
	require.ErrorContains(t, err, "global-kong needs 3 regions; world two has [us-east-1 us-west-2] (bring one up with kong up --profile global)")
	c, err := Get("chaos-kong")
	require.NoError(t, err)
	require.NoError(t, c.Fits(twoRegionWorld{spec: spec}))
}

// twoRegionWorld is a topology.Cluster that has only a name and a spec.
type twoRegionWorld struct {
	topology.Cluster
	spec *topology.Spec
}

func (twoRegionWorld) Name() string           { return "two" }
func (w twoRegionWorld) Spec() *topology.Spec { return w.spec }
