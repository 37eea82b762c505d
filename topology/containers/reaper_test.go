package containers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The reaper runs kong's container-reaper for the world and waits, for as
// long as its owner holds the pipe, in a session of its own.
func TestReaperWaitsForItsOwner(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	bin := filepath.Join(dir, "kong")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\necho \"$@\" > "+out+".args\necho $$ $(ps -o sid= -p $$) > "+out+".sid\ncat > /dev/null\necho ended > "+out+"\n"), 0o755))
	r, err := StartReaper(bin, "w1", filepath.Join(dir, "reaper.log"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := os.Stat(out + ".sid"); return err == nil }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.NoFileExists(t, out, "the reaper acted while its owner still held the pipe")
	args, err := os.ReadFile(out + ".args")
	require.NoError(t, err)
	require.Equal(t, "serve container-reaper --world w1\n", string(args))
	sid, err := os.ReadFile(out + ".sid")
	require.NoError(t, err)
	f := strings.Fields(string(sid))
	require.Len(t, f, 2)
	require.Equal(t, f[0], f[1], "the reaper leads a session of its own (pid, session)")
	require.NoError(t, r.Release())
	ended, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "ended\n", string(ended))
	require.NoError(t, (*Reaper)(nil).Release())
}

// A disarmed reaper removes nothing; one whose owner ended goes on to
// remove the world (here it stops at the world's name, which DownWorld
// checks before it asks any engine).
func TestReapOnEOFUnlessDisarmed(t *testing.T) {
	const bad = "../not a world"
	require.NoError(t, ReapOnEOF(strings.NewReader(string(disarm)), bad), "a disarmed reaper went on")
	err := ReapOnEOF(strings.NewReader(""), bad)
	require.ErrorContains(t, err, "reap world "+bad, "the owner ended: the reaper goes on to remove the world")
}
