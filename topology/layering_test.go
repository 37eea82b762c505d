package topology_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deps lists the packages of kong that the packages matching pattern link.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pattern).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var kong []string
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/kongchaos/kong/") {
			kong = append(kong, strings.TrimPrefix(dep, "github.com/kongchaos/kong/"))
		}
	}
	return kong
}

// No arrow runs up or sideways: the application knows nothing of the world
// model or the harness (only the CQL session policy it shares), and the
// backends never borrow from each other (the Kubernetes one runs the images
// the container backend's images package names and builds).
func TestLayering(t *testing.T) {
	for _, dep := range deps(t, "github.com/kongchaos/kong/app/...") {
		assert.True(t, strings.HasPrefix(dep, "app") || dep == "internal/cql", "the application links %s", dep)
	}
	for _, dep := range deps(t, "github.com/kongchaos/kong/topology/containers/...") {
		assert.False(t, strings.HasPrefix(dep, "topology/local"), "the container backend links %s", dep)
	}
	for _, dep := range deps(t, "github.com/kongchaos/kong/topology/local/...") {
		assert.False(t, strings.HasPrefix(dep, "topology/containers"), "the local backend links %s", dep)
	}
	for _, dep := range deps(t, "github.com/kongchaos/kong/topology/kube/...") {
		sideways := strings.HasPrefix(dep, "topology/local") ||
			strings.HasPrefix(dep, "topology/containers") && dep != "topology/containers/images"
		assert.False(t, sideways, "the Kubernetes backend links %s (the images package alone is shared)", dep)
	}
	for _, dep := range deps(t, "github.com/kongchaos/kong/topology/...") {
		assert.False(t, strings.HasPrefix(dep, "harness") || strings.HasPrefix(dep, "scenarios"), "the world model links %s", dep)
	}
}
