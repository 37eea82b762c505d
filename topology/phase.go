package topology

import (
	"log/slog"
	"sync"
	"time"
)

// PhaseTime is how long one phase of bringing a world up took.
type PhaseTime struct {
	Phase    string        `json:"phase"`
	Duration time.Duration `json:"duration"`
}

// PhaseClock times the phases of bringing a world up, one after the other.
// Its zero value is ready; it is safe for concurrent use.
type PhaseClock struct {
	mu      sync.Mutex
	current string
	began   time.Time
	done    []PhaseTime
}

// Next ends the running phase, if any (and logs how long it took), and
// begins phase next; "" begins none.
func (c *PhaseClock) Next(next string, log *slog.Logger) {
	now := time.Now()
	c.mu.Lock()
	ended := PhaseTime{Phase: c.current, Duration: now.Sub(c.began)}
	if ended.Phase != "" {
		c.done = append(c.done, ended)
	}
	c.current, c.began = next, now
	c.mu.Unlock()
	if ended.Phase != "" {
		log.Info("phase done", "phase", ended.Phase, "took", ended.Duration.Round(time.Millisecond))
	}
}

// Done lists the phases that ended, in order.
func (c *PhaseClock) Done() []PhaseTime {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]PhaseTime(nil), c.done...)
}
