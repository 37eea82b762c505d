// Package topologytest loads the embedded topology profiles, and lays out
// their plans, for tests: a profile that does not load fails the test.
package topologytest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
)

// Profile is the embedded topology profile name.
func Profile(t testing.TB, name string) *topology.Spec {
	t.Helper()
	spec, err := topology.Profile(name)
	require.NoError(t, err)
	return spec
}

// Plan is the plan of the embedded profile name in world slot slot.
func Plan(t testing.TB, name string, slot int) *topology.Plan {
	t.Helper()
	p, err := topology.NewPlan(Profile(t, name), slot)
	require.NoError(t, err)
	return p
}
