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

// exitStatus is the status a finished kong command exited with.
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	return ee.ExitCode()
}

// TestHostileCLIInput: every bad name, home or flag gets a clear error and
// exit status 2, and touches nothing outside the home: not the sentinel
// file beside it, not another world's state, not a sentinel process.
func TestHostileCLIInput(t *testing.T) {
	parent := t.TempDir()
	home := filepath.Join(parent, "home")
	require.NoError(t, local.PrepareHome(home))
	other := local.StateDir(home, "other")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(other, "state.json"), []byte("{}"), 0o600))
	sentinel := filepath.Join(parent, "precious.txt")
	require.NoError(t, os.WriteFile(sentinel, []byte("keep"), 0o644))
	proc := exec.Command("sleep", "300")
	require.NoError(t, proc.Start())
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })
	notHome := filepath.Join(parent, "project")
	require.NoError(t, os.MkdirAll(filepath.Join(notHome, "worlds", "kong"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(notHome, "worlds", "kong", "data"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(notHome, "README"), []byte("x"), 0o644))
	linkHome := filepath.Join(parent, "link")
	require.NoError(t, os.Symlink(home, linkHome))
	bin, err := kongbin.Path()
	require.NoError(t, err)

	long := strings.Repeat("w", 200)
	rows := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"down ..", nil, []string{"down", "--world", ".."}, 2, "invalid world name"},
		{"down ../..", nil, []string{"down", "--world", "../.."}, 2, "invalid world name"},
		{"down /", nil, []string{"down", "--world", "/"}, 2, "invalid world name"},
		{"down empty", nil, []string{"down", "--world", ""}, 2, "it is empty"},
		{"down long", nil, []string{"down", "--world", long}, 2, "more than 40"},
		{"down unicode", nil, []string{"down", "--world", "wörld"}, 2, "invalid world name"},
		{"KONG_WORLD ..", []string{"KONG_WORLD=.."}, []string{"down"}, 2, "KONG_WORLD"},
		{"status escape", nil, []string{"status", "--world", "x/../../y"}, 2, "invalid world name"},
		{"logs ..", nil, []string{"logs", "--world", "..", "toxiproxy"}, 2, "invalid world name"},
		{"run ..", nil, []string{"run", "split-brain", "--world", ".."}, 2, "invalid world name"},
		{"gameday ..", nil, []string{"gameday", "--world", "../.."}, 2, "invalid world name"},
		{"replication-check ..", nil, []string{"replication-check", "--world", ".."}, 2, "invalid world name"},
		{"up ../x", nil, []string{"up", "--world", "../x"}, 2, "invalid world name"},
		{"kill ..", nil, []string{"kill", "--world", "..", "toxiproxy"}, 2, "invalid world name"},
		{"compose ..", nil, []string{"compose", "--world", "..", "-o", filepath.Join(parent, "c.yml")}, 2, "invalid world name"},
		{"down in a folder that is not a kong home", nil, []string{"down", "--home", notHome, "--world", "kong"}, 2, "not a kong home"},
		{"up in a folder that is not a kong home", nil, []string{"up", "--home", notHome, "--world", "fresh"}, 2, "not a kong home"},
		{"down through a symlinked home", nil, []string{"down", "--home", linkHome, "--world", "other"}, 2, "not a kong home"},
		{"down a folder kong did not mark", nil, []string{"down", "--world", "other"}, 2, "marker"},
		{"unknown scenario", nil, []string{"run", "nope"}, 2, `unknown scenario "nope"`},
		{"unknown command", nil, []string{"explode"}, 2, "unknown command"},
		{"unknown flag", nil, []string{"status", "--frobnicate"}, 2, "unknown flag"},
		{"unknown backend", nil, []string{"status", "--backend", "moon"}, 2, "unknown backend"},
		{"unknown profile", nil, []string{"up", "--profile", "nope"}, 2, "unknown profile"},
		{"bad cron", nil, []string{"gameday", "--cron", "every day"}, 2, "--cron"},
		{"world not up", nil, []string{"status", "--world", "absent"}, 3, "world absent is not up"},
		{"run without a world", nil, []string{"run", "split-brain", "--world", "absent"}, 3, "kong up"},
		{"down of an absent world", nil, []string{"down", "--world", "absent"}, 0, "nothing to do"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"--home", home}, r.args...)...)
			cmd.Env = append(append(os.Environ(), "KONG_HOME="+home, "KONG_SLOTS="+filepath.Join(parent, "slots")), r.env...)
			out, err := cmd.CombinedOutput()
			require.Equal(t, r.code, exitStatus(t, err), "%s", out)
			require.Contains(t, string(out), r.want)
			require.NotContains(t, string(out), "panic")
			data, err := os.ReadFile(sentinel)
			require.NoError(t, err, "the file beside the home is gone")
			require.Equal(t, "keep", string(data))
			require.FileExists(t, filepath.Join(other, "state.json"), "another world's state is gone")
			require.FileExists(t, filepath.Join(notHome, "worlds", "kong", "data"))
			require.NoFileExists(t, filepath.Join(notHome, "worlds", "fresh.log"))
			require.NoError(t, syscall.Kill(proc.Process.Pid, 0), "the sentinel process is gone")
		})
	}
}
