package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A member service whose cache or database is frozen (SIGSTOP: there but
// silent) answers in bounded time: from the other dependency, from its
// cache, or with a clear error; it never hangs.
func TestMemberAnswersWhenADependencyIsFrozen(t *testing.T) {
	w := startWorld(t)
	ctx := context.Background()
	const region = "us-west-2"
	base := memberURL(w, region)
	r := call(t, http.MethodPut, base+"/v1/members/frozen-1/profile", map[string]string{"name": "Fay", "plan": "basic"})
	require.Equal(t, http.StatusOK, r.status)

	timed := func(url string) (reply, time.Duration) {
		start := time.Now()
		r := call(t, http.MethodGet, url, nil)
		return r, time.Since(start)
	}

	// memcached frozen: the read falls through to Cassandra after the cache timeout.
	cache := region + "/memcached/a"
	require.NoError(t, w.Pause(ctx, cache))
	r, took := timed(base + "/v1/members/frozen-1/profile")
	require.NoError(t, w.Resume(ctx, cache))
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "miss", r.cache)
	require.Less(t, took, 3*time.Second, "a frozen cache held the read for %s", took)

	// Warm the cache again, then freeze Cassandra: cached reads still answer,
	// uncached ones fail clearly within the Cassandra timeout.
	require.Eventually(t, func() bool { return call(t, http.MethodGet, base+"/v1/members/frozen-1/profile", nil).cache == "hit" },
		10*time.Second, 100*time.Millisecond)
	node := region + "/cassandra/a"
	require.NoError(t, w.Pause(ctx, node))
	defer w.Resume(ctx, node)
	r, took = timed(base + "/v1/members/frozen-1/profile")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "hit", r.cache)
	require.Less(t, took, time.Second)
	r, took = timed(base + "/v1/members/never-written/profile")
	require.Equal(t, http.StatusServiceUnavailable, r.status, "an uncached read with Cassandra frozen")
	require.Less(t, took, 5*time.Second, "a frozen Cassandra held the read for %s", took)
	require.NoError(t, w.Resume(ctx, node))
	require.Eventually(t, func() bool {
		return call(t, http.MethodGet, base+"/v1/members/never-written/profile", nil).status == http.StatusNotFound
	}, time.Minute, 200*time.Millisecond, "the member service did not recover after Cassandra thawed")
}
