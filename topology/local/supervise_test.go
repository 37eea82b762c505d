package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/topologytest"
)

// These tests need no servers: they supervise `sleep` and hold flocks.

func TestProcessLifecycle(t *testing.T) {
	dir := t.TempDir()
	p := &process{comp: topology.Component{ID: "r/sleep/a"}, argv: []string{"sleep", "60"},
		logPath: filepath.Join(dir, "sleep.log"), stateDir: dir}
	require.Equal(t, topology.StateStopped, p.state())
	require.NoError(t, p.start())
	pid := p.pid()
	require.NotZero(t, pid)
	require.Equal(t, topology.StateRunning, p.state())
	// The new process's environment is readable once exec has completed.
	require.Eventually(t, func() bool { return belongsTo(pid, dir) }, 5*time.Second, 10*time.Millisecond,
		"the process is not marked with its world")
	require.Equal(t, []int{pid}, WorldProcesses(dir))
	// It runs WorldNice below the harness: below this goroutine's thread
	// (the process's main thread may be the spawner's, which is lowered).
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0) // 20 minus this thread's niceness
	require.NoError(t, err)
	require.Equal(t, min(20-prio+WorldNice, 19), niceOf(t, pid))

	require.NoError(t, p.signal(syscall.SIGSTOP))
	require.Equal(t, topology.StatePaused, p.state())
	require.Eventually(t, func() bool { return processState(pid, dir) == topology.StatePaused }, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, p.signal(syscall.SIGCONT))
	require.Equal(t, topology.StateRunning, p.state())

	// A paused process still stops: stop thaws it first.
	require.NoError(t, p.signal(syscall.SIGSTOP))
	p.stop(5 * time.Second)
	require.Equal(t, topology.StateStopped, p.state())
	require.Zero(t, p.pid())
	require.Empty(t, WorldProcesses(dir))
	require.ErrorIs(t, p.kill(), errNotRunning)

	// Restart, then kill.
	require.NoError(t, p.start())
	require.NotEqual(t, pid, p.pid())
	require.NoError(t, p.kill())
	require.Equal(t, topology.StateStopped, p.state())
	log, err := os.ReadFile(p.logPath)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(log), "--- kong: starting r/sleep/a"))
	require.Contains(t, string(log), "signal: killed")
}

func TestProcessStartFailureNamesTheProgram(t *testing.T) {
	dir := t.TempDir()
	p := &process{comp: topology.Component{ID: "r/x/a"}, argv: []string{"/nonexistent/memcached"},
		logPath: filepath.Join(dir, "x.log"), stateDir: dir}
	err := p.start()
	require.ErrorContains(t, err, "start r/x/a (/nonexistent/memcached)")
}

func TestChildrenDieWithTheirOwner(t *testing.T) {
	if os.Getenv("KONG_TEST_OWNER") != "" {
		// The owner: start a child under supervision, then wait to be killed.
		dir := os.Getenv("KONG_TEST_OWNER")
		p := &process{comp: topology.Component{ID: "child"}, argv: []string{"sleep", "300"},
			logPath: filepath.Join(dir, "child.log"), stateDir: dir}
		if err := p.start(); err != nil {
			os.Exit(3)
		}
		_ = os.WriteFile(filepath.Join(dir, "child.pid"), []byte(strconv.Itoa(p.pid())), 0o644)
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	owner := exec.Command(os.Args[0], "-test.run=^TestChildrenDieWithTheirOwner$")
	owner.Env = append(os.Environ(), "KONG_TEST_OWNER="+dir)
	require.NoError(t, owner.Start())
	var child int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "child.pid"))
		child, _ = strconv.Atoi(string(data))
		return err == nil && child > 0
	}, 30*time.Second, 50*time.Millisecond)
	require.True(t, belongsTo(child, dir))
	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait()
	require.Eventually(t, func() bool { return !belongsTo(child, dir) }, 10*time.Second, 50*time.Millisecond,
		"the child %d outlived its SIGKILLed owner", child)
}

func TestSlotsAreSharedAndReclaimed(t *testing.T) {
	t.Setenv("KONG_SLOTS", t.TempDir())
	home := t.TempDir()
	holdOwner := func(name string) (dir string, release func()) {
		dir = StateDir(home, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		f, err := os.OpenFile(filepath.Join(dir, ownerLock), os.O_CREATE|os.O_RDWR, 0o644)
		require.NoError(t, err)
		require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
		return dir, func() { f.Close() }
	}
	// Two live worlds whose names pick the same slot get different slots.
	a, b := sameSlotNames(t)
	dirA, releaseA := holdOwner(a)
	slotA, err := claimSlot(dirA, a)
	require.NoError(t, err)
	require.Equal(t, topology.SlotFor(a), slotA)
	dirB, releaseB := holdOwner(b)
	defer releaseB()
	slotB, err := claimSlot(dirB, b)
	require.NoError(t, err)
	require.Equal(t, (slotA+1)%topology.Slots, slotB)
	// Claiming again is idempotent.
	again, err := claimSlot(dirA, a)
	require.NoError(t, err)
	require.Equal(t, slotA, again)
	// When A's owner dies without cleaning up, its slot is free for another world.
	releaseA()
	c := ""
	for i := 0; topology.SlotFor(c) != slotA; i++ {
		c = a + "-" + strconv.Itoa(i)
	}
	dirC, releaseC := holdOwner(c)
	defer releaseC()
	slotC, err := claimSlot(dirC, c)
	require.NoError(t, err)
	require.Equal(t, slotA, slotC)
	// Releasing frees only that world's slot.
	releaseSlot(dirC)
	_, err = os.Stat(filepath.Join(SlotsDir(), strconv.Itoa(slotC)))
	require.True(t, os.IsNotExist(err))
	_, err = os.Stat(filepath.Join(SlotsDir(), strconv.Itoa(slotB)))
	require.NoError(t, err)
}

func TestSecondOwnerOfAWorldIsRefused(t *testing.T) {
	t.Setenv("KONG_SLOTS", t.TempDir())
	spec := topologytest.Profile(t, "small")
	home := t.TempDir()
	first := &World{name: "twice", spec: spec, home: home, dir: StateDir(home, "twice"), procs: map[string]*process{}}
	require.NoError(t, first.claim())
	defer first.Down()
	second := &World{name: "twice", spec: spec, home: home, dir: StateDir(home, "twice"), procs: map[string]*process{}}
	err := second.claim()
	require.ErrorContains(t, err, "world twice is already up")
	require.ErrorContains(t, err, "kong down --world twice")
}

// sameSlotNames finds two world names whose preferred slots collide.
func sameSlotNames(t *testing.T) (string, string) {
	seen := map[int]string{}
	for i := 0; i < 10000; i++ {
		name := "w" + strconv.Itoa(i)
		s := topology.SlotFor(name)
		if other, ok := seen[s]; ok {
			return other, name
		}
		seen[s] = name
	}
	t.Fatal("no two names share a slot")
	return "", ""
}

// niceOf reads a process's niceness from /proc.
func niceOf(t *testing.T, pid int) int {
	t.Helper()
	p, err := procfs.NewProc(pid)
	require.NoError(t, err)
	st, err := p.Stat()
	require.NoError(t, err)
	return int(st.Nice)
}
