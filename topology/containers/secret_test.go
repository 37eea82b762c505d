package containers

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/topologytest"
)

// TestAppConfigsCarryTheWorldsSecret: every member service, gateway and
// director of a container world guards its admin endpoints with the world's
// secret; a layout without one (the compose file) leaves them open.
func TestAppConfigsCarryTheWorldsSecret(t *testing.T) {
	spec := topologytest.Profile(t, "default")
	for _, secret := range []string{"0123abcd", ""} {
		l, err := NewLayout("kong", spec, 3)
		require.NoError(t, err)
		l.Secret = secret
		apps := 0
		for _, c := range containersOf(t, l) {
			switch c.Kind {
			case topology.KindMember, topology.KindGateway, topology.KindDirector:
			default:
				continue
			}
			apps++
			require.Len(t, c.Files, 1, c.ID)
			var cfg struct {
				AdminSecret string `json:"admin_secret"`
			}
			require.NoError(t, json.Unmarshal(c.Files[0].Content, &cfg), c.ID)
			require.Equal(t, secret, cfg.AdminSecret, c.ID)
		}
		require.Greater(t, apps, 6)
	}
}
