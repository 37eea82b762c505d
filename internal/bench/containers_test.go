package bench

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTreeRSSSumsAProcessAndEveryProcessUnderIt(t *testing.T) {
	ps := Processes{
		children: map[int][]int{1: {10, 20}, 10: {11}, 20: {}},
		comm:     map[int]string{1: "init", 10: "sh", 11: "java", 20: "containerd-shim"},
		rss:      map[int]int64{1: 1, 10: 100, 11: 1000, 20: 7},
	}
	require.EqualValues(t, 1100, ps.TreeRSS(10))
	require.EqualValues(t, 1000, ps.TreeRSS(11))
	require.EqualValues(t, 0, ps.TreeRSS(0), "no process: nothing")
	shims, n := ps.RSSOf("containerd-shim")
	require.EqualValues(t, 7, shims)
	require.Equal(t, 1, n)
}

// A real process tree: a shell and the sleep it started count together.
func TestTreeRSSOfARealProcessTree(t *testing.T) {
	sh := exec.Command("sh", "-c", "sleep 30 & wait")
	require.NoError(t, sh.Start())
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	var ps Processes
	require.Eventually(t, func() bool {
		ps = ReadProcesses()
		return len(ps.children[sh.Process.Pid]) == 1
	}, 10*time.Second, 50*time.Millisecond, "the shell's child never showed in /proc")
	child := ps.children[sh.Process.Pid][0]
	require.Equal(t, "sleep", ps.comm[child])
	require.Equal(t, ps.rss[sh.Process.Pid]+ps.rss[child], ps.TreeRSS(sh.Process.Pid))
	require.Greater(t, ps.TreeRSS(sh.Process.Pid), ps.TreeRSS(child))
	require.Equal(t, RSSBytes(os.Getpid()) > 0, ps.TreeRSS(os.Getpid()) > 0)
	// The shell and sleep share their libraries' pages: their proportional
	// shares add up to less than their resident sets.
	require.Positive(t, ps.TreePSS(sh.Process.Pid))
	require.Less(t, ps.TreePSS(sh.Process.Pid), ps.TreeRSS(sh.Process.Pid))
}

func TestWriteBackendsGivesTheRatiosAndBudgets(t *testing.T) {
	local := Startup{Took: 40 * time.Second, RSS: map[string]int64{"cassandra": 3000 << 20, "memcached": 100 << 20}}
	cont := Startup{Took: 50 * time.Second, RSS: map[string]int64{"cassandra": 3300 << 20, "memcached": 110 << 20}}
	var out bytes.Buffer
	WriteBackends(&out, local, cont, EngineRSS{Bytes: 310 << 20})
	lines := strings.Split(out.String(), "\n")
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no line %q in:\n%s", prefix, out.String())
		return ""
	}
	require.Regexp(t, `40s\s+50s\s+1\.25x\s+1\.5x`, find("start-up to ready"))
	require.Regexp(t, `3100 MiB\s+3410 MiB\s+1\.10x\s+1\.2x`, find("resident memory, components"))
	require.Regexp(t, `3100 MiB\s+3720 MiB\s+1\.20x\s+1\.2x`, find("resident memory, with the engine"))
}
