package assets

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/syncbuf"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/topologytest"
)

// The cache is $KONG_CACHE, else kong in the user's own cache folder; with
// neither, an error that says what to set, never a shared folder such as
// /tmp.
func TestCacheDirIsTheUsersOwn(t *testing.T) {
	t.Setenv("KONG_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	dir, err := CacheDir()
	require.Error(t, err, "a cache folder without KONG_CACHE, XDG_CACHE_HOME or HOME: %s", dir)
	require.Empty(t, dir)
	require.Contains(t, err.Error(), "set KONG_CACHE")
	require.Contains(t, err.Error(), "HOME")

	// A world's assets are not looked for (nor fetched: no Maven on PATH
	// here) in a folder nobody chose.
	fakeJava(t)
	t.Setenv("PATH", t.TempDir())
	_, err = Ensure(context.Background(), "5.0.4", "1.6.11", slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "set KONG_CACHE")

	t.Setenv("HOME", "/home/someone")
	dir, err = CacheDir()
	require.NoError(t, err)
	require.Equal(t, "/home/someone/.cache/kong", dir)
	t.Setenv("XDG_CACHE_HOME", "/var/cache/someone")
	dir, err = CacheDir()
	require.NoError(t, err)
	require.Equal(t, "/var/cache/someone/kong", dir)
	t.Setenv("KONG_CACHE", "/srv/kong-jars")
	dir, err = CacheDir()
	require.NoError(t, err)
	require.Equal(t, "/srv/kong-jars", dir)
}

// fakeJava is a Java 17 that only tells its version.
func fakeJava(t *testing.T) {
	t.Helper()
	jdk := t.TempDir()
	java := filepath.Join(jdk, "bin", "java")
	require.NoError(t, os.MkdirAll(filepath.Dir(java), 0o755))
	require.NoError(t, os.WriteFile(java, []byte("#!/bin/sh\necho 'openjdk version \"17.0.15\" 2025-04-15' >&2\n"), 0o755))
	t.Setenv("JAVA_HOME", jdk)
}

// fakeInstaller records what it is asked to install; once allowed, it
// installs a fake memcached.
type fakeInstaller struct {
	installed []string
	allowed   bool
}

// fakeAssets makes a machine with Java 17 and the jars in the cache, but no
// memcached, and an installer that records what it is asked to install.
// KONG_NO_INSTALL keeps apt-get itself from running, whatever calls it.
func fakeAssets(t *testing.T, spec *topology.Spec) *fakeInstaller {
	t.Helper()
	t.Setenv("KONG_NO_INSTALL", "1")
	fakeJava(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	t.Setenv("KONG_CACHE", cache)
	for _, lib := range []string{"cassandra-" + spec.Cassandra.Version, "elasticmq-" + spec.SQS.ElasticMQVersion} {
		lib = filepath.Join(cache, lib, "lib")
		require.NoError(t, os.MkdirAll(lib, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(lib, ".complete"), []byte("x\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(cache, "cassandra-"+spec.Cassandra.Version, "lib", "jamm-0.4.0.jar"), nil, 0o644))

	memcached := filepath.Join(dir, "bin", "memcached")
	oldPaths, oldInstall := memcachedPaths, installPackage
	t.Cleanup(func() { memcachedPaths, installPackage = oldPaths, oldInstall })
	memcachedPaths = []string{memcached}
	f := &fakeInstaller{}
	installPackage = func(_ context.Context, out io.Writer, pkg, _ string, _ *slog.Logger) error {
		f.installed = append(f.installed, pkg)
		if !f.allowed {
			return errors.New("the installer ran")
		}
		_, _ = io.WriteString(out, "installing "+pkg+"\n")
		require.NoError(t, os.MkdirAll(filepath.Dir(memcached), 0o755))
		return os.WriteFile(memcached, []byte("#!/bin/sh\n"), 0o755)
	}
	return f
}

// Bringing a world up (Ensure, which local.Up calls) installs nothing:
// without memcached it fails with an error that says how to get it, and no
// installer runs. kong setup (Setup) installs it, after saying so.
func TestEnsureInstallsNothingSetupDoes(t *testing.T) {
	spec := topologytest.Profile(t, "small")
	inst := fakeAssets(t, spec)

	_, err := Ensure(context.Background(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, slog.New(slog.DiscardHandler))
	require.EqualError(t, err, "memcached not found: run `kong setup` (installs Debian's memcached with apt-get) or install it yourself")
	require.Empty(t, inst.installed, "bringing a world up installed something")

	inst.allowed = true
	var out bytes.Buffer
	a, err := Setup(context.Background(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, &out, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Equal(t, []string{"memcached"}, inst.installed)
	require.Equal(t, "installing memcached\n", out.String())
	require.Equal(t, memcachedPaths[0], a.Memcached)

	// Once it is there, the world's own check finds it.
	a, err = Ensure(context.Background(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Equal(t, memcachedPaths[0], a.Memcached)
	require.Len(t, inst.installed, 1)
}

// apt-get's own installer says what it installs before it runs anything;
// with KONG_NO_INSTALL it runs nothing and names the package.
func TestAptInstallWithNoInstall(t *testing.T) {
	t.Setenv("KONG_NO_INSTALL", "1")
	var out bytes.Buffer
	err := aptInstall(context.Background(), &out, "memcached", "memcached 1.6", slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "KONG_NO_INSTALL is set")
	require.ErrorContains(t, err, "apt-get install -y memcached")
	require.Empty(t, out.String())
}

// apt-get's installer names the exact command and why on out before it
// runs it (without sudo as root), and a failed install is an error that
// says what failed and how to install by hand. The apt-get here is a
// script on PATH that refuses.
func TestAptInstallSaysWhatItRuns(t *testing.T) {
	t.Setenv("KONG_NO_INSTALL", "")
	bin := t.TempDir()
	apt := filepath.Join(bin, "apt-get")
	require.NoError(t, os.WriteFile(apt, []byte("#!/bin/sh\necho \"E: refused $*\"\nexit 100\n"), 0o755))
	t.Setenv("PATH", bin)
	var out bytes.Buffer
	err := aptInstall(context.Background(), &out, "memcached", "memcached 1.6", slog.New(slog.DiscardHandler))
	require.Error(t, err)
	cmd := apt + " install -y -q memcached"
	if os.Geteuid() != 0 {
		cmd = "sudo -n " + cmd
	}
	lines := strings.Split(out.String(), "\n")
	require.Equal(t, "memcached is missing: installing Debian's memcached system-wide with: "+cmd, lines[0])
	require.ErrorContains(t, err, "memcached is not installed and \""+cmd+"\" failed")
	require.ErrorContains(t, err, "install it by hand: sudo apt-get install -y memcached")
	if os.Geteuid() == 0 {
		require.ErrorContains(t, err, "E: refused install -y -q memcached", "apt-get's own words are in the error")
	}
}

// Maven fetches with strict checksums.
func TestMavenChecksStrictly(t *testing.T) {
	args := mavenArgs("/cache/lib")
	require.Contains(t, args, "-C")
	require.Contains(t, args, "-DoutputDirectory=/cache/lib")
	require.Contains(t, args, "dependency:copy-dependencies")
}

// kong up says which jars it fetches first: those the cache has not
// completed.
func TestJarsToFetch(t *testing.T) {
	spec := topologytest.Profile(t, "small")
	cache := t.TempDir()
	t.Setenv("KONG_CACHE", cache)
	missing, dir, err := JarsToFetch(spec.Cassandra.Version, spec.SQS.ElasticMQVersion)
	require.NoError(t, err)
	require.Equal(t, cache, dir)
	require.Equal(t, []string{"org.apache.cassandra:cassandra-all:" + spec.Cassandra.Version,
		"org.elasticmq:elasticmq-server_2.13:" + spec.SQS.ElasticMQVersion}, missing)

	fakeAssets(t, spec)
	missing, _, err = JarsToFetch(spec.Cassandra.Version, spec.SQS.ElasticMQVersion)
	require.NoError(t, err)
	require.Empty(t, missing)
}

// A fetch says how much has arrived while Maven runs, and in all at the end.
func TestWatchFetchSaysHowMuchArrived(t *testing.T) {
	dir := t.TempDir()
	var out syncbuf.Buffer
	stop := watchFetch(dir, "cassandra-all 5.0.9", &out, 10*time.Millisecond)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.jar"), make([]byte, 1<<20), 0o644))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "1 jars, 1.0 MiB so far") }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.jar"), make([]byte, 1<<20), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a jar"), 0o644))
	stop()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Regexp(t, `^  cassandra-all 5\.0\.9: 2 jars, 2\.0 MiB in \d+s$`, lines[len(lines)-1])
	require.NotPanics(t, func() { watchFetch(dir, "x", nil, time.Millisecond)() }, "nowhere to say it: nothing watched")
}
