// Package member is the stateless member service: one instance per zone,
// holding members' profiles and viewing history in its region's Cassandra
// datacenter only, behind an EVCache-style cache that other regions
// invalidate over SQS.
package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/evcache"
	"github.com/kongchaos/kong/app/invalidation"
	"github.com/kongchaos/kong/internal/cql"
)

// Cache modes.
const (
	ModeInvalidate = "invalidate" // other regions drop the key (the default)
	ModeReplicate  = "replicate"  // other regions receive the new value
)

// Config is one member instance.
type Config struct {
	// AdminSecret, when set, guards the admin endpoints: they answer only
	// "Authorization: Bearer <AdminSecret>" (app.GuardAdmin).
	AdminSecret string `json:"admin_secret,omitempty"`
	Region      string `json:"region"`
	Zone        string `json:"zone"`
	Instance    string `json:"instance"`
	// Cassandra is the region's contact points (host:port); the session is
	// filtered to the region's datacenter.
	Cassandra []string `json:"cassandra"`
	Keyspace  string   `json:"keyspace"`
	// ReadConsistency is LOCAL_QUORUM (default), LOCAL_ONE or ONE... as
	// gocql names them. LOCAL_QUORUM reads overlap LOCAL_QUORUM writes, so
	// a read that misses the cache returns every write acknowledged before
	// it even when a replica came back from a crash and has not had its
	// hints yet; at LOCAL_ONE it may be that replica (a stale read).
	ReadConsistency string `json:"read_consistency,omitempty"`
	// Memcached maps each zone of the region to its servers.
	Memcached map[string][]string `json:"memcached"`
	// Queue is this region's invalidation queue at OwnSQS; Targets are the
	// other regions' queues as reached through the links.
	OwnSQS    string                `json:"own_sqs"`
	Queue     string                `json:"queue"`
	Targets   []invalidation.Target `json:"targets"`
	CacheMode string                `json:"cache_mode,omitempty"`
	// OutboxDir, when set, makes the invalidations owed to other regions
	// survive a restart: they are journaled there until delivered (see
	// invalidation.NewPublisher). `kong serve member` sets it beside the
	// instance's configuration when the configuration does not (see
	// OutboxBeside).
	OutboxDir string `json:"outbox_dir,omitempty"`
	// Timeouts of every dependency.
	CassandraTimeout time.Duration `json:"cassandra_timeout,omitempty"`
	CacheTimeout     time.Duration `json:"cache_timeout,omitempty"`
	// Release is the version the instance runs and the defects it carries
	// (BaseVersion and none when empty). `kong serve member` reads it from
	// the release file beside the configuration (ReadReleaseBeside).
	Release Release `json:"release,omitzero"`
}

// OutboxBeside sets OutboxDir, when the configuration leaves it unset, to
// the folder "outbox" beside configFile, the file the configuration was
// read from: the instance's own folder, which survives a kill.
func (c *Config) OutboxBeside(configFile string) {
	if c.OutboxDir == "" {
		c.OutboxDir = filepath.Join(filepath.Dir(configFile), "outbox")
	}
}

// Beside fills what the configuration takes from the instance's folder,
// the one of configFile: the outbox (OutboxBeside) and, unless the
// configuration names one, the release deployed to the instance
// (ReadReleaseBeside).
func (c *Config) Beside(configFile string) error {
	c.OutboxBeside(configFile)
	if c.Release.Version != "" {
		return nil
	}
	r, err := ReadReleaseBeside(configFile)
	c.Release = r
	return err
}

// Service serves the member API.
type Service struct {
	cfg     Config
	log     *slog.Logger
	session *gocql.Session
	cache   *evcache.Client
	pub     *invalidation.Publisher
	readCL  gocql.Consistency

	lastVersion atomic.Int64
	// faults are those in force: the release's defects with the run-time
	// faults (set) on top.
	faults atomic.Pointer[Faults]
	set    atomic.Pointer[Faults]
	// lastProfile is the profile served last, for Faults.WrongMemberRate.
	lastProfile atomic.Pointer[Profile]
	requests    requestLog
	stats       Stats
	consumed    invalidation.ConsumerStats
}

// MaxFaultMS bounds the injected delays (latency_ms, slow_ms): a fault
// holds a request at most 30 s.
const MaxFaultMS = 30_000

// MaxTextLen bounds each text field of a profile or history entry (name,
// plan, title), in bytes.
const MaxTextLen = 1024

// Server timeouts. A user request can be held by both injected delays and
// then wait for Cassandra: the write timeout leaves room for all of that.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// writeTimeout bounds the handling of a request and the writing of its answer.
func (c Config) writeTimeout() time.Duration {
	return 2*MaxFaultMS*time.Millisecond + 2*c.CassandraTimeout + 4*c.CacheTimeout + 10*time.Second
}

// Faults make the service misbehave on purpose: dependency errors and
// delays, and switches that each break one protection (a broken world).
type Faults struct {
	ErrorRate float64 `json:"error_rate"` // share of user requests answered 503
	LatencyMS int     `json:"latency_ms"` // added to user requests
	// SlowRate is the share of user reads (GET) held SlowMS before they
	// are served: a dependency that stalls now and then (Latency Monkey).
	// The hold ends early when the caller gives up.
	SlowRate float64 `json:"slow_rate,omitempty"`
	SlowMS   int     `json:"slow_ms,omitempty"`
	// WriteConsistency replaces LOCAL_QUORUM on writes: QUORUM or
	// EACH_QUORUM make every write wait for the other regions' replicas, a
	// cross-region call on the request path (the design mistake
	// active-active avoids).
	WriteConsistency string `json:"write_consistency,omitempty"`
	// ReadConsistency replaces the configured read level (LOCAL_QUORUM) on
	// the reads that miss the cache: LOCAL_ONE may read a replica back from
	// a crash before its hints arrive, and return an acknowledged write's
	// predecessor (a stale read).
	ReadConsistency string `json:"read_consistency,omitempty"`

	// The switches below each break one protection of the application: a
	// broken world to run a game day in.

	// DropWriteRate is the share of user writes (profile PUT, history
	// append) answered exactly as if they succeeded (200, a fresh version,
	// the same body) but stored nowhere: no Cassandra write, no cache
	// write, no invalidation. A node that silently drops writes.
	DropWriteRate float64 `json:"drop_write_rate,omitempty"`
	// WrongMemberRate is the share of profile reads answered with the
	// profile this instance served last for another member, as if it
	// were the asked member's: a wrong answer that error rates and
	// latencies do not show.
	WrongMemberRate float64 `json:"wrong_member_rate,omitempty"`
	// NoInvalidations stores and caches writes here as usual but tells no
	// other region about them (no invalidation, no replicated value): the
	// other regions keep serving what their caches hold.
	NoInvalidations bool `json:"no_invalidations,omitempty"`
	// NoReplication, in the replicate cache mode, tells the other regions
	// of a write with an invalidation instead of its new value: their
	// caches drop the key, and the next read there goes to Cassandra.
	NoReplication bool `json:"no_replication,omitempty"`
	// CacheOneZone sends the cache writes of a user write (the new value,
	// a history's tombstone) to this member's zone only, not to the other
	// zones of its region (evcache's UpdateLocal): members of the other
	// zones keep serving the value cached before the write.
	CacheOneZone bool `json:"cache_one_zone,omitempty"`
	// VolatileOutbox keeps the invalidations this member owes the other
	// regions in memory only, not in its outbox journal: killed while it
	// owes some (their SQS link cut), it loses them, and their caches keep
	// the old value (invalidation.Publisher.SetVolatile).
	VolatileOutbox bool `json:"volatile_outbox,omitempty"`
}

// setFaults puts f in force on top of the release's defects.
func (s *Service) setFaults(f Faults) {
	s.set.Store(&f)
	inForce := s.cfg.Release.Defects.With(f)
	s.faults.Store(&inForce)
	s.pub.SetVolatile(inForce.VolatileOutbox)
}

// writeCL is the consistency of writes: LOCAL_QUORUM unless a fault says.
func (s *Service) writeCL() gocql.Consistency {
	if f := s.faults.Load(); f.WriteConsistency != "" {
		if cl, err := gocql.ParseConsistencyWrapper(f.WriteConsistency); err == nil {
			return cl
		}
	}
	return gocql.LocalQuorum
}

// readConsistency is the consistency of the reads that miss the cache: the
// configured level unless a fault says.
func (s *Service) readConsistency() gocql.Consistency {
	if f := s.faults.Load(); f.ReadConsistency != "" {
		if cl, err := gocql.ParseConsistencyWrapper(f.ReadConsistency); err == nil {
			return cl
		}
	}
	return s.readCL
}

// String lists the faults set, such as "error_rate=0.5 latency_ms=200",
// or says "none".
func (f Faults) String() string {
	if f == (Faults{}) {
		return "none"
	}
	var parts []string
	if f.ErrorRate != 0 {
		parts = append(parts, "error_rate="+strconv.FormatFloat(f.ErrorRate, 'g', -1, 64))
	}
	if f.LatencyMS != 0 {
		parts = append(parts, "latency_ms="+strconv.Itoa(f.LatencyMS))
	}
	if f.SlowRate != 0 || f.SlowMS != 0 {
		parts = append(parts, "slow_rate="+strconv.FormatFloat(f.SlowRate, 'g', -1, 64), "slow_ms="+strconv.Itoa(f.SlowMS))
	}
	if f.WriteConsistency != "" {
		parts = append(parts, "write_consistency="+f.WriteConsistency)
	}
	if f.ReadConsistency != "" {
		parts = append(parts, "read_consistency="+f.ReadConsistency)
	}
	if f.DropWriteRate != 0 {
		parts = append(parts, "drop_write_rate="+strconv.FormatFloat(f.DropWriteRate, 'g', -1, 64))
	}
	if f.WrongMemberRate != 0 {
		parts = append(parts, "wrong_member_rate="+strconv.FormatFloat(f.WrongMemberRate, 'g', -1, 64))
	}
	if f.NoInvalidations {
		parts = append(parts, "no_invalidations=true")
	}
	if f.NoReplication {
		parts = append(parts, "no_replication=true")
	}
	if f.CacheOneZone {
		parts = append(parts, "cache_one_zone=true")
	}
	if f.VolatileOutbox {
		parts = append(parts, "volatile_outbox=true")
	}
	return strings.Join(parts, " ")
}

// Stats counts what the service did.
type Stats struct {
	Requests      atomic.Uint64 `json:"-"`
	CacheHits     atomic.Uint64 `json:"-"`
	CassandraOps  atomic.Uint64 `json:"-"`
	Invalidations atomic.Uint64 `json:"-"`
	InjectedFails atomic.Uint64 `json:"-"`
	SlowedReads   atomic.Uint64 `json:"-"`
}

// SpeculativeRetry is when a coordinator asks one more replica for a read
// that has not answered: the table's 99th percentile, but never later than
// 200 ms. Cassandra's default (99p alone) follows the latency of a loaded
// world up past the gateway's one-second try, so a read sent to a replica that
// was just killed, before the others convict it (20-40 s on two cores), waits
// for it past both of the gateway's tries.
const SpeculativeRetry = "MIN(99p,200ms)"

// Tables are the member service's tables (see Schema).
var Tables = []string{"profiles", "history"}

// Schema creates the member tables; run it once per world, before members
// start. (Every world starts from empty data folders, so the tables always
// get their options here.)
func Schema(keyspace string) []string {
	opts := fmt.Sprintf("speculative_retry = '%s'", SpeculativeRetry)
	return []string{
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.profiles (member text PRIMARY KEY, name text, plan text) WITH %s`, keyspace, opts),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.history (member text, at bigint, title text, PRIMARY KEY (member, at)) WITH CLUSTERING ORDER BY (at DESC) AND %s`, keyspace, opts),
	}
}

// New connects to the region's Cassandra, memcached and SQS.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.CassandraTimeout <= 0 {
		cfg.CassandraTimeout = 2 * time.Second
	}
	if cfg.CacheTimeout <= 0 {
		cfg.CacheTimeout = 200 * time.Millisecond
	}
	if cfg.CacheMode == "" {
		cfg.CacheMode = ModeInvalidate
	}
	if cfg.CacheMode != ModeInvalidate && cfg.CacheMode != ModeReplicate {
		return nil, fmt.Errorf("cache mode %q: use %s or %s", cfg.CacheMode, ModeInvalidate, ModeReplicate)
	}
	if cfg.Release.Version == "" {
		cfg.Release.Version = BaseVersion
	}
	if err := cfg.Release.Validate(); err != nil {
		return nil, err
	}
	readCL := gocql.LocalQuorum
	if cfg.ReadConsistency != "" {
		var err error
		if readCL, err = gocql.ParseConsistencyWrapper(cfg.ReadConsistency); err != nil {
			return nil, fmt.Errorf("read consistency %q: %w", cfg.ReadConsistency, err)
		}
	}
	session, err := cql.DCSession(cfg.Cassandra, cfg.Region, cfg.Keyspace)
	if err != nil {
		return nil, err
	}
	cache, err := evcache.New(cfg.Zone, cfg.Memcached, cfg.CacheTimeout)
	if err != nil {
		cql.CloseSession(session)
		return nil, err
	}
	pub, err := invalidation.NewPublisher(cfg.Region, cfg.Targets, 0, cfg.OutboxDir, log)
	if err != nil {
		cache.Close()
		cql.CloseSession(session)
		return nil, err
	}
	s := &Service{cfg: cfg, log: log, session: session, cache: cache, readCL: readCL, pub: pub}
	s.setFaults(Faults{})
	return s, nil
}

// Close releases the service's connections.
func (s *Service) Close() {
	s.pub.Close()
	s.cache.Close()
	cql.CloseSession(s.session)
}

// Serve runs the HTTP API on listen and consumes the region's invalidation
// queue until ctx ends.
func Serve(ctx context.Context, listen string, cfg Config, log *slog.Logger) error {
	s, err := New(cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = invalidation.Consume(ctx, cfg.OwnSQS, cfg.Region, cfg.Queue, s.applyInvalidation, &s.consumed, log)
	}()
	srv := &http.Server{Addr: listen, Handler: app.GuardAdmin(cfg.AdminSecret, s.Handler()),
		ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: s.cfg.writeTimeout(), IdleTimeout: idleTimeout}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Handler is the service's HTTP API.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(app.MemberRoute(http.MethodGet, app.ResourceProfile), s.user(opGetProfile))
	mux.HandleFunc(app.MemberRoute(http.MethodPut, app.ResourceProfile), s.user(opPutProfile))
	mux.HandleFunc(app.MemberRoute(http.MethodGet, app.ResourceHistory), s.user(opGetHistory))
	mux.HandleFunc(app.MemberRoute(http.MethodPost, app.ResourceHistory), s.user(opAppendHistory))
	mux.HandleFunc("GET "+app.PathHealth, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		f := Faults{}
		if set := s.set.Load(); set != nil {
			f = *set
		}
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("PUT /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		f, err := parseFaults(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		s.setFaults(f)
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("GET /admin/requests", s.requestsReport)
	mux.HandleFunc("GET /admin/read/{kind}/{id}", s.readStored)
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.statsReport())
	})
	return mux
}

// op is one user operation of the API.
type op int

const (
	opGetProfile op = iota
	opPutProfile
	opGetHistory
	opAppendHistory
)

// String names the operation by its route.
func (o op) String() string {
	switch o {
	case opGetProfile:
		return "GET profile"
	case opPutProfile:
		return "PUT profile"
	case opGetHistory:
		return "GET history"
	case opAppendHistory:
		return "POST history"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// request is a user request, parsed and validated.
type request struct {
	op      op
	id      string
	profile app.ProfileWrite // opPutProfile
	entry   app.HistoryWrite // opAppendHistory
}

// parseRequest validates a user request before anything is done for it: the
// member id, and for a write its body (declared JSON, at most app.MaxBody
// bytes, one object with known fields, text fields at most MaxTextLen
// bytes). Its errors are *httpError: 400, 413 or 415 with the reason.
func parseRequest(w http.ResponseWriter, r *http.Request, o op) (request, error) {
	req := request{op: o, id: r.PathValue("id")}
	if err := app.ValidMemberID(req.id); err != nil {
		return req, &httpError{http.StatusBadRequest, err.Error()}
	}
	switch o {
	case opPutProfile:
		const want = `{"name": "...", "plan": "..."}`
		if err := decodeJSON(w, r, &req.profile, "profile", want); err != nil {
			return req, err
		}
		if err := textField("profile", "name", req.profile.Name); err != nil {
			return req, err
		}
		if err := textField("profile", "plan", req.profile.Plan); err != nil {
			return req, err
		}
	case opAppendHistory:
		const want = `{"title": "..."}`
		if err := decodeJSON(w, r, &req.entry, "history", want); err != nil {
			return req, err
		}
		if req.entry.Title == "" {
			return req, &httpError{http.StatusBadRequest, "history: empty title: send " + want}
		}
		if err := textField("history", "title", req.entry.Title); err != nil {
			return req, err
		}
	}
	return req, nil
}

func textField(what, name, v string) error {
	if len(v) > MaxTextLen {
		return &httpError{http.StatusBadRequest, fmt.Sprintf("%s: %s is %d bytes long, more than %d", what, name, len(v), MaxTextLen)}
	}
	return nil
}

// decodeJSON reads the body of r into v: declared application/json (else
// 415), at most app.MaxBody bytes (else 413), exactly one JSON object with
// only v's fields (else 400). want shows the expected shape.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, what, want string) error {
	if err := app.CheckJSONContentType(r); err != nil {
		return &httpError{http.StatusUnsupportedMediaType, what + ": " + err.Error()}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, app.MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if err = dec.Decode(&json.RawMessage{}); errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil {
			err = errors.New("more than one JSON value")
		}
		err = fmt.Errorf("after the object: %w", err)
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: body larger than %d bytes", what, tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return &httpError{http.StatusBadRequest, what + ": empty body: send " + want}
	}
	return &httpError{http.StatusBadRequest, fmt.Sprintf("%s: bad JSON (%v): send %s", what, err, want)}
}

// faultsWanted is the shape of a faults body, for the errors that refuse one.
const faultsWanted = `{"error_rate": 0..1, "latency_ms": 0..30000, "slow_rate": 0..1, "slow_ms": 0..30000, "write_consistency": "QUORUM" (optional), ` +
	`"drop_write_rate": 0..1, "wrong_member_rate": 0..1, "no_invalidations": false, "no_replication": false, "cache_one_zone": false}`

// parseFaults reads the body of PUT /admin/faults.
func parseFaults(w http.ResponseWriter, r *http.Request) (Faults, error) {
	var f Faults
	if err := decodeJSON(w, r, &f, "faults", faultsWanted); err != nil {
		return f, err
	}
	if err := f.Validate(); err != nil {
		return f, &httpError{http.StatusBadRequest, "faults: " + err.Error() + ": send " + faultsWanted}
	}
	return f, nil
}

// Validate refuses rates outside 0..1, delays outside 0..MaxFaultMS and
// consistency levels gocql does not know.
func (f Faults) Validate() error {
	type rate struct {
		name string
		v    float64
	}
	for _, r := range []rate{{"error_rate", f.ErrorRate}, {"slow_rate", f.SlowRate},
		{"drop_write_rate", f.DropWriteRate}, {"wrong_member_rate", f.WrongMemberRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("%s %v is not in 0..1", r.name, r.v)
		}
	}
	type delay struct {
		name string
		ms   int
	}
	for _, d := range []delay{{"latency_ms", f.LatencyMS}, {"slow_ms", f.SlowMS}} {
		if d.ms < 0 || d.ms > MaxFaultMS {
			return fmt.Errorf("%s %d is not in 0..%d", d.name, d.ms, MaxFaultMS)
		}
	}
	for _, cl := range [][2]string{{"write_consistency", f.WriteConsistency}, {"read_consistency", f.ReadConsistency}} {
		if cl[1] == "" {
			continue
		}
		if _, err := gocql.ParseConsistencyWrapper(cl[1]); err != nil {
			return fmt.Errorf("%s: %w", cl[0], err)
		}
	}
	return nil
}

// user serves a user request: identity headers, validation, injected
// faults, counters. A request is validated before anything else, so that a
// bad one never waits for a fault or reaches Cassandra or the cache.
func (s *Service) user(o op) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		s.stats.Requests.Add(1)
		start := time.Now()
		w := &app.StatusWriter{ResponseWriter: rw}
		defer func() {
			s.requests.add(RequestSample{At: start, Op: o.String(), Status: w.Status,
				LatencyMS: float64(time.Since(start).Microseconds()) / 1000})
		}()
		w.Header().Set(app.HeaderRegion, s.cfg.Region)
		w.Header().Set(app.HeaderZone, s.cfg.Zone)
		w.Header().Set(app.HeaderInstance, s.cfg.Instance)
		req, err := parseRequest(w, r, o)
		if err != nil {
			writeError(w, err)
			return
		}
		f := s.faults.Load()
		if f.LatencyMS > 0 && !sleep(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond) {
			return // the caller gave up: nobody reads an answer
		}
		if f.SlowRate > 0 && f.SlowMS > 0 && r.Method == http.MethodGet && rand.Float64() < f.SlowRate {
			s.stats.SlowedReads.Add(1)
			if !sleep(r.Context(), time.Duration(f.SlowMS)*time.Millisecond) {
				return // the caller gave up (its try timeout): nobody reads an answer
			}
		}
		if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
			s.stats.InjectedFails.Add(1)
			http.Error(w, "member service: injected dependency error", http.StatusServiceUnavailable)
			return
		}
		switch req.op {
		case opGetProfile:
			err = s.getProfile(w, r, f, req.id)
		case opPutProfile:
			err = s.putProfile(w, r, f, req.id, Profile{Name: req.profile.Name, Plan: req.profile.Plan})
		case opGetHistory:
			err = s.getHistory(w, r, req.id)
		case opAppendHistory:
			err = s.appendHistory(w, r, f, req.id, HistoryEntry{Title: req.entry.Title})
		}
		if err != nil {
			writeError(w, err)
		}
	}
}

// sleep waits d, or until ctx ends; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeError answers an *httpError with its code and message, any other
// error with 503 (a dependency failed).
func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.code)
		return
	}
	http.Error(w, "member service: "+err.Error(), http.StatusServiceUnavailable)
}

type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// Profile is a member's profile.
type Profile struct {
	Member  string `json:"member"`
	Name    string `json:"name"`
	Plan    string `json:"plan"`
	Version int64  `json:"version"`
}

// HistoryEntry is one viewing.
type HistoryEntry struct {
	At    int64  `json:"at"`
	Title string `json:"title"`
}

// HistoryPage is how many entries a viewing history shows: the newest.
const HistoryPage = 100

// History is a member's viewing history, newest first (at most HistoryPage
// entries).
type History struct {
	Member  string         `json:"member"`
	Entries []HistoryEntry `json:"entries"`
	Version int64          `json:"version"`
}

func profileKey(id string) string { return "p:" + id }
func historyKey(id string) string { return "h:" + id }

// version returns a write timestamp in µs, strictly increasing per instance.
func (s *Service) version() int64 {
	for {
		now := time.Now().UnixMicro()
		last := s.lastVersion.Load()
		if now <= last {
			now = last + 1
		}
		if s.lastVersion.CompareAndSwap(last, now) {
			return now
		}
	}
}

func (s *Service) cqlCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.CassandraTimeout)
}

func (s *Service) getProfile(w http.ResponseWriter, r *http.Request, f *Faults, id string) error {
	if f.WrongMemberRate > 0 && rand.Float64() < f.WrongMemberRate {
		if p := s.lastProfile.Load(); p != nil && p.Member != id {
			return respond(w, "", p.Version, *p)
		}
	}
	if data, _, err := s.cache.Get(profileKey(id)); err == nil && !isTombstone(data) {
		var p Profile
		if json.Unmarshal(data, &p) == nil {
			s.stats.CacheHits.Add(1)
			s.lastProfile.Store(&p)
			return respond(w, "hit", p.Version, p)
		}
	}
	ctx, cancel := s.cqlCtx(r)
	defer cancel()
	s.stats.CassandraOps.Add(1)
	p := Profile{Member: id}
	err := s.session.Query(`SELECT name, plan, WRITETIME(name) FROM profiles WHERE member = ?`, id).
		Consistency(s.readConsistency()).ScanContext(ctx, &p.Name, &p.Plan, &p.Version)
	if errors.Is(err, gocql.ErrNotFound) {
		return &httpError{http.StatusNotFound, "no profile for member " + id}
	}
	if err != nil {
		return fmt.Errorf("read profile of %s from Cassandra: %w", id, err)
	}
	s.fill(s.cache.Update, profileKey(id), p.Version, p)
	s.lastProfile.Store(&p)
	return respond(w, "miss", p.Version, p)
}

func (s *Service) putProfile(w http.ResponseWriter, r *http.Request, f *Faults, id string, p Profile) error {
	p.Member, p.Version = id, s.version()
	if f.dropsWrite() {
		return respond(w, "", p.Version, p)
	}
	if err := s.insert(r, `INSERT INTO profiles (member, name, plan) VALUES (?, ?, ?) USING TIMESTAMP ?`,
		id, p.Name, p.Plan, p.Version); err != nil {
		return fmt.Errorf("write profile of %s to Cassandra: %w", id, err)
	}
	s.fill(s.cacheWrite(f), profileKey(id), p.Version, p)
	s.invalidate(f, profileKey(id), p.Version, p)
	return respond(w, "", p.Version, p)
}

func (s *Service) getHistory(w http.ResponseWriter, r *http.Request, id string) error {
	if data, _, err := s.cache.Get(historyKey(id)); err == nil && !isTombstone(data) {
		var h History
		if json.Unmarshal(data, &h) == nil {
			s.stats.CacheHits.Add(1)
			return respond(w, "hit", h.Version, h)
		}
	}
	ctx, cancel := s.cqlCtx(r)
	defer cancel()
	s.stats.CassandraOps.Add(1)
	h := History{Member: id, Entries: []HistoryEntry{}}
	iter := s.session.Query(`SELECT at, title FROM history WHERE member = ? LIMIT `+strconv.Itoa(HistoryPage), id).Consistency(s.readConsistency()).IterContext(ctx)
	var e HistoryEntry
	for iter.Scan(&e.At, &e.Title) {
		h.Entries = append(h.Entries, e)
		h.Version = max(h.Version, e.At)
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("read history of %s from Cassandra: %w", id, err)
	}
	if err := s.cache.Update(historyKey(id), fillHistory(h), valueTTL); err != nil {
		s.log.Debug("cache fill failed", "key", historyKey(id), "err", err)
	}
	return respond(w, "miss", h.Version, h)
}

func (s *Service) appendHistory(w http.ResponseWriter, r *http.Request, f *Faults, id string, e HistoryEntry) error {
	e.At = s.version()
	if f.dropsWrite() {
		return respond(w, "", e.At, e)
	}
	if err := s.insert(r, `INSERT INTO history (member, at, title) VALUES (?, ?, ?) USING TIMESTAMP ?`,
		id, e.At, e.Title, e.At); err != nil {
		return fmt.Errorf("append history of %s to Cassandra: %w", id, err)
	}
	// The cached list is now short of this entry: tombstone it here and
	// elsewhere, until a page that shows it is read.
	_ = s.cacheWrite(f)(historyKey(id), announceAppend(e.At), tombstoneTTL)
	s.invalidate(f, historyKey(id), e.At, nil)
	return respond(w, "", e.At, e)
}

// insert runs a user write's statement in Cassandra at the write
// consistency level, within the Cassandra timeout.
func (s *Service) insert(r *http.Request, stmt string, values ...any) error {
	ctx, cancel := s.cqlCtx(r)
	defer cancel()
	s.stats.CassandraOps.Add(1)
	return s.session.Query(stmt, values...).Consistency(s.writeCL()).ExecContext(ctx)
}

// dropsWrite draws whether a user write is dropped (Faults.DropWriteRate).
func (f *Faults) dropsWrite() bool {
	return f.DropWriteRate > 0 && rand.Float64() < f.DropWriteRate
}

// cacheUpdate writes a cache key as a merge with what it holds
// (evcache.Client.Update).
type cacheUpdate func(key string, merge evcache.Merge, ttl time.Duration) error

// cacheWrite is how the cache writes of a user write go out: to every zone
// of the region, or to this zone only under Faults.CacheOneZone.
func (s *Service) cacheWrite(f *Faults) cacheUpdate {
	if f.CacheOneZone {
		return s.cache.UpdateLocal
	}
	return s.cache.Update
}

// fill caches a value read or written here, through update, unless the
// cache holds something newer (a later write, or the tombstone of an
// invalidation that overtook a slow read); a cache failure is not the
// user's problem.
func (s *Service) fill(update cacheUpdate, key string, version int64, v any) {
	data, err := json.Marshal(v)
	if err == nil {
		if err := update(key, evcache.IfNewer(data, version, cachedVersion), valueTTL); err != nil {
			s.log.Debug("cache fill failed", "key", key, "err", err)
		}
	}
}

// valueTTL is how long a cached value lives.
const valueTTL = time.Hour

// tombstoneTTL is how long an invalidation's tombstone guards a key against
// refills with older data: as long as a value lives. The write it announces
// may reach this region's Cassandra long after the invalidation (a hint
// lost with a coordinator killed hard arrives only with a repair); until
// then every read of the key goes to Cassandra, and the first that reads
// the announced version replaces the tombstone. A shorter guard would let
// a read of the older value refill the cache for a value's whole life.
const tombstoneTTL = valueTTL

type cachedHead struct {
	Version   int64 `json:"version"`
	Tombstone bool  `json:"tombstone,omitempty"`
	// Pending are the appends a viewing history's tombstone waits for
	// (historycache.go).
	Pending []int64 `json:"pending,omitempty"`
}

func tombstone(version int64) []byte {
	data, _ := json.Marshal(cachedHead{Version: version, Tombstone: true})
	return data
}

func isTombstone(data []byte) bool {
	var h cachedHead
	return json.Unmarshal(data, &h) == nil && h.Tombstone
}

// cachedVersion is the version a cached value stands for. A tombstone of
// version v stands just below v: a refill that read v itself (the write the
// invalidation announced) replaces it, an older one does not.
func cachedVersion(data []byte) int64 {
	var h cachedHead
	if json.Unmarshal(data, &h) != nil {
		return 0
	}
	if h.Tombstone {
		return h.Version - 1
	}
	return h.Version
}

// invalidate tells every other region about a write, without waiting
// (unless Faults.NoInvalidations says not to).
func (s *Service) invalidate(f *Faults, key string, version int64, value any) {
	if f.NoInvalidations {
		return
	}
	m := invalidation.Message{Key: key, Version: version}
	if s.cfg.CacheMode == ModeReplicate && value != nil && !f.NoReplication {
		m.Value, _ = json.Marshal(value)
	}
	s.pub.Publish(m)
}

// applyInvalidation handles a message from another region. A message for
// a key no member can have is refused as unusable (the consumer drops it).
func (s *Service) applyInvalidation(m invalidation.Message) error {
	if err := checkKey(m.Key); err != nil {
		return fmt.Errorf("%w: %w", invalidation.ErrUnusable, err)
	}
	var err error
	if m.Value != nil {
		// Replication mode: keep the newer of the cached and received values.
		err = s.cache.SetIfNewer(m.Key, m.Value, m.Version, cachedVersion, valueTTL)
	} else {
		// Invalidation mode: a tombstone, so that a read of the old value that is
		// still under way cannot put it back.
		if isHistoryKey(m.Key) {
			err = s.cache.Update(m.Key, announceAppend(m.Version), tombstoneTTL)
		} else {
			err = s.cache.SetIfNewer(m.Key, tombstone(m.Version), m.Version, cachedVersion, tombstoneTTL)
		}
	}
	if errors.Is(err, evcache.ErrBadKey) {
		return fmt.Errorf("%w: %w", invalidation.ErrUnusable, err)
	}
	if err == nil {
		s.stats.Invalidations.Add(1)
	}
	return err
}

// checkKey says why key is not a cache key of this service
// (profileKey, historyKey), or returns nil.
func checkKey(key string) error {
	kind, id, ok := strings.Cut(key, ":")
	if !ok || (kind != "p" && kind != "h") {
		return fmt.Errorf("cache key %.60q is not p:<member> or h:<member>", key)
	}
	if err := app.ValidMemberID(id); err != nil {
		return fmt.Errorf("cache key %.60q: %w", key, err)
	}
	return nil
}

func respond(w http.ResponseWriter, cache string, version int64, body any) error {
	if cache != "" {
		w.Header().Set(app.HeaderCache, cache)
	}
	w.Header().Set(app.HeaderVersion, strconv.FormatInt(version, 10))
	writeJSON(w, http.StatusOK, body)
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// AdminClient calls a member service's admin API with the world's secret.
type AdminClient struct{ c app.Client }

// NewAdminClient returns a client of the member service at base
// (scheme://host:port).
func NewAdminClient(base, secret string) AdminClient {
	return AdminClient{app.NewClient(base, secret)}
}

// Faults is GET /admin/faults: the faults in force.
func (a AdminClient) Faults(ctx context.Context) (Faults, error) {
	return app.Call[Faults](ctx, a.c, http.MethodGet, "/admin/faults", nil)
}

// SetFaults is PUT /admin/faults: f replaces the faults in force (Faults{}
// removes them all).
func (a AdminClient) SetFaults(ctx context.Context, f Faults) error {
	return a.c.Do(ctx, http.MethodPut, "/admin/faults", f, nil)
}
