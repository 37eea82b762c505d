package member

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/evcache"
	"github.com/kongchaos/kong/app/invalidation"
)

// offline is a member service with no Cassandra session and no cache: a
// request that reaches either panics (nil pointer), so a test that passes
// through it shows the request was refused before any backend call. Its
// invalidations go to targets (none by default).
func offline(t *testing.T, targets ...invalidation.Target) *Service {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	pub, err := invalidation.NewPublisher("us-east-1", targets, 0, "", log)
	require.NoError(t, err)
	s := &Service{
		cfg: Config{Region: "us-east-1", Zone: "a", Instance: "i-1", CassandraTimeout: 2 * time.Second,
			CacheTimeout: 200 * time.Millisecond, CacheMode: ModeInvalidate},
		log: log,
		pub: pub,
	}
	s.faults.Store(&Faults{})
	t.Cleanup(s.pub.Close)
	return s
}

type answer struct {
	status int
	body   string
}

func serve(h http.Handler, method, target, contentType, body string) answer {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Body.String()}
}

const jsonType = "application/json"

func TestMemberAPIRefusesHostileInput(t *testing.T) {
	s := offline(t)
	h := s.Handler()
	huge := `{"name": "` + strings.Repeat("x", app.MaxBody) + `"}`
	long := strings.Repeat("n", MaxTextLen+1)
	cases := []struct {
		name, method, target, ctype, body string
		status                            int
		reason                            string
	}{
		{"space in id", "GET", "/v1/members/a%20b/profile", "", "", 400, "member id"},
		{"read: unknown kind", "GET", "/admin/read/wishlist/m1?source=store", "", "", 400, "kind \"wishlist\""},
		{"read: unknown source", "GET", "/admin/read/profile/m1?source=disk", "", "", 400, "source \"disk\""},
		{"read: bad id", "GET", "/admin/read/history/a%00b?source=store", "", "", 400, "is not allowed"},
		{"id too long", "GET", "/v1/members/" + strings.Repeat("m", 129) + "/history", "", "", 400, "more than 128"},
		{"non-ASCII id", "GET", "/v1/members/%C3%A9/profile", "", "", 400, "is not allowed"},
		{"control byte in id", "GET", "/v1/members/a%00b/history", "", "", 400, "is not allowed"},
		{"newline in id", "PUT", "/v1/members/a%0Ab/profile", jsonType, `{"name": "x"}`, 400, "is not allowed"},
		{"slash in id", "POST", "/v1/members/a%2Fb/history", jsonType, `{"title": "x"}`, 400, "is not allowed"},
		{"form post", "PUT", "/v1/members/m1/profile", "application/x-www-form-urlencoded", "name=x&plan=y", 415, "application/json"},
		{"multipart post", "POST", "/v1/members/m1/history", "multipart/form-data; boundary=b", "--b--", 415, "application/json"},
		{"text/plain post", "POST", "/v1/members/m1/history", "text/plain", `{"title": "x"}`, 415, "application/json"},
		{"body without a type", "PUT", "/v1/members/m1/profile", "", `{"name": "x"}`, 415, "no Content-Type"},
		{"bad JSON", "PUT", "/v1/members/m1/profile", jsonType, `{"name": `, 400, "bad JSON"},
		{"not an object", "PUT", "/v1/members/m1/profile", jsonType, `["x"]`, 400, "bad JSON"},
		{"unknown field", "PUT", "/v1/members/m1/profile", jsonType, `{"nam": "x"}`, 400, `unknown field "nam"`},
		{"wrong type", "POST", "/v1/members/m1/history", jsonType, `{"title": 7}`, 400, "bad JSON"},
		{"trailing data", "PUT", "/v1/members/m1/profile", jsonType, `{"name": "x"} {}`, 400, "after the object"},
		{"empty body", "PUT", "/v1/members/m1/profile", jsonType, ``, 400, "empty body"},
		{"huge body", "PUT", "/v1/members/m1/profile", jsonType, huge, 413, "larger than 1048576 bytes"},
		{"name too long", "PUT", "/v1/members/m1/profile", jsonType, `{"name": "` + long + `"}`, 400, "name is 1025 bytes long"},
		{"plan too long", "PUT", "/v1/members/m1/profile", jsonType, `{"plan": "` + long + `"}`, 400, "plan is 1025 bytes long"},
		{"title too long", "POST", "/v1/members/m1/history", jsonType, `{"title": "` + long + `"}`, 400, "title is 1025 bytes long"},
		{"empty title", "POST", "/v1/members/m1/history", jsonType, `{"title": ""}`, 400, "empty title"},

		{"faults: form post", "PUT", "/admin/faults", "application/x-www-form-urlencoded", "error_rate=1", 415, "application/json"},
		{"faults: no type", "PUT", "/admin/faults", "", `{"error_rate": 1}`, 415, "no Content-Type"},
		{"faults: bad JSON", "PUT", "/admin/faults", jsonType, `{"error_rate": }`, 400, "bad JSON"},
		{"faults: unknown field", "PUT", "/admin/faults", jsonType, `{"latency": 5}`, 400, `unknown field "latency"`},
		{"faults: huge body", "PUT", "/admin/faults", jsonType, `{"write_consistency": "` + strings.Repeat("Q", app.MaxBody) + `"}`, 413, "larger than"},
		{"faults: error rate above 1", "PUT", "/admin/faults", jsonType, `{"error_rate": 1.5}`, 400, "error_rate 1.5 is not in 0..1"},
		{"faults: negative slow rate", "PUT", "/admin/faults", jsonType, `{"slow_rate": -0.1}`, 400, "slow_rate -0.1 is not in 0..1"},
		{"faults: negative latency", "PUT", "/admin/faults", jsonType, `{"latency_ms": -1}`, 400, "latency_ms -1 is not in 0..30000"},
		{"faults: latency above the cap", "PUT", "/admin/faults", jsonType, `{"latency_ms": 30001}`, 400, "latency_ms 30001 is not in 0..30000"},
		{"faults: latency overflowing", "PUT", "/admin/faults", jsonType, `{"latency_ms": 9223372036854775807}`, 400, "latency_ms"},
		{"faults: slow hold above the cap", "PUT", "/admin/faults", jsonType, `{"slow_rate": 0.1, "slow_ms": 86400000}`, 400, "slow_ms 86400000"},
		{"faults: bad consistency", "PUT", "/admin/faults", jsonType, `{"write_consistency": "SOMETIMES"}`, 400, "write_consistency"},
		{"faults: bad read consistency", "PUT", "/admin/faults", jsonType, `{"read_consistency": "OFTEN"}`, 400, "read_consistency"},
		{"faults: drop rate above 1", "PUT", "/admin/faults", jsonType, `{"drop_write_rate": 2}`, 400, "drop_write_rate 2 is not in 0..1"},
		{"faults: switch not a bool", "PUT", "/admin/faults", jsonType, `{"cache_one_zone": 1}`, 400, "bad JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := serve(h, c.method, c.target, c.ctype, c.body)
			require.Equal(t, c.status, a.status, a.body)
			assert.Contains(t, a.body, c.reason)
		})
	}
	assert.Equal(t, Faults{}, *s.faults.Load(), "a refused PUT /admin/faults changed the faults")
	assert.Zero(t, s.stats.CassandraOps.Load(), "a refused request reached Cassandra")
	assert.Zero(t, s.stats.InjectedFails.Load(), "a refused request went through the fault injection")

	// The same endpoint takes a good body (so the refusals above are for
	// what they name).
	a := serve(h, "PUT", "/admin/faults", "application/json; charset=utf-8",
		`{"error_rate": 1, "latency_ms": 30000, "slow_rate": 0.5, "slow_ms": 3000, "write_consistency": "QUORUM", `+
			`"drop_write_rate": 0.01, "no_invalidations": true, "no_replication": true, "cache_one_zone": true}`)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, Faults{ErrorRate: 1, LatencyMS: 30000, SlowRate: 0.5, SlowMS: 3000, WriteConsistency: "QUORUM",
		DropWriteRate: 0.01, NoInvalidations: true, NoReplication: true, CacheOneZone: true}, *s.faults.Load())
	assert.Contains(t, s.faults.Load().String(), "no_replication=true")
}

// A bad request is refused before the injected faults: it neither waits
// for the latency fault nor counts as an injected failure.
func TestBadRequestsAreRefusedBeforeTheFaults(t *testing.T) {
	s := offline(t)
	s.faults.Store(&Faults{ErrorRate: 1, LatencyMS: 5000})
	start := time.Now()
	a := serve(s.Handler(), "PUT", "/v1/members/bad%20id/profile", jsonType, `{"name": "x"}`)
	require.Equal(t, http.StatusBadRequest, a.status, a.body)
	assert.Less(t, time.Since(start), time.Second)
	assert.Zero(t, s.stats.InjectedFails.Load())
}

func TestLatencyFaultEndsWhenTheCallerGivesUp(t *testing.T) {
	s := offline(t)
	h := s.Handler()
	// Every request is held 20 s, then answered 503 (the injected error, so
	// that no backend is needed).
	s.faults.Store(&Faults{ErrorRate: 1, LatencyMS: 20_000})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/v1/members/m1/profile", nil)
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	took := time.Since(start)
	assert.Less(t, took, 2*time.Second, "the latency fault held a request its caller had given up")
	assert.GreaterOrEqual(t, took, 100*time.Millisecond)
	assert.Zero(t, s.stats.InjectedFails.Load(), "a request whose caller left was answered anyway")

	// A caller that waits gets the delay, then the answer.
	s.faults.Store(&Faults{ErrorRate: 1, LatencyMS: 50})
	start = time.Now()
	a := serve(h, "GET", "/v1/members/m1/history", "", "")
	require.Equal(t, http.StatusServiceUnavailable, a.status, a.body)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	assert.Contains(t, a.body, "injected dependency error")
}

func TestServerTimeoutsCoverTheLongestFault(t *testing.T) {
	cfg := Config{CassandraTimeout: 2 * time.Second, CacheTimeout: 200 * time.Millisecond}
	// Both injected delays at their cap, then a Cassandra call at its timeout.
	longest := 2*MaxFaultMS*time.Millisecond + cfg.CassandraTimeout
	assert.Greater(t, cfg.writeTimeout(), longest)
	assert.Less(t, cfg.writeTimeout(), 5*time.Minute)
}

func TestInvalidationForAKeyNoMemberHasIsUnusable(t *testing.T) {
	s := offline(t) // no cache: an invalidation that reached it would panic
	for _, key := range []string{"", "p:", "h:a b", "p:" + strings.Repeat("x", 300), "x:m1", "m1", "p:a\x00", "h:é"} {
		err := s.applyInvalidation(invalidation.Message{Key: key, Version: 1})
		require.Error(t, err, "%q", key)
		assert.True(t, errors.Is(err, invalidation.ErrUnusable), "%q: %v", key, err)
	}
	assert.Zero(t, s.stats.Invalidations.Load())
	for _, key := range []string{"p:m1", "h:herd-42", "p:a:b"} {
		assert.NoError(t, checkKey(key), key)
	}
}

// FuzzMemberRequest: parsing a user request never panics, and either
// refuses it with a 4xx that says why, or yields a valid request.
func FuzzMemberRequest(f *testing.F) {
	f.Add(uint8(opPutProfile), "m1", jsonType, `{"name": "Ada", "plan": "basic"}`)
	f.Add(uint8(opAppendHistory), "herd-7", "application/json; charset=utf-8", `{"title": "title-12"}`)
	f.Add(uint8(opGetProfile), "m 1", "", "")
	f.Add(uint8(opPutProfile), "m1", "application/x-www-form-urlencoded", "name=x")
	f.Add(uint8(opPutProfile), "m1", jsonType, `{"name": "x"} trailing`)
	f.Add(uint8(opAppendHistory), "m1", jsonType, `{"title": ""}`)
	f.Add(uint8(opPutProfile), "m1", jsonType, `{"name": "\ud800"}`)
	f.Fuzz(func(t *testing.T, o uint8, id, ctype, body string) {
		which := op(o % 4)
		method := map[op]string{opGetProfile: "GET", opPutProfile: "PUT", opGetHistory: "GET", opAppendHistory: "POST"}[which]
		req := httptest.NewRequest(method, "/", strings.NewReader(body))
		req.SetPathValue("id", id)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		got, err := parseRequest(httptest.NewRecorder(), req, which)
		if err != nil {
			var he *httpError
			require.ErrorAs(t, err, &he)
			require.Contains(t, []int{400, 413, 415}, he.code, he.msg)
			require.NotEmpty(t, he.msg)
			return
		}
		require.NoError(t, app.ValidMemberID(got.id))
		require.Equal(t, id, got.id)
		switch which {
		case opPutProfile:
			require.NoError(t, app.CheckJSONContentType(req))
			require.LessOrEqual(t, len(got.profile.Name), MaxTextLen)
			require.LessOrEqual(t, len(got.profile.Plan), MaxTextLen)
		case opAppendHistory:
			require.NoError(t, app.CheckJSONContentType(req))
			require.NotEmpty(t, got.entry.Title)
			require.LessOrEqual(t, len(got.entry.Title), MaxTextLen)
		}
	})
}

// FuzzFaults: PUT /admin/faults never panics, and either refuses the body
// with a 4xx or sets faults within their bounds.
func FuzzFaults(f *testing.F) {
	f.Add(jsonType, `{"error_rate": 0.5, "latency_ms": 200}`)
	f.Add(jsonType, `{"slow_rate": 0.05, "slow_ms": 3000, "write_consistency": "EACH_QUORUM"}`)
	f.Add(jsonType, `{"latency_ms": 1e400}`)
	f.Add(jsonType, `{"error_rate": -0}`)
	f.Add(jsonType, `{"drop_write_rate": 0.01, "no_invalidations": true, "cache_one_zone": true}`)
	f.Add("text/plain", `{}`)
	f.Add(jsonType, `{}`)
	f.Fuzz(func(t *testing.T, ctype, body string) {
		s := offline(t)
		before := *s.faults.Load()
		a := serve(s.Handler(), "PUT", "/admin/faults", ctype, body)
		now := *s.faults.Load()
		if a.status != http.StatusOK {
			require.Contains(t, []int{400, 413, 415}, a.status, a.body)
			require.Equal(t, before, now, "a refused body changed the faults")
			return
		}
		var echoed Faults
		require.NoError(t, json.Unmarshal([]byte(a.body), &echoed))
		require.Equal(t, now, echoed)
		require.True(t, now.ErrorRate >= 0 && now.ErrorRate <= 1, "%v", now)
		require.True(t, now.SlowRate >= 0 && now.SlowRate <= 1, "%v", now)
		require.True(t, now.LatencyMS >= 0 && now.LatencyMS <= MaxFaultMS, "%v", now)
		require.True(t, now.SlowMS >= 0 && now.SlowMS <= MaxFaultMS, "%v", now)
		require.True(t, now.DropWriteRate >= 0 && now.DropWriteRate <= 1, "%v", now)
	})
}

func TestAdminClientSetsAndReadsTheFaults(t *testing.T) {
	srv := httptest.NewServer(app.GuardAdmin("s3cret", offline(t).Handler()))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := NewAdminClient(srv.URL, "s3cret")

	f := Faults{ErrorRate: 0.5, SlowRate: 0.1, SlowMS: 200, WriteConsistency: "QUORUM"}
	require.NoError(t, c.SetFaults(ctx, f))
	got, err := c.Faults(ctx)
	require.NoError(t, err)
	require.Equal(t, f, got)
	require.Equal(t, "error_rate=0.5 slow_rate=0.1 slow_ms=200 write_consistency=QUORUM", got.String())

	require.NoError(t, c.SetFaults(ctx, Faults{}))
	got, err = c.Faults(ctx)
	require.NoError(t, err)
	require.Equal(t, Faults{}, got)
	require.Equal(t, "none", got.String())

	require.ErrorContains(t, NewAdminClient(srv.URL, "").SetFaults(ctx, f), "401")
	require.ErrorContains(t, c.SetFaults(ctx, Faults{ErrorRate: 2}), "400 Bad Request")
}

// The outbox lives beside the configuration unless the configuration
// names one.
func TestOutboxBeside(t *testing.T) {
	var c Config
	c.OutboxBeside("/w/member-a/config.json")
	require.Equal(t, "/w/member-a/outbox", c.OutboxDir)
	c = Config{OutboxDir: "/elsewhere"}
	c.OutboxBeside("/w/member-a/config.json")
	require.Equal(t, "/elsewhere", c.OutboxDir)
}

// Every fault set alone shows in Faults.String by its JSON name: a
// preflight that finds a member's faults names each one it resets.
func TestEveryFaultIsNamed(t *testing.T) {
	typ := reflect.TypeFor[Faults]()
	for i := range typ.NumField() {
		field := typ.Field(i)
		var f Faults
		v := reflect.ValueOf(&f).Elem().Field(i)
		switch v.Kind() {
		case reflect.Float64:
			v.SetFloat(0.25)
		case reflect.Int:
			v.SetInt(7)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.String:
			v.SetString("QUORUM")
		default:
			t.Fatalf("field %s: kind %s has no test value", field.Name, v.Kind())
		}
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		assert.Contains(t, f.String(), name+"=", "field %s", field.Name)
	}
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// deadTarget is another region's invalidation queue that never answers:
// what is published for it stays in the backlog.
func deadTarget(t *testing.T) invalidation.Target {
	return invalidation.Target{Region: "us-west-2", Endpoint: "http://" + deadAddr(t), Queue: "invalidations"}
}

// A dropped write is answered as a stored one (200, a fresh version, the
// same body) but reaches neither Cassandra (the offline service has none:
// it would panic) nor the cache nor the other regions.
func TestDroppedWritesAreAnsweredButStoredNowhere(t *testing.T) {
	s := offline(t, deadTarget(t))
	s.faults.Store(&Faults{DropWriteRate: 1})
	h := s.Handler()

	req := httptest.NewRequest("PUT", "/v1/members/m1/profile", strings.NewReader(`{"name": "Ada", "plan": "basic"}`))
	req.Header.Set("Content-Type", jsonType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var p Profile
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, Profile{Member: "m1", Name: "Ada", Plan: "basic", Version: p.Version}, p)
	assert.Positive(t, p.Version)
	assert.Equal(t, strconv.FormatInt(p.Version, 10), rec.Header().Get(app.HeaderVersion))
	assert.Empty(t, rec.Header().Get(app.HeaderCache), "a write says nothing of the cache")

	req = httptest.NewRequest("POST", "/v1/members/m1/history", strings.NewReader(`{"title": "t1"}`))
	req.Header.Set("Content-Type", jsonType)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var e HistoryEntry
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
	assert.Equal(t, "t1", e.Title)
	assert.Greater(t, e.At, p.Version, "versions still increase")
	assert.Equal(t, strconv.FormatInt(e.At, 10), rec.Header().Get(app.HeaderVersion))

	assert.Zero(t, s.stats.CassandraOps.Load())
	assert.Equal(t, map[string]int{"us-west-2": 0}, s.pub.Backlog(), "a dropped write was announced to another region")
}

// NoInvalidations: a write's invalidation is not queued for the other
// regions; without it, it is.
func TestNoInvalidationsQueuesNothing(t *testing.T) {
	s := offline(t, deadTarget(t))
	s.invalidate(&Faults{NoInvalidations: true}, "p:m1", 1, nil)
	assert.Equal(t, map[string]int{"us-west-2": 0}, s.pub.Backlog())
	s.invalidate(&Faults{}, "p:m1", 2, nil)
	assert.Equal(t, map[string]int{"us-west-2": 1}, s.pub.Backlog())
}

// CacheOneZone sends the cache writes of a user write to this member's
// zone only. The zones' memcached addresses here are where nothing listens:
// each zone a write tries fails and is owed a repair, which tells the zones
// a write went to.
func TestCacheOneZoneWritesTheLocalZoneOnly(t *testing.T) {
	s := offline(t)
	cache, err := evcache.New("a", map[string][]string{"a": {deadAddr(t)}, "b": {deadAddr(t)}, "c": {deadAddr(t)}}, 100*time.Millisecond)
	require.NoError(t, err)
	t.Cleanup(cache.Close)
	s.cache = cache
	zonesTried := func(f *Faults, key string) int {
		before, _, _ := cache.Repairs()
		require.Error(t, s.cacheWrite(f)(key, evcache.IfNewer(tombstone(1), 1, cachedVersion), tombstoneTTL), "no zone answers")
		after, _, _ := cache.Repairs()
		return after - before
	}
	assert.Equal(t, 3, zonesTried(&Faults{}, "h:m1"), "a write goes to every zone")
	assert.Equal(t, 1, zonesTried(&Faults{CacheOneZone: true}, "h:m2"), "under cache_one_zone, to this zone only")
}

// A read that misses the cache is at the configured level (LOCAL_QUORUM by
// default) unless the weak-reads switch names another.
func TestReadConsistencyFollowsTheFault(t *testing.T) {
	s := offline(t, deadTarget(t))
	s.readCL = gocql.LocalQuorum
	assert.Equal(t, gocql.LocalQuorum, s.readConsistency())
	s.faults.Store(&Faults{ReadConsistency: "LOCAL_ONE"})
	assert.Equal(t, gocql.LocalOne, s.readConsistency())
	s.faults.Store(&Faults{})
	assert.Equal(t, gocql.LocalQuorum, s.readConsistency())
}

// An invalidation's tombstone must guard its key as long as a refill of
// the older value would live: the announced write may reach this region's
// Cassandra only with a repair, long after the invalidation, and a shorter
// guard lets a read put the older value back for a value's whole life.
func TestTombstoneGuardsAsLongAsAValueLives(t *testing.T) {
	require.GreaterOrEqual(t, tombstoneTTL, valueTTL)
}
