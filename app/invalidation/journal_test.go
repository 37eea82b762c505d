package invalidation

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func journaled(t *testing.T, dir string, send sender) *Publisher {
	t.Helper()
	p := newPublisher("us-east-1", slog.New(slog.DiscardHandler))
	require.NoError(t, p.add(Target{Region: "us-west-2"}, send, 0, dir))
	return p
}

// An invalidation owed to a region outlives the process that owed it: a
// publisher started on the same folder sends what the first one queued and
// never delivered, in order, and only that.
func TestJournaledOutboxSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	west := &link{}
	first := journaled(t, dir, west.send)
	for i := 1; i <= 5; i++ {
		first.Publish(Message{Key: "k", Version: int64(i)})
	}
	require.Eventually(t, func() bool { return len(west.got()) == 5 }, 5*time.Second, 10*time.Millisecond)
	west.set(true)
	for i := 6; i <= 30; i++ {
		first.Publish(Message{Key: fmt.Sprintf("k%d", i%4), Version: int64(i)})
	}
	require.Equal(t, 25, first.Backlog()["us-west-2"])
	first.Close() // stands for the kill: Close writes nothing to the journal

	again := &link{}
	second := journaled(t, dir, again.send)
	require.Eventually(t, func() bool { return len(again.got()) == 25 }, 5*time.Second, 10*time.Millisecond,
		"the restarted publisher did not send what was owed")
	for i, m := range again.got() {
		require.Equal(t, int64(i+6), m.Version, "owed invalidations sent out of order or twice")
	}
	require.Eventually(t, func() bool { return second.Backlog()["us-west-2"] == 0 }, 5*time.Second, 10*time.Millisecond)
	second.Close()

	// Delivered means forgotten: a third start owes nothing.
	owed, _, err := replayJournal(journalPath(dir, "us-west-2"))
	require.NoError(t, err)
	assert.Empty(t, owed)
	third := &link{}
	p := journaled(t, dir, third.send)
	p.Publish(Message{Key: "k", Version: 31})
	require.Eventually(t, func() bool { return len(third.got()) == 1 }, 5*time.Second, 10*time.Millisecond)
	p.Close()
	assert.Equal(t, int64(31), third.got()[0].Version, "sequence numbers restarted under the old acknowledgement")
}

// A process killed in the middle of a write leaves a torn last line; it is
// skipped and the rest is replayed.
func TestJournalSkipsATornLastLine(t *testing.T) {
	dir := t.TempDir()
	path := journalPath(dir, "us-west-2")
	require.NoError(t, os.WriteFile(path, []byte(
		`{"seq":1,"msg":{"key":"a","version":1,"from":"us-east-1","sent":1}}`+"\n"+
			`{"seq":2,"msg":{"key":"b","version":2,"from":"us-east-1","sent":2}}`+"\n"+
			`{"ack":1}`+"\n"+
			`{"seq":3,"msg":{"key":"c","vers`), 0o600))
	owed, last, err := replayJournal(path)
	require.NoError(t, err)
	require.Len(t, owed, 1)
	assert.Equal(t, "b", owed[0].m.Key)
	assert.Equal(t, uint64(2), last)
}

func TestJournalNamesStayInTheirFolder(t *testing.T) {
	assert.Equal(t, filepath.Join("/d", "outbox-.._x_y.jsonl"), journalPath("/d", "../x/y"))
}

// A volatile outbox (SetVolatile: a broken world) queues in memory only:
// what it owed when the process died is gone, as before the journal; what
// was journaled before it turned volatile is still owed.
func TestVolatileOutboxLosesWhatItOwedAtTheKill(t *testing.T) {
	dir := t.TempDir()
	west := &link{}
	west.set(true) // the link is cut: everything stays owed
	first := journaled(t, dir, west.send)
	first.Publish(Message{Key: "k", Version: 1})
	first.SetVolatile(true)
	for i := 2; i <= 5; i++ {
		first.Publish(Message{Key: "k", Version: int64(i)})
	}
	require.Equal(t, 5, first.Backlog()["us-west-2"])
	first.Close()

	owed, _, err := replayJournal(journalPath(dir, "us-west-2"))
	require.NoError(t, err)
	require.Len(t, owed, 1, "a volatile outbox journaled what it queued")
	assert.Equal(t, int64(1), owed[0].m.Version)
}
