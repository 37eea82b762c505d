package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
)

func TestCopyTailKeepsTheEndOfALogFromALineStart(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "system.log")
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString(strings.Repeat("x", 20))
		b.WriteString(" line ")
		b.WriteString(strings.Repeat("y", i%7))
		b.WriteString("\n")
	}
	b.WriteString("ERROR the last words\n")
	require.NoError(t, os.WriteFile(src, []byte(b.String()), 0o644))

	dst := filepath.Join(dir, "copy.log")
	require.NoError(t, copyTail(src, dst, 200))
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	require.Contains(t, lines[0], "are left out", "a cut log must say so")
	require.True(t, strings.HasPrefix(lines[1], strings.Repeat("x", 20)), "the copy starts mid-line: %q", lines[1])
	require.Equal(t, "ERROR the last words", lines[len(lines)-1])
	require.LessOrEqual(t, len(got)-len(lines[0])-1, 200)

	// A small log is copied whole.
	require.NoError(t, copyTail(src, dst, 1<<20))
	got, err = os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, b.String(), string(got))

	require.Error(t, copyTail(filepath.Join(dir, "missing.log"), dst, 10))
	require.Equal(t, "us-east-1_cassandra_a.log", topology.LogFileName("us-east-1/cassandra/a"))
}
