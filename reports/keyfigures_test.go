package reports

import (
	"testing"

	"github.com/kongchaos/kong/harness/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyFigures(t *testing.T) {
	r, _ := build(t, failedRun)
	got := map[string]*float64{}
	for _, f := range KeyFigures(r) {
		got[f.Key] = f.Value
	}
	// inject + observe: 4 + 28 requests, 25 ok (see TestBuildFailedRun for
	// observe; inject is 4 of 4 ok).
	// The availability checker's own figures: what it judged.
	assert.Equal(t, 0.875, *got[KeyAvailabilityJudged])
	assert.Equal(t, 0.999, *got[KeyAvailabilityJudgedSLO])
	require.NotNil(t, got[KeyAvailabilityFault])
	assert.InDelta(t, 25.0/32, *got[KeyAvailabilityFault], 1e-12)
	assert.InDelta(t, 11.0/16, *got[KeyAvailabilityFaultWorst], 1e-12, "us-east-1")
	assert.InDelta(t, 2.0/97, *got[KeyShedRate], 1e-12)
	assert.Equal(t, 180.5, *got[KeyReplicationP99])
	assert.Equal(t, 1.25, *got[KeyConvergence])
	assert.InDelta(t, 0.5, *got[KeyTimeToEffect], 1e-9)
	assert.InDelta(t, 0.5, *got[KeyTimeToHeal], 1e-9)
	assert.Equal(t, 97.0, *got[KeyRequests])
	assert.Equal(t, 12.0, *got[KeyLatencySteady])

	// Convergence from the convergence checker when run.json has no
	// figure; replication from run.json's figure when there is no
	// replication.json.
	r.Figures = map[string]float64{KeyReplicationP99: 90}
	r.Replication = nil
	r.Checkers = []history.Result{{Checker: "convergence", Valid: history.VerdictValid,
		Figures: map[string]float64{KeyConvergence: 3.5}}}
	got = map[string]*float64{}
	for _, f := range KeyFigures(r) {
		got[f.Key] = f.Value
	}
	assert.Equal(t, 3.5, *got[KeyConvergence])
	assert.Equal(t, 90.0, *got[KeyReplicationP99])
	assert.Nil(t, got[KeyRequests])
	assert.Nil(t, got[KeyShedRate])
	assert.Nil(t, got[KeyAvailabilityJudged], "no availability checker")
}
