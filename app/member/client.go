package member

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/kongchaos/kong/app"
)

// AdminClient calls a member service's admin API with the world's secret.
type AdminClient struct{ c app.Client }

// NewAdminClient returns a client of the member service at base
// (scheme://host:port).
func NewAdminClient(base, secret string) AdminClient {
	return AdminClient{app.NewClient(base, secret)}
}

// Faults is GET /admin/faults: the faults in force.
func (a AdminClient) Faults(ctx context.Context) (Faults, error) {
	return app.Call[Faults](ctx, a.c, http.MethodGet, "/admin/faults", nil)
}

// SetFaults is PUT /admin/faults: f replaces the faults in force (Faults{}
// removes them all).
func (a AdminClient) SetFaults(ctx context.Context, f Faults) error {
	return a.c.Do(ctx, http.MethodPut, "/admin/faults", f, nil)
}

// String lists the faults set, such as "error_rate=0.5 latency_ms=200",
// or says "none".
func (f Faults) String() string {
	if f == (Faults{}) {
		return "none"
	}
	var parts []string
	if f.ErrorRate != 0 {
		parts = append(parts, "error_rate="+strconv.FormatFloat(f.ErrorRate, 'g', -1, 64))
	}
	if f.LatencyMS != 0 {
		parts = append(parts, "latency_ms="+strconv.Itoa(f.LatencyMS))
	}
	if f.SlowRate != 0 || f.SlowMS != 0 {
		parts = append(parts, "slow_rate="+strconv.FormatFloat(f.SlowRate, 'g', -1, 64), "slow_ms="+strconv.Itoa(f.SlowMS))
	}
	if f.WriteConsistency != "" {
		parts = append(parts, "write_consistency="+f.WriteConsistency)
	}
	return strings.Join(parts, " ")
}
