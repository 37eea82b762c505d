package member

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/evcache"
)

// cacheOf plays merges on one zone's value, as evcache.Update does.
type cacheOf struct {
	value []byte
	found bool
}

func (c *cacheOf) apply(m evcache.Merge) bool {
	v, ok := m(c.value, c.found)
	if ok {
		c.value, c.found = v, true
	}
	return ok
}

func (c *cacheOf) page(t *testing.T) historyPage {
	t.Helper()
	var p historyPage
	require.NoError(t, json.Unmarshal(c.value, &p))
	return p
}

func historyOf(ats ...int64) History {
	h := History{Member: "m1"}
	for _, at := range ats {
		h.Entries = append(h.Entries, HistoryEntry{At: at})
		h.Version = max(h.Version, at)
	}
	return h
}

// An append held up on its way to this region (a hint) while a newer one
// arrived: the page Cassandra gives shows the newer and not the older, and
// must not be cached as if whole.
func TestHistoryCacheWaitsForEveryAnnouncedAppend(t *testing.T) {
	c := &cacheOf{}
	require.True(t, c.apply(announceAppend(524)))
	require.True(t, c.apply(announceAppend(526)))
	require.Equal(t, []int64{524, 526}, c.page(t).Pending)

	require.False(t, c.apply(fillHistory(historyOf(526, 499))), "a page without 524 replaced the tombstone")
	require.True(t, c.page(t).Tombstone)
	require.True(t, c.apply(fillHistory(historyOf(526, 524, 499))))
	p := c.page(t)
	require.False(t, p.Tombstone)
	require.Len(t, p.Entries, 3)

	// Announced again (another region's invalidation of a shown append):
	// the page stays.
	require.False(t, c.apply(announceAppend(524)))
	// An older append announced late, that the page does not show: a
	// tombstone again, whatever the page's version.
	require.True(t, c.apply(announceAppend(510)))
	p = c.page(t)
	require.True(t, p.Tombstone)
	require.Equal(t, int64(526), p.Version)
	require.Equal(t, []int64{510}, p.Pending)
	require.False(t, c.apply(fillHistory(historyOf(526, 524, 499))))
	require.True(t, c.apply(fillHistory(historyOf(526, 524, 510, 499))))
}

func TestHistoryCacheFills(t *testing.T) {
	c := &cacheOf{}
	require.True(t, c.apply(fillHistory(historyOf(20, 10))), "an empty cache takes a page")
	require.False(t, c.apply(fillHistory(historyOf(10))), "an older page does not replace a newer one")
	require.True(t, c.apply(fillHistory(historyOf(30, 20, 10))))

	// A tombstone from before pending lists waits for its own version.
	c = &cacheOf{value: tombstone(40), found: true}
	require.False(t, c.apply(fillHistory(historyOf(30))))
	require.True(t, c.apply(fillHistory(historyOf(40, 30))))

	// A full page owes no append older than all it shows.
	c = &cacheOf{}
	require.True(t, c.apply(announceAppend(5)))
	var full []int64
	for i := range HistoryPage {
		full = append(full, int64(1000-i))
	}
	require.True(t, c.apply(fillHistory(historyOf(full...))))
	require.False(t, c.apply(announceAppend(5)), "a full page does not show what it cannot")
}
