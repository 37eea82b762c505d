package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"github.com/kongchaos/kong/internal/logfile"
	"github.com/kongchaos/kong/topology"
)

// worldEnv marks every process of a world with its state folder, so that
// `kong down` can recognise leftovers after a crash and never kills a
// stranger that reused a pid.
const worldEnv = "KONG_WORLD_DIR"

// Each component's console log is capped (logfile.Rotating): once it would
// grow past consoleLogMax it is renamed to .1 (the .1 before it to .2, and
// so on up to consoleLogKeep) and a new one is started, so a world's
// console logs take at most (consoleLogKeep+1) × consoleLogMax each.
// Cassandra's system.log is capped the same way by logback (see
// cassandraLogback).
const (
	consoleLogMax  = 50 << 20
	consoleLogKeep = 2
)

// process supervises one server: it starts it in its own process group with
// a parent-death signal, so it never outlives its owner.
type process struct {
	comp     topology.Component
	argv     []string
	logPath  string
	stateDir string
	// logMax and logKeep cap the console log (0: consoleLogMax and
	// consoleLogKeep).
	logMax  int64
	logKeep int

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current run exits
	paused bool
}

func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.logPath), 0o755); err != nil {
		return err
	}
	logMax, logKeep := int64(consoleLogMax), consoleLogKeep
	if p.logMax > 0 {
		logMax, logKeep = p.logMax, p.logKeep
	}
	logf, err := logfile.Open(p.logPath, logMax, logKeep)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", p.comp.ID, err)
	}
	fmt.Fprintf(logf, "--- kong: starting %s at %s: %s\n", p.comp.ID, time.Now().Format(time.RFC3339), strings.Join(p.argv, " "))
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	// The child writes into a pipe that this process copies into the
	// capped log (one pipe for both: exec shares it when the writers are
	// the same). The child dies with this process, so the copy lives as
	// long as the child; the log never closes the pipe on the child.
	cmd.Stdout, cmd.Stderr = logf, logf
	// A grandchild that kept the pipe after the child exited does not
	// hold Wait (and the stopped state) for ever.
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), worldEnv+"="+p.stateDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := spawn(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("start %s (%s): %w", p.comp.ID, p.argv[0], err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.paused = cmd, done, false
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logf, "--- kong: %s exited at %s: %v\n", p.comp.ID, time.Now().Format(time.RFC3339), exitText(err))
		logf.Close()
		close(done)
	}()
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// running reports whether the current run has not exited; callers hold mu.
func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *process) state() topology.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.running():
		return topology.StateStopped
	case p.paused:
		return topology.StatePaused
	}
	return topology.StateRunning
}

// exited returns a channel closed when the current run exits (nil if none).
func (p *process) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

var errNotRunning = errors.New("not running")

// Linux sends the parent-death signal when the thread that forked a child
// exits, not the process. Every child is therefore forked from one goroutine
// locked to a thread that lives as long as the process.
var spawner = make(chan func())

// WorldNice is how much nicer than kong every process of a world runs: the
// servers under test yield the CPU to the harness that measures them
// (kong's load generator, its checks and probes). On a machine of two
// cores, a Cassandra node restarted by chaos-monkey takes both cores for
// seconds; at equal priority the load generator falls behind its schedule,
// and the availability it measures becomes unknown although every request
// was served. The children inherit the niceness of the thread that forks
// them, from their first instruction on.
const WorldNice = 5

func init() {
	go func() {
		runtime.LockOSThread()
		// Only this thread, which forks and does nothing else, is
		// lowered; raising a niceness needs no privilege. (The system
		// call answers 20 minus the niceness.)
		if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0); err == nil {
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), min(20-prio+WorldNice, 19))
		}
		for f := range spawner {
			f()
		}
	}()
}

func spawn(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	spawner <- func() { errc <- cmd.Start() }
	return <-errc
}

// exitWait bounds the wait for a killed process to be reaped (a process in
// uninterruptible sleep can outlast SIGKILL for a while).
const exitWait = 30 * time.Second

func (p *process) waitExit(done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-time.After(exitWait):
		return fmt.Errorf("%s did not exit within %s of SIGKILL (pid %d): it may be stuck in the kernel", p.comp.ID, exitWait, p.pid())
	}
}

// signal sends sig to the process group of the current run.
func (p *process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return fmt.Errorf("%s: %w", p.comp.ID, errNotRunning)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, p.comp.ID, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		p.paused = true
		return p.awaitState(topology.StatePaused)
	case syscall.SIGCONT:
		p.paused = false
		return p.awaitState(topology.StateRunning)
	}
	return nil
}

// awaitState waits until the kernel reports the process in the state a
// signal asked for: kill(2) returns before a busy process has stopped, and
// a pause must hold from the moment it is reported. Callers hold mu.
func (p *process) awaitState(want topology.State) error {
	pid := p.cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := processState(pid, p.stateDir)
		if got == want || got == topology.StateStopped {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d) is still %s 5s after the signal for %s", p.comp.ID, pid, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop sends SIGTERM (after SIGCONT, in case it is paused) and waits up to
// grace before SIGKILL. It returns once the process has exited.
func (p *process) stop(grace time.Duration) error {
	done := p.exited()
	if done == nil {
		return nil
	}
	_ = p.signal(syscall.SIGCONT)
	if grace > 0 {
		_ = p.signal(syscall.SIGTERM)
		select {
		case <-done:
			return nil
		case <-time.After(grace):
		}
	}
	_ = p.signal(syscall.SIGKILL)
	return p.waitExit(done)
}

// kill sends SIGKILL and waits until the process is gone.
func (p *process) kill() error {
	done := p.exited()
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	return p.waitExit(done)
}

// belongsTo reports whether pid is a live process of the world in stateDir.
func belongsTo(pid int, stateDir string) bool {
	if pid <= 0 {
		return false
	}
	p, err := procfs.NewProc(pid)
	if err != nil {
		return false
	}
	env, err := p.Environ()
	return err == nil && slices.Contains(env, worldEnv+"="+stateDir)
}

// WorldProcesses lists every live process marked with stateDir.
func WorldProcesses(stateDir string) []int {
	procs, _ := procfs.AllProcs()
	var pids []int
	for _, p := range procs {
		if p.PID != os.Getpid() && belongsTo(p.PID, stateDir) {
			pids = append(pids, p.PID)
		}
	}
	return pids
}
