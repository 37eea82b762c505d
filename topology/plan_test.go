package topology

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustProfile(t testing.TB, name string) *Spec {
	t.Helper()
	s, err := Profile(name)
	require.NoError(t, err)
	return s
}

func mustPlan(t testing.TB, s *Spec, slot int) *Plan {
	t.Helper()
	p, err := NewPlan(s, slot)
	require.NoError(t, err)
	require.NotNil(t, p)
	return p
}

// bigSpec is a valid spec near the plan's limits: 8 regions of 5 zones, 2
// Cassandra nodes (80 in all) and 6 memcached servers (240) per zone.
func bigSpec(t testing.TB) *Spec {
	t.Helper()
	lines := []string{
		"per_zone: {cassandra: 2, memcached: 6, member: 3}",
		"regions:",
	}
	for i := 0; i < MaxRegions; i++ {
		lines = append(lines, fmt.Sprintf("  - name: region-%d", i), "    zones: [a, b, c, d, e]")
	}
	s, err := Parse("big.yaml", []byte(strings.Join(lines, "\n")))
	require.NoError(t, err)
	return s
}

// everySpec is every profile by name, and bigSpec as "big".
func everySpec(t testing.TB) map[string]*Spec {
	t.Helper()
	specs := map[string]*Spec{"big": bigSpec(t)}
	for _, name := range Profiles() {
		specs[name] = mustProfile(t, name)
	}
	return specs
}

// planAddresses lists every host:port a plan binds, labelled by what binds it.
func planAddresses(p *Plan) map[string][]string {
	out := map[string][]string{}
	add := func(addr, what string) { out[addr] = append(out[addr], what) }
	add(p.Toxiproxy.Address, "toxiproxy")
	add(p.Control, "control")
	for _, n := range p.Cassandra {
		add(n.Address, n.ID+" cql")
		add(net.JoinHostPort(n.Listen, strconv.Itoa(p.Spec.Ports.Storage)), n.ID+" storage")
		add(n.Extra["storage"], n.ID+" extra storage")
		add(n.Extra["broadcast"], n.ID+" broadcast")
		add(n.Extra["jmx"], n.ID+" jmx")
		for from, a := range n.LinkProxies {
			add(a, n.ID+" link proxy from "+from)
		}
	}
	for _, m := range p.Memcached {
		add(m.Address, m.ID)
	}
	for _, q := range p.SQS {
		add(q.Address, q.ID)
	}
	for name, l := range p.SQSLinks {
		add(l, "sqs link "+name)
	}
	for name, l := range p.IsthmusLinks {
		add(l, "isthmus link "+name)
	}
	add(p.Director.Address, "director")
	for _, c := range append(append([]Component{}, p.Gateways...), p.Members...) {
		add(c.Address, c.ID)
	}
	return out
}

// requireUniqueAddresses fails if two servers of the plan share a host:port.
// The storage address is listed twice on purpose (field and Extra): they must
// agree, and nothing else may use it.
func requireUniqueAddresses(t testing.TB, p *Plan) {
	t.Helper()
	for addr, who := range planAddresses(p) {
		require.NotEmpty(t, addr)
		_, _, err := net.SplitHostPort(addr)
		require.NoError(t, err, "address %q of %v", addr, who)
		if len(who) == 2 && strings.HasSuffix(who[0], " storage") && who[1] == strings.TrimSuffix(who[0], " storage")+" extra storage" {
			continue
		}
		require.Len(t, who, 1, "address %s is used by %v", addr, who)
	}
}

func TestNewPlanDeterministic(t *testing.T) {
	specs := map[string]func() *Spec{"big": func() *Spec { return bigSpec(t) }}
	for _, name := range Profiles() {
		specs[name] = func() *Spec { return mustProfile(t, name) }
	}
	for name, mk := range specs {
		for _, slot := range []int{0, 1, 42, Slots - 1} {
			t.Run(fmt.Sprintf("%s/%d", name, slot), func(t *testing.T) {
				s := mk()
				a := mustPlan(t, s, slot)
				b := mustPlan(t, s, slot)
				assert.Equal(t, a, b)
				// A spec parsed again from the same text plans the same.
				c := mustPlan(t, mk(), slot)
				assert.Equal(t, a, c)
				assert.Equal(t, a.Components(), c.Components())
				assert.Equal(t, a.Links(), c.Links())
			})
		}
	}
}

func TestPlanLayout(t *testing.T) {
	p := mustPlan(t, mustProfile(t, "default"), 7)
	assert.Equal(t, 7, p.Slot)
	assert.Equal(t, "127.107", p.Prefix())
	assert.Equal(t, Component{ID: "toxiproxy", Kind: KindToxiproxy, Address: "127.107.0.1:8474"}, p.Toxiproxy)
	assert.Equal(t, "127.107.0.1:8475", p.Control)

	require.Len(t, p.Cassandra, 6)
	first := p.Cassandra[0]
	assert.Equal(t, "us-east-1/cassandra/a", first.ID)
	assert.Equal(t, KindCassandra, first.Kind)
	assert.Equal(t, "us-east-1", first.Region)
	assert.Equal(t, "a", first.Zone)
	assert.Equal(t, "127.107.2.1", first.Listen)
	assert.Equal(t, "127.107.2.1:9042", first.Address)
	assert.Equal(t, "127.107.3.1", first.Broadcast)
	assert.Equal(t, 17700, first.JMXPort)
	assert.Equal(t, map[string]string{"us-west-2": "127.107.17.1:7000"}, first.LinkProxies)
	assert.Equal(t, map[string]string{
		"broadcast": "127.107.3.1:7000",
		"storage":   "127.107.2.1:7000",
		"jmx":       "127.0.0.1:17700",
	}, first.Extra)
	last := p.Cassandra[5]
	assert.Equal(t, "us-west-2/cassandra/c", last.ID)
	assert.Equal(t, "127.107.2.6:9042", last.Address)
	assert.Equal(t, 17705, last.JMXPort)
	assert.Equal(t, 1, last.DCIndex)

	var ids []string
	for _, n := range p.Cassandra {
		ids = append(ids, n.ID)
	}
	assert.Equal(t, []string{
		"us-east-1/cassandra/a", "us-east-1/cassandra/b", "us-east-1/cassandra/c",
		"us-west-2/cassandra/a", "us-west-2/cassandra/b", "us-west-2/cassandra/c",
	}, ids)

	assert.Equal(t, []Component{
		{ID: "us-east-1/sqs", Kind: KindSQS, Region: "us-east-1", Address: "127.107.1.1:9324"},
		{ID: "us-west-2/sqs", Kind: KindSQS, Region: "us-west-2", Address: "127.107.1.2:9324"},
	}, p.SQS)
	assert.Equal(t, map[string]string{
		"us-east-1->us-west-2": "127.107.1.100:9324",
		"us-west-2->us-east-1": "127.107.1.101:9324",
	}, p.SQSLinks)
	require.Len(t, p.Memcached, 6)
	assert.Equal(t, Component{ID: "us-east-1/memcached/a", Kind: KindMemcached, Region: "us-east-1", Zone: "a",
		Address: "127.107.4.1:11211"}, p.Memcached[0])
	assert.Equal(t, "127.107.4.6:11211", p.Memcached[5].Address)

	// Components in start order: toxiproxy, SQS, memcached, Cassandra, then
	// the application: members, gateways, director.
	comps := p.Components()
	require.Len(t, comps, 1+2+6+6+6+2+1)
	assert.Equal(t, KindToxiproxy, comps[0].Kind)
	var kinds []string
	for _, c := range comps {
		if len(kinds) == 0 || kinds[len(kinds)-1] != c.Kind {
			kinds = append(kinds, c.Kind)
		}
	}
	assert.Equal(t, []string{KindToxiproxy, KindSQS, KindMemcached, KindCassandra, KindMember, KindGateway, KindDirector}, kinds)
	assert.Equal(t, "127.107.0.2:8053", p.Director.Address)
	assert.Equal(t, "127.107.6.2:8000", p.Gateways[1].Address)
	assert.Equal(t, "127.107.5.4:8080", p.Members[3].Address)
	assert.Equal(t, "us-west-2/member/a", p.Members[3].ID)
	assert.Equal(t, "127.107.7.2:8000", p.IsthmusLinks["us-west-2->us-east-1"])
}

func TestPlanAddressesUnique(t *testing.T) {
	cases := map[string]struct {
		spec *Spec
		// addresses is the number of distinct host:ports: toxiproxy and
		// control, four per Cassandra node (cql, storage, broadcast, jmx)
		// plus one link proxy per other region, one per memcached, one SQS
		// per region, one SQS link per ordered pair.
		addresses int
	}{
		// Then the application: a director, a gateway per region, the members,
		// an isthmus link per ordered pair.
		"default": {mustProfile(t, "default"), 2 + (4+1)*6 + 6 + 2 + 2 + 1 + 2 + 6 + 2},
		"small":   {mustProfile(t, "small"), 2 + (4+1)*2 + 2 + 2 + 2 + 1 + 2 + 2 + 2},
		"global":  {mustProfile(t, "global"), 2 + (4+2)*9 + 9 + 3 + 6 + 1 + 3 + 9 + 6},
		"big":     {bigSpec(t), 2 + (4+7)*80 + 240 + 8 + 56 + 1 + 8 + 120 + 56},
	}
	for name, tc := range cases {
		for _, slot := range []int{0, 55, Slots - 1} {
			t.Run(fmt.Sprintf("%s/%d", name, slot), func(t *testing.T) {
				p := mustPlan(t, tc.spec, slot)
				requireUniqueAddresses(t, p)
				addrs := planAddresses(p)
				assert.Len(t, addrs, tc.addresses)
				for addr := range addrs {
					host, port, err := net.SplitHostPort(addr)
					require.NoError(t, err)
					ip := net.ParseIP(host).To4()
					require.NotNil(t, ip, "%s is not an IPv4 address", addr)
					assert.True(t, ip.IsLoopback(), addr)
					assert.True(t, ip[3] >= 1 && ip[3] <= 254, "%s: bad host number", addr)
					n, err := strconv.Atoi(port)
					require.NoError(t, err)
					assert.True(t, n >= 1 && n <= 65535, addr)
					if host == "127.0.0.1" {
						lo := tc.spec.Ports.Base + slot*JMXBlock
						assert.True(t, n >= lo && n < lo+JMXBlock, "JMX port %d outside the slot's block [%d,%d)", n, lo, lo+JMXBlock)
					} else {
						assert.True(t, strings.HasPrefix(host, p.Prefix()+"."), "%s outside %s.0.0/16", addr, p.Prefix())
					}
				}
			})
		}
	}
}

func TestPlanSlotsShareNoAddress(t *testing.T) {
	for _, name := range []string{"global", "big"} {
		t.Run(name, func(t *testing.T) {
			var s *Spec
			if name == "big" {
				s = bigSpec(t)
			} else {
				s = mustProfile(t, name)
			}
			owner := map[string]int{}
			total := 0
			for slot := 0; slot < Slots; slot++ {
				for addr := range planAddresses(mustPlan(t, s, slot)) {
					if other, ok := owner[addr]; ok {
						require.Failf(t, "address shared", "%s is in slot %d and slot %d", addr, other, slot)
					}
					owner[addr] = slot
					total++
				}
			}
			assert.Len(t, owner, total)
			assert.Greater(t, total, Slots)
		})
	}
}

func TestPlanTokens(t *testing.T) {
	ring := new(big.Int).Lsh(big.NewInt(1), 64)
	minToken := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 63))
	maxToken := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 63), big.NewInt(1))

	uneven, err := Parse("uneven.yaml", []byte(yamlDoc(
		"cassandra: {replication_factor: 1}",
		"regions:",
		"  - name: us-east-1",
		"    zones: [a, b, c]",
		"    per_zone: {cassandra: 3}",
		"  - name: us-west-2",
		"    zones: [a]",
		"  - name: eu-west-1",
		"    zones: [a, b]",
		"    per_zone: {cassandra: 7}",
	)))
	require.NoError(t, err)

	specs := map[string]*Spec{"uneven": uneven, "big": bigSpec(t)}
	for _, name := range Profiles() {
		specs[name] = mustProfile(t, name)
	}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			p := mustPlan(t, s, 3)
			seen := map[string]string{}
			byDC := map[int][]*big.Int{}
			for _, n := range p.Cassandra {
				require.NotContains(t, seen, n.Token, "%s and %s share a token", seen[n.Token], n.ID)
				seen[n.Token] = n.ID
				tok, ok := new(big.Int).SetString(n.Token, 10)
				require.True(t, ok, "token %q of %s is not an integer", n.Token, n.ID)
				require.True(t, tok.Cmp(minToken) >= 0 && tok.Cmp(maxToken) <= 0, "token %s outside the Murmur3 range", tok)
				byDC[n.DCIndex] = append(byDC[n.DCIndex], tok)
			}
			require.Len(t, byDC, len(s.Regions))
			for dc, toks := range byDC {
				n := int64(len(toks))
				require.Equal(t, int(n), len(s.Regions[dc].Zones)*s.Count(s.Regions[dc], KindCassandra))
				assert.True(t, sort.SliceIsSorted(toks, func(i, j int) bool { return toks[i].Cmp(toks[j]) < 0 }),
					"tokens of DC %d are not ascending: %v", dc, toks)
				// The first token is the ring's start offset by the DC index.
				wantFirst := new(big.Int).Add(minToken, big.NewInt(int64(dc)*100))
				assert.Equal(t, 0, toks[0].Cmp(wantFirst), "first token of DC %d is %s, want %s", dc, toks[0], wantFirst)
				// Every gap, including the wrap-around, is ring/n give or take one.
				step := new(big.Int).Div(ring, big.NewInt(n))
				for i := range toks {
					next := new(big.Int)
					if i+1 < len(toks) {
						next.Set(toks[i+1])
					} else {
						next.Add(toks[0], ring)
					}
					gap := new(big.Int).Sub(next, toks[i])
					diff := new(big.Int).Sub(gap, step)
					assert.True(t, diff.CmpAbs(big.NewInt(1)) <= 0,
						"DC %d: gap %s after token %d is not %s±1", dc, gap, i, step)
				}
			}
		})
	}
}

func TestPlanOneSeedPerRegion(t *testing.T) {
	for name, s := range everySpec(t) {
		t.Run(name, func(t *testing.T) {
			p := mustPlan(t, s, 0)
			seeds := map[string][]string{}
			for _, n := range p.Cassandra {
				if n.Seed {
					seeds[n.Region] = append(seeds[n.Region], n.ID)
				}
			}
			require.Len(t, seeds, len(s.Regions))
			for i, r := range s.Regions {
				require.Len(t, seeds[r.Name], 1, "seeds of %s: %v", r.Name, seeds[r.Name])
				// The seed is the region's first node.
				assert.Equal(t, r.Name+"/cassandra/"+r.Zones[0], seeds[r.Name][0])
				for _, n := range p.Cassandra {
					if n.Region == r.Name {
						assert.Equal(t, i, n.DCIndex, n.ID)
					}
				}
			}
		})
	}
}

func TestPlanLinks(t *testing.T) {
	for name, s := range everySpec(t) {
		t.Run(name, func(t *testing.T) {
			p := mustPlan(t, s, 0)
			links := p.Links()
			nr := len(s.Regions)
			require.Len(t, links, nr*(nr-1))
			require.Len(t, p.SQSLinks, len(links))

			type pair struct{ from, to string }
			seen := map[pair]bool{}
			for _, l := range links {
				k := pair{l.From, l.To}
				require.False(t, seen[k], "link %s twice", l.Name)
				seen[k] = true
				require.NotEqual(t, l.From, l.To)
				assert.Equal(t, LinkName(l.From, l.To), l.Name)
				assert.Contains(t, p.SQSLinks, l.Name)

				var want []string
				for _, n := range p.Cassandra {
					if n.Region == l.To {
						want = append(want, ProxyName(n.ID, l.From))
					}
				}
				require.NotEmpty(t, want)
				want = append(want, SQSProxyName(l.From, l.To), IsthmusProxyName(l.From, l.To))
				assert.Equal(t, want, l.Proxies, "proxies of %s", l.Name)
			}
			for _, a := range s.Regions {
				for _, b := range s.Regions {
					if a.Name != b.Name {
						assert.True(t, seen[pair{a.Name, b.Name}], "no link %s", LinkName(a.Name, b.Name))
					}
				}
			}
		})
	}

	// Spelled out for the global profile.
	p := mustPlan(t, mustProfile(t, "global"), 0)
	var euToWest Link
	for _, l := range p.Links() {
		if l.Name == "eu-west-1->us-west-2" {
			euToWest = l
		}
	}
	assert.Equal(t, Link{
		Name: "eu-west-1->us-west-2", From: "eu-west-1", To: "us-west-2",
		Proxies: []string{
			"us-west-2.cassandra.a.from.eu-west-1", "us-west-2.cassandra.b.from.eu-west-1", "us-west-2.cassandra.c.from.eu-west-1",
			"sqs.eu-west-1.to.us-west-2", "gateway.eu-west-1.to.us-west-2",
		},
	}, euToWest)
}

func TestSlotFor(t *testing.T) {
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("world-%d", i)
		slot := SlotFor(name)
		require.True(t, slot >= 0 && slot < Slots, "SlotFor(%q) = %d", name, slot)
		require.Equal(t, slot, SlotFor(name), "SlotFor(%q) is not stable", name)
	}
	// Pinned: the slot of a world must not change between releases, or
	// running worlds would move.
	h := fnv.New32a()
	h.Write([]byte("default"))
	assert.Equal(t, int(h.Sum32()%Slots), SlotFor("default"))
	assert.Equal(t, int(2166136261%Slots), SlotFor(""), "FNV-1a offset basis for the empty name")
	// Names spread over the slots rather than piling up.
	used := map[int]bool{}
	for i := 0; i < 1000; i++ {
		used[SlotFor(fmt.Sprintf("world-%d", i))] = true
	}
	assert.Greater(t, len(used), Slots/2)
}

func TestNewPlanRejectsBadSlots(t *testing.T) {
	s := mustProfile(t, "small")
	for _, slot := range []int{-1, Slots, Slots + 1, -100} {
		p, err := NewPlan(s, slot)
		assert.Nil(t, p)
		require.Error(t, err, "slot %d", slot)
		assert.Contains(t, err.Error(), fmt.Sprintf("slot %d: it must be between 0 and %d", slot, Slots-1))
	}
	for _, slot := range []int{0, Slots - 1} {
		_, err := NewPlan(s, slot)
		assert.NoError(t, err, "slot %d", slot)
	}
}

func TestPlanPerZoneOverride(t *testing.T) {
	s, err := Parse("override.yaml", []byte(yamlDoc(
		"regions:",
		"  - name: us-east-1",
		"    zones: [a, b, c]",
		"    per_zone: {cassandra: 2, memcached: 3}",
		"  - name: us-west-2",
		"    zones: [a, b, c]",
	)))
	require.NoError(t, err)
	p := mustPlan(t, s, 0)

	ids := func(kind, region string) []string {
		var out []string
		for _, c := range p.Components() {
			if c.Kind == kind && c.Region == region {
				out = append(out, c.ID)
			}
		}
		return out
	}
	assert.Equal(t, []string{
		"us-east-1/cassandra/a", "us-east-1/cassandra/a-2",
		"us-east-1/cassandra/b", "us-east-1/cassandra/b-2",
		"us-east-1/cassandra/c", "us-east-1/cassandra/c-2",
	}, ids(KindCassandra, "us-east-1"))
	assert.Equal(t, []string{
		"us-west-2/cassandra/a", "us-west-2/cassandra/b", "us-west-2/cassandra/c",
	}, ids(KindCassandra, "us-west-2"))
	assert.Equal(t, []string{
		"us-east-1/memcached/a", "us-east-1/memcached/a-2", "us-east-1/memcached/a-3",
		"us-east-1/memcached/b", "us-east-1/memcached/b-2", "us-east-1/memcached/b-3",
		"us-east-1/memcached/c", "us-east-1/memcached/c-2", "us-east-1/memcached/c-3",
	}, ids(KindMemcached, "us-east-1"))
	assert.Len(t, ids(KindMemcached, "us-west-2"), 3)

	for _, n := range p.Cassandra {
		if n.ID == "us-east-1/cassandra/a-2" {
			assert.Equal(t, "a", n.Zone)
			assert.False(t, n.Seed)
		}
	}
	requireUniqueAddresses(t, p)

	// The link into us-east-1 crosses all six of its nodes' proxies.
	for _, l := range p.Links() {
		if l.To == "us-east-1" {
			assert.Len(t, l.Proxies, 6+2)
			assert.Contains(t, l.Proxies, ProxyName("us-east-1/cassandra/c-2", l.From))
		}
	}

	// Component IDs parse back to region, kind and zone-instance.
	region, kind, zone, err := ParseID("us-east-1/cassandra/a-2")
	require.NoError(t, err)
	assert.Equal(t, []string{"us-east-1", KindCassandra, "a-2"}, []string{region, kind, zone})
	_, _, _, err = ParseID("a/b/c/d")
	assert.Error(t, err)
}

func TestPlanComponentIDsUnique(t *testing.T) {
	for name, s := range everySpec(t) {
		p := mustPlan(t, s, 0)
		seen := map[string]bool{}
		for _, c := range p.Components() {
			require.False(t, seen[c.ID], "%s: duplicate component ID %q", name, c.ID)
			seen[c.ID] = true
		}
		assert.Len(t, seen, 1+len(p.SQS)+len(p.Memcached)+len(p.Cassandra)+len(p.Members)+len(p.Gateways)+1, name)
	}
}

func TestPlanAtLimits(t *testing.T) {
	// 2 regions x 10 zones x 5 = 100 Cassandra nodes (the most the plan
	// holds) and x 9 = 180 memcached servers.
	zones := "[a, b, c, d, e, f, g, h, i, j]"
	s, err := Parse("limits.yaml", []byte(yamlDoc(
		"per_zone: {cassandra: 5, memcached: 9}",
		"regions:",
		"  - name: us-east-1",
		"    zones: "+zones,
		"  - name: us-west-2",
		"    zones: "+zones,
	)))
	require.NoError(t, err)
	for _, slot := range []int{0, Slots - 1} {
		p := mustPlan(t, s, slot)
		require.Len(t, p.Cassandra, MaxCassandraNodes)
		require.Len(t, p.Memcached, 180)
		requireUniqueAddresses(t, p)
		last := p.Cassandra[len(p.Cassandra)-1]
		assert.Equal(t, fmt.Sprintf("%s.2.100", p.Prefix()), last.Listen)
		assert.Equal(t, s.Ports.Base+slot*JMXBlock+JMXBlock-1, last.JMXPort)
	}

	// One more node is refused.
	_, err = Parse("limits.yaml", []byte(yamlDoc(
		"per_zone: {cassandra: 5}",
		"regions:",
		"  - name: us-east-1",
		"    zones: "+zones,
		"    per_zone: {cassandra: 6}",
		"  - name: us-west-2",
		"    zones: "+zones,
	)))
	requireValidationProblems(t, "limits.yaml", err, []problem{{2, "110 Cassandra nodes"}})

	// 2 regions x 25 zones x 5 = 250 memcached servers, the most the plan holds.
	var many []string
	for i := 0; i < 25; i++ {
		many = append(many, fmt.Sprintf("z%d", i))
	}
	s, err = Parse("limits.yaml", []byte(yamlDoc(
		"per_zone: {memcached: 5}",
		"regions:",
		"  - name: us-east-1",
		"    zones: ["+strings.Join(many, ", ")+"]",
		"  - name: us-west-2",
		"    zones: ["+strings.Join(many, ", ")+"]",
	)))
	require.NoError(t, err)
	p := mustPlan(t, s, Slots-1)
	require.Len(t, p.Memcached, MaxPerKindInstances)
	requireUniqueAddresses(t, p)
	assert.Equal(t, fmt.Sprintf("%s.4.250:11211", p.Prefix()), p.Memcached[len(p.Memcached)-1].Address)
}
