package deploycmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/deploy"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/topology"
)

// execute runs kong deploy with args; attaching a world fails, so a test
// sees what is refused before any world is touched.
func execute(args ...string) (string, error, bool) {
	out, worlds, err := executeAttaching(args...)
	return out, err, len(worlds) > 0
}

// executeAttaching is execute, and the worlds it tried to attach, in
// order ("" for the one --world names). The root's --world is "kong".
func executeAttaching(args ...string) (string, []string, error) {
	var worlds []string
	cmd := Command(func(_ *cobra.Command, world string) (topology.Cluster, func(), error) {
		worlds = append(worlds, world)
		return nil, nil, errors.New("no world here")
	})
	cmd.PersistentFlags().String("world", "kong", "")
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), worlds, err
}

// With --test-world, production is attached (and checked) first, then the
// test environment deploys before it; it must be another world than the
// one deployed to.
func TestDeployChecksProductionBeforeTheTestWorld(t *testing.T) {
	_, worlds, err := executeAttaching("v2", "--test-world", "test")
	require.EqualError(t, err, "no world here")
	assert.Equal(t, []string{""}, worlds, "production first; the test world not touched when production cannot take the rollout")

	_, worlds, err = executeAttaching("v2", "--test-world", "kong")
	require.ErrorContains(t, err, "--test-world kong is the world deployed to")
	assert.Equal(t, exitstatus.BadInput, exitstatus.Of(err))
	assert.Empty(t, worlds)

	_, worlds, err = executeAttaching("v2", "--test-world", "test", "--no-analysis")
	require.ErrorContains(t, err, "the test environment is only its analysis")
	assert.Equal(t, exitstatus.BadInput, exitstatus.Of(err))
	assert.Empty(t, worlds)

	_, worlds, _ = executeAttaching("v2")
	assert.Equal(t, []string{""}, worlds, "without a test world, only the world --world names")
}

func TestDeployList(t *testing.T) {
	out, err, attached := execute("--list")
	require.NoError(t, err)
	assert.False(t, attached)
	assert.Contains(t, out, "VERSION")
	assert.Regexp(t, `(?m)^v1\s+none$`, out)
	assert.Regexp(t, `(?m)^v2-errors\s+error_rate=0.1$`, out)
	assert.Regexp(t, `(?m)^v2-lost-writes\s+drop_write_rate=0.05$`, out)
}

func TestDeployRefusesBadInputBeforeTheWorld(t *testing.T) {
	_, err, attached := execute("v9")
	require.ErrorContains(t, err, `unknown version "v9": the versions are v1, v2,`)
	assert.Equal(t, exitstatus.BadInput, exitstatus.Of(err))
	assert.False(t, attached, "an unknown version is refused before the world is attached")

	_, err, _ = execute()
	assert.Equal(t, exitstatus.BadInput, exitstatus.Of(err))

	_, err, attached = execute("v2")
	require.EqualError(t, err, "no world here")
	assert.True(t, attached)
}

func TestPrintEvent(t *testing.T) {
	var out bytes.Buffer
	printEvent(&out, history.Event{Time: time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC), Name: "canary-judgement", Target: "us-east-1",
		Detail: map[string]string{"verdict": "fail", "score": "50.0"}})
	assert.Equal(t, "01:02:03 canary-judgement us-east-1 score=\"50.0\" verdict=\"fail\"\n", out.String())
}

func TestDeployJSONDocument(t *testing.T) {
	res := &deploy.Result{Decision: deploy.Promoted, Reason: "3 stages took v2"}
	var b bytes.Buffer
	options{json: true}.writeJSON(&b, Document{Production: res})
	assert.JSONEq(t, `{"decision": "promoted", "reason": "3 stages took v2", "stages": 0}`, onlyKeys(t, b.String(), "decision", "reason", "stages"),
		"without a test world, the production result alone")

	b.Reset()
	options{json: true}.writeJSON(&b, Document{})
	assert.Empty(t, b.String(), "nothing started, nothing to print")

	b.Reset()
	failed := &deploy.Result{Decision: deploy.RolledBack, Reason: "canary fail"}
	options{json: true, testWorld: "test"}.writeJSON(&b, Document{TestEnvironment: failed})
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	assert.Nil(t, doc["production"], "production did not start")
	assert.Equal(t, "rolled-back", doc["test_environment"].(map[string]any)["decision"])

	b.Reset()
	options{}.writeJSON(&b, Document{Production: res})
	assert.Empty(t, b.String(), "without --json, no JSON")
}

// onlyKeys is the JSON object s with only keys kept.
func onlyKeys(t *testing.T, s string, keys ...string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	out := map[string]any{}
	for _, k := range keys {
		out[k] = m[k]
	}
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return string(b)
}
