// Package evcache is an EVCache-style client over a region's memcached
// servers: every zone holds a full copy, reads go to the local zone first and
// fall back to another zone when a server does not answer, writes and deletes
// go to every zone (SetIfNewerLocal, a broken world's write, goes to the
// local zone only).
package evcache

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// ErrMiss means no zone holds the key.
var ErrMiss = errors.New("cache miss")

// ErrBadKey refuses a key memcached would refuse: empty, longer than 250
// bytes, or holding a space or a control character. Retrying cannot help.
var ErrBadKey = errors.New("evcache: illegal memcached key")

// checkKey returns an error wrapping ErrBadKey for a key memcached refuses.
func checkKey(key string) error {
	if key == "" || len(key) > 250 {
		return fmt.Errorf("%w: %d bytes long (1..250)", ErrBadKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return fmt.Errorf("%w: %.60q: byte %d is a space or a control character", ErrBadKey, key, i)
		}
	}
	return nil
}

// Client reads and writes one region's cache.
type Client struct {
	local string
	zones []string // local zone first, then the others in order
	by    map[string]*memcache.Client

	// A write or delete that failed in a zone leaves that zone's copy behind
	// the others: the key is deleted there in the background, retried until
	// it succeeds (see repairLoop).
	mu       sync.Mutex
	pending  map[zoneKey]struct{}
	repaired atomic.Uint64
	dropped  atomic.Uint64
	stop     chan struct{}
	stopped  chan struct{}

	// lastBad is, per zone, when it last failed (unix nanoseconds): a read
	// does not trust a zone until trustAfter has passed since, and a probe
	// per zone (watchLoop) keeps it current while no request goes there.
	lastBad map[string]*atomic.Int64
	watches sync.WaitGroup
}

// zoneKey is a key to delete in one zone.
type zoneKey struct{ zone, key string }

// maxPending bounds the repairs waiting; past it a failed zone is left as
// it is (counted in Repairs).
const maxPending = 100_000

// repairEvery is how often the waiting repairs are tried.
const repairEvery = 250 * time.Millisecond

// A zone that failed (no answer within the timeout) may have missed writes
// of other clients (other member services), which hold the repairs for
// them: it is not read until it has answered for trustAfter, four of their
// repair rounds. probeEvery is how often each zone is asked whether it
// answers. Slow answers within the timeout are not held against a zone: on
// a loaded machine the client's own stalls would look the same. A write
// waits out the same timeout, so a zone that answers within it took the
// write.
const (
	trustAfter = 4 * repairEvery
	probeEvery = 100 * time.Millisecond
)

// New builds a client for the zone the caller runs in; zones maps each zone
// of the region to its memcached servers (host:port).
func New(localZone string, zones map[string][]string, timeout time.Duration) (*Client, error) {
	if len(zones[localZone]) == 0 {
		return nil, fmt.Errorf("evcache: no memcached servers for local zone %q (have %v)", localZone, slices.Sorted(maps.Keys(zones)))
	}
	if timeout <= 0 {
		timeout = 200 * time.Millisecond
	}
	c := &Client{local: localZone, by: map[string]*memcache.Client{}, pending: map[zoneKey]struct{}{},
		stop: make(chan struct{}), stopped: make(chan struct{}), lastBad: map[string]*atomic.Int64{}}
	c.zones = append(c.zones, localZone)
	for _, z := range slices.Sorted(maps.Keys(zones)) {
		if z != localZone {
			c.zones = append(c.zones, z)
		}
	}
	for z, addrs := range zones {
		mc := memcache.New(addrs...)
		mc.Timeout = timeout
		mc.MaxIdleConns = 64
		c.by[z] = mc
		c.lastBad[z] = new(atomic.Int64)
	}
	go c.repairLoop()
	for _, z := range c.zones {
		c.watches.Add(1)
		go c.watchLoop(z)
	}
	return c, nil
}

// Close stops the background repairs and probes.
func (c *Client) Close() {
	close(c.stop)
	<-c.stopped
	c.watches.Wait()
}

// bad records that zone failed just now.
func (c *Client) bad(zone string) { c.lastBad[zone].Store(time.Now().UnixNano()) }

// trusted says whether zone has answered for trustAfter.
func (c *Client) trusted(zone string) bool {
	return time.Since(time.Unix(0, c.lastBad[zone].Load())) >= trustAfter
}

// watchLoop asks zone's servers, every probeEvery, whether they answer
// within the timeout (memcached's version command).
func (c *Client) watchLoop(zone string) {
	defer c.watches.Done()
	c.every(probeEvery, func() {
		if err := c.by[zone].Ping(); err != nil {
			c.bad(zone)
		}
	})
}

// every runs f every d until Close.
func (c *Client) every(d time.Duration, f func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			f()
		}
	}
}

// Repairs reports the zones' keys waiting to be deleted after a failed
// write, those deleted so far, and those given up because too many waited.
func (c *Client) Repairs() (pending int, repaired, dropped uint64) {
	c.mu.Lock()
	pending = len(c.pending)
	c.mu.Unlock()
	return pending, c.repaired.Load(), c.dropped.Load()
}

// owe marks key as to be deleted in zone.
func (c *Client) owe(zone, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) >= maxPending {
		c.dropped.Add(1)
		return
	}
	c.pending[zoneKey{zone, key}] = struct{}{}
}

// repairLoop deletes, every repairEvery, the keys whose write failed in a
// zone: a zone that missed a write or an invalidation must not serve the
// older value it still holds once it answers again, and a deleted key is
// only a miss (the next read fills it from Cassandra).
func (c *Client) repairLoop() {
	defer close(c.stopped)
	c.every(repairEvery, func() {
		c.mu.Lock()
		todo := make([]zoneKey, 0, len(c.pending))
		for zk := range c.pending {
			todo = append(todo, zk)
		}
		c.mu.Unlock()
		for _, zk := range todo {
			err := c.by[zk.zone].Delete(zk.key)
			if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
				continue
			}
			c.mu.Lock()
			delete(c.pending, zk)
			c.mu.Unlock()
			c.repaired.Add(1)
		}
	})
}

// Get reads a key from the local zone, falling back to the next zone when a
// server fails (not on a plain miss: every zone holds the same data). It
// returns the value and the zone that answered. A zone is not trusted with
// a key, and is passed over:
//   - while it owes this client a repair of the key (owe): a paused
//     memcached that resumes would hand a read the value from before the
//     write it missed;
//   - until it has answered for trustAfter since it last failed (trusted),
//     since it may have missed other clients' writes, whose repairs those
//     clients hold;
//   - when it came to owe the repair while the read waited on it.
//
// When no trusted zone holds the key, it is a miss, and the reader goes to
// the store.
func (c *Client) Get(key string) ([]byte, string, error) {
	if err := checkKey(key); err != nil {
		return nil, "", err
	}
	var errs []string
	distrusted := false
	for _, z := range c.zones {
		if c.owes(z, key) || !c.trusted(z) {
			distrusted = true
			continue
		}
		it, err := c.by[z].Get(key)
		if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			c.bad(z)
		}
		switch {
		case c.owes(z, key):
			// The write it missed failed while this read waited on it.
			distrusted = true
		case err == nil:
			return it.Value, z, nil
		case errors.Is(err, memcache.ErrCacheMiss):
			return nil, z, ErrMiss
		default:
			errs = append(errs, z+": "+err.Error())
		}
	}
	if distrusted {
		return nil, "", ErrMiss
	}
	return nil, "", fmt.Errorf("evcache get %s: every zone failed: %s", key, strings.Join(errs, "; "))
}

// owes says whether zone missed a write of key that is not yet repaired.
func (c *Client) owes(zone, key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[zoneKey{zone, key}]
	return ok
}

// GetZone reads a key from one zone's memcached only, with no fallback:
// what a reader in that zone would find (ErrMiss when it holds nothing).
func (c *Client) GetZone(zone, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	mc, ok := c.by[zone]
	if !ok {
		return nil, fmt.Errorf("evcache: no zone %q (the zones are %s)", zone, strings.Join(c.zones, ", "))
	}
	it, err := mc.Get(key)
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return nil, ErrMiss
	case err != nil:
		return nil, fmt.Errorf("evcache get %s in zone %s: %w", key, zone, err)
	}
	return it.Value, nil
}

// Set writes a key to every zone; it fails only when no zone took it. A zone
// that did not take it has the key deleted in the background.
func (c *Client) Set(key string, value []byte, ttl time.Duration) error {
	return c.each(c.zones, key, func(mc *memcache.Client) error {
		return mc.Set(&memcache.Item{Key: key, Value: value, Expiration: int32(ttl / time.Second)})
	})
}

// Delete removes a key from every zone; a key absent from a zone is fine.
func (c *Client) Delete(key string) error {
	return c.each(c.zones, key, func(mc *memcache.Client) error {
		if err := mc.Delete(key); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return err
		}
		return nil
	})
}

// each runs f on the memcached of each of zones; it fails only when every
// zone failed, and a zone that failed has key deleted in the background.
func (c *Client) each(zones []string, key string, f func(*memcache.Client) error) error {
	if err := checkKey(key); err != nil {
		return err
	}
	var errs []string
	for _, z := range zones {
		if err := f(c.by[z]); err != nil {
			errs = append(errs, z+": "+err.Error())
			c.owe(z, key)
			c.bad(z)
		}
	}
	if len(errs) == len(zones) {
		return fmt.Errorf("evcache %s: every zone failed: %s", key, strings.Join(errs, "; "))
	}
	return nil
}

// SetIfNewer writes value in every zone unless the zone already holds a
// version at least as new (versionOf reads a cached value's version). It
// uses memcached's add and compare-and-swap, so a slow read that refills
// the cache can never overwrite a newer value or an invalidation's tombstone.
func (c *Client) SetIfNewer(key string, value []byte, version int64, versionOf func([]byte) int64, ttl time.Duration) error {
	return c.Update(key, IfNewer(value, version, versionOf), ttl)
}

// SetIfNewerLocal is SetIfNewer in the local zone only: the other zones
// keep what they hold, and their readers the value from before. A broken
// world (member.Faults.CacheOneZone): EVCache writes every zone so that a
// reader in any zone sees the write.
func (c *Client) SetIfNewerLocal(key string, value []byte, version int64, versionOf func([]byte) int64, ttl time.Duration) error {
	return c.UpdateLocal(key, IfNewer(value, version, versionOf), ttl)
}

// IfNewer is the Merge of SetIfNewer: value, unless the zone holds a
// version at least as new (versionOf reads a cached value's version).
func IfNewer(value []byte, version int64, versionOf func([]byte) int64) Merge {
	return func(old []byte, found bool) ([]byte, bool) {
		if found && versionOf(old) >= version {
			return nil, false
		}
		return value, true
	}
}

// Merge says what a zone should hold of a key given what it holds (found
// false: nothing): the new value, or false to leave it as it is.
type Merge func(old []byte, found bool) ([]byte, bool)

// Update writes in every zone what merge makes of what the zone holds,
// with memcached's add and compare-and-swap: a value written meanwhile is
// merged again, never overwritten unseen.
func (c *Client) Update(key string, merge Merge, ttl time.Duration) error {
	return c.update(c.zones, key, merge, ttl)
}

// UpdateLocal is Update in the local zone only (as SetIfNewerLocal).
func (c *Client) UpdateLocal(key string, merge Merge, ttl time.Duration) error {
	return c.update(c.zones[:1], key, merge, ttl)
}

func (c *Client) update(zones []string, key string, merge Merge, ttl time.Duration) error {
	return c.each(zones, key, func(mc *memcache.Client) error {
		for try := 0; try < 5; try++ {
			it, err := mc.Get(key)
			switch {
			case errors.Is(err, memcache.ErrCacheMiss):
				value, ok := merge(nil, false)
				if !ok {
					return nil
				}
				err = mc.Add(&memcache.Item{Key: key, Value: value, Expiration: int32(ttl / time.Second)})
				if errors.Is(err, memcache.ErrNotStored) {
					continue // someone else added it first: merge again
				}
				return err
			case err != nil:
				return err
			}
			value, ok := merge(it.Value, true)
			if !ok {
				return nil
			}
			it.Value, it.Expiration = value, int32(ttl/time.Second)
			err = mc.CompareAndSwap(it)
			if errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) {
				continue
			}
			return err
		}
		return fmt.Errorf("evcache %s: too much contention", key)
	})
}
