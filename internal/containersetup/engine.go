package containersetup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"

	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local/assets"
)

// EngineStartTimeout bounds the wait for a started dockerd to answer.
const EngineStartTimeout = 90 * time.Second

// Engine makes sure a Docker engine answers. When none does, and
// DOCKER_HOST names none elsewhere, it installs Debian's docker.io where
// dockerd is missing and starts dockerd in the background, as a machine's
// service (it outlives kong, and worlds come and go on it), its output in
// dockerd.log in kong's cache; then it waits for it to answer. It says on
// out what it found or did. Starting an engine needs root.
func Engine(ctx context.Context, out io.Writer, log *slog.Logger) error {
	if err := containers.CheckEngine(ctx); err == nil {
		fmt.Fprintf(out, "a Docker engine answers at %s\n", containers.EngineAddress())
		return nil
	} else if os.Getenv("DOCKER_HOST") != "" {
		return fmt.Errorf("%w: DOCKER_HOST names an engine kong does not start; start it, or unset DOCKER_HOST to have kong start the machine's own", err)
	}
	if os.Geteuid() != 0 {
		return errors.New("no Docker engine answers, and starting one needs root: run sudo kong setup --engine, or start Docker yourself")
	}
	dockerd, err := assets.EnsureDockerd(ctx, out, log)
	if err != nil {
		return err
	}
	cache, err := assets.CacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(cache, "dockerd.log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open the engine's log: %w", err)
	}
	defer lf.Close()
	cmd := exec.Command(dockerd)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Its own session: a Ctrl-C meant for kong does not stop the engine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", dockerd, err)
	}
	// make test reads "started " in this line: it stops the engine it started.
	fmt.Fprintf(out, "no Docker engine answered: started %s in the background (pid %d, log %s)\n", dockerd, cmd.Process.Pid, logPath)
	// Recorded, so that kong setup --stop-engine stops this engine and no other.
	pidPath := filepath.Join(cache, enginePidFile)
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		fmt.Fprintf(out, "could not record the engine's pid in %s (%v): kong setup --stop-engine will not find it\n", pidPath, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(EngineStartTimeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("dockerd ended before it answered (%v): see %s", err, logPath)
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(500 * time.Millisecond):
		}
		if pingSocket(ctx) == nil {
			fmt.Fprintf(out, "the Docker engine answers at %s\n", containers.EngineAddress())
			return nil
		}
		if time.Now().After(deadline) {
			// Not left behind holding its pid file: the next try starts afresh.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
			}
			_ = os.Remove(pidPath)
			return fmt.Errorf("dockerd (pid %d) did not answer within %s, and was stopped: see %s", cmd.Process.Pid, EngineStartTimeout, logPath)
		}
	}
}

// enginePidFile, in kong's cache, holds the pid of the dockerd that
// Engine started.
const enginePidFile = "dockerd.pid"

// EngineStopTimeout bounds the wait for a stopped dockerd to end before it
// is killed.
const EngineStopTimeout = 60 * time.Second

// StopEngine stops the dockerd that Engine started, and only that one: the
// process named in dockerd.pid, when it still runs dockerd. An engine that
// kong did not start (a machine's own service) is never stopped. It is
// what make test runs after the container tests, so that no engine it
// started outlives them.
func StopEngine(ctx context.Context, out io.Writer) error {
	cache, err := assets.CacheDir()
	if err != nil {
		return err
	}
	pidPath := filepath.Join(cache, enginePidFile)
	b, err := os.ReadFile(pidPath)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(out, "kong started no Docker engine: nothing to stop")
		return nil
	} else if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		_ = os.Remove(pidPath)
		return fmt.Errorf("%s holds no pid (%q): removed it; stop dockerd yourself if it runs", pidPath, b)
	}
	if !runsDockerd(pid) {
		_ = os.Remove(pidPath)
		fmt.Fprintf(out, "the Docker engine kong started (pid %d) has ended already\n", pid)
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop dockerd (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(EngineStopTimeout)
	for runsDockerd(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			fmt.Fprintf(out, "dockerd (pid %d) did not end within %s of SIGTERM: killed\n", pid, EngineStopTimeout)
			break
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(200 * time.Millisecond):
		}
	}
	_ = os.Remove(pidPath)
	fmt.Fprintf(out, "stopped the Docker engine kong started (pid %d)\n", pid)
	return nil
}

// runsDockerd says whether process pid lives and runs a program named
// dockerd (a pid reused by another program is not the engine).
func runsDockerd(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	return filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == "dockerd"
}

// pingSocket asks the engine at the default socket whether it answers,
// with a client of its own: testcontainers remembers the engine it did not
// find for the life of the process.
func pingSocket(ctx context.Context) error {
	cli, err := client.New(client.WithHost(containers.EngineAddress()))
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = cli.Ping(ctx, client.PingOptions{})
	return err
}
