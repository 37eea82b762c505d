package containersetup

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStopEngineWithoutOneKongStartedStopsNothing(t *testing.T) {
	t.Setenv("KONG_CACHE", t.TempDir())
	var out bytes.Buffer
	require.NoError(t, StopEngine(context.Background(), &out))
	require.Contains(t, out.String(), "kong started no Docker engine")
}

// A pid file whose process is not dockerd (ended, or its pid reused by
// another program) stops nothing: the process named lives on.
func TestStopEngineLeavesAProcessThatIsNotDockerd(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("KONG_CACHE", cache)
	sleep := exec.Command("sleep", "60")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	pidPath := filepath.Join(cache, enginePidFile)
	require.NoError(t, os.WriteFile(pidPath, []byte(strconv.Itoa(sleep.Process.Pid)+"\n"), 0o644))

	var out bytes.Buffer
	require.NoError(t, StopEngine(context.Background(), &out))
	require.Contains(t, out.String(), "has ended already")
	require.NoError(t, sleep.Process.Signal(syscall.Signal(0)), "the process that is not dockerd was stopped")
	require.NoFileExists(t, pidPath)
}

func TestStopEngineRefusesAPidFileWithoutAPid(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("KONG_CACHE", cache)
	pidPath := filepath.Join(cache, enginePidFile)
	require.NoError(t, os.WriteFile(pidPath, []byte("1\n"), 0o644))
	require.ErrorContains(t, StopEngine(context.Background(), &bytes.Buffer{}), "holds no pid")
	require.NoFileExists(t, pidPath)
}
