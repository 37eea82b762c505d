package local

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
)

// sandbox is a kong home with a sentinel file beside it and a sentinel
// process, to show that a refused command touched nothing outside a world.
type sandbox struct {
	parent, home, sentinel string
	proc                   *exec.Cmd
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	t.Setenv("KONG_SLOTS", t.TempDir())
	parent := t.TempDir()
	s := &sandbox{parent: parent, home: filepath.Join(parent, "home"), sentinel: filepath.Join(parent, "precious.txt")}
	require.NoError(t, os.WriteFile(s.sentinel, []byte("keep me"), 0o644))
	require.NoError(t, PrepareHome(s.home))
	// Another world's state, which a bad name must not reach either.
	other := StateDir(s.home, "other")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, markWorld(other, "other"))
	require.NoError(t, os.WriteFile(filepath.Join(other, stateFile), []byte("{}"), 0o600))
	s.proc = exec.Command("sleep", "300")
	require.NoError(t, s.proc.Start())
	t.Cleanup(func() { _ = s.proc.Process.Kill(); _ = s.proc.Wait() })
	return s
}

func (s *sandbox) untouched(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(s.sentinel)
	require.NoError(t, err, "the sentinel beside the home is gone")
	require.Equal(t, "keep me", string(data))
	_, err = os.Stat(filepath.Join(StateDir(s.home, "other"), stateFile))
	require.NoError(t, err, "another world's state is gone")
	require.NoError(t, syscall.Kill(s.proc.Process.Pid, 0), "the sentinel process was killed")
}

func TestDownRefusesNamesThatLeaveTheHome(t *testing.T) {
	s := newSandbox(t)
	for _, name := range []string{"..", "../..", "../../..", "/", "", ".", "x/../../y", "../home/worlds/other/..",
		strings.Repeat("a", 200), "wörld", "KONG", "-rf", "a b", "a\x00b"} {
		err := DownWorld(s.home, name, time.Second)
		require.Error(t, err, "%q", name)
		assert.ErrorIs(t, err, topology.ErrWorldName, "%q", name)
		s.untouched(t)
		_, err = ReadState(s.home, name)
		assert.ErrorIs(t, err, topology.ErrWorldName, "%q", name)
		_, err = Attach(s.home, name)
		assert.ErrorIs(t, err, topology.ErrWorldName, "%q", name)
	}
	// A world that is not there is "not up", and nothing goes.
	require.ErrorIs(t, DownWorld(s.home, "absent", time.Second), ErrNotUp)
	s.untouched(t)
}

func TestDownRemovesOnlyMarkedStateFolders(t *testing.T) {
	s := newSandbox(t)
	// A folder under worlds/ that kong did not make stays.
	foreign := StateDir(s.home, "foreign")
	require.NoError(t, os.MkdirAll(foreign, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "data"), []byte("x"), 0o644))
	err := DownWorld(s.home, "foreign", time.Second)
	require.ErrorIs(t, err, ErrNotWorldFolder)
	require.FileExists(t, filepath.Join(foreign, "data"))
	// A symlink under worlds/ is not followed.
	target := filepath.Join(s.parent, "elsewhere")
	require.NoError(t, os.MkdirAll(target, 0o755))
	require.NoError(t, markWorld(target, "linked"))
	require.NoError(t, os.Symlink(target, StateDir(s.home, "linked")))
	err = DownWorld(s.home, "linked", time.Second)
	require.ErrorIs(t, err, ErrNotWorldFolder)
	require.FileExists(t, filepath.Join(target, worldMarker))
	// A marker naming another world does not count.
	wrong := StateDir(s.home, "wrong")
	require.NoError(t, os.MkdirAll(wrong, 0o755))
	require.NoError(t, markWorld(wrong, "other"))
	require.ErrorIs(t, DownWorld(s.home, "wrong", time.Second), ErrNotWorldFolder)
	require.DirExists(t, wrong)
	// kong's own state folder goes.
	require.NoError(t, DownWorld(s.home, "other", time.Second))
	require.NoDirExists(t, StateDir(s.home, "other"))
	require.FileExists(t, s.sentinel)
	require.DirExists(t, s.home)
}

func TestHomeMustBeKongs(t *testing.T) {
	t.Setenv("KONG_SLOTS", t.TempDir())
	parent := t.TempDir()
	// A folder with other things in it is not a kong home: no world is
	// made there, and nothing is removed from it.
	notHome := filepath.Join(parent, "project")
	require.NoError(t, os.MkdirAll(filepath.Join(notHome, "worlds", "kong"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(notHome, "go.mod"), []byte("module x"), 0o644))
	require.ErrorIs(t, PrepareHome(notHome), ErrNotKongHome)
	require.ErrorIs(t, DownWorld(notHome, "kong", time.Second), ErrNotKongHome)
	require.DirExists(t, filepath.Join(notHome, "worlds", "kong"))
	require.NoFileExists(t, filepath.Join(notHome, homeMarker))
	// A symlinked home is refused by its link: point --home at the folder.
	real := filepath.Join(parent, "real")
	require.NoError(t, PrepareHome(real))
	link := filepath.Join(parent, "link")
	require.NoError(t, os.Symlink(real, link))
	require.ErrorIs(t, CheckHome(link), ErrNotKongHome)
	require.ErrorIs(t, PrepareHome(link), ErrNotKongHome)
	require.ErrorIs(t, PrepareHome(""), ErrNotKongHome)
	// New, empty, and older homes holding only worlds/ are adopted.
	require.NoError(t, CheckHome(real))
	empty := filepath.Join(parent, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	require.NoError(t, PrepareHome(empty))
	older := filepath.Join(parent, "older")
	require.NoError(t, os.MkdirAll(filepath.Join(older, "worlds"), 0o755))
	require.NoError(t, PrepareHome(older))
	require.NoError(t, CheckHome(older))
	info, err := os.Stat(filepath.Join(parent, "real"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "a new home is private to its user")
}

func TestSlotRegistryIsStickyAndFollowsNoLinks(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Chmod(root, 0o755))
	slots := filepath.Join(root, "kong-slots")
	t.Setenv("KONG_SLOTS", slots)
	home := t.TempDir()
	dir := StateDir(home, "kong")
	require.NoError(t, os.MkdirAll(dir, 0o755))

	// The registry kong creates is sticky, as /tmp is.
	unlock, err := lockSlots()
	require.NoError(t, err)
	unlock()
	info, err := os.Lstat(slots)
	require.NoError(t, err)
	require.NotZero(t, info.Mode()&os.ModeSticky, "mode %s", info.Mode())
	require.Equal(t, os.FileMode(0o777), info.Mode().Perm())

	// A symlink planted at the world's slot is not written through, and
	// the world takes the next slot.
	victim := filepath.Join(root, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o644))
	first := topology.SlotFor("kong")
	require.NoError(t, os.Symlink(victim, filepath.Join(slots, strconv.Itoa(first))))
	// A FIFO at the next slot neither blocks nor is taken.
	require.NoError(t, syscall.Mkfifo(filepath.Join(slots, strconv.Itoa((first+1)%topology.Slots)), 0o644))
	done := make(chan struct{})
	var slot int
	go func() { slot, err = claimSlot(dir, "kong"); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("claimSlot hung on a FIFO")
	}
	require.NoError(t, err)
	require.Equal(t, (first+2)%topology.Slots, slot)
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "precious\n", string(data))
	releaseSlot(dir)
	_, err = os.Lstat(filepath.Join(slots, strconv.Itoa(first)))
	require.NoError(t, err, "release removed a link it did not make")

	// An owner lock that is a FIFO does not block the look at a holder.
	fifoWorld := filepath.Join(root, "fifo-world")
	require.NoError(t, os.MkdirAll(fifoWorld, 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(fifoWorld, ownerLock), 0o644))
	alive := make(chan bool, 1)
	go func() { alive <- ownerAlive(fifoWorld) }()
	select {
	case <-alive:
	case <-time.After(5 * time.Second):
		t.Fatal("ownerAlive hung on a FIFO")
	}
}

func TestSlotRegistryLockThatIsNotAFileIsRefused(t *testing.T) {
	slots := t.TempDir()
	t.Setenv("KONG_SLOTS", slots)
	require.NoError(t, syscall.Mkfifo(filepath.Join(slots, ".lock"), 0o644))
	_, err := lockSlots()
	require.ErrorContains(t, err, "not a regular file")
	// A registry that is a symlink is refused too.
	link := filepath.Join(t.TempDir(), "slots")
	require.NoError(t, os.Symlink(slots, link))
	t.Setenv("KONG_SLOTS", link)
	_, err = lockSlots()
	require.ErrorContains(t, err, "is not a folder")
}

func TestSlotRegistryLockWaitIsBounded(t *testing.T) {
	t.Setenv("KONG_SLOTS", t.TempDir())
	unlock, err := lockSlots()
	require.NoError(t, err)
	defer unlock()
	old := slotLockWait
	slotLockWait = 300 * time.Millisecond
	defer func() { slotLockWait = old }()
	_, err = lockSlots()
	require.ErrorContains(t, err, "has been held for")
}

// TestSecondUserCannotSteerSlotWrites runs as root: another local user
// plants a symlink and a stale slot file in the shared registry, and root's
// claim neither writes through the link nor fails on the other user's file.
func TestSecondUserCannotSteerSlotWrites(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create a second local user (useradd); run as root to exercise it")
	}
	const name = "kongtest2"
	if _, err := user.Lookup(name); err != nil {
		out, err := exec.Command("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
		require.NoError(t, err, "useradd: %s", out)
		t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	}
	u, err := user.Lookup(name)
	require.NoError(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	asOther := func(argv ...string) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v as %s: %s", argv, name, out)
	}
	root := t.TempDir()
	require.NoError(t, os.Chmod(root, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(root), 0o755))
	slots := filepath.Join(root, "kong-slots")
	t.Setenv("KONG_SLOTS", slots)
	unlock, err := lockSlots() // root makes the shared registry
	require.NoError(t, err)
	unlock()
	victim := filepath.Join(root, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o644))
	first := topology.SlotFor("kong")
	asOther("ln", "-s", victim, filepath.Join(slots, strconv.Itoa(first)))
	// The other user's stale slot (its world is gone) at the next slot.
	asOther("sh", "-c", "echo /nonexistent/worlds/x > "+filepath.Join(slots, strconv.Itoa((first+1)%topology.Slots)))
	dir := StateDir(t.TempDir(), "kong")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	slot, err := claimSlot(dir, "kong")
	require.NoError(t, err)
	require.Equal(t, (first+2)%topology.Slots, slot)
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "precious\n", string(data), "root wrote through another user's symlink")
	// The other user cannot remove root's slot file from the sticky registry.
	cmd := exec.Command("rm", "-f", filepath.Join(slots, strconv.Itoa(slot)))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	_ = cmd.Run()
	_, err = os.Lstat(filepath.Join(slots, strconv.Itoa(slot)))
	require.NoError(t, err, "another user removed root's slot file")
	releaseSlot(dir)
}
