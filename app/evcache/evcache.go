// Package evcache is an EVCache-style client over a region's memcached
// servers: every zone holds a full copy, reads go to the local zone first and
// fall back to another zone when a server does not answer, writes and deletes
// go to every zone.
package evcache

import (
	"errors"
	"fmt"
	"sort"
	"strings"
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
}

// New builds a client for the zone the caller runs in; zones maps each zone
// of the region to its memcached servers (host:port).
func New(localZone string, zones map[string][]string, timeout time.Duration) (*Client, error) {
	if len(zones[localZone]) == 0 {
		return nil, fmt.Errorf("evcache: no memcached servers for local zone %q (have %v)", localZone, keys(zones))
	}
	if timeout <= 0 {
		timeout = 200 * time.Millisecond
	}
	c := &Client{local: localZone, by: map[string]*memcache.Client{}}
	c.zones = append(c.zones, localZone)
	for _, z := range keys(zones) {
		if z != localZone {
			c.zones = append(c.zones, z)
		}
	}
	for z, addrs := range zones {
		mc := memcache.New(addrs...)
		mc.Timeout = timeout
		mc.MaxIdleConns = 64
		c.by[z] = mc
	}
	return c, nil
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Get reads a key from the local zone, falling back to the next zone when a
// server fails (not on a plain miss: every zone holds the same data). It
// returns the value and the zone that answered.
func (c *Client) Get(key string) ([]byte, string, error) {
	if err := checkKey(key); err != nil {
		return nil, "", err
	}
	var errs []string
	for _, z := range c.zones {
		it, err := c.by[z].Get(key)
		switch {
		case err == nil:
			return it.Value, z, nil
		case errors.Is(err, memcache.ErrCacheMiss):
			return nil, z, ErrMiss
		default:
			errs = append(errs, z+": "+err.Error())
		}
	}
	return nil, "", fmt.Errorf("evcache get %s: every zone failed: %s", key, strings.Join(errs, "; "))
}

// Set writes a key to every zone; it fails only when no zone took it.
func (c *Client) Set(key string, value []byte, ttl time.Duration) error {
	return c.each(key, func(mc *memcache.Client) error {
		return mc.Set(&memcache.Item{Key: key, Value: value, Expiration: int32(ttl / time.Second)})
	})
}

// Delete removes a key from every zone; a key absent from a zone is fine.
func (c *Client) Delete(key string) error {
	return c.each(key, func(mc *memcache.Client) error {
		if err := mc.Delete(key); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return err
		}
		return nil
	})
}

func (c *Client) each(key string, f func(*memcache.Client) error) error {
	if err := checkKey(key); err != nil {
		return err
	}
	var errs []string
	for _, z := range c.zones {
		if err := f(c.by[z]); err != nil {
			errs = append(errs, z+": "+err.Error())
		}
	}
	if len(errs) == len(c.zones) {
		return fmt.Errorf("evcache %s: every zone failed: %s", key, strings.Join(errs, "; "))
	}
	return nil
}

// SetIfNewer writes value in every zone unless the zone already holds a
// version at least as new (versionOf reads a cached value's version). It
// uses memcached's add and compare-and-swap, so a slow read that refills
// the cache can never overwrite a newer value or an invalidation's tombstone.
func (c *Client) SetIfNewer(key string, value []byte, version int64, versionOf func([]byte) int64, ttl time.Duration) error {
	return c.each(key, func(mc *memcache.Client) error {
		for try := 0; try < 5; try++ {
			it, err := mc.Get(key)
			switch {
			case errors.Is(err, memcache.ErrCacheMiss):
				err = mc.Add(&memcache.Item{Key: key, Value: value, Expiration: int32(ttl / time.Second)})
				if errors.Is(err, memcache.ErrNotStored) {
					continue // someone else added it first: compare again
				}
				return err
			case err != nil:
				return err
			}
			if versionOf(it.Value) >= version {
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
