package preflight

import (
	"context"
	"testing"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/member"
)

func TestFindingsReadAsOneLineEach(t *testing.T) {
	require.Equal(t, "kong-latency-upstream (latency, upstream, toxicity 0.5; jitter=50 latency=150)",
		describeToxic(toxiclient.Toxic{Name: "kong-latency-upstream", Type: "latency", Stream: "upstream", Toxicity: 0.5,
			Attributes: toxiclient.Attributes{"latency": 150, "jitter": 50}}))
	require.Equal(t, "a, b, c", listSome([]string{"a", "b", "c"}))
	require.Equal(t, "a, b, c and 2 more", listSome([]string{"a", "b", "c", "d", "e"}))
	fs := findings{{text: "link x: cut"}, {text: "member m: error_rate=0.5"}, {text: "link x: cut"}}
	require.Equal(t, []string{"link x: cut", "member m: error_rate=0.5"}, fs.dedup().lines())
	require.Nil(t, findings(nil).lines())
}

// A member left with any fault or broken-world switch on is found, named,
// and reset: one finding whose fix clears every field.
func TestEveryMemberSwitchLeftOnIsFound(t *testing.T) {
	require.Nil(t, memberFindings("us-east-1/member/a", member.Faults{}, nil))
	for want, f := range map[string]member.Faults{
		"drop_write_rate=0.01":  {DropWriteRate: 0.01},
		"no_invalidations=true": {NoInvalidations: true},
		"cache_one_zone=true":   {CacheOneZone: true},
		"error_rate=0.5":        {ErrorRate: 0.5},
		"write_consistency=ALL": {WriteConsistency: "ALL"},
	} {
		reset := false
		fs := memberFindings("us-east-1/member/a", f, func(context.Context) error { reset = true; return nil })
		require.Equal(t, []string{"member us-east-1/member/a: " + want}, fs.lines())
		require.NoError(t, fs[0].fix(context.Background()))
		require.True(t, reset, want)
	}
}
