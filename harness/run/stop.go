package run

import (
	"fmt"

	"github.com/kongchaos/kong/harness/workload"
)

// StopCondition aborts an experiment whose blast radius grew beyond the plan.
type StopCondition struct {
	Name string
	// Check looks at the live traffic once a second; a non-empty reason stops the run.
	Check func(workload.LiveStats) string
}

// SuccessFloor stops a run when the share of failed operations stays above
// 1-floor for the given number of consecutive seconds.
func SuccessFloor(floor float64, seconds int) StopCondition {
	bad := 0
	return StopCondition{
		Name: fmt.Sprintf("success below %.1f%% for %ds", floor*100, seconds),
		Check: func(l workload.LiveStats) string {
			if l.OpsPerSec > 0 && 1-l.ErrorRate < floor {
				bad++
			} else {
				bad = 0
			}
			if bad >= seconds {
				return fmt.Sprintf("global success %.1f%% below the floor of %.1f%% for %d s", (1-l.ErrorRate)*100, floor*100, seconds)
			}
			return ""
		},
	}
}
