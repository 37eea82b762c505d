package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/require"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/invalidation"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/internal/worldtest"
	"github.com/kongchaos/kong/topology/local"
)

// One real world (small profile) serves every test of this package.
var shared worldtest.Shared

func TestMain(m *testing.M) { worldtest.RunShared(m, &shared, "test-app", "small") }

func startWorld(t *testing.T) *local.World { return shared.Local(t) }

func memberURL(w *local.World, region string) string {
	for _, c := range w.Plan().Members {
		if c.Region == region {
			return "http://" + c.Address
		}
	}
	return ""
}

type reply struct {
	status  int
	version int64
	cache   string
	region  string
}

func call(t *testing.T, method, url string, body any) reply {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	v, _ := strconv.ParseInt(resp.Header.Get(app.HeaderVersion), 10, 64)
	return reply{resp.StatusCode, v, resp.Header.Get(app.HeaderCache), resp.Header.Get(app.HeaderRegion)}
}

func setLink(t *testing.T, w *local.World, a, b string, enabled bool) {
	worldtest.SetLinks(t, w, a, b, enabled)
}

// waitFor polls f until it is true, and returns how long that took.
func waitFor(t *testing.T, within time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if f() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, within)
	return 0
}

func TestCrossRegionInvalidationAgainstRealServers(t *testing.T) {
	w := startWorld(t)
	const east, west = "us-east-1", "us-west-2"
	eastURL, westURL := memberURL(w, east), memberURL(w, west)
	profile := func(base, id string) string { return base + "/v1/members/" + id + "/profile" }
	westCache := memcache.New(w.MemcachedAddrs(west)["a"]...)

	// A write in us-east-1, then reads in us-west-2: a miss that fills the
	// cache, then a hit.
	r := call(t, http.MethodPut, profile(eastURL, "m1"), map[string]string{"name": "Ada", "plan": "basic"})
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, east, r.region)
	v1 := r.version
	waitFor(t, 30*time.Second, "us-west-2 reads the us-east-1 write", func() bool {
		r := call(t, http.MethodGet, profile(westURL, "m1"), nil)
		return r.status == http.StatusOK && r.version == v1
	})
	r = call(t, http.MethodGet, profile(westURL, "m1"), nil)
	require.Equal(t, "hit", r.cache, "the second read in us-west-2 is served from its cache")
	require.Equal(t, west, r.region)

	// A second write in us-east-1 invalidates us-west-2's entry within a bound,
	// and the next read there returns the new version from Cassandra.
	r = call(t, http.MethodPut, profile(eastURL, "m1"), map[string]string{"name": "Ada", "plan": "premium"})
	v2 := r.version
	took := waitFor(t, 10*time.Second, "us-west-2's cache entry invalidated", func() bool {
		it, err := westCache.Get("p:m1")
		return err == memcache.ErrCacheMiss || (err == nil && bytes.Contains(it.Value, []byte(`"tombstone":true`)))
	})
	t.Logf("invalidation reached us-west-2's cache %s after the write", took.Round(time.Millisecond))
	waitFor(t, 30*time.Second, "us-west-2 reads the new version", func() bool {
		r := call(t, http.MethodGet, profile(westURL, "m1"), nil)
		return r.status == http.StatusOK && r.version == v2
	})

	// With the links cut, writes still succeed in us-east-1; us-west-2 keeps
	// its cached value. After the heal the pending invalidation arrives and
	// no cache serves a version older than Cassandra holds.
	setLink(t, w, east, west, false)
	healed := false
	defer func() {
		if !healed {
			setLink(t, w, east, west, true)
		}
	}()
	_ = call(t, http.MethodGet, profile(westURL, "m1"), nil) // cache v2 in us-west-2
	start := time.Now()
	r = call(t, http.MethodPut, profile(eastURL, "m1"), map[string]string{"name": "Ada", "plan": "family"})
	require.Equal(t, http.StatusOK, r.status, "a write in us-east-1 fails while the links are cut")
	require.Less(t, time.Since(start), 2*time.Second, "the write waited on the cut link")
	v3 := r.version
	time.Sleep(2 * time.Second)
	r = call(t, http.MethodGet, profile(westURL, "m1"), nil)
	require.Equal(t, v2, r.version, "us-west-2 saw the partition-time write while cut")
	setLink(t, w, east, west, true)
	healed = true
	took = waitFor(t, 2*time.Minute, "us-west-2 serves the partition-time write after heal", func() bool {
		r := call(t, http.MethodGet, profile(westURL, "m1"), nil)
		return r.status == http.StatusOK && r.version == v3
	})
	t.Logf("after heal, us-west-2 served the new version within %s", took.Round(time.Millisecond))
	// From now on it never serves older.
	for i := 0; i < 20; i++ {
		r := call(t, http.MethodGet, profile(westURL, "m1"), nil)
		require.Equal(t, v3, r.version, fmt.Sprintf("read %d after heal", i))
	}
}

// In replication mode a writer sends the new value itself: the receiving
// region's consumer puts it in its cache (if newer), so the next read there
// is a hit with the new version without going to Cassandra.
func TestReplicationModeMessagesFillTheCache(t *testing.T) {
	w := startWorld(t)
	const east, west = "us-east-1", "us-west-2"
	ctx := context.Background()
	version := time.Now().UnixMicro()
	value, err := json.Marshal(member.Profile{Member: "rep-1", Name: "Rae", Plan: "basic", Version: version})
	require.NoError(t, err)
	msg, err := json.Marshal(invalidation.Message{Key: "p:rep-1", Version: version, Value: value, From: east})
	require.NoError(t, err)
	// Sent as a us-east-1 member in replicate mode would: through the link.
	client := invalidation.Client(w.SQSEndpoint(east, west), west)
	q, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(w.InvalidationQueue(west))})
	require.NoError(t, err)
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(string(msg))})
	require.NoError(t, err)
	waitFor(t, 10*time.Second, "us-west-2's consumer put the replicated value in its cache", func() bool {
		r := call(t, http.MethodGet, memberURL(w, west)+"/v1/members/rep-1/profile", nil)
		return r.status == http.StatusOK && r.cache == "hit" && r.version == version
	})
	// An older replicated value never replaces a newer cached one.
	old, _ := json.Marshal(member.Profile{Member: "rep-1", Name: "Old", Plan: "old", Version: version - 1000})
	msg, _ = json.Marshal(invalidation.Message{Key: "p:rep-1", Version: version - 1000, Value: old, From: east})
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(string(msg))})
	require.NoError(t, err)
	time.Sleep(3 * time.Second)
	r := call(t, http.MethodGet, memberURL(w, west)+"/v1/members/rep-1/profile", nil)
	require.Equal(t, version, r.version, "an older replicated value replaced a newer one")
}

// A message that can never be applied (a key no member has, a body that is
// not an invalidation) is dropped and counted by the consumer, not left in
// the queue to come back every visibility timeout for ever.
func TestPoisonInvalidationsAreDroppedNotRedelivered(t *testing.T) {
	w := startWorld(t)
	const west = "us-west-2"
	ctx := context.Background()
	stats := func() (dropped float64) {
		req, err := http.NewRequest(http.MethodGet, memberURL(w, west)+"/admin/stats", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+w.Secret())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var s map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
		d, _ := s["invalidations_dropped"].(float64)
		return d
	}
	before := stats()
	bad, err := json.Marshal(invalidation.Message{Key: "p:no such member", Version: time.Now().UnixMicro(), From: "us-east-1"})
	require.NoError(t, err)
	client := invalidation.Client(w.SQSEndpoint(west, west), west)
	q, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(w.InvalidationQueue(west))})
	require.NoError(t, err)
	for _, body := range []string{string(bad), "not an invalidation"} {
		_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)})
		require.NoError(t, err)
	}
	waitFor(t, 20*time.Second, "us-west-2's consumer dropped both messages", func() bool { return stats() >= before+2 })
	waitFor(t, 20*time.Second, "the queue is empty (nothing left to redeliver)", func() bool {
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
				types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		require.NoError(t, err)
		return out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)] == "0" &&
			out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)] == "0"
	})
	require.Equal(t, before+2, stats(), "a dropped message came back")
}

// The member service refuses a bad id and a form post over real HTTP too,
// and serves the same request made properly.
func TestMemberRefusesBadInputOverHTTP(t *testing.T) {
	w := startWorld(t)
	base := memberURL(w, "us-east-1")
	resp, err := http.Post(base+"/v1/members/good-1/history", "application/x-www-form-urlencoded", strings.NewReader("title=x"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	require.Equal(t, http.StatusBadRequest, call(t, http.MethodGet, base+"/v1/members/bad%20id/profile", nil).status)
	require.Equal(t, http.StatusOK, call(t, http.MethodPost, base+"/v1/members/good-1/history", map[string]string{"title": "x"}).status)
}

// An invalidation owed to a region survives the member service that owed
// it: with the SQS link to us-west-2 cut, a write in us-east-1 succeeds, the
// us-east-1 member is SIGKILLed and started again, and once the link is back
// us-west-2 stops serving the old version from its cache. With an outbox in
// memory only, us-west-2 served the old version until the cache's TTL.
func TestOwedInvalidationSurvivesAMemberKill(t *testing.T) {
	w := startWorld(t)
	ctx := context.Background()
	const east, west = "us-east-1", "us-west-2"
	eastURL, westURL := memberURL(w, east), memberURL(w, west)
	profile := func(base string) string { return base + "/v1/members/m-owed/profile" }

	r := call(t, http.MethodPut, profile(eastURL), map[string]string{"name": "Ada", "plan": "basic"})
	require.Equal(t, http.StatusOK, r.status)
	v1 := r.version
	waitFor(t, 30*time.Second, "us-west-2 reads the first write", func() bool {
		r := call(t, http.MethodGet, profile(westURL), nil)
		return r.status == http.StatusOK && r.version == v1
	})
	require.Equal(t, "hit", call(t, http.MethodGet, profile(westURL), nil).cache, "us-west-2 caches the first version")

	sqsLink := ""
	for _, l := range w.Links() {
		if l.From == east && l.To == west {
			for _, name := range l.Proxies {
				if strings.HasPrefix(name, "sqs.") {
					sqsLink = name
				}
			}
		}
	}
	require.NotEmpty(t, sqsLink, "no SQS link from us-east-1 to us-west-2")
	proxy, err := toxiclient.NewClient(w.ToxiproxyAPI()).Proxy(sqsLink)
	require.NoError(t, err)
	require.NoError(t, proxy.Disable())
	t.Cleanup(func() { _ = proxy.Enable() })

	r = call(t, http.MethodPut, profile(eastURL), map[string]string{"name": "Ada", "plan": "premium"})
	require.Equal(t, http.StatusOK, r.status)
	v2 := r.version

	var eastMember string
	for _, m := range w.Plan().Members {
		if m.Region == east {
			eastMember = m.ID
		}
	}
	require.NoError(t, w.Kill(ctx, eastMember))
	require.NoError(t, w.Start(ctx, eastMember))
	waitFor(t, time.Minute, "the us-east-1 member serves again", func() bool {
		resp, err := http.Get(eastURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	require.NoError(t, proxy.Enable())
	took := waitFor(t, time.Minute, "us-west-2 serves the write its member owed an invalidation for", func() bool {
		r := call(t, http.MethodGet, profile(westURL), nil)
		return r.status == http.StatusOK && r.version == v2
	})
	t.Logf("the owed invalidation arrived %s after the link came back", took.Round(time.Millisecond))
}

// The admin read shows what each source of a region holds, apart: its
// Cassandra at LOCAL_QUORUM and each zone's memcached with no fallback, so
// that one zone's stale copy is seen even though a user would meet it only
// by chance.
func TestAdminReadShowsEachSource(t *testing.T) {
	w := startWorld(t)
	const east = "us-east-1"
	base := memberURL(w, east)
	admin := member.NewAdminClient(base, w.Secret())
	ctx := context.Background()
	zones := w.MemcachedAddrs(east)
	require.NotEmpty(t, zones, "memcached in %s", east)

	r := call(t, http.MethodPut, base+"/v1/members/mread/profile", map[string]string{"name": "Ada", "plan": "basic"})
	require.Equal(t, http.StatusOK, r.status)
	got, err := admin.Read(ctx, member.KindProfile, "mread", member.SourceStore)
	require.NoError(t, err)
	require.Equal(t, member.Stored{Kind: member.KindProfile, Member: "mread", Source: member.SourceStore, Found: true, Version: r.version}, got)
	for zone := range zones {
		got, err := admin.Read(ctx, member.KindProfile, "mread", "cache:"+zone)
		require.NoError(t, err)
		require.True(t, got.Found, "zone %s caches the write", zone)
		require.Equal(t, r.version, got.Version, "zone %s", zone)
	}

	// One zone holding an older copy is seen there, and only there (the
	// small world may have a single zone).
	var stale string
	for zone := range zones {
		stale = zone
		break
	}
	old, _ := json.Marshal(member.Profile{Member: "mread", Name: "Ada", Plan: "old", Version: r.version - 1})
	require.NoError(t, memcache.New(zones[stale]...).Set(&memcache.Item{Key: "p:mread", Value: old}))
	for zone := range zones {
		got, err := admin.Read(ctx, member.KindProfile, "mread", "cache:"+zone)
		require.NoError(t, err)
		if zone == stale {
			require.Equal(t, r.version-1, got.Version, "the stale zone's copy")
		} else {
			require.Equal(t, r.version, got.Version, "zone %s", zone)
		}
	}

	// A history: the store lists its entries; an append tombstones the
	// caches.
	a := call(t, http.MethodPost, base+"/v1/members/mread/history", map[string]string{"title": "t1"})
	require.Equal(t, http.StatusOK, a.status)
	got, err = admin.Read(ctx, member.KindHistory, "mread", member.SourceStore)
	require.NoError(t, err)
	require.Equal(t, []int64{a.version}, got.Entries)
	require.Equal(t, a.version, got.Version)
	got, err = admin.Read(ctx, member.KindHistory, "mread", "cache:"+stale)
	require.NoError(t, err)
	require.True(t, got.Tombstone, "the append left a tombstone")
	require.False(t, got.Found)

	_, err = admin.Read(ctx, member.KindProfile, "mread", "cache:nowhere")
	require.ErrorContains(t, err, `no zone "nowhere"`)
	_, err = member.NewAdminClient(base, "wrong").Read(ctx, member.KindProfile, "mread", member.SourceStore)
	require.Error(t, err, "the admin read needs the world's secret")
}
