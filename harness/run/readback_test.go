package run

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kongchaos/kong/harness/history"
)

// The read-back probes a viewing history again until every acknowledged
// append is shown, not only the newest.
func TestMissingAppend(t *testing.T) {
	h := &history.History{Ops: []history.Op{
		{Type: history.OK, Op: history.OpAppendHistory, Key: "history/m1", Version: 10},
		{Type: history.OK, Op: history.OpAppendHistory, Key: "history/m1", Version: 20},
		{Type: history.Info, Op: history.OpAppendHistory, Key: "history/m1", Version: 25},
		{Type: history.OK, Op: history.OpAppendHistory, Key: "history/m1", Version: 30},
		{Type: history.OK, Op: history.OpWriteProfile, Key: "profile/m1", Version: 40},
	}}
	keys, newest, appends := acknowledgedKeys(h)
	assert.Equal(t, []string{"history/m1", "profile/m1"}, keys)
	assert.Equal(t, int64(30), newest["history/m1"])
	assert.Equal(t, []int64{10, 20, 30}, appends["history/m1"], "acknowledged appends only")
	assert.Empty(t, appends["profile/m1"])

	ok := func(cut bool, entries ...int64) history.Op {
		return history.Op{Type: history.OK, Entries: entries, EntriesCut: cut}
	}
	a := appends["history/m1"]
	assert.True(t, missingAppend(ok(false, 30, 10), a), "the newest is shown, the middle one is not")
	assert.False(t, missingAppend(ok(false, 30, 25, 20, 10), a))
	assert.False(t, missingAppend(ok(true, 30, 20), a), "10 is older than a full page")
	assert.True(t, missingAppend(ok(true, 30, 10), a))
	assert.False(t, missingAppend(history.Op{Type: history.Fail}, a), "a failed probe is retried for its type, not here")
}
