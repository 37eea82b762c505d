package local

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology/local/assets"
	"github.com/kongchaos/kong/topology/topologytest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// The files and command line a Cassandra node of the default world starts
// with are exactly those of testdata/cassandra-default.golden: every node's
// cassandra.yaml and cassandra-rackdc.properties byte for byte, and its JVM
// arguments as a set (their order means nothing to the JVM; they are
// sorted, one a line).
func TestCassandraConfigOfTheDefaultWorld(t *testing.T) {
	p := topologytest.Plan(t, "default", 7)
	a := &assets.Paths{Java: "/assets/java", CassandraLib: "/assets/cassandra-lib", JammAgent: "/assets/jamm.jar"}
	root := t.TempDir()
	var b strings.Builder
	for _, n := range p.Cassandra {
		dir := filepath.Join(root, fileName(n.ID))
		argv, err := cassandraCommand(a, p, n, "golden", dir, "")
		require.NoError(t, err)
		for _, name := range []string{"cassandra.yaml", "cassandra-rackdc.properties"} {
			data, err := os.ReadFile(filepath.Join(dir, "conf", name))
			require.NoError(t, err)
			b.WriteString("== " + n.ID + " " + name + "\n" + string(data))
		}
		slices.Sort(argv)
		b.WriteString("== " + n.ID + " argv, sorted\n" + strings.Join(argv, "\n") + "\n")
	}
	got := strings.ReplaceAll(b.String(), root, "$ROOT")
	golden := filepath.Join("testdata", "cassandra-default.golden")
	if *updateGolden {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}
