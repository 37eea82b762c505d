package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/internal/kongbin"
	"github.com/kongchaos/kong/internal/worldtest"
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

// newWorldCLI is newKongCLI for a test that brings world up (skipped with
// -short); the world is brought down after the test.
func newWorldCLI(t *testing.T, world string) *kongCLI {
	if testing.Short() {
		t.Skip("brings up a real world; skipped with -short")
	}
	k := newKongCLI(t)
	t.Cleanup(func() { _, _ = k.run("down", "--world", world) })
	return k
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
	const world = "test-cli"
	k := newWorldCLI(t, world)

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

	// Cassandra's own tools, as ccm runs them.
	out, err = k.run("nodetool", "--world", world, "us-east-1", "status")
	require.NoError(t, err, out)
	require.Contains(t, out, "Datacenter: us-west-2")
	require.Regexp(t, `(?m)^UN\s+127\.`, out)
	out, err = k.run("cqlsh", "--world", world, "us-west-2/cassandra/a", "-e", "SELECT data_center FROM system.local")
	require.NoError(t, err, out)
	require.Regexp(t, `(?m)^\s*us-west-2\s*$`, out)
	out, err = k.run("nodetool", "--world", world, "eu-nowhere", "status")
	require.Error(t, err)
	require.Contains(t, out, "has no Cassandra node or region \"eu-nowhere\": name a region (us-east-1, us-west-2)")
	out, err = k.run("nodetool", "--world", world, "us-east-1", "no-such-command")
	require.NotZero(t, exitStatus(t, err), out)

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

	// kong heal puts back what a run left: a paused memcached runs again.
	out, err = k.run("pause", "--world", world, victim)
	require.NoError(t, err, out)
	state, _ = stateOf()
	require.Equal(t, topology.StatePaused, state)
	out, err = k.run("heal", "--world", world)
	require.NoError(t, err, out)
	require.Regexp(t, `healed: .*`+regexpQuote(victim), out)
	state, _ = stateOf()
	require.Equal(t, topology.StateRunning, state)
	out, err = k.run("heal", "--world", world)
	require.NoError(t, err, out)
	require.Contains(t, out, "world test-cli is whole: nothing to heal")

	runsOnTheWorld(t, k, world, remote)

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
	const world = "test-ctrlc"
	k := newWorldCLI(t, world)

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

// runsOnTheWorld checks what stands between two runs on one world: the
// lock of a run killed outright is taken over as stale; the preflight of
// `kong run --no-reset` refuses a world a run left damaged, naming what it
// found; a run in progress makes every other run on the world refused,
// naming it; a run's preflight resets the damage (and says so in
// phases.log), and SIGHUP (a closed SSH session) stops the run cleanly:
// its fault healed, its report written.
func runsOnTheWorld(t *testing.T, k *kongCLI, world string, remote topology.Cluster) {
	ctx := context.Background()
	lockPath := local.RunLockPath(k.home, world)
	reports := t.TempDir()
	regions := remote.Spec().RegionNames()

	// A run killed outright: nothing lets go of its lock.
	killed := k.command("run", "split-brain", "--world", world, "--out", reports, "--progress", "off")
	require.NoError(t, killed.Start())
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(lockPath)
		return strings.Contains(string(data), fmt.Sprintf(`"pid":%d`, killed.Process.Pid))
	}, time.Minute, 20*time.Millisecond, "kong run did not take the world's run lock")
	require.NoError(t, killed.Process.Signal(syscall.SIGKILL))
	_ = killed.Wait()

	// The damage a killed run leaves: a toxic on a link, a member fault.
	link := topology.LinkName(regions[0], regions[1])
	worldtest.LeaveLatency(t, remote, link, 100)
	comps, err := remote.Components(ctx)
	require.NoError(t, err)
	member := ""
	for _, c := range comps {
		if c.Kind == topology.KindMember && member == "" {
			member = c.ID
			req, err := http.NewRequest(http.MethodPut, "http://"+c.Address+"/admin/faults", strings.NewReader(`{"error_rate":0.5}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+remote.Secret())
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
	}

	// And a link cut the other way. kong status shows the three.
	back := topology.LinkName(regions[1], regions[0])
	worldtest.OnLink(t, remote, back, (*toxiclient.Proxy).Disable)
	out, err := k.run("status", "--world", world)
	require.NoError(t, err, out)
	require.Contains(t, out, "fault state: NOT clean, ")
	require.Contains(t, out, "  - link "+back+": cut (")
	require.Contains(t, out, "  - member "+member+": error_rate=0.5")
	require.Regexp(t, `(?m)^`+regexpQuote(back)+`\s+\d+\s+cut\s+-$`, out)
	require.Regexp(t, `(?m)^`+regexpQuote(link)+`\s+(\d+)\s+ok\s+left-latency \(latency, upstream; jitter=0 latency=100\) on \d+ of \d+ proxies$`, out)
	require.Regexp(t, `(?m)^director:\n  geo `, out)

	out, err = k.run("run", "split-brain", "--world", world, "--out", reports, "--progress", "off", "--no-reset")
	require.Equal(t, 3, exitStatus(t, err), "a run on a damaged world with --no-reset: %s", out)
	require.Contains(t, out, fmt.Sprintf("the run lock of `kong --home %s run split-brain --world %s --out %s --progress off` (pid %d", k.home, world, reports, killed.Process.Pid))
	require.Contains(t, out, "was stale")
	require.Contains(t, out, "the world is not as it was brought up")
	require.Contains(t, out, "link "+link+": toxic left-latency (latency, upstream")
	require.Contains(t, out, "member "+member+": error_rate=0.5")

	// While a run holds the world, every other run is refused, naming it.
	held, err := local.LockRun(lockPath, local.RunHolder{PID: os.Getpid(), Command: "kong gameday --world " + world, Started: time.Now()})
	require.NoError(t, err)
	for _, args := range [][]string{
		{"run", "split-brain", "--world", world, "--out", reports},
		{"gameday", "--scenarios", "split-brain", "--world", world, "--out", reports},
		{"replication-check", "--world", world, "--out", reports},
	} {
		out, err := k.run(args...)
		require.Equal(t, 3, exitStatus(t, err), "kong %s on a busy world: %s", args[0], out)
		require.Contains(t, out, fmt.Sprintf("a run is in progress on the world: `kong gameday --world %s` (pid %d", world, os.Getpid()), "kong %s", args[0])
	}
	require.NoError(t, held.Release())

	// The next run resets the damage; SIGHUP once its partition took effect
	// stops it cleanly.
	run := k.command("run", "split-brain", "--world", world, "--out", reports, "--progress", "off")
	var buf bytes.Buffer
	run.Stdout, run.Stderr = &buf, &buf
	require.NoError(t, run.Start())
	var dir string
	require.Eventually(t, func() bool {
		logs, _ := filepath.Glob(filepath.Join(reports, "split-brain-*", "phases.log"))
		for _, l := range logs {
			data, _ := os.ReadFile(l)
			if strings.Contains(string(data), "partition took effect") {
				dir = filepath.Dir(l)
				return true
			}
		}
		return false
	}, 3*time.Minute, 100*time.Millisecond, "the run's partition never took effect: %s", &buf)
	require.NoError(t, run.Process.Signal(syscall.SIGHUP))
	err = run.Wait()
	require.Equal(t, 3, exitStatus(t, err), "kong run after SIGHUP: %s", buf.String())
	require.Contains(t, buf.String(), "split-brain: ABORTED: interrupted")
	require.FileExists(t, filepath.Join(dir, "report.json"), "SIGHUP left no report")
	plog, err := os.ReadFile(filepath.Join(dir, "phases.log"))
	require.NoError(t, err)
	require.Contains(t, string(plog), "preflight: found link "+link+": toxic left-latency")
	require.Contains(t, string(plog), "preflight: found member "+member+": error_rate=0.5: reset")
	require.Contains(t, string(plog), "heal partition")
	found, err := preflight.Check(ctx, remote, false)
	require.NoError(t, err, "the world is not whole after a run stopped by SIGHUP")
	require.Empty(t, found)
	out, err = k.run("status", "--world", world)
	require.NoError(t, err, out)
	require.Contains(t, out, "fault state: clean")
	require.Regexp(t, `(?m)^`+regexpQuote(back)+`\s+\d+\s+ok\s+-$`, out)
	data, err := os.ReadFile(lockPath)
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(data)), "the run stopped by SIGHUP did not let go of the world")
}
