package bench

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The figures come from this machine's /proc, for this very process.
func TestProcFigures(t *testing.T) {
	pid := os.Getpid()
	g := Groups{"this test": {pid}}
	before := g.Sample()
	// Spin until /proc/<pid>/stat shows a tenth of a second (the machine
	// may be busy with others).
	for end := time.Now().Add(20 * time.Second); ProcessCPUSeconds(pid)-before.ByGroup["this test"] < 0.1 && time.Now().Before(end); {
	}
	use := before.Until(g.Sample())
	require.GreaterOrEqual(t, use.ByGroup["this test"], 0.1, "spinning shows in /proc/<pid>/stat")
	require.Greater(t, use.Client, 0.05, "and in getrusage")
	require.Greater(t, use.Machine, 0.05, "and in /proc/stat")
	require.Greater(t, use.Wall, time.Duration(0))

	require.Greater(t, RSSBytes(pid), int64(1<<20))
	require.Zero(t, RSSBytes(0))
	require.Zero(t, ProcessCPUSeconds(1<<30), "no such process")
	require.Regexp(t, `^[0-9]+\.[0-9] GiB RAM$`, MemTotal())
	require.Regexp(t, `^[0-9]+\.[0-9]{2} [0-9]+\.[0-9]{2} [0-9]+\.[0-9]{2}$`, LoadAverage())
	require.NotEmpty(t, OSName())
	require.Equal(t, []string{"this test"}, g.Names())
	require.Equal(t, "3.0s (1.50)", Cores(3, 2*time.Second))
	require.Equal(t, "3.0s", Cores(3, 0))
}

func TestPoolCallsEveryIndexOnceAndKeepsTheFirstError(t *testing.T) {
	seen := make([]int, 100)
	res, err := Pool(100, 8, func(i int) error {
		seen[i]++
		if i == 50 {
			return errors.New("fifty")
		}
		return nil
	})
	require.EqualError(t, err, "fifty")
	for i, n := range seen {
		require.Equal(t, 1, n, i)
	}
	require.Greater(t, res.Rate, 0.0)
	require.LessOrEqual(t, res.P50, res.P99)
}

func TestPercentile(t *testing.T) {
	lat := []time.Duration{5, 1, 4, 2, 3}
	require.Equal(t, time.Duration(3), Percentile(lat, 0.5))
	require.Equal(t, time.Duration(5), Percentile(lat, 1))
	require.Equal(t, time.Duration(5), lat[0], "left unsorted")
}
