package member

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/kongchaos/kong/app/evcache"
)

// A viewing history is cached as a page, whose version is its newest
// entry's. A page is a set, and its version does not say it is whole: an
// append whose replication to this region was held up (its coordinator's
// link cut, a replica killed as it arrived: it comes later, in a hint) may
// be missing from a page that shows a newer one. So an announced append
// (written here, or named by another region's invalidation) leaves a
// tombstone that lists it as pending, and a page read from Cassandra
// replaces the tombstone only once it shows every pending append; until
// then every read goes to Cassandra, and the first page that shows them
// all is cached. A page that does not show an announced append is
// replaced by such a tombstone, whatever its version.
//
// Pending keeps at most maxPending appends, the newest: an older one that
// a full page no longer shows is not owed to it either.
const maxPending = 2 * HistoryPage

// historyPage is what the cache holds of a history: a page (Entries) or a
// tombstone (cachedHead.Tombstone, with its Pending appends).
type historyPage struct {
	cachedHead
	Entries []HistoryEntry `json:"entries"`
}

// shows says whether a page shows the append at version v: among its
// entries, or older than all of them on a full page (which shows the
// newest HistoryPage only).
func (p *historyPage) shows(v int64) bool {
	if slices.ContainsFunc(p.Entries, func(e HistoryEntry) bool { return e.At == v }) {
		return true
	}
	if len(p.Entries) < HistoryPage {
		return false
	}
	oldest := slices.MinFunc(p.Entries, func(a, b HistoryEntry) int { return cmp.Compare(a.At, b.At) })
	return v < oldest.At
}

// pending are a tombstone's announced appends; a tombstone written before
// there were lists stands for its own version.
func (p *historyPage) pending() []int64 {
	if len(p.Pending) == 0 && p.Version != 0 {
		return []int64{p.Version}
	}
	return p.Pending
}

// announceAppend is the Merge that tells the cache of a history of an
// append at version v: a tombstone that lists it, unless what is cached
// shows it already.
func announceAppend(v int64) evcache.Merge {
	return func(old []byte, found bool) ([]byte, bool) {
		var p historyPage
		if !found || json.Unmarshal(old, &p) != nil {
			return tombstoneOf(v, []int64{v}), true
		}
		if !p.Tombstone {
			if p.shows(v) {
				return nil, false
			}
			return tombstoneOf(max(p.Version, v), []int64{v}), true
		}
		pending := p.pending()
		if slices.Contains(pending, v) {
			return nil, false
		}
		pending = append(pending, v)
		slices.Sort(pending)
		if len(pending) > maxPending {
			pending = pending[len(pending)-maxPending:]
		}
		return tombstoneOf(max(p.Version, v), pending), true
	}
}

func tombstoneOf(version int64, pending []int64) []byte {
	data, _ := json.Marshal(cachedHead{Version: version, Tombstone: true, Pending: pending})
	return data
}

// fillHistory is the Merge that caches a page h read from Cassandra: in
// place of nothing, of an older page, or of a tombstone whose pending
// appends it all shows.
func fillHistory(h History) evcache.Merge {
	data, err := json.Marshal(h)
	return func(old []byte, found bool) ([]byte, bool) {
		if err != nil {
			return nil, false
		}
		if !found {
			return data, true
		}
		var p historyPage
		if json.Unmarshal(old, &p) != nil {
			return data, true
		}
		if !p.Tombstone {
			return data, p.Version < h.Version
		}
		page := historyPage{cachedHead: cachedHead{Version: h.Version}, Entries: h.Entries}
		for _, v := range p.pending() {
			if !page.shows(v) {
				return nil, false
			}
		}
		return data, true
	}
}

// isHistoryKey says whether a cache key is a viewing history's.
func isHistoryKey(key string) bool { return strings.HasPrefix(key, historyKey("")) }
