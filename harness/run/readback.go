package run

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// DefaultReadBackDeadline bounds how long, after every key was probed
// once, ReadBack keeps probing a key whose acknowledged writes are not yet
// all visible in a region, when its caller names no deadline.
const DefaultReadBackDeadline = 60 * time.Second

// ReadBack is the verify step that checks that no acknowledged write was
// lost: after the traffic stopped and the world converged, it reads every
// key that had an acknowledged write in every region, through that region's
// own gateway as a user at home there would, and records each read as a
// probe for the checkers (LostWrites, Convergence). A key whose probe shows
// less than its newest acknowledged version (or fails) is probed again,
// every half second, until it does or deadline (0:
// DefaultReadBackDeadline) has passed since every key was probed once (see
// readBackRounds): a write
// that arrives late is slow, not lost; one still missing at the deadline is
// lost (LostWrites judges the last probe). A viewing history is read back
// as a set: its probe records every entry it shows (Op.Entries), and it is
// probed again until every acknowledged append is among them, not only the
// newest.
//
// Then, since a cache can hide what its region lost, and one zone's stale
// cache is met by a user only by chance, every key is read again in every
// region from each source apart, through a member service's admin read:
// the region's Cassandra at LOCAL_QUORUM (Op.Source "store"), and each
// zone's memcached ("cache:<zone>"). Each is a probe of its own, probed
// again like the others until it shows the newest acknowledged version
// (a cache: a miss or a tombstone also ends it, as they hold nothing
// stale); LostWrites and Convergence judge them as places of their own.
func ReadBack(c topology.Cluster, historyPath string, workers int, deadline time.Duration) func(context.Context, *history.Recorder) error {
	if workers <= 0 {
		workers = 16
	}
	if deadline <= 0 {
		deadline = DefaultReadBackDeadline
	}
	return func(ctx context.Context, rec *history.Recorder) error {
		if err := rec.Flush(); err != nil {
			return err
		}
		h, err := history.Load(historyPath)
		if err != nil {
			return err
		}
		keys, newest, appends := acknowledgedKeys(h)
		comps, err := c.Components(ctx)
		if err != nil {
			return err
		}
		gateways := map[string]string{}
		admins := map[string]member.AdminClient{}
		zones := map[string][]string{}
		for _, comp := range comps {
			switch comp.Kind {
			case topology.KindGateway:
				gateways[comp.Region] = "http://" + comp.Address
			case topology.KindMember:
				if _, ok := admins[comp.Region]; !ok {
					admins[comp.Region] = member.NewAdminClient("http://"+comp.Address, c.Secret())
				}
			case topology.KindMemcached:
				if !slices.Contains(zones[comp.Region], comp.Zone) {
					zones[comp.Region] = append(zones[comp.Region], comp.Zone)
				}
			}
		}
		if len(gateways) == 0 {
			return fmt.Errorf("world %s has no gateways to read back through", c.Name())
		}
		// Key by key, each region and source in turn: the probes through
		// the regions' paced gateways then overlap instead of waiting for
		// one region's to end before the next's begin.
		sources := map[string][]string{}
		for region := range gateways {
			sources[region] = []string{""}
			if _, ok := admins[region]; ok {
				sources[region] = append(sources[region], history.SourceStore)
				for _, z := range zones[region] {
					sources[region] = append(sources[region], history.SourceCache+z)
				}
			}
		}
		var pending []readBackJob
		for _, k := range keys {
			for region, srcs := range sources {
				for _, src := range srcs {
					pending = append(pending, readBackJob{region, k, src})
				}
			}
		}
		client := &http.Client{Timeout: 10 * time.Second}
		paced := gatewayPacers(c.Spec())
		var seq atomic.Uint64
		return readBackRounds(ctx, pending, workers, deadline, 500*time.Millisecond, func(j readBackJob) bool {
			var done history.Op
			if j.source == "" {
				if p := paced[j.region]; p != nil && p.Wait(ctx) != nil {
					return false // ended: the verify step is over
				}
				done = readBackOne(ctx, client, rec, gateways[j.region], j.region, j.key, seq.Add(1))
			} else {
				done = readSourceOne(ctx, admins[j.region], rec, j, seq.Add(1))
			}
			if history.IsCacheSource(j.source) && done.Type == history.OK && !done.CacheHit {
				return false // nothing cached: nothing stale
			}
			return done.Type != history.OK || done.Version < newest[j.key] || missingAppend(done, appends[j.key])
		})
	}
}

// gatewayPacers pace the probes through each gateway that admits a
// region's capacity (Spec's capacity: the gateway's max_rps) at half of it:
// sixteen workers probing faster would be shed (503), and a key shed in
// every round until the deadline would go unprobed in that region.
func gatewayPacers(spec *topology.Spec) map[string]*rate.Limiter {
	paced := map[string]*rate.Limiter{}
	for _, r := range spec.Regions {
		if r.Capacity > 0 {
			perSecond := max(1, r.Capacity/2)
			paced[r.Name] = rate.NewLimiter(rate.Limit(perSecond), max(1, perSecond/10))
		}
	}
	return paced
}

// readBackJob is one key to read back in one region, through its gateway
// (source "") or from one of its sources (history.Op.Source).
type readBackJob struct{ region, key, source string }

// readBackRounds probes every job once with workers in parallel, then, in
// rounds pause apart, again those whose probe asked for it (again), until
// none does or deadline has passed since the first round ended. The pause
// stays short: a probe from the heal times when a place converged, and
// probes seconds apart leave the moment unknown within seconds (those
// probed again are few). The deadline counts from there, not
// from the start: the first round of thousands of keys can take a good
// part of a minute, and every key is owed the same time to converge.
func readBackRounds(ctx context.Context, pending []readBackJob, workers int, deadline, pause time.Duration, again func(readBackJob) bool) error {
	var until time.Time
	for len(pending) > 0 {
		jobs := make(chan readBackJob)
		var mu sync.Mutex
		var next []readBackJob
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					if again(j) {
						mu.Lock()
						next = append(next, j)
						mu.Unlock()
					}
				}
			}()
		}
		for _, j := range pending {
			select {
			case jobs <- j:
			case <-ctx.Done():
			}
		}
		close(jobs)
		wg.Wait()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if until.IsZero() {
			until = time.Now().Add(deadline)
		}
		pending = next
		if len(pending) == 0 || time.Now().Add(pause).After(until) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return nil
}

// acknowledgedKeys lists the keys of writes that completed ok, the newest
// version acknowledged for each, and the version of every acknowledged
// append by key.
func acknowledgedKeys(h *history.History) ([]string, map[string]int64, map[string][]int64) {
	newest := map[string]int64{}
	appends := map[string][]int64{}
	var keys []string
	for _, op := range h.Ops {
		if op.Type == history.OK && (op.Op == history.OpWriteProfile || op.Op == history.OpAppendHistory) && op.Key != "" {
			v, seen := newest[op.Key]
			if !seen {
				keys = append(keys, op.Key)
			}
			newest[op.Key] = max(v, op.Version)
			if op.Op == history.OpAppendHistory {
				appends[op.Key] = append(appends[op.Key], op.Version)
			}
		}
	}
	return keys, newest, appends
}

// missingAppend says whether an ok probe of a viewing history misses one of
// the acknowledged appends it could show (those older than a cut page
// cannot be shown).
func missingAppend(done history.Op, appends []int64) bool {
	if done.Type != history.OK || len(appends) == 0 {
		return false
	}
	shown := make(map[int64]bool, len(done.Entries))
	oldest := int64(math.MaxInt64)
	for _, v := range done.Entries {
		shown[v] = true
		oldest = min(oldest, v)
	}
	for _, v := range appends {
		if !shown[v] && (!done.EntriesCut || v >= oldest) {
			return true
		}
	}
	return false
}

// probePath maps a workload key ("profile/<id>", "history/<id>") to its URL path.
func probePath(key string) (string, bool) {
	kind, id, ok := strings.Cut(key, "/")
	if !ok {
		return "", false
	}
	switch kind {
	case app.ResourceProfile, app.ResourceHistory:
		return app.MemberPath(id, kind), true
	}
	return "", false
}

// probeProcess keeps probe records apart from the workload's sessions.
const probeProcess = -1

// probeInvoke is the invoke record of a probe of key in region, now.
func probeInvoke(region, key string, seq uint64) history.Op {
	return history.Op{Type: history.Invoke, Time: time.Now(), Process: probeProcess, Seq: seq, Op: history.OpProbe, Key: key,
		Home: region, Entry: region, Phase: history.PhaseVerify}
}

func readBackOne(ctx context.Context, client *http.Client, rec *history.Recorder, gateway, region, key string, seq uint64) history.Op {
	path, ok := probePath(key)
	if !ok {
		return history.Op{Type: history.OK, Version: math.MaxInt64} // not a key a probe can read
	}
	inv := probeInvoke(region, key, seq)
	rec.Op(inv)
	done := inv
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gateway+path, nil)
	if err == nil {
		req.Header.Set(app.HeaderGeo, region)
		req.Header.Set(app.HeaderSession, "probe")
		var resp *http.Response
		resp, err = client.Do(req)
		if err == nil {
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(key, "history/") {
				var h member.History
				if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h) == nil {
					for _, e := range h.Entries {
						done.Entries = append(done.Entries, e.At)
					}
					done.EntriesCut = len(h.Entries) >= member.HistoryPage
				}
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done.Status = resp.StatusCode
			done.Region = resp.Header.Get(app.HeaderRegion)
			done.Version, _ = strconv.ParseInt(resp.Header.Get(app.HeaderVersion), 10, 64)
			done.CacheHit = resp.Header.Get(app.HeaderCache) == "hit"
		}
	}
	done.Time, done.Latency = time.Now(), time.Since(inv.Time)
	switch {
	case err != nil:
		done.Type, done.Error = history.Fail, err.Error()
	case done.Status == http.StatusOK:
		done.Type = history.OK
	case done.Status == http.StatusNotFound:
		done.Type, done.Version = history.OK, 0 // read fine, nothing there: a lost write if one was acknowledged
	default:
		done.Type, done.Error = history.Fail, http.StatusText(done.Status)
	}
	if done.Region == "" {
		done.Region = region
	}
	rec.Op(done)
	return done
}

// readSourceOne reads a key from one source of a region through a member
// service's admin read, and records it as a probe of that source.
func readSourceOne(ctx context.Context, admin member.AdminClient, rec *history.Recorder, j readBackJob, seq uint64) history.Op {
	kind, id, ok := strings.Cut(j.key, "/")
	if !ok {
		return history.Op{Type: history.OK, Version: math.MaxInt64}
	}
	inv := probeInvoke(j.region, j.key, seq)
	inv.Source = j.source
	rec.Op(inv)
	done := inv
	// The member's admin read names its sources as the history does.
	got, err := admin.Read(ctx, kind, id, j.source)
	done.Time, done.Latency, done.Region = time.Now(), time.Since(inv.Time), j.region
	if err != nil {
		done.Type, done.Error = history.Fail, err.Error()
		rec.Op(done)
		return done
	}
	done.Type, done.Version, done.Entries = history.OK, got.Version, got.Entries
	done.EntriesCut = len(got.Entries) >= member.HistoryPage
	if history.IsCacheSource(j.source) {
		done.CacheHit = got.Found
		if !got.Found {
			done.Version, done.Entries = 0, nil
		}
	}
	rec.Op(done)
	return done
}
