package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/output"
	"github.com/kongchaos/kong/scenarios"
)

// runKongJSON runs kong in this process and decodes its stdout, which
// must be one JSON document, into doc; it returns stderr.
func runKongJSON(t *testing.T, doc any, args ...string) string {
	t.Helper()
	root := newRoot()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append([]string{"--home", t.TempDir()}, args...))
	require.NoError(t, root.Execute(), stderr.String())
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(doc), "stdout is one JSON document")
	require.False(t, dec.More(), "nothing follows the document")
	return stderr.String()
}

func TestJSONOutput(t *testing.T) {
	var list output.List
	runKongJSON(t, &list, "list", "--json")
	require.Equal(t, output.ListSchema, list.Schema)
	require.Len(t, list.Scenarios, len(scenarios.All()))

	var faults output.Faults
	runKongJSON(t, &faults, "faults", "--json")
	require.Equal(t, output.FaultsSchema, faults.Schema)
	require.Len(t, faults.Faults, len(fault.Catalogue()))
	runKongJSON(t, &faults, "faults", "evacuate-region", "--json")
	require.Len(t, faults.Faults, 1)
	require.Equal(t, "evacuate-region", faults.Faults[0].Name)

	a := fixtureRun(t, "failed-run")
	var d output.Diff
	runKongJSON(t, &d, "diff", "--json", a, a)
	require.Equal(t, output.DiffSchema, d.Schema)
	require.Equal(t, a, d.A.Dir)
	require.Zero(t, d.Regressions)
	require.NotEmpty(t, d.Figures)

	var v output.Version
	runKongJSON(t, &v, "version", "--json")
	require.Equal(t, output.VersionSchema, v.Schema)
	require.Equal(t, "github.com/kongchaos/kong", v.Kong.Module)
	require.NotEmpty(t, v.Components.Cassandra)
	require.NotEmpty(t, v.Components.ElasticMQ)
	require.True(t, strings.HasPrefix(v.Components.Toxiproxy, "v2."), "the toxiproxy module of the build: %q", v.Components.Toxiproxy)
}

func TestVersion(t *testing.T) {
	out, err := runKong(t, "version")
	require.NoError(t, err)
	require.Regexp(t, `^kong \S+ \(github.com/kongchaos/kong, commit \S+`, out)
	require.Regexp(t, `(?m)^cassandra +5\.0\.\d+ \(Maven\) +cassandra:`, out)
	flag, err := runKong(t, "--version")
	require.NoError(t, err)
	require.Equal(t, out, flag, "kong --version prints what kong version does")
}

func TestLogLevel(t *testing.T) {
	_, err := runKong(t, "--log-level", "debug", "list")
	require.NoError(t, err)
	for bad, args := range map[string][]string{"loud": {"--log-level", "loud", "list"}, "trace": {"list", "--log-level", "trace"}} {
		_, err = runKong(t, args...)
		require.ErrorContains(t, err, `--log-level (or KONG_LOG_LEVEL) "`+bad+`": give debug, info, warn or error`)
		require.Equal(t, exitstatus.BadInput, exitstatus.Of(err))
	}
	t.Setenv("KONG_LOG_LEVEL", "noisy")
	_, err = runKong(t, "list")
	require.ErrorContains(t, err, `"noisy"`)
	require.Equal(t, exitstatus.BadInput, exitstatus.Of(err))
}

// completions is what kong's hidden __complete command offers for args (the
// last one being completed), without the directive line.
func completions(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := runKong(t, append([]string{"__complete"}, args...)...)
	require.NoError(t, err)
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, ":") || strings.HasPrefix(line, "Completion ended") {
			continue
		}
		names = append(names, strings.Split(line, "\t")[0])
	}
	return names
}

func TestCompletion(t *testing.T) {
	out, err := runKong(t, "completion", "bash")
	require.NoError(t, err)
	require.Contains(t, out, "__start_kong")

	assert.Equal(t, []string{"split-brain"}, completions(t, "run", "spl"))
	assert.Len(t, completions(t, "run", ""), len(scenarios.All()))
	assert.Empty(t, completions(t, "run", "split-brain", ""), "kong run takes one scenario")
	assert.Equal(t, []string{"split-brain,chaos-gorilla", "split-brain,chaos-kong", "split-brain,chaos-monkey"},
		completions(t, "gameday", "--scenarios", "split-brain,chaos-"))
	assert.NotContains(t, completions(t, "gameday", "--scenarios", "split-brain,"), "split-brain,split-brain", "a scenario given is not offered again")
	assert.Equal(t, []string{"link-bandwidth", "link-jitter", "link-latency", "link-reset_peer", "link-timeout"}, completions(t, "faults", "link-"))
	assert.Equal(t, []string{"debug", "info", "warn", "error"}, completions(t, "list", "--log-level", ""))
	assert.Equal(t, []string{"containers"}, completions(t, "status", "--backend", "c"))
	assert.Equal(t, []string{"small"}, completions(t, "up", "--profile", "sm"))
	assert.Empty(t, completions(t, "status", "--world", ""), "no world is up under an empty home")
	assert.Empty(t, completions(t, "logs", "--world", "absent", ""), "an absent world has no components")
	assert.Empty(t, completions(t, "nodetool", "--world", "absent", ""), "nor regions or nodes")
}
