package assets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The Cassandra JVMs of a local world share one class-data archive (Java's
// AppCDS): the classes a node loads while it starts, parsed and verified
// once and mapped from a file by every later JVM. It saves about a quarter
// of the CPU a node spends before it serves CQL, which is what six JVMs
// starting together on two cores wait for.
//
// The archive is built once into the cache from a class list that the first
// world without one records (its first seed runs with
// -XX:DumpLoadedClassList into its own folder; BuildClassArchive dumps the
// archive from it once the world is ready). Its name carries a digest of the
// Java build and of the jars, so a new JDK or refetched jars get an archive
// of their own; a JVM that cannot map an archive (another build, another
// class path) starts without it, as Java's -Xshare:auto does.

// NoClassArchiveEnv, set to anything, starts the Cassandra JVMs without the
// class-data archive and builds none: the baseline of the start-up it saves.
const NoClassArchiveEnv = "KONG_NO_CLASS_ARCHIVE"

// CassandraClassPath is the class path every Cassandra JVM of a local world
// starts with, and the one its class-data archive is dumped with: the two
// must be equal for the archive to map.
func (p *Paths) CassandraClassPath() string { return filepath.Join(p.CassandraLib, "*") }

// ClassArchiveFlag is the JVM flag that maps the Cassandra class-data
// archive, or "" while the archive is not built.
func (p *Paths) ClassArchiveFlag() string {
	if p.CassandraArchive == "" {
		return ""
	}
	if os.Getenv(NoClassArchiveEnv) != "" {
		return ""
	}
	if _, err := os.Stat(p.CassandraArchive); err != nil {
		return ""
	}
	return "-XX:SharedArchiveFile=" + p.CassandraArchive
}

// classArchivePath names the archive of this Java and these jars in the
// cache: cassandra-VERSION/classdata/cassandra-DIGEST.jsa, where DIGEST
// covers the JVM library (path, size, time) and every jar (name, size,
// time). "" when the JVM library cannot be found.
func classArchivePath(java, lib string) string {
	if os.Getenv(NoClassArchiveEnv) != "" {
		return ""
	}
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		return ""
	}
	h := sha256.New()
	jvm := filepath.Join(filepath.Dir(filepath.Dir(real)), "lib", "server", "libjvm.so")
	st, err := os.Stat(jvm)
	if err != nil {
		return ""
	}
	fmt.Fprintf(h, "%s %d %d\n", jvm, st.Size(), st.ModTime().UnixNano())
	jars, _ := filepath.Glob(filepath.Join(lib, "*.jar"))
	for _, j := range jars {
		if st, err := os.Stat(j); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", filepath.Base(j), st.Size(), st.ModTime().UnixNano())
		}
	}
	return filepath.Join(filepath.Dir(lib), "classdata", "cassandra-"+hex.EncodeToString(h.Sum(nil))[:16]+".jsa")
}

// BuildClassArchive dumps the Cassandra class-data archive from classList,
// the classes a node recorded while it started (-XX:DumpLoadedClassList).
// It reads only the complete lines of the list (the node may still append
// to it), writes beside the archive under a name of its own and renames,
// so concurrent builders and the JVMs that map the archive never see half
// a file. It does nothing when the archive exists already.
func BuildClassArchive(ctx context.Context, p *Paths, classList string, log *slog.Logger) error {
	if p.CassandraArchive == "" {
		return nil
	}
	if _, err := os.Stat(p.CassandraArchive); err == nil {
		return nil
	}
	list, err := os.ReadFile(classList)
	if err != nil {
		return fmt.Errorf("read the class list %s: %w", classList, err)
	}
	if i := bytes.LastIndexByte(list, '\n'); i >= 0 {
		list = list[:i+1]
	}
	if bytes.Count(list, []byte{'\n'}) < 1000 {
		return fmt.Errorf("the class list %s holds %d classes: too few for a node that started", classList, bytes.Count(list, []byte{'\n'}))
	}
	dir := filepath.Dir(p.CassandraArchive)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := p.CassandraArchive + "." + strconv.Itoa(os.Getpid()) + ".tmp"
	tmpList := tmp + ".classlist"
	defer os.Remove(tmpList)
	if err := os.WriteFile(tmpList, list, 0o644); err != nil {
		return err
	}
	began := time.Now()
	cmd := exec.CommandContext(ctx, p.Java, "-Xshare:dump", "-XX:SharedClassListFile="+tmpList,
		"-XX:SharedArchiveFile="+tmp, "-cp", p.CassandraClassPath())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dump the Cassandra class-data archive: %w: %s", err, lastLines(out.String(), 5))
	}
	// A JVM maps an archive it cannot use silently without it: make sure
	// this one maps (-Xshare:on fails when it does not) before it is kept.
	check := exec.CommandContext(ctx, p.Java, "-Xshare:on", "-XX:SharedArchiveFile="+tmp, "-cp", p.CassandraClassPath(), "-version")
	if b, err := check.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("the Cassandra class-data archive does not map: %w: %s", err, lastLines(string(b), 3))
	}
	if err := os.Rename(tmp, p.CassandraArchive); err != nil {
		os.Remove(tmp)
		return err
	}
	log.Info("built the Cassandra class-data archive", "archive", p.CassandraArchive,
		"classes", bytes.Count(list, []byte{'\n'}), "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeClassArchive says where the archive is, or that the first world
// builds it, as kong setup prints it.
func (p *Paths) writeClassArchive(w io.Writer) {
	switch {
	case p.CassandraArchive == "" && os.Getenv(NoClassArchiveEnv) != "":
		fmt.Fprintf(w, "classdata  none (%s is set)\n", NoClassArchiveEnv)
	case p.CassandraArchive == "":
		fmt.Fprintf(w, "classdata  none (the JVM library of %s was not found)\n", p.Java)
	case p.ClassArchiveFlag() == "":
		fmt.Fprintf(w, "classdata  %s (not built yet: the next local world builds it)\n", p.CassandraArchive)
	default:
		fmt.Fprintf(w, "classdata  %s\n", p.CassandraArchive)
	}
}
