package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"github.com/kongchaos/kong/topology"
)

// State is what a world's state folder says about it; it lets `kong status`,
// `kong down` and other processes find a world, even after its owner crashed.
type State struct {
	World      string               `json:"world"`
	Slot       int                  `json:"slot"`
	Dir        string               `json:"dir"`
	OwnerPID   int                  `json:"owner_pid"`
	Status     string               `json:"status"` // starting, ready, failed, stopping
	Error      string               `json:"error,omitempty"`
	Spec       *topology.Spec       `json:"spec"`
	Source     string               `json:"source"`
	Control    string               `json:"control,omitempty"`
	Components []topology.Status    `json:"components"`
	Phase      string               `json:"phase,omitempty"`
	Ready      int                  `json:"ready"`
	Total      int                  `json:"total"`
	Phases     []topology.PhaseTime `json:"phases,omitempty"`
	Updated    time.Time            `json:"updated"`
}

const (
	stateFile = "state.json"
	ownerLock = "owner.lock"
)

// claim makes this process the owner of the world's state folder, cleans
// what a crashed owner left, and picks the world's slot.
func (w *World) claim() error {
	if err := checkReusable(w.home, w.name, w.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return fmt.Errorf("create state folder %s: %w (set KONG_HOME to a writable folder)", w.dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(w.dir, ownerLock), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", ownerLock, err)
	}
	locked := false
	for try := 0; try < 10 && !locked; try++ {
		locked = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
		if !locked {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !locked {
		lock.Close()
		st, _ := ReadState(w.home, w.name)
		owner := 0
		if st != nil {
			owner = st.OwnerPID
		}
		return fmt.Errorf("world %s is already up (owner pid %d, state in %s): use it, or run `kong down --world %s` first",
			w.name, owner, w.dir, w.name)
	}
	w.lockFile = lock
	// A previous owner died without cleaning up: finish its work.
	killLeftovers(w.dir)
	entries, _ := os.ReadDir(w.dir)
	for _, e := range entries {
		if e.Name() != ownerLock {
			_ = os.RemoveAll(filepath.Join(w.dir, e.Name()))
		}
	}
	if err := markWorld(w.dir, w.name); err != nil {
		w.lockFile.Close()
		w.lockFile = nil
		return fmt.Errorf("mark state folder %s: %w", w.dir, err)
	}
	if w.secret, err = newSecret(w.dir); err != nil {
		w.lockFile.Close()
		w.lockFile = nil
		return err
	}
	slot, err := claimSlot(w.dir, w.name)
	if err == nil {
		w.PlanAddrs.Plan, err = topology.NewPlan(w.spec, slot)
	}
	if err != nil {
		w.lockFile.Close()
		w.lockFile = nil
		return err
	}
	return nil
}

// saveState writes the state file; an empty status keeps the current one.
// Writers are serialized and each writes its own temporary file, so a
// reader always sees a whole file and the newest snapshot lands last.
func (w *World) saveState(status, errText string) error {
	w.saveMu.Lock()
	defer w.saveMu.Unlock()
	w.mu.Lock()
	if status != "" {
		w.status = status
	}
	if errText != "" {
		w.errText = errText
	}
	st := State{World: w.name, Slot: w.Plan().Slot, Dir: w.dir, OwnerPID: os.Getpid(), Status: w.status,
		Error: w.errText, Spec: w.spec, Source: w.spec.Source(), Control: w.control, Phase: w.phase, Ready: w.done, Total: len(w.order), Phases: w.phases.Done(), Updated: time.Now()}
	w.mu.Unlock()
	st.Components = w.statuses()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(w.dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("write state of world %s: %w", w.name, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write state of world %s: %v", w.name, errors.Join(werr, cerr))
	}
	return os.Rename(tmp.Name(), filepath.Join(w.dir, stateFile))
}

// ReadState reads a world's state file.
func ReadState(home, name string) (*State, error) {
	if err := topology.CheckWorldName(name); err != nil {
		return nil, err
	}
	dir := StateDir(home, name)
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("world %s is not up (no state in %s): start it with `kong up`", name, dir)
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("read state of world %s: %w", name, err)
	}
	if st.Spec == nil {
		return nil, fmt.Errorf("state of world %s has no spec: run `kong down --world %s`", name, name)
	}
	return &st, nil
}

// Worlds lists the names of worlds that have a state folder.
func Worlds(home string) []string {
	entries, _ := os.ReadDir(filepath.Join(home, "worlds"))
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// Down stops every component at once (the world is disposable), kills
// anything that escaped, and removes the state folder.
func (w *World) Down() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.inflight.Wait()
	if w.Plan() != nil {
		_ = w.saveState("stopping", "")
	}
	var errs []error
	for i := len(w.order) - 1; i >= 0; i-- {
		if err := w.procs[w.order[i]].stop(0); err != nil {
			errs = append(errs, err)
		}
	}
	left := killLeftovers(w.dir)
	releaseSlot(w.dir)
	err := os.RemoveAll(w.dir)
	if w.lockFile != nil {
		w.lockFile.Close()
		w.lockFile = nil
	}
	if len(left) > 0 {
		errs = append(errs, fmt.Errorf("world %s: processes %v were still running after stop and were killed", w.name, left))
	}
	return errors.Join(append(errs, err)...)
}

// killLeftovers SIGKILLs every process marked with the state folder and
// returns the pids it found.
func killLeftovers(dir string) []int {
	seen := map[int]bool{}
	var killed []int
	for round := 0; round < 50; round++ {
		pids := WorldProcesses(dir)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if !seen[pid] {
				seen[pid] = true
				killed = append(killed, pid)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return killed
}

// DownWorld tears down a world by its name from any process: it asks the
// owner to stop (SIGTERM), waits, then kills whatever is left and removes
// the state. It is how `kong down` cleans up after a crash of `kong` too.
func DownWorld(home, name string, grace time.Duration) error {
	if err := topology.CheckWorldName(name); err != nil {
		return err
	}
	// Only a marked state folder in a marked home is ever removed; a world
	// with no folder at all is "not up" (after its marked processes go).
	dir := StateDir(home, name)
	_, statErr := os.Lstat(dir)
	if statErr == nil {
		if err := CheckHome(home); err != nil {
			return err
		}
		if err := checkWorldFolder(home, name, dir); err != nil {
			return err
		}
	}
	if st, err := ReadState(home, name); err == nil && ownerAlive(dir) && st.OwnerPID > 0 && st.OwnerPID != os.Getpid() {
		if belongsTo(st.OwnerPID, dir) || isKongOwner(st.OwnerPID) {
			_ = syscall.Kill(st.OwnerPID, syscall.SIGTERM)
		}
		deadline := time.Now().Add(grace)
		for ownerAlive(dir) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if ownerAlive(dir) && belongsTo(st.OwnerPID, dir) {
			_ = syscall.Kill(st.OwnerPID, syscall.SIGKILL)
			time.Sleep(200 * time.Millisecond)
		}
	}
	left := killLeftovers(dir)
	if errors.Is(statErr, os.ErrNotExist) {
		if len(left) > 0 {
			return nil // a world that was still starting: its processes are gone now
		}
		return fmt.Errorf("%w: world %s (no state in %s)", ErrNotUp, name, dir)
	}
	if ownerAlive(dir) {
		st, _ := ReadState(home, name)
		pid := 0
		if st != nil {
			pid = st.OwnerPID
		}
		return fmt.Errorf("world %s is owned by process %d, which is not a kong daemon and did not stop on SIGTERM: stop it (it may be a test run), then run `kong down --world %s` again", name, pid, name)
	}
	if err := checkWorldFolder(home, name, dir); err != nil {
		return err
	}
	releaseSlot(dir)
	return os.RemoveAll(dir)
}

// ErrNotUp means there is no world of that name.
var ErrNotUp = errors.New("not up")

// isKongOwner reports whether pid runs `kong serve world` (an owner started
// by `kong up` that is not marked, such as one from an older kong).
func isKongOwner(pid int) bool {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return false
	}
	args, err := p.CmdLine()
	return err == nil && strings.Contains(strings.Join(args, "\x00"), "serve\x00world")
}
