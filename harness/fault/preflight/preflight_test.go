package preflight

import (
	"testing"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"
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
