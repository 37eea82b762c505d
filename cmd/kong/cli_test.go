package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/kongbin"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// kong runs the real binary with its own home folder.
type kongCLI struct {
	t    *testing.T
	bin  string
	home string
}

func newKongCLI(t *testing.T) *kongCLI {
	bin, err := kongbin.Path()
	require.NoError(t, err)
	return &kongCLI{t: t, bin: bin, home: t.TempDir()}
}

func (k *kongCLI) command(args ...string) *exec.Cmd {
	cmd := exec.Command(k.bin, append([]string{"--home", k.home}, args...)...)
	cmd.Env = append(os.Environ(), "KONG_HOME="+k.home)
	return cmd
}

func (k *kongCLI) run(args ...string) (string, error) {
	out, err := k.command(args...).CombinedOutput()
	return string(out), err
}

// requireNothingLeft checks that no process of the world survives and its
// state is gone.
func (k *kongCLI) requireNothingLeft(world string) {
	dir := local.StateDir(k.home, world)
	require.Eventually(k.t, func() bool { return len(local.WorldProcesses(dir)) == 0 }, 30*time.Second, 200*time.Millisecond,
		"processes of world %s are still running: %v", world, local.WorldProcesses(dir))
	_, err := os.Stat(dir)
	require.True(k.t, os.IsNotExist(err), "state folder %s is still there", dir)
}

func TestBadInputGetsClearErrors(t *testing.T) {
	k := newKongCLI(t)
	out, err := k.run("up", "--profile", "nope")
	require.Error(t, err)
	require.Contains(t, out, `unknown profile "nope": the profiles are default, global, small`)

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("regions:\n  - name: us-east-1\n    zones: [a]\n    colour: blue\n"), 0o644))
	out, err = k.run("up", "--topology", bad)
	require.Error(t, err)
	require.Contains(t, out, "bad.yaml:4: unknown key colour")

	out, err = k.run("run", "nope")
	require.Error(t, err)
	require.Contains(t, out, `unknown scenario "nope"`)

	out, err = k.run("status", "--world", "absent")
	require.Error(t, err)
	require.Contains(t, out, "world absent is not up")

	out, err = k.run("logs", "--world", "absent", "us-east-1/cassandra/a")
	require.Error(t, err)
	require.Contains(t, out, "kong up")

	out, err = k.run("down", "--world", "absent")
	require.NoError(t, err, "kong down of an absent world is not an error")
	require.Contains(t, out, "world absent is not up: nothing to do")
}

func TestUpStatusLogsCrashDown(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up a real world; skipped with -short")
	}
	k := newKongCLI(t)
	const world = "test-cli"
	t.Cleanup(func() { _, _ = k.run("down", "--world", world) })

	out, err := k.run("up", "--profile", "small", "--world", world)
	require.NoError(t, err, out)
	require.Contains(t, out, "world test-cli is ready")

	out, err = k.run("status", "--world", world)
	require.NoError(t, err, out)
	for _, id := range []string{"toxiproxy", "us-east-1/sqs", "us-west-2/memcached/a", "us-west-2/cassandra/a"} {
		require.Regexp(t, `(?m)`+regexpQuote(id)+`\s+\S+\s+\d+\s+ok$`, out)
	}

	out, err = k.run("logs", "--world", world, "us-east-1/cassandra/a", "-n", "0")
	require.NoError(t, err)
	require.Contains(t, out, "Startup complete")

	out, err = k.run("logs", "--world", world, "us-east-1/nothing")
	require.Error(t, err)
	require.Contains(t, out, "the components are")

	// A second `kong up` of the same world is refused, not doubled.
	out, err = k.run("up", "--profile", "small", "--world", world)
	require.Error(t, err)
	require.Contains(t, out, "already up")

	// Another process (kong run, kong gameday) drives the world through one
	// attached Remote for a whole run: a component it kills and starts again
	// runs under a new pid, and the Remote must see it running.
	remote, err := local.Attach(k.home, world)
	require.NoError(t, err)
	ctx := context.Background()
	const victim = "us-east-1/memcached/a"
	stateOf := func() (topology.State, int) {
		comps, err := remote.Components(ctx)
		require.NoError(t, err)
		for _, c := range comps {
			if c.ID == victim {
				return c.State, c.PID
			}
		}
		t.Fatalf("no %s among the components", victim)
		return "", 0
	}
	state, pidBefore := stateOf()
	require.Equal(t, topology.StateRunning, state)
	require.NoError(t, remote.Kill(ctx, victim))
	state, _ = stateOf()
	require.Equal(t, topology.StateStopped, state)
	require.NoError(t, remote.Start(ctx, victim))
	state, pidAfter := stateOf()
	require.Equal(t, topology.StateRunning, state, "the attached world sees the restarted component")
	require.NotEqual(t, pidBefore, pidAfter)

	// Kill the world's owner outright: its processes die with it, and
	// `kong down` cleans the rest from the state folder.
	st, err := local.ReadState(k.home, world)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(st.OwnerPID, syscall.SIGKILL))
	out, err = k.run("down", "--world", world)
	require.NoError(t, err, out)
	k.requireNothingLeft(world)
}

func TestCtrlCDuringUpStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real world; skipped with -short")
	}
	k := newKongCLI(t)
	const world = "test-ctrlc"
	t.Cleanup(func() { _, _ = k.run("down", "--world", world) })

	cmd := k.command("up", "--profile", "small", "--world", world)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	// Interrupt once Cassandra is starting.
	require.Eventually(t, func() bool {
		st, err := local.ReadState(k.home, world)
		return err == nil && (st.Phase == "readiness" || st.Phase == "cassandra seeds")
	}, 2*time.Minute, 100*time.Millisecond)
	require.NotEmpty(t, local.WorldProcesses(local.StateDir(k.home, world)))
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	require.Error(t, err, out.String())
	require.Contains(t, out.String(), "interrupted")
	k.requireNothingLeft(world)
}

func regexpQuote(s string) string {
	return strings.NewReplacer("/", `/`, ".", `\.`).Replace(s)
}
