package topology

import "time"

// PhaseTime is how long one phase of bringing a world up took.
type PhaseTime struct {
	Phase    string        `json:"phase"`
	Duration time.Duration `json:"duration"`
}
