package deploycmd

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// With --test-world, the test environment is attached first, and it must
// be another world than the one deployed to.
func TestDeployGoesToTheTestWorldFirst(t *testing.T) {
	_, worlds, err := executeAttaching("v2", "--test-world", "test")
	require.EqualError(t, err, "no world here")
	assert.Equal(t, []string{"test"}, worlds, "the test world first; production not attached when it fails")

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
