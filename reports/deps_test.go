package reports

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReportsNeverTalkToTheWorld: reports read a run's files; they link no
// Cassandra driver, toxiproxy or memcached client, and no part of kong
// but the history and the checkers.
func TestReportsNeverTalkToTheWorld(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"cassandra-gocql-driver", "gocql", "toxiproxy", "gomemcache", "aws-sdk-go"} {
			require.NotContains(t, dep, banned, "reports links %s", dep)
		}
		if strings.HasPrefix(dep, "github.com/kongchaos/kong/") {
			require.Contains(t, []string{"github.com/kongchaos/kong/reports", "github.com/kongchaos/kong/harness/history", "github.com/kongchaos/kong/harness/check"}, dep)
		}
	}
}
