package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Assets are the programs and jars a local world runs, found or fetched once
// into a cache shared by every world on the machine.
type Assets struct {
	Java          string // java executable (17 or newer)
	CassandraLib  string // folder of cassandra-all and its dependencies
	ElasticMQLib  string // folder of elasticmq-server and its dependencies
	Memcached     string // memcached executable
	JammAgent     string // the jamm javaagent jar Cassandra needs
	CassandraVers string
}

// CacheDir is where fetched jars live: $KONG_CACHE, else ~/.cache/kong.
func CacheDir() string {
	if d := os.Getenv("KONG_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kong")
	}
	return filepath.Join(os.TempDir(), "kong-cache")
}

// EnsureAssets finds or fetches everything a world needs: Java 17+, the
// Cassandra and ElasticMQ jars (with Maven, into the cache) and memcached
// (with apt-get). Every failure names what is missing and how to get it.
func EnsureAssets(ctx context.Context, cassandraVersion, elasticmqVersion string, log *slog.Logger) (*Assets, error) {
	a := &Assets{CassandraVers: cassandraVersion}
	var err error
	if a.Java, err = findJava(ctx); err != nil {
		return nil, err
	}
	cache := CacheDir()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("create cache folder %s: %w (set KONG_CACHE to a writable folder)", cache, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	a.CassandraLib = filepath.Join(cache, "cassandra-"+cassandraVersion, "lib")
	if err := fetchJars(ctx, a.CassandraLib, "org.apache.cassandra", "cassandra-all", cassandraVersion, log); err != nil {
		return nil, err
	}
	a.ElasticMQLib = filepath.Join(cache, "elasticmq-"+elasticmqVersion, "lib")
	if err := fetchJars(ctx, a.ElasticMQLib, "org.elasticmq", "elasticmq-server_2.13", elasticmqVersion, log); err != nil {
		return nil, err
	}
	jamm, _ := filepath.Glob(filepath.Join(a.CassandraLib, "jamm-*.jar"))
	if len(jamm) == 0 {
		return nil, fmt.Errorf("the jamm agent jar is missing from %s: remove that folder and run again to refetch it", a.CassandraLib)
	}
	a.JammAgent = jamm[0]
	if a.Memcached, err = findMemcached(ctx, log); err != nil {
		return nil, err
	}
	return a, nil
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
// dir with Maven, unless a previous fetch completed.
func fetchJars(ctx context.Context, dir, group, artifact, version string, log *slog.Logger) error {
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return fmt.Errorf("%s:%s:%s is not in the cache and Maven (mvn) is not installed: install it with apt-get install -y maven", group, artifact, version)
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
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "dependency:copy-dependencies",
		"-DincludeScope=runtime", "-DoutputDirectory="+dir)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("could not fetch %s:%s:%s with Maven from Maven Central (check the network and ~/.m2/settings.xml): %w\n%s",
			group, artifact, version, err, tail(out, 20))
	}
	jars, _ := filepath.Glob(filepath.Join(dir, artifact+"-*.jar"))
	if len(jars) == 0 {
		return fmt.Errorf("maven finished but %s-%s.jar is not in %s", artifact, version, dir)
	}
	return os.WriteFile(done, []byte(version+"\n"), 0o644)
}

func findMemcached(ctx context.Context, log *slog.Logger) (string, error) {
	for _, p := range []string{"memcached", "/usr/bin/memcached", "/usr/local/bin/memcached"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	if err := aptInstall(ctx, "memcached", "memcached 1.6", log); err != nil {
		return "", err
	}
	return exec.LookPath("memcached")
}

// EnsureChromium finds the headless browser in which the report tests draw
// the HTML reports (Debian's chromium), installing it with apt-get when it
// is missing. $KONG_CHROMIUM names another Chromium executable.
func EnsureChromium(ctx context.Context, log *slog.Logger) (string, error) {
	if p := os.Getenv("KONG_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KONG_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, p := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	if err := aptInstall(ctx, "chromium", "Chromium (or set KONG_CHROMIUM to a Chromium executable)", log); err != nil {
		return "", err
	}
	return exec.LookPath("chromium")
}

// aptInstall installs a Debian package (as root, or with sudo -n), running
// apt-get update once when the install fails (a fresh machine may have no
// package lists). what says what to install by hand when apt-get is not
// there. Every error names the package and how to install it.
func aptInstall(ctx context.Context, pkg, what string, log *slog.Logger) error {
	if os.Getenv("KONG_NO_INSTALL") != "" {
		return fmt.Errorf("%s is not installed (KONG_NO_INSTALL is set): install it with apt-get install -y %s", pkg, pkg)
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
	log.Info("installing "+pkg, "command", strings.Join(argv, " "))
	run := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	out, err := run(argv...)
	if err != nil {
		// The package lists may be missing on a fresh machine: update once and retry.
		if o, uerr := run(asRoot(apt, "update", "-q")...); uerr != nil {
			out = append(out, o...)
		} else {
			out, err = run(argv...)
		}
	}
	if err != nil {
		return fmt.Errorf("%s is not installed and %q failed: %w\n%s\ninstall it by hand: sudo apt-get install -y %s",
			pkg, strings.Join(argv, " "), err, tail(out, 10), pkg)
	}
	return nil
}

// lockFile takes an exclusive lock on path, waiting until ctx ends, so that
// concurrent test packages fetch the cache once.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock %s (another kong holds it): %w", path, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func tail(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
