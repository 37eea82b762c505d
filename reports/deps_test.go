package reports

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// kongDeps lists the packages of kong that pkg links, and fails on any
// client of the world's servers.
func kongDeps(t *testing.T, pkg string) []string {
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var kong []string
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"cassandra-gocql-driver", "gocql", "toxiproxy", "gomemcache", "aws-sdk-go"} {
			require.NotContains(t, dep, banned, "%s links %s", pkg, dep)
		}
		if strings.HasPrefix(dep, "github.com/kongchaos/kong/") {
			kong = append(kong, dep)
		}
	}
	return kong
}

// TestReportsNeverTalkToTheWorld: reports read a run's files; they link no
// Cassandra driver, toxiproxy or memcached client, and no part of kong
// but the history, the checkers (with the table of their registry) and
// their own packages; the charts draw and know nothing of kong.
func TestReportsNeverTalkToTheWorld(t *testing.T) {
	for _, pkg := range []string{".", "./index", "./prune", "./diff"} {
		for _, dep := range kongDeps(t, pkg) {
			require.Contains(t, []string{"github.com/kongchaos/kong/reports", "github.com/kongchaos/kong/reports/chart",
				"github.com/kongchaos/kong/reports/index", "github.com/kongchaos/kong/reports/prune", "github.com/kongchaos/kong/reports/diff", "github.com/kongchaos/kong/harness/history",
				"github.com/kongchaos/kong/harness/check", "github.com/kongchaos/kong/internal/registry"}, dep, "%s links it", pkg)
		}
	}
	require.Equal(t, []string{"github.com/kongchaos/kong/reports/chart"}, kongDeps(t, "./chart"))
}
