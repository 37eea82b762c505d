package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/evcache"
)

// What GET /admin/read/{kind}/{id} reads: a member's profile or viewing
// history, from one source of its region, bypassing every other. The
// harness's read-back asks each region for its Cassandra and each of its
// zones' caches apart, so that a stale copy that a user would only meet
// by chance (the cache of one zone, a replica that missed writes) is a
// finding, not luck.
const (
	KindProfile = "profile"
	KindHistory = "history"
	// SourceStore is the region's Cassandra datacenter, read at
	// LOCAL_QUORUM whatever the read level of user reads.
	SourceStore = "store"
	// SourceCache is one zone's memcached (with ?zone=), with no fallback.
	SourceCache = "cache"
)

// Stored is what one source holds of a member's profile or history.
type Stored struct {
	Kind   string `json:"kind"`
	Member string `json:"member"`
	// Source is "store" or "cache:<zone>".
	Source string `json:"source"`
	// Found is false when the source holds nothing of it (no row; nothing
	// cached, or an invalidation's tombstone: Tombstone).
	Found     bool `json:"found"`
	Tombstone bool `json:"tombstone,omitempty"`
	// Version is the profile's version, or the newest entry of the history.
	Version int64 `json:"version"`
	// Entries are the times of the history's entries (its newest
	// HistoryPage).
	Entries []int64 `json:"entries,omitempty"`
}

// readStored serves GET /admin/read/{kind}/{id}?source=store|cache&zone=Z.
func (s *Service) readStored(w http.ResponseWriter, r *http.Request) {
	kind, id := r.PathValue("kind"), r.PathValue("id")
	var key string
	switch kind {
	case KindProfile:
		key = profileKey(id)
	case KindHistory:
		key = historyKey(id)
	default:
		writeError(w, &httpError{http.StatusBadRequest, fmt.Sprintf("read: kind %q: use %s or %s", kind, KindProfile, KindHistory)})
		return
	}
	if err := app.ValidMemberID(id); err != nil {
		writeError(w, &httpError{http.StatusBadRequest, "read: " + err.Error()})
		return
	}
	out := Stored{Kind: kind, Member: id}
	var err error
	switch src := r.URL.Query().Get("source"); src {
	case SourceStore:
		out.Source = SourceStore
		err = s.readStore(r.Context(), &out)
	case SourceCache:
		zone := r.URL.Query().Get("zone")
		out.Source = SourceCache + ":" + zone
		err = s.readCache(zone, key, &out)
	default:
		err = &httpError{http.StatusBadRequest, fmt.Sprintf("read: source %q: use %s, or %s with zone", src, SourceStore, SourceCache)}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readStore reads a profile or history from Cassandra at LOCAL_QUORUM.
func (s *Service) readStore(ctx context.Context, out *Stored) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CassandraTimeout)
	defer cancel()
	if out.Kind == KindProfile {
		var name, plan string
		err := s.session.Query(`SELECT name, plan, WRITETIME(name) FROM profiles WHERE member = ?`, out.Member).
			Consistency(gocql.LocalQuorum).ScanContext(ctx, &name, &plan, &out.Version)
		if errors.Is(err, gocql.ErrNotFound) {
			return nil
		}
		out.Found = err == nil
		return err
	}
	iter := s.session.Query(`SELECT at FROM history WHERE member = ? LIMIT `+strconv.Itoa(HistoryPage), out.Member).
		Consistency(gocql.LocalQuorum).IterContext(ctx)
	var at int64
	for iter.Scan(&at) {
		out.Entries = append(out.Entries, at)
		out.Version = max(out.Version, at)
	}
	out.Found = len(out.Entries) > 0
	return iter.Close()
}

// readCache reads a key from one zone's memcached as the service caches it.
func (s *Service) readCache(zone, key string, out *Stored) error {
	data, err := s.cache.GetZone(zone, key)
	switch {
	case errors.Is(err, evcache.ErrMiss):
		return nil
	case err != nil:
		return &httpError{http.StatusBadGateway, err.Error()}
	case isTombstone(data):
		out.Tombstone, out.Version = true, cachedVersion(data)
		return nil
	}
	out.Found = true
	if out.Kind == KindProfile {
		var p Profile
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("cached profile %s: %w", key, err)
		}
		out.Version = p.Version
		return nil
	}
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("cached history %s: %w", key, err)
	}
	out.Version = h.Version
	for _, e := range h.Entries {
		out.Entries = append(out.Entries, e.At)
	}
	return nil
}

// Read is GET /admin/read/{kind}/{id}: what source ("store", or
// "cache:<zone>") holds of a member's profile or history (kind).
func (a AdminClient) Read(ctx context.Context, kind, member, source string) (Stored, error) {
	q := url.Values{}
	if zone, ok := cutCache(source); ok {
		q.Set("source", SourceCache)
		q.Set("zone", zone)
	} else {
		q.Set("source", source)
	}
	return app.Call[Stored](ctx, a.c, http.MethodGet, "/admin/read/"+url.PathEscape(kind)+"/"+url.PathEscape(member)+"?"+q.Encode(), nil)
}

// cutCache splits "cache:<zone>".
func cutCache(source string) (string, bool) {
	zone, ok := strings.CutPrefix(source, SourceCache+":")
	return zone, ok && zone != ""
}
