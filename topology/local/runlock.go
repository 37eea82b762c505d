package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// One run per world: two runs on one world fault each other's steady state
// and both measure nonsense. A run (kong run, kong gameday, kong
// replication-check) holds the world's run lock, an flock on a file, for as
// long as it runs. The kernel releases an flock when its holder exits,
// however it exits, so the lock of a run that was killed is free by
// construction; what that run wrote into the file is still there, and the
// next run reports it as a stale lock it took over.

// RunLockFile is the name of the run lock in a world's state folder.
const RunLockFile = "run.lock"

// RunLockPath is the run lock of a local world.
func RunLockPath(home, world string) string { return filepath.Join(StateDir(home, world), RunLockFile) }

// ErrWorldBusy: another run holds the world's run lock.
var ErrWorldBusy = errors.New("a run is in progress on the world")

// RunHolder is what a run lock says about the run that holds it.
type RunHolder struct {
	PID int `json:"pid"`
	// Command is the command line, such as "kong run split-brain --world w".
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

func (h RunHolder) String() string {
	s := fmt.Sprintf("pid %d", h.PID)
	if h.Command != "" {
		s = "`" + h.Command + "` (" + s
		if !h.Started.IsZero() {
			s += fmt.Sprintf(", started %s, %s ago", h.Started.UTC().Format("2006-01-02 15:04:05 UTC"), time.Since(h.Started).Round(time.Second))
		}
		s += ")"
	}
	return s
}

// RunLock is a run lock held by this process.
type RunLock struct {
	f *os.File
	// Stale is the run that held the lock last and ended without releasing
	// it (killed), if any.
	Stale *RunHolder
}

// LockRun takes the run lock at path for holder, without waiting. When
// another run holds it, the error wraps ErrWorldBusy and names that run.
// The folder of path must exist.
func LockRun(path string, holder RunHolder) (*RunLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the run lock %s: %w", path, err)
	}
	// A holder writes itself right after locking and empties the file right
	// before letting go: an empty file of a held lock is looked at again.
	for try := 0; ; try++ {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if h := readHolder(f); h != nil || try == 20 {
			f.Close()
			if h == nil {
				return nil, fmt.Errorf("%w: a run whose details are not written in %s", ErrWorldBusy, path)
			}
			return nil, fmt.Errorf("%w: %s", ErrWorldBusy, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	l := &RunLock{f: f, Stale: readHolder(f)}
	data, err := json.Marshal(holder)
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt(append(data, '\n'), 0)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write the run lock %s: %w", path, err)
	}
	return l, nil
}

// readHolder reads the holder a lock file names, nil if none.
func readHolder(f *os.File) *RunHolder {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
	if err != nil || strings.TrimSpace(string(data)) == "" {
		return nil
	}
	var h RunHolder
	if json.Unmarshal(data, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// Release empties the lock file (so that the next run finds no stale
// holder) and lets go of the lock.
func (l *RunLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	terr := l.f.Truncate(0)
	cerr := l.f.Close() // closing the only descriptor releases the flock
	l.f = nil
	return errors.Join(terr, cerr)
}

// LockWorldRun takes the run lock of a world that is up on backend under
// home, for the run command (as a person typed it), so that no other run
// faults the world at the same time. A run in progress makes it refuse,
// naming that run and what to do; the lock of a run that was killed is
// taken over, and the returned lock's Stale names that run.
func LockWorldRun(home, backend, world, command string) (*RunLock, error) {
	path, err := RunLockPathOf(home, backend, world)
	if err != nil {
		return nil, err
	}
	l, err := LockRun(path, RunHolder{PID: os.Getpid(), Command: command, Started: time.Now().UTC()})
	if errors.Is(err, ErrWorldBusy) {
		return nil, fmt.Errorf("world %s refused: %w; one run at a time: wait until it ends, or stop it (Ctrl-C or SIGTERM: it heals its faults and writes its reports first)", world, err)
	}
	return l, err
}
