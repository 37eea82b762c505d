package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logFiles reads a log and its old files, newest first: path, then
// path.1, path.2, ...
func logFiles(t *testing.T, path string) []string {
	t.Helper()
	old, err := filepath.Glob(path + ".*")
	require.NoError(t, err)
	sort.Slice(old, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(old[i], path+"."))
		b, _ := strconv.Atoi(strings.TrimPrefix(old[j], path+"."))
		return a < b
	})
	var out []string
	for _, name := range append([]string{path}, old...) {
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

func TestRotatingCapsEachFileAndKeepsTheNewest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	l, err := Open(path, 1000, 2)
	require.NoError(t, err)
	var all strings.Builder
	for i := range 500 {
		line := fmt.Sprintf("line %04d %s\n", i, strings.Repeat("x", i%40))
		all.WriteString(line)
		n, err := l.Write([]byte(line))
		require.NoError(t, err)
		require.Equal(t, len(line), n)
	}
	require.NoError(t, l.Close())
	require.NoError(t, l.Err())

	files := logFiles(t, path)
	require.Equal(t, 3, len(files), "the log and two old ones; older ones are dropped")
	total := 0
	for i, f := range files {
		assert.LessOrEqual(t, len(f), 1000, "file %d", i)
		if i > 0 {
			assert.Greater(t, len(f), 900, "old file %d is filled up to a line end near the cap", i)
		}
		assert.True(t, strings.HasSuffix(f, "\n") && strings.HasPrefix(f, "line "), "file %d holds whole lines", i)
		total += len(f)
	}
	// Oldest to newest, they are the end of what was written, in order.
	kept := files[2] + files[1] + files[0]
	assert.True(t, strings.HasSuffix(all.String(), kept))
	assert.Contains(t, files[0], "line 0499")
	assert.LessOrEqual(t, total, 3000)

	// Reopened (the component restarts), it appends, and rotates when full.
	l, err = Open(path, 1000, 2)
	require.NoError(t, err)
	_, _ = l.Write([]byte(strings.Repeat("y", 50) + "\n"))
	require.NoError(t, l.Close())
	again := logFiles(t, path)
	require.Equal(t, 3, len(again))
	if len(files[0])+51 <= 1000 {
		assert.Equal(t, files[0]+strings.Repeat("y", 50)+"\n", again[0])
	} else {
		assert.Equal(t, files[0], again[1])
	}
	_, err = os.Stat(path + ".3")
	assert.True(t, os.IsNotExist(err))
}

func TestRotatingSplitsLongWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	l, err := Open(path, 100, 3)
	require.NoError(t, err)
	// No line end at all: split at the cap.
	_, _ = l.Write([]byte(strings.Repeat("a", 250)))
	// Whole lines in one write: split at the line ends.
	_, _ = l.Write([]byte(strings.Repeat("b", 59) + "\n" + strings.Repeat("c", 59) + "\n"))
	require.NoError(t, l.Close())
	files := logFiles(t, path)
	assert.Equal(t, []string{
		strings.Repeat("c", 59) + "\n",
		strings.Repeat("b", 59) + "\n",
		strings.Repeat("a", 50),
		strings.Repeat("a", 100),
	}, files)

	// Without old files to keep, the log starts again empty.
	path = filepath.Join(t.TempDir(), "d.log")
	l, err = Open(path, 100, 0)
	require.NoError(t, err)
	_, _ = l.Write([]byte(strings.Repeat("d", 80) + "\n"))
	_, _ = l.Write([]byte(strings.Repeat("e", 80) + "\n"))
	require.NoError(t, l.Close())
	assert.Equal(t, []string{strings.Repeat("e", 80) + "\n"}, logFiles(t, path))

	_, err = Open(path, 0, 2)
	assert.Error(t, err)
}

func TestRotatingNeverFailsAWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "c.log")
	l, err := Open(path, 100, 2)
	require.NoError(t, err)
	// The folder goes away: rotating cannot open a new file. The writes
	// still succeed (an error would close the pipe on the child), the text
	// is lost and the error kept.
	require.NoError(t, os.RemoveAll(dir))
	for range 5 {
		n, err := l.Write([]byte(strings.Repeat("z", 60) + "\n"))
		require.NoError(t, err)
		require.Equal(t, 61, n)
	}
	assert.Error(t, l.Err())
	// Once the folder is back, the log is written again.
	require.NoError(t, os.MkdirAll(dir, 0o755))
	_, err = l.Write([]byte("back\n"))
	require.NoError(t, err)
	require.NoError(t, l.Close())
	assert.Equal(t, []string{"back\n"}, logFiles(t, path))
	_, err = l.Write([]byte("after close\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"back\n"}, logFiles(t, path))
}
