// Package assets finds, or fetches once into the user's cache, what a
// local world runs: Java 17 or newer, the Cassandra and ElasticMQ jars,
// memcached; and, for kong setup, the Chromium the report tests draw in.
package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kongchaos/kong/internal/flock"
	"github.com/kongchaos/kong/topology"
)

// Paths are the programs and jars a local world runs, found or fetched once
// into a cache shared by every world on the machine.
type Paths struct {
	Java          string // java executable (17 or newer)
	CassandraLib  string // folder of cassandra-all and its dependencies
	ElasticMQLib  string // folder of elasticmq-server and its dependencies
	Memcached     string // memcached executable
	JammAgent     string // the jamm javaagent jar Cassandra needs
	CassandraVers string
	// CassandraArchive is where the Cassandra JVMs' class-data archive of
	// this Java and these jars lives, built or not (classdata.go); "" when
	// it cannot be named.
	CassandraArchive string
}

// Write says where each of them is, as kong setup prints them.
func (p *Paths) Write(w io.Writer) {
	fmt.Fprintf(w, "java       %s\n", p.Java)
	fmt.Fprintf(w, "cassandra  %s (%s)\n", p.CassandraLib, p.CassandraVers)
	fmt.Fprintf(w, "elasticmq  %s\n", p.ElasticMQLib)
	fmt.Fprintf(w, "memcached  %s\n", p.Memcached)
	p.writeClassArchive(w)
}

// CacheDir is where fetched jars live: $KONG_CACHE, else kong in the user's
// own cache folder ($XDG_CACHE_HOME, else ~/.cache). It is never a shared
// folder such as /tmp, where another user could plant the jars a world runs:
// with neither KONG_CACHE nor a user cache folder, it is an error.
func CacheDir() (string, error) {
	if d := os.Getenv("KONG_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no folder of yours to cache kong's jars in (%v): set KONG_CACHE to one, or HOME", err)
	}
	return filepath.Join(d, "kong"), nil
}

// SetupHint says how to get what a world needs and is missing.
const SetupHint = "run `kong setup` (or `make setup`)"

// installer installs a Debian package system-wide, saying on out what it
// installs before it does. what names the program for a manual install.
type installer func(ctx context.Context, out io.Writer, pkg, what string, log *slog.Logger) error

// installPackage is the installer of Setup and EnsureChromium (`kong
// setup`), the one command that changes the system.
var installPackage installer = aptInstall

// Ensure finds everything a world needs: Java 17+, the Cassandra and
// ElasticMQ jars (fetched with Maven into the user's cache when missing,
// said in the log) and memcached. It installs nothing on the system: a
// missing memcached or Java is an error that names it and how to get it.
// Bringing a world up (kong up, the tests' worlds) goes through here.
func Ensure(ctx context.Context, cassandraVersion, elasticmqVersion string, log *slog.Logger) (*Paths, error) {
	return ensure(ctx, cassandraVersion, elasticmqVersion, nil, nil, log, true)
}

// Setup is Ensure for `kong setup`: memcached, when missing, is
// installed with apt-get, after a line on out that says so.
func Setup(ctx context.Context, cassandraVersion, elasticmqVersion string, out io.Writer, log *slog.Logger) (*Paths, error) {
	return ensure(ctx, cassandraVersion, elasticmqVersion, installPackage, out, log, true)
}

// Jars fetches the Cassandra and ElasticMQ jars alone (kong's container
// images hold them): no memcached is looked for or installed. Paths'
// Memcached stays empty.
func Jars(ctx context.Context, cassandraVersion, elasticmqVersion string, out io.Writer, log *slog.Logger) (*Paths, error) {
	return ensure(ctx, cassandraVersion, elasticmqVersion, nil, out, log, false)
}

// ensure finds or fetches the assets; install, when not nil, installs
// what is missing from the system.
func ensure(ctx context.Context, cassandraVersion, elasticmqVersion string, install installer, out io.Writer, log *slog.Logger, withMemcached bool) (*Paths, error) {
	a := &Paths{CassandraVers: cassandraVersion}
	var err error
	if a.Java, err = findJava(ctx); err != nil {
		return nil, err
	}
	cache, unlock, err := lockCache(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()

	a.CassandraLib = filepath.Join(cache, "cassandra-"+cassandraVersion, "lib")
	if err := fetchJars(ctx, a.CassandraLib, "org.apache.cassandra", "cassandra-all", cassandraVersion, out, log); err != nil {
		return nil, err
	}
	a.ElasticMQLib = filepath.Join(cache, "elasticmq-"+elasticmqVersion, "lib")
	if err := fetchJars(ctx, a.ElasticMQLib, "org.elasticmq", "elasticmq-server_2.13", elasticmqVersion, out, log); err != nil {
		return nil, err
	}
	jamm, _ := filepath.Glob(filepath.Join(a.CassandraLib, "jamm-*.jar"))
	if len(jamm) == 0 {
		return nil, fmt.Errorf("the jamm agent jar is missing from %s: remove that folder and run again to refetch it", a.CassandraLib)
	}
	a.JammAgent = jamm[0]
	a.CassandraArchive = classArchivePath(a.Java, a.CassandraLib)
	if !withMemcached {
		return a, nil
	}
	if a.Memcached, err = findMemcached(ctx, install, out, log); err != nil {
		return nil, err
	}
	return a, nil
}

// JarsToFetch lists the jars a world of these versions needs that are not
// in the cache yet (Ensure fetches them), and the cache.
func JarsToFetch(cassandraVersion, elasticmqVersion string) ([]string, string, error) {
	cache, err := CacheDir()
	if err != nil {
		return nil, "", err
	}
	var missing []string
	for _, j := range []struct{ dir, name string }{
		{"cassandra-" + cassandraVersion, "org.apache.cassandra:cassandra-all:" + cassandraVersion},
		{"elasticmq-" + elasticmqVersion, "org.elasticmq:elasticmq-server_2.13:" + elasticmqVersion},
	} {
		if _, err := os.Stat(filepath.Join(cache, j.dir, "lib", ".complete")); err != nil {
			missing = append(missing, j.name)
		}
	}
	return missing, cache, nil
}

var javaVersion = regexp.MustCompile(`version "(\d+)`)

func findJava(ctx context.Context) (string, error) {
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	}
	path, err := exec.LookPath(java)
	if err != nil {
		return "", fmt.Errorf("java not found: Cassandra 5.0 needs Java 17 (install it with: apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME)")
	}
	out, err := exec.CommandContext(ctx, path, "-version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("run %s -version: %w: %s", path, err, out)
	}
	m := javaVersion.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("cannot read the Java version from %q", out)
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 17 {
		return "", fmt.Errorf("java %s is too old: Cassandra 5.0 needs Java 17 (set JAVA_HOME to a JDK 17)", m[1])
	}
	return path, nil
}

// fetchJars copies group:artifact:version and its runtime dependencies into
// dir with Maven, unless a previous fetch completed; while Maven runs, out
// (when not nil) is told every few seconds how much has arrived.
func fetchJars(ctx context.Context, dir, group, artifact, version string, out io.Writer, log *slog.Logger) error {
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return fmt.Errorf("%s:%s:%s is not in the cache and Maven (mvn) is not installed: install it (sudo apt-get install -y maven), then %s", group, artifact, version, SetupHint)
	}
	log.Info("fetching jars with Maven", "artifact", group+":"+artifact+":"+version, "into", dir)
	work, err := os.MkdirTemp("", "kong-mvn-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	pom := fmt.Sprintf(`<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kong.fetch</groupId><artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>
  </dependencies>
</project>
`, group, artifact, version)
	if err := os.WriteFile(filepath.Join(work, "pom.xml"), []byte(pom), 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(dir)
	// -C: strict checksums, a jar whose checksum does not match fails the fetch.
	cmd := exec.CommandContext(ctx, mvn, mavenArgs(dir)...)
	cmd.Dir = work
	stop := watchFetch(dir, artifact+" "+version, out, fetchReportEvery)
	mvnOut, err := cmd.CombinedOutput()
	stop()
	if err != nil {
		return fmt.Errorf("could not fetch %s:%s:%s with Maven from Maven Central (check the network and ~/.m2/settings.xml): %w\n%s",
			group, artifact, version, err, topology.LastLines(mvnOut, 20))
	}
	jars, _ := filepath.Glob(filepath.Join(dir, artifact+"-*.jar"))
	if len(jars) == 0 {
		return fmt.Errorf("maven finished but %s-%s.jar is not in %s", artifact, version, dir)
	}
	return os.WriteFile(done, []byte(version+"\n"), 0o644)
}

// fetchReportEvery is how often a fetch says how much has arrived.
const fetchReportEvery = 5 * time.Second

// watchFetch tells out every interval how many jars, and how many MiB,
// have arrived in dir, and once more, with the time it took, when the
// returned stop is called. A nil out watches nothing.
func watchFetch(dir, what string, out io.Writer, every time.Duration) (stop func()) {
	if out == nil {
		return func() {}
	}
	start := time.Now()
	quit, done := make(chan struct{}), make(chan struct{})
	say := func(suffix string) {
		jars, size := jarsIn(dir)
		fmt.Fprintf(out, "  %s: %d jars, %.1f MiB%s\n", what, jars, float64(size)/(1<<20), suffix)
	}
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				say(" so far")
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		say(fmt.Sprintf(" in %s", time.Since(start).Round(time.Second)))
	}
}

// jarsIn counts the jars in dir and their bytes.
func jarsIn(dir string) (jars int, size int64) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".jar") {
			jars++
			size += info.Size()
		}
	}
	return jars, size
}

// mavenArgs fetch the pom's dependencies into dir, with strict checksums.
func mavenArgs(dir string) []string {
	return []string{"-B", "-q", "-C", "dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory=" + dir}
}

// memcachedPaths are where memcached is looked for, in order.
var memcachedPaths = []string{"memcached", "/usr/bin/memcached", "/usr/local/bin/memcached"}

func lookMemcached() (string, bool) {
	for _, p := range memcachedPaths {
		if path, err := exec.LookPath(p); err == nil {
			return path, true
		}
	}
	return "", false
}

// findMemcached finds memcached; when it is missing, install (kong setup's)
// installs it, and without an installer that is an error saying how to get
// it.
func findMemcached(ctx context.Context, install installer, out io.Writer, log *slog.Logger) (string, error) {
	if path, ok := lookMemcached(); ok {
		return path, nil
	}
	if install == nil {
		return "", errors.New("memcached not found: run `kong setup` (installs Debian's memcached with apt-get) or install it yourself")
	}
	if err := install(ctx, out, "memcached", "memcached 1.6", log); err != nil {
		return "", err
	}
	if path, ok := lookMemcached(); ok {
		return path, nil
	}
	return "", errors.New("memcached was installed but is not on PATH: put it there")
}

// EnsureChromium finds the headless browser in which the report tests draw
// the HTML reports (Debian's chromium), installing it with apt-get when it
// is missing, after a line on out that says so; only `kong setup` calls it.
// $KONG_CHROMIUM names another Chromium executable.
func EnsureChromium(ctx context.Context, out io.Writer, log *slog.Logger) (string, error) {
	if p := os.Getenv("KONG_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KONG_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	return ensureProgram(ctx, out, log, "chromium", "Chromium (or set KONG_CHROMIUM to a Chromium executable)", "chromium", "/usr/bin/chromium", "chromium-browser")
}

// EnsureDebootstrap returns debootstrap, which makes the Debian base of
// kong's container images, installing Debian's package when it is missing
// (a line on out says so first).
func EnsureDebootstrap(ctx context.Context, out io.Writer, log *slog.Logger) (string, error) {
	return ensureProgram(ctx, out, log, "debootstrap", "debootstrap (it makes the Debian base of kong's images)", "debootstrap", "/usr/sbin/debootstrap")
}

// EnsureDockerd returns dockerd, installing Debian's docker.io (the
// Docker Engine) when it is missing, after a line on out that says so.
func EnsureDockerd(ctx context.Context, out io.Writer, log *slog.Logger) (string, error) {
	return ensureProgram(ctx, out, log, "docker.io", "Docker Engine (dockerd)", "dockerd", "/usr/sbin/dockerd")
}

// EnsureContainerd returns containerd (with its CRI plugin and runc, for
// a real Kubernetes node), installing Debian's containerd when missing.
func EnsureContainerd(ctx context.Context, out io.Writer, log *slog.Logger) (string, error) {
	return ensureProgram(ctx, out, log, "containerd", "containerd (a container runtime with its CRI plugin)", "containerd", "/usr/bin/containerd")
}

// EnsureCNIPlugins returns the folder of the CNI plugins (bridge,
// host-local, loopback, portmap), installing Debian's
// containernetworking-plugins when they are missing.
func EnsureCNIPlugins(ctx context.Context, out io.Writer, log *slog.Logger) (string, error) {
	bridge, err := ensureProgram(ctx, out, log, "containernetworking-plugins", "the CNI plugins into /usr/lib/cni", "/usr/lib/cni/bridge")
	if err != nil {
		return "", err
	}
	return filepath.Dir(bridge), nil
}

// ensureProgram finds the first of names on PATH (or at its path),
// installing Debian's package pkg when none is there; what names the
// program for a manual install.
func ensureProgram(ctx context.Context, out io.Writer, log *slog.Logger, pkg, what string, names ...string) (string, error) {
	look := func() (string, error) {
		var err error
		for _, n := range names {
			var path string
			if path, err = exec.LookPath(n); err == nil {
				return path, nil
			}
		}
		return "", err
	}
	if path, err := look(); err == nil {
		return path, nil
	}
	if err := installPackage(ctx, out, pkg, what, log); err != nil {
		return "", err
	}
	return look()
}

// aptInstall installs a Debian package (as root, or with sudo -n), running
// apt-get update once when the install fails (a fresh machine may have no
// package lists), after a line on out with the command it runs. what says
// what to install by hand when apt-get is not there. With KONG_NO_INSTALL
// set it installs nothing and says what to install. Every error names the
// package and how to install it.
func aptInstall(ctx context.Context, out io.Writer, pkg, what string, log *slog.Logger) error {
	if os.Getenv("KONG_NO_INSTALL") != "" {
		return fmt.Errorf("%s is not installed (KONG_NO_INSTALL is set, so kong installs nothing): install it with sudo apt-get install -y %s", pkg, pkg)
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return fmt.Errorf("%s is not installed and apt-get is not available: install %s and put it on PATH", pkg, what)
	}
	asRoot := func(args ...string) []string {
		if os.Geteuid() != 0 {
			return append([]string{"sudo", "-n"}, args...)
		}
		return args
	}
	argv := asRoot(apt, "install", "-y", "-q", pkg)
	fmt.Fprintf(out, "%s is missing: installing Debian's %s system-wide with: %s\n", pkg, pkg, strings.Join(argv, " "))
	log.Info("installing "+pkg, "command", strings.Join(argv, " "))
	run := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	got, err := run(argv...)
	if err != nil {
		// The package lists may be missing on a fresh machine: update once and retry.
		update := asRoot(apt, "update", "-q")
		fmt.Fprintf(out, "installing %s failed: updating the package lists with %s and trying again\n", pkg, strings.Join(update, " "))
		if o, uerr := run(update...); uerr != nil {
			got = append(got, o...)
		} else {
			got, err = run(argv...)
		}
	}
	if err != nil {
		return fmt.Errorf("%s is not installed and %q failed: %w\n%s\ninstall it by hand: sudo apt-get install -y %s",
			pkg, strings.Join(argv, " "), err, topology.LastLines(got, 10), pkg)
	}
	return nil
}

// lockCache creates the cache folder when missing and locks it, so that
// concurrent kong processes fetch and install into it once.
func lockCache(ctx context.Context) (cache string, unlock func(), err error) {
	if cache, err = CacheDir(); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", nil, fmt.Errorf("create cache folder %s: %w (set KONG_CACHE to a writable folder)", cache, err)
	}
	unlock, err = lockFile(ctx, filepath.Join(cache, ".lock"))
	return cache, unlock, err
}

// lockFile takes an exclusive lock on path, waiting until ctx ends, so that
// concurrent test packages fetch the cache once.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := flock.Wait(ctx, f); err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for the lock %s (another kong holds it): %w", path, err)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
