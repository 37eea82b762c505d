package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kongchaos/kong/topology"
)

// LaunchOptions say which world Launch brings up and how.
type LaunchOptions struct {
	// Home holds the world's state; World is its name.
	Home, World string
	// Spec is the world to bring up: the owner reads it again from the same
	// profile or file (see OwnerArgs).
	Spec *topology.Spec
	// Exe is the kong binary that owns the world.
	Exe string
	// Timeout bounds the start: an owner whose world is not ready by then
	// is stopped, and everything it started removed.
	Timeout time.Duration
	// Out is where Launch says what it does (nil: nowhere).
	Out io.Writer
	// Progress, when set, is told how the start goes (see
	// topology.UpOptions).
	Progress func(topology.UpProgress)
}

// OwnerLog is the file an owner of world (`kong serve world`) writes its
// output to.
func OwnerLog(home, world string) string {
	return filepath.Join(home, "worlds", world+".log")
}

// OwnerArgs are the topology flags of `kong serve world` that make the
// owner read spec again: its profile, or the absolute path of its file.
func OwnerArgs(spec *topology.Spec) []string {
	if p := spec.ProfileName(); p != "" {
		return []string{"--profile", p}
	}
	abs, _ := filepath.Abs(spec.Source())
	return []string{"--topology", abs}
}

// Launch brings a world up that outlives this process: it starts its owner
// (`kong serve world`, in a session of its own, writing to OwnerLog) and
// follows the world's state file until every component is ready. When ctx
// ends first, or the timeout passes, it sends the owner SIGTERM (SIGKILL
// after a minute) and then removes what is left of the world, so that a
// failed or interrupted start leaves nothing behind. An owner that gives up
// on its own is named with the reason it logged.
func Launch(ctx context.Context, o LaunchOptions) (topology.Started, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	progress := func(p topology.UpProgress) {
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	logPath := OwnerLog(o.Home, o.World)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return topology.Started{}, fmt.Errorf("owner log %s: %w", logPath, err)
	}
	defer logf.Close()
	args := append([]string{"serve", "world", "--world", o.World, "--home", o.Home, "--timeout", o.Timeout.String()}, OwnerArgs(o.Spec)...)
	owner := exec.Command(o.Exe, args...)
	owner.Stdout, owner.Stderr = logf, logf
	owner.Env = append(os.Environ(), worldEnv+"="+StateDir(o.Home, o.World))
	owner.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	if err := owner.Start(); err != nil {
		return topology.Started{}, fmt.Errorf("start the world's owner process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- owner.Wait() }()
	deadline := time.NewTimer(o.Timeout)
	defer deadline.Stop()

	fmt.Fprintf(out, "bringing up world %s (%s, %d regions); log: %s\n", o.World, o.Spec.Source(), len(o.Spec.Regions), logPath)
	stop := func(why string) error {
		progress(topology.UpProgress{Elapsed: time.Since(start), Done: true})
		fmt.Fprintf(out, "%s: stopping everything world %s started\n", why, o.World)
		// Tell the owner first (it may not have written any state yet), then
		// sweep whatever is left by its marks.
		_ = owner.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = owner.Process.Kill()
			<-exited
		}
		if err := DownWorld(o.Home, o.World, 10*time.Second); err != nil && !errors.Is(err, ErrNotUp) {
			fmt.Fprintln(out, "down:", err)
		}
		return fmt.Errorf("world %s did not come up: %s", o.World, why)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return topology.Started{}, stop("interrupted")
		case <-deadline.C:
			st, _ := ReadState(o.Home, o.World)
			what := "unknown"
			if st != nil {
				what = fmt.Sprintf("phase %q, %d of %d components ready", st.Phase, st.Ready, st.Total)
			}
			return topology.Started{}, stop(fmt.Sprintf("not ready after %s (%s); see %s", o.Timeout, what, logPath))
		case err := <-exited:
			progress(topology.UpProgress{Elapsed: time.Since(start), Done: true})
			return topology.Started{}, fmt.Errorf("world %s did not come up: %s (exit: %v); log: %s", o.World, ownerFailure(logPath), err, logPath)
		case <-tick.C:
			st, err := ReadState(o.Home, o.World)
			if err != nil {
				continue
			}
			ready := st.Status == "ready"
			progress(topology.UpProgress{Elapsed: time.Since(start), Phase: st.Phase, Ready: st.Ready, Total: st.Total})
			if ready {
				progress(topology.UpProgress{Elapsed: time.Since(start), Phase: st.Phase, Ready: st.Ready, Total: st.Total, Done: true})
				return topology.Started{Took: time.Since(start), Phases: st.Phases}, nil
			}
		}
	}
}

// ownerFailure finds the reason the owner logged before it gave up.
func ownerFailure(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return "its owner exited"
	}
	defer f.Close()
	reason := "its owner exited"
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "FAILED: ") {
			reason = strings.TrimPrefix(line, "FAILED: ")
		}
	}
	return reason
}
