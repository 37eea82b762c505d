package local

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// holdRunLockEnv makes TestRunLockHolderProcess take the run lock at its
// path and hold it until killed: a second process, as a second kong run is.
const holdRunLockEnv = "KONG_TEST_HOLD_RUN_LOCK"

func TestRunLockHolderProcess(t *testing.T) {
	path := os.Getenv(holdRunLockEnv)
	if path == "" {
		t.Skip("the helper process of TestRunLockIsOnePerWorldAndAKilledHoldersIsStale")
	}
	l, err := LockRun(path, RunHolder{PID: os.Getpid(), Command: "kong run split-brain --world w", Started: time.Now()})
	if err != nil {
		fmt.Println("refused:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	_ = l.Release()
}

// startHolder starts a process that takes the run lock at path, and waits
// until it holds it.
func startHolder(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunLockHolderProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), holdRunLockEnv+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked", strings.TrimSpace(line))
	return cmd
}

func TestRunLockIsOnePerWorldAndAKilledHoldersIsStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), RunLockFile)
	first := startHolder(t, path)
	pid := first.Process.Pid

	// A second run, in another process, is refused, naming the first.
	_, err := LockRun(path, RunHolder{PID: os.Getpid(), Command: "kong gameday --world w", Started: time.Now()})
	require.ErrorIs(t, err, ErrWorldBusy)
	require.Contains(t, err.Error(), "`kong run split-brain --world w` (pid "+strconv.Itoa(pid)+", started ")

	// The first run is killed: its lock is free, and recognised as stale.
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()
	l, err := LockRun(path, RunHolder{PID: os.Getpid(), Command: "kong gameday --world w", Started: time.Now()})
	require.NoError(t, err, "the lock of a killed run still refuses")
	require.NotNil(t, l.Stale, "the killed run's lock was not recognised as stale")
	require.Equal(t, pid, l.Stale.PID)
	require.Equal(t, "kong run split-brain --world w", l.Stale.Command)

	// While this process holds it, another process is refused, naming it.
	second := exec.Command(os.Args[0], "-test.run=^TestRunLockHolderProcess$", "-test.count=1")
	second.Env = append(os.Environ(), holdRunLockEnv+"="+path)
	out, err := second.CombinedOutput()
	require.Error(t, err, "a second process took a held lock: %s", out)
	require.Contains(t, string(out), "a run is in progress on the world: `kong gameday --world w` (pid "+strconv.Itoa(os.Getpid()))

	// A run that ends cleanly leaves no stale holder behind.
	require.NoError(t, l.Release())
	l, err = LockRun(path, RunHolder{PID: os.Getpid(), Command: "kong run chaos-kong --world w", Started: time.Now()})
	require.NoError(t, err)
	require.Nil(t, l.Stale, "a released lock was taken for a stale one")
	require.NoError(t, l.Release())
}
