package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// baseSpec is a valid spec; tests edit single lines of it so that the line
// numbers below stay put and each case has exactly the problems it means to.
var baseSpec = []string{
	/* 1 */ "name: t",
	/* 2 */ "cassandra:",
	/* 3 */ "  version: 5.0.9",
	/* 4 */ "  heap: 512M",
	/* 5 */ "  replication_factor: 2",
	/* 6 */ "  keyspace: kong",
	/* 7 */ "memcached:",
	/* 8 */ "  memory_mb: 64",
	/* 9 */ "sqs:",
	/* 10 */ "  elasticmq_version: 1.6.16",
	/* 11 */ "  heap: 128M",
	/* 12 */ "ports:",
	/* 13 */ "  storage: 7000",
	/* 14 */ "  cql: 9042",
	/* 15 */ "  memcached: 11211",
	/* 16 */ "  sqs: 9324",
	/* 17 */ "  toxiproxy: 8474",
	/* 18 */ "  control: 8475",
	/* 19 */ "  base: 17000",
	/* 20 */ "per_zone:",
	/* 21 */ "  cassandra: 1",
	/* 22 */ "  memcached: 1",
	/* 23 */ "  member: 1",
	/* 24 */ "regions:",
	/* 25 */ "  - name: us-east-1",
	/* 26 */ "    zones: [a, b]",
	/* 27 */ "  - name: us-west-2",
	/* 28 */ "    zones: [a, b]",
	// Appended lines start at 29 and belong to the second region when indented by 4.
}

// edit returns baseSpec with the given 1-based lines replaced and extra lines
// appended (from line 29 on).
func edit(repl map[int]string, extra ...string) string {
	lines := append([]string(nil), baseSpec...)
	for i, l := range repl {
		if i < 1 || i > len(lines) {
			panic(fmt.Sprintf("edit: no line %d in baseSpec", i))
		}
		lines[i-1] = l
	}
	lines = append(lines, extra...)
	return strings.Join(lines, "\n") + "\n"
}

// yamlDoc joins lines into a document whose line i+1 is lines[i].
func yamlDoc(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// problem is one expected problem: the line it must name (0: none, only the
// file) and a phrase of its message.
type problem struct {
	line   int
	phrase string
}

// requireValidationProblems checks that err is a *SpecError with exactly the
// wanted problems, each naming file:line and containing its phrase.
func requireValidationProblems(t *testing.T, file string, err error, want []problem) {
	t.Helper()
	require.Error(t, err)
	var se *SpecError
	require.ErrorAs(t, err, &se, "want a validation error, got %v", err)
	require.True(t, IsSpecError(err))
	require.Len(t, se.Problems, len(want), "problems: %q", se.Problems)
	for _, w := range want {
		prefix := file + ": "
		if w.line > 0 {
			prefix = fmt.Sprintf("%s:%d: ", file, w.line)
		}
		found := false
		for _, p := range se.Problems {
			if strings.HasPrefix(p, prefix) && strings.Contains(p, w.phrase) {
				found = true
				break
			}
		}
		assert.True(t, found, "no problem starting %q and containing %q in:\n%s", prefix, w.phrase, err)
	}
}

// requireYAMLProblems checks a decoding (not validation) error: it is
// reported in the same form as validation problems, "file:line: message".
func requireYAMLProblems(t *testing.T, file string, err error, want []problem) {
	t.Helper()
	requireValidationProblems(t, file, err, want)
}

func TestBaseSpecIsValid(t *testing.T) {
	s, err := Parse("t.yaml", []byte(edit(nil)))
	require.NoError(t, err)
	assert.Equal(t, []string{"us-east-1", "us-west-2"}, s.RegionNames())
	assert.Equal(t, "t.yaml", s.Source())
	assert.Equal(t, 2, s.Cassandra.ReplicationFactor)
}

func TestParseValidationErrors(t *testing.T) {
	manyZones := "    zones: [a, b, c, d, e, f, g, h, i, j, k, l, m, n]"
	cases := []struct {
		name string
		src  string
		want []problem
	}{
		{"duplicate region", edit(map[int]string{27: "  - name: us-east-1"}),
			[]problem{{27, `duplicate region "us-east-1" (first defined at t.yaml:25)`}}},
		{"duplicate zone flow", edit(map[int]string{28: "    zones: [a, b, a]"}),
			[]problem{{28, `duplicate zone "a" in region "us-west-2" (first defined at t.yaml:28)`}}},
		{"duplicate zone block", edit(map[int]string{28: "    zones:"}, "      - a", "      - b", "      - a"),
			[]problem{{31, `duplicate zone "a" in region "us-west-2" (first defined at t.yaml:29)`}}},
		{"region with empty zones", edit(map[int]string{28: "    zones: []"}),
			[]problem{{27, `region "us-west-2" has no zones`}}},
		{"region without zones key", edit(map[int]string{28: "    capacity: 10"}),
			[]problem{{27, `region "us-west-2" has no zones`}}},
		{"empty regions list", edit(map[int]string{24: "regions: []", 25: "#", 26: "#", 27: "#", 28: "#"}),
			[]problem{{24, "no regions: a world needs at least one region"}}},
		{"no regions key", yamlDoc("name: t", "cassandra:", "  replication_factor: 1"),
			[]problem{{0, "no regions: a world needs at least one region"}}},
		{"too many regions", func() string {
			lines := []string{"cassandra:", "  replication_factor: 1", "regions:"}
			for i := 1; i <= MaxRegions+1; i++ {
				lines = append(lines, fmt.Sprintf("  - name: r%d", i), "    zones: [a]")
			}
			return yamlDoc(lines...)
		}(), []problem{{3, "9 regions: at most 8 fit the address plan"}}},
		{"replication factor above zones", edit(map[int]string{5: "  replication_factor: 3"}),
			[]problem{
				{5, `replication factor 3 is above the 2 zone(s) of region "us-east-1"`},
				{5, `replication factor 3 is above the 2 zone(s) of region "us-west-2"`},
			}},
		{"default replication factor above zones", yamlDoc(
			"regions:",
			"  - name: us-east-1",
			"    zones: [a, b, c]",
			"  - name: us-west-2",
			"    zones: [a]",
		), []problem{{5, `replication factor 3 is above the 1 zone(s) of region "us-west-2"`}}},
		{"default replication factor above block-listed zones", yamlDoc(
			"regions:",
			"  - name: us-east-1",
			"    zones: [a, b, c]",
			"  - name: us-west-2",
			"    capacity: 10",
			"    zones:",
			"      - a",
			"      - b",
		), []problem{{6, `replication factor 3 is above the 2 zone(s) of region "us-west-2"`}}},
		{"replication factor 0", edit(map[int]string{5: "  replication_factor: 0"}),
			[]problem{{5, "replication factor 0: it must be at least 1"}}},
		{"negative replication factor", edit(map[int]string{5: "  replication_factor: -2"}),
			[]problem{{5, "replication factor -2: it must be at least 1"}}},
		{"cql collides with storage", edit(map[int]string{14: "  cql: 7000"}),
			[]problem{{14, "cql port 7000 collides with the storage port"}}},
		{"control collides with toxiproxy", edit(map[int]string{18: "  control: 8474"}),
			[]problem{{18, "control port 8474 collides with the toxiproxy port"}}},
		{"port zero", edit(map[int]string{15: "  memcached: 0"}),
			[]problem{{15, "port 0 for memcached: it must be between 1 and 65535"}}},
		{"port above 65535", edit(map[int]string{16: "  sqs: 70000"}),
			[]problem{{16, "port 70000 for sqs: it must be between 1 and 65535"}}},
		{"negative port", edit(map[int]string{17: "  toxiproxy: -1"}),
			[]problem{{17, "port -1 for toxiproxy: it must be between 1 and 65535"}}},
		{"jmx base too high", edit(map[int]string{19: "  base: 60000"}),
			[]problem{{19, "JMX port range 60000-69999 (100 worlds x 100 nodes) runs past 65535"}}},
		{"jmx base just too high", edit(map[int]string{19: "  base: 55537"}),
			[]problem{{19, "JMX port range 55537-65536"}}},
		{"bad cassandra heap", edit(map[int]string{4: "  heap: 512MB"}),
			[]problem{{4, `cassandra heap "512MB": write it as a number of megabytes or gigabytes`}}},
		{"zero cassandra heap", edit(map[int]string{4: "  heap: 0G"}),
			[]problem{{4, `cassandra heap "0G"`}}},
		{"bad sqs heap", edit(map[int]string{11: "  heap: 1.5G"}),
			[]problem{{11, `sqs heap "1.5G"`}}},
		{"cassandra 4.1", edit(map[int]string{3: "  version: 4.1.5"}),
			[]problem{{3, `cassandra version "4.1.5": kong runs Cassandra 5.0.x`}}},
		{"cassandra 5.1", edit(map[int]string{3: "  version: 5.1.0"}),
			[]problem{{3, `cassandra version "5.1.0"`}}},
		{"cassandra 5.0 without patch", edit(map[int]string{3: `  version: "5.0"`}),
			[]problem{{3, `cassandra version "5.0"`}}},
		{"cassandra 5.00.1", edit(map[int]string{3: "  version: 5.00.1"}),
			[]problem{{3, `cassandra version "5.00.1"`}}},
		{"elasticmq 1.6.15", edit(map[int]string{10: "  elasticmq_version: 1.6.15"}),
			[]problem{{10, `elasticmq version "1.6.15": it must be 1.6.16 or newer`}}},
		{"elasticmq 1.5.99", edit(map[int]string{10: "  elasticmq_version: 1.5.99"}),
			[]problem{{10, `elasticmq version "1.5.99"`}}},
		{"elasticmq 0.99.99", edit(map[int]string{10: "  elasticmq_version: 0.99.99"}),
			[]problem{{10, `elasticmq version "0.99.99"`}}},
		{"elasticmq latest", edit(map[int]string{10: "  elasticmq_version: latest"}),
			[]problem{{10, `elasticmq version "latest"`}}},
		{"upper-case region name", edit(map[int]string{25: "  - name: US-East-1"}),
			[]problem{{25, `region name "US-East-1": use lower-case letters, digits and dashes`}}},
		{"region name starting with a digit", edit(map[int]string{25: "  - name: 1east"}),
			[]problem{{25, `region name "1east"`}}},
		{"region name ending with a dash", edit(map[int]string{27: "  - name: west-"}),
			[]problem{{27, `region name "west-"`}}},
		{"one-letter region name", edit(map[int]string{27: "  - name: w"}),
			[]problem{{27, `region name "w"`}}},
		{"region name with a slash", edit(map[int]string{27: "  - name: us/west"}),
			[]problem{{27, `region name "us/west"`}}},
		{"region without a name", edit(map[int]string{27: "  - capacity: 5"}),
			[]problem{{27, `region name ""`}}},
		{"upper-case zone", edit(map[int]string{26: "    zones: [a, B]"}),
			[]problem{{26, `zone name "B" in region "us-east-1"`}}},
		// A zone "a-2" would take the ID of the second instance in zone "a".
		{"zone with a dash", edit(map[int]string{26: "    zones: [a, a-2]"}),
			[]problem{{26, `zone name "a-2" in region "us-east-1"`}}},
		{"unknown per_zone kind", edit(map[int]string{23: "  members: 1"}),
			[]problem{{23, `unknown component "members" in per_zone: the per-zone components are cassandra, memcached, member`}}},
		{"unknown per_zone kind in a region", edit(nil, "    per_zone: {cache: 1}"),
			[]problem{{29, `unknown component "cache" in regions[1].per_zone`}}},
		{"negative cassandra count", edit(map[int]string{21: "  cassandra: -1"}),
			[]problem{
				{21, "cassandra count -1 per zone: it must be between 0 and 9"},
			}},
		{"zero memcached count", edit(map[int]string{22: "  memcached: 0"}),
			[]problem{{22, "memcached count 0 per zone: every zone needs at least one"}}},
		{"negative member count", edit(map[int]string{23: "  member: -1"}),
			[]problem{{23, "member count -1 per zone: it must be between 0 and 9"}}},
		{"too many memcached per zone", edit(map[int]string{22: "  memcached: 10"}),
			[]problem{{22, "memcached count 10 per zone: it must be between 0 and 9"}}},
		{"too many members per zone", edit(map[int]string{23: "  member: 10"}),
			[]problem{{23, "member count 10 per zone"}}},
		{"zero cassandra in a region", edit(nil, "    per_zone: {cassandra: 0}"),
			[]problem{{29, "cassandra count 0 per zone: every zone needs at least one"}}},
		{"too many cassandra in a region", edit(nil, "    per_zone:", "      member: 2", "      cassandra: 12"),
			[]problem{{31, "cassandra count 12 per zone: it must be between 0 and 9"}}},
		{"too many cassandra nodes", edit(map[int]string{21: "  cassandra: 9", 26: "    zones: [a, b, c, d, e, f]", 28: "    zones: [a, b, c, d, e, f]"}),
			[]problem{{24, "108 Cassandra nodes: at most 100 fit the address plan"}}},
		{"too many memcached servers", edit(map[int]string{22: "  memcached: 9", 26: manyZones, 28: manyZones}),
			[]problem{{24, "252 memcached servers: at most 250 fit the address plan"}}},
		{"bad keyspace", edit(map[int]string{6: "  keyspace: Kong-1"}),
			[]problem{{6, `keyspace "Kong-1"`}}},
		{"zero memcached memory", edit(map[int]string{8: "  memory_mb: 0"}),
			[]problem{{8, "memcached memory 0 MB: it must be at least 1"}}},
		{"replicated history", edit(map[int]string{8: "  memory_mb: 64\n  replicate: [profiles, history]"}),
			[]problem{{9, `memcached replicate "history": only "profiles" can be replicated`}}},
		{"negative capacity", edit(nil, "    capacity: -5"),
			[]problem{{29, `capacity -5 of region "us-west-2": it must not be negative`}}},
		{"several problems", edit(map[int]string{
			3:  "  version: 4.0.0",
			11: "  heap: lots",
			14: "  cql: 7000",
			22: "  memcached: 0",
			27: "  - name: us-east-1",
		}), []problem{
			{3, `cassandra version "4.0.0"`},
			{11, `sqs heap "lots"`},
			{14, "cql port 7000 collides with the storage port"},
			{22, "memcached count 0 per zone"},
			{27, `duplicate region "us-east-1" (first defined at t.yaml:25)`},
		}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NotEmpty(t, tc.want)
			s, err := Parse("t.yaml", []byte(tc.src))
			assert.Nil(t, s)
			requireValidationProblems(t, "t.yaml", err, tc.want)
		})
	}
}

func TestParseYAMLErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []problem
	}{
		{"unknown top-level key", edit(nil, "colour: blue"),
			[]problem{{29, "unknown key colour (not a field of Spec)"}}},
		{"misspelt top-level key", edit(map[int]string{20: "perzone:"}),
			[]problem{{20, "unknown key perzone (not a field of Spec)"}}},
		{"unknown key in a section", edit(map[int]string{8: "  memory: 64"}),
			[]problem{{8, "unknown key memory (not a field of MemcachedSpec)"}}},
		{"unknown key in a region", edit(nil, "    weight: 3"),
			[]problem{{29, "unknown key weight (not a field of Region)"}}},
		{"unknown keys everywhere", edit(map[int]string{1: "nmae: t", 13: "  storgae: 7000"}, "    zone: [c]"),
			[]problem{
				{1, "unknown key nmae (not a field of Spec)"},
				{13, "unknown key storgae (not a field of Ports)"},
				{29, "unknown key zone (not a field of Region)"},
			}},
		{"wrong type", edit(map[int]string{5: "  replication_factor: three"}),
			[]problem{{5, "cannot unmarshal !!str `three` into int"}}},
		{"zones not a list", edit(map[int]string{26: "    zones: a"}),
			[]problem{{26, "cannot unmarshal !!str `a` into []string"}}},
		{"duplicate key", edit(nil, "name: again"),
			[]problem{{29, `mapping key "name" already defined at line 1`}}},
		{"not a mapping", "hello\n",
			[]problem{{1, "cannot unmarshal !!str `hello` into topology.Spec"}}},
		{"syntax: mapping value in a scalar", edit(map[int]string{27: "  - name: us-west-2: x"}),
			[]problem{{27, "mapping values are not allowed in this context"}}},
		{"syntax: tab indentation", edit(map[int]string{13: "\tstorage: 7000"}),
			[]problem{{13, "found character that cannot start any token"}}},
		// The line where the unterminated quote opens.
		{"syntax: unclosed quote", edit(map[int]string{28: `    zones: ["a, b]`}),
			[]problem{{28, "found unexpected end of stream"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("t.yaml", []byte(tc.src))
			assert.Nil(t, s)
			requireYAMLProblems(t, "t.yaml", err, tc.want)
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "\n", "  \n\t\n"} {
		s, err := Parse("empty.yaml", []byte(src))
		assert.Nil(t, s)
		require.Error(t, err, "%q", src)
		assert.False(t, IsSpecError(err))
		assert.Equal(t, "empty.yaml: the topology is empty: it needs at least a regions list", err.Error())
	}
	// A document that is only null or a document marker has no regions.
	for _, src := range []string{"null\n", "---\n", "{}\n"} {
		_, err := Parse("empty.yaml", []byte(src))
		requireValidationProblems(t, "empty.yaml", err, []problem{{0, "no regions"}})
	}
}

func TestSpecErrorFormat(t *testing.T) {
	one := &SpecError{Problems: []string{"f:1: bad"}}
	assert.Equal(t, "invalid topology: f:1: bad", one.Error())
	two := &SpecError{Problems: []string{"f:1: bad", "f:2: worse"}}
	assert.Equal(t, "invalid topology:\n  f:1: bad\n  f:2: worse", two.Error())
	assert.True(t, IsSpecError(fmt.Errorf("wrapped: %w", two)))
	assert.False(t, IsSpecError(errors.New("f:1: bad")))
	assert.False(t, IsSpecError(nil))
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("min.yaml", []byte(yamlDoc(
		"regions:",
		"  - name: us-east-1",
		"    zones: [a, b, c]",
	)))
	require.NoError(t, err)
	want := defaults()
	assert.Equal(t, want.Cassandra, s.Cassandra)
	assert.Equal(t, want.Memcached, s.Memcached)
	assert.Equal(t, want.SQS, s.SQS)
	assert.Equal(t, want.Ports, s.Ports)
	assert.Equal(t, want.PerZone, s.PerZone)
	assert.Equal(t, "min.yaml", s.Source())
}

func TestParseMergesOverDefaults(t *testing.T) {
	s, err := Parse("m.yaml", []byte(yamlDoc(
		"ports:",
		"  cql: 19042",
		"per_zone:",
		"  cassandra: 2",
		"cassandra:",
		"  replication_factor: 1",
		"regions:",
		"  - name: us-east-1",
		"    zones: [a]",
		"    per_zone: {memcached: 3}",
		"  - name: us-west-2",
		"    zones: [a]",
	)))
	require.NoError(t, err)
	assert.Equal(t, 19042, s.Ports.CQL)
	assert.Equal(t, 7000, s.Ports.Storage, "ports left out keep their defaults")
	assert.Equal(t, map[string]int{KindCassandra: 2, KindMemcached: 1, KindMember: 1}, s.PerZone)
	assert.Equal(t, "5.0.9", s.Cassandra.Version)

	east, ok := s.Region("us-east-1")
	require.True(t, ok)
	west, ok := s.Region("us-west-2")
	require.True(t, ok)
	_, ok = s.Region("eu-west-1")
	assert.False(t, ok)
	assert.Equal(t, 2, s.Count(east, KindCassandra), "falls back to the spec")
	assert.Equal(t, 3, s.Count(east, KindMemcached), "region override")
	assert.Equal(t, 1, s.Count(west, KindMemcached))
	assert.Equal(t, 0, s.Count(west, "nothing"))
}

func TestParseAcceptsNewerElasticMQ(t *testing.T) {
	for _, v := range []string{"1.6.16", "1.6.17", "1.6.100", "1.7.0", "2.0.0"} {
		s, err := Parse("t.yaml", []byte(edit(map[int]string{10: "  elasticmq_version: " + v})))
		require.NoError(t, err, v)
		assert.Equal(t, v, s.SQS.ElasticMQVersion)
	}
	for _, v := range []string{"5.0.0", "5.0.9", "5.0.12"} {
		s, err := Parse("t.yaml", []byte(edit(map[int]string{3: "  version: " + v})))
		require.NoError(t, err, v)
		assert.Equal(t, v, s.Cassandra.Version)
	}
}

func TestVersionLess(t *testing.T) {
	cases := []struct {
		a, b string
		less bool
	}{
		{"1.6.15", "1.6.16", true},
		{"1.6.16", "1.6.16", false},
		{"1.6.100", "1.6.16", false},
		{"1.10.0", "1.6.16", false},
		{"0.99.99", "1.0.0", true},
		{"2.0.0", "1.99.99", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.less, versionLess(c.a, c.b), "%s < %s", c.a, c.b)
	}
}

func TestProfiles(t *testing.T) {
	require.Equal(t, []string{"default", "global", "small"}, Profiles())

	cases := map[string]struct {
		regions []string
		zones   []string
		rf      int
	}{
		"default": {[]string{"us-east-1", "us-west-2"}, []string{"a", "b", "c"}, 3},
		"small":   {[]string{"us-east-1", "us-west-2"}, []string{"a"}, 1},
		"global":  {[]string{"us-east-1", "us-west-2", "eu-west-1"}, []string{"a", "b", "c"}, 3},
	}
	require.Len(t, cases, len(Profiles()), "every profile has a case")
	for _, name := range Profiles() {
		t.Run(name, func(t *testing.T) {
			want, ok := cases[name]
			require.True(t, ok, "no expectation for profile %q", name)
			s, err := Profile(name)
			require.NoError(t, err)
			assert.Equal(t, name, s.Name)
			assert.Equal(t, "profile "+name, s.Source())
			assert.Equal(t, want.regions, s.RegionNames())
			assert.Equal(t, want.rf, s.Cassandra.ReplicationFactor)
			for _, r := range s.Regions {
				assert.Equal(t, want.zones, r.Zones, "zones of %s", r.Name)
			}
			require.NoError(t, s.Validate())
			p, err := NewPlan(s, 0)
			require.NoError(t, err)
			assert.Len(t, p.Cassandra, len(want.regions)*len(want.zones))
		})
	}

	g, err := Profile("global")
	require.NoError(t, err)
	eu, ok := g.Region("eu-west-1")
	require.True(t, ok)
	assert.Equal(t, 200, eu.Capacity)
}

func TestUnknownProfile(t *testing.T) {
	s, err := Profile("nope")
	assert.Nil(t, s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown profile "nope"`)
	assert.Contains(t, err.Error(), "default, global, small")
	_, err = Profile("../spec")
	assert.Error(t, err)
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(edit(nil)), 0o644))
	s, err := Load(good)
	require.NoError(t, err)
	assert.Equal(t, good, s.Source())
	assert.Equal(t, []string{"us-east-1", "us-west-2"}, s.RegionNames())

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(edit(map[int]string{14: "  cql: 7000"})), 0o644))
	_, err = Load(bad)
	requireValidationProblems(t, bad, err, []problem{{14, "collides with the storage port"}})

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "read topology")
}

func TestValidateReportsLinesOfProgrammaticSpecs(t *testing.T) {
	// A spec built in Go has no lines: problems name the bare source.
	s := defaults()
	s.source = "built"
	s.Regions = []Region{{Name: "us-east-1", Zones: []string{"a"}}}
	s.Cassandra.ReplicationFactor = 1
	require.NoError(t, s.Validate())
	s.Ports.CQL = s.Ports.Storage
	requireValidationProblems(t, "built", s.Validate(), []problem{{0, "cql port 7000 collides"}})
}

// FuzzParse checks that Parse never panics and that whatever it accepts is a
// valid spec that plans without error.
func FuzzParse(f *testing.F) {
	for _, name := range Profiles() {
		data, err := profileFS.ReadFile("profiles/" + name + ".yaml")
		require.NoError(f, err)
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"regions: [",
		"\tregions:",
		"{",
		"- - -",
		"null",
		"name: x\nname: y\n",
		"\xff\xfe",
		"per_zone:\n  cassandra: -1\n",
		"regions:\n  - name: us-east-1\n    zones: [a, a]\n",
		"regions:\n  - name: us-east-1\n    zones: [a]\n    per_zone: {cassandra: 3}\ncassandra:\n  replication_factor: 1\n",
		"a: &a [*a, *a]\n",
		"<<: {name: x}\nregions: [{name: ab, zones: [a, b, c]}]\n",
		edit(nil),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			require.Nil(t, s)
			require.Contains(t, err.Error(), "fuzz.yaml", "every error names the source")
			return
		}
		require.NotNil(t, s)
		require.NoError(t, s.Validate(), "an accepted spec re-validates")
		require.NotEmpty(t, s.Regions)
		for _, slot := range []int{0, Slots - 1} {
			p, err := NewPlan(s, slot)
			require.NoError(t, err)
			require.Len(t, p.SQS, len(s.Regions))
			require.Len(t, p.Links(), len(s.Regions)*(len(s.Regions)-1))
			requireUniqueAddresses(t, p)
			ids := map[string]bool{}
			for _, c := range p.Components() {
				require.False(t, ids[c.ID], "duplicate component ID %q", c.ID)
				ids[c.ID] = true
			}
		}
	})
}

func TestParseEmptyPerZoneIsRefused(t *testing.T) {
	_, err := Parse("t.yaml", []byte("per_zone:\nregions:\n  - name: us-east-1\n    zones: [a, b, c]\n"))
	requireValidationProblems(t, "t.yaml", err, []problem{
		{3, `region "us-east-1" runs no cassandra`},
		{3, `region "us-east-1" runs no memcached`},
	})
}

func TestParseCommentOnlyFile(t *testing.T) {
	_, err := Parse("t.yaml", []byte("# nothing here\n# at all\n"))
	require.ErrorContains(t, err, "t.yaml: the topology is empty")
}
