// Package apptest serves stand-ins for kong's own application servers
// (the director's route API, a region's gateway) on httptest servers, so
// that the harness's workload and runner can be tested without a world.
// It stands in for nothing but kong's own servers: Cassandra, memcached,
// SQS and toxiproxy are only ever the real ones.
package apptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/director"
)

// Director answers GET /v1/route with its answer for the geo and the key,
// and counts the questions per key.
type Director struct {
	*httptest.Server
	mu     sync.Mutex
	answer func(geo, key string) (region, gateway string)
	calls  map[string]int
	total  atomic.Int64
}

// NewDirector serves a Director that answers with answer(geo, key) until
// SetAnswer changes it; the server closes when the test ends.
func NewDirector(t testing.TB, answer func(geo, key string) (region, gateway string)) *Director {
	d := &Director{answer: answer, calls: map[string]int{}}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/route" {
			http.NotFound(w, r)
			return
		}
		geo, key := r.URL.Query().Get("geo"), r.URL.Query().Get("key")
		d.mu.Lock()
		d.calls[key]++
		ans := d.answer
		d.mu.Unlock()
		d.total.Add(1)
		region, gw := ans(geo, key)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(director.RouteResponse{Geo: geo, Region: region, Gateway: gw})
	}))
	t.Cleanup(d.Close)
	return d
}

// SetAnswer changes how the director answers.
func (d *Director) SetAnswer(answer func(geo, key string) (region, gateway string)) {
	d.mu.Lock()
	d.answer = answer
	d.mu.Unlock()
}

// CallsFor is how often the director was asked about key.
func (d *Director) CallsFor(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[key]
}

// Calls is how often the director was asked in all.
func (d *Director) Calls() int64 { return d.total.Load() }

// Gateway serves the member API as one region's gateway would, locally:
// every answer is served in region, reads hit the cache, and every write
// gets the next version. The server closes when the test ends.
func Gateway(t testing.TB, region string) *httptest.Server {
	var version atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(app.HeaderRegion, region)
		h.Set(app.HeaderZone, region+"a")
		h.Set(app.HeaderInstance, region+"-i1")
		h.Set(app.HeaderRoute, app.RouteLocal)
		h.Set(app.HeaderEntry, region)
		h.Set(app.HeaderVersion, "1")
		if r.Method != http.MethodGet {
			h.Set(app.HeaderVersion, strconv.FormatInt(version.Add(1), 10))
		} else {
			h.Set(app.HeaderCache, "hit")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}
