package assets

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeJDK makes a JDK folder with a java and a libjvm.so, and a lib folder
// of two jars.
func fakeJDK(t *testing.T) (java, lib string) {
	t.Helper()
	jdk := t.TempDir()
	java = filepath.Join(jdk, "bin", "java")
	require.NoError(t, os.MkdirAll(filepath.Dir(java), 0o755))
	require.NoError(t, os.WriteFile(java, []byte("#!/bin/sh\n"), 0o755))
	jvm := filepath.Join(jdk, "lib", "server", "libjvm.so")
	require.NoError(t, os.MkdirAll(filepath.Dir(jvm), 0o755))
	require.NoError(t, os.WriteFile(jvm, []byte("jvm"), 0o644))
	lib = filepath.Join(t.TempDir(), "cassandra-5.0.9", "lib")
	require.NoError(t, os.MkdirAll(lib, 0o755))
	for _, j := range []string{"a.jar", "b.jar"} {
		require.NoError(t, os.WriteFile(filepath.Join(lib, j), []byte(j), 0o644))
	}
	return java, lib
}

func TestClassArchiveIsNamedAfterTheJVMAndTheJars(t *testing.T) {
	java, lib := fakeJDK(t)
	first := classArchivePath(java, lib)
	require.Equal(t, filepath.Join(filepath.Dir(lib), "classdata"), filepath.Dir(first))
	require.True(t, strings.HasPrefix(filepath.Base(first), "cassandra-") && strings.HasSuffix(first, ".jsa"), first)
	require.Equal(t, first, classArchivePath(java, lib), "the same JVM and jars name the same archive")

	// A refetched jar names another archive: the old one would not map.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(lib, "b.jar"), later, later))
	second := classArchivePath(java, lib)
	require.NotEqual(t, first, second)

	// So does another JVM build.
	jvm := filepath.Join(filepath.Dir(filepath.Dir(java)), "lib", "server", "libjvm.so")
	require.NoError(t, os.WriteFile(jvm, []byte("another jvm"), 0o644))
	require.NotEqual(t, second, classArchivePath(java, lib))

	// No JVM library: no archive, and no flag.
	require.NoError(t, os.Remove(jvm))
	require.Empty(t, classArchivePath(java, lib))
	require.Empty(t, (&Paths{}).ClassArchiveFlag())
}

func TestClassArchiveFlagOnlyOnceBuilt(t *testing.T) {
	java, lib := fakeJDK(t)
	p := &Paths{Java: java, CassandraLib: lib, CassandraArchive: classArchivePath(java, lib)}
	require.Empty(t, p.ClassArchiveFlag(), "not built yet")
	var b strings.Builder
	p.writeClassArchive(&b)
	require.Contains(t, b.String(), "not built yet")

	require.NoError(t, os.MkdirAll(filepath.Dir(p.CassandraArchive), 0o755))
	require.NoError(t, os.WriteFile(p.CassandraArchive, []byte("archive"), 0o444))
	require.Equal(t, "-XX:SharedArchiveFile="+p.CassandraArchive, p.ClassArchiveFlag())
	require.Equal(t, filepath.Join(lib, "*"), p.CassandraClassPath())

	// Built already: BuildClassArchive leaves it as it is.
	require.NoError(t, BuildClassArchive(context.Background(), p, filepath.Join(t.TempDir(), "absent.lst"), slog.New(slog.DiscardHandler)))

	t.Setenv(NoClassArchiveEnv, "1")
	require.Empty(t, p.ClassArchiveFlag(), "switched off")
	require.Empty(t, classArchivePath(java, lib))
}

func TestBuildClassArchiveRefusesAShortList(t *testing.T) {
	java, lib := fakeJDK(t)
	p := &Paths{Java: java, CassandraLib: lib, CassandraArchive: classArchivePath(java, lib)}
	list := filepath.Join(t.TempDir(), "classes.lst")
	require.NoError(t, os.WriteFile(list, []byte("java/lang/Object id: 0\njava/lang/String id: 1\n"), 0o644))
	err := BuildClassArchive(context.Background(), p, list, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "holds 2 classes")
	_, statErr := os.Stat(p.CassandraArchive)
	require.True(t, os.IsNotExist(statErr), "no archive is left behind")
}
