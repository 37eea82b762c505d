package measured

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

func init() {
	fault.Register(fault.Entry{Name: "real-life-failover", Targets: []fault.Scope{fault.ScopeRegion},
		Description: "a region's member services degrade; the users' error rate gives it away, the region is evacuated, then restored",
		Params: []fault.Param{{Name: "error_rate", Default: "0.8", Help: "share of the region's user requests answered 503"},
			{Name: "latency_ms", Default: "200", Help: "added to each of them"},
			{Name: "threshold", Default: "0.3", Help: "error rate of the region's users that counts as degraded"},
			{Name: "window", Default: "3s", Help: "over which the error rate is measured"},
			{Name: "confirm", Default: "2s", Help: "how long the signal must hold before the evacuation"},
			{Name: "no_evacuate", Default: "false", Help: "detect and decide, but do not evacuate (a broken world)"}},
		New: func(c topology.Cluster, t fault.Target, a *fault.Args) (fault.Fault, error) {
			region, err := t.Region()
			return &SignalFailover{Degrade: fault.DependencyErrors(c, t, a.Float("error_rate"), a.Int("latency_ms")),
				Evac: fault.EvacuateRegion(c, region, []float64{0.5, 1}, 2*time.Second), Region: region,
				Threshold: a.Float("threshold"), Window: a.Duration("window"), MinOps: 10, Confirm: a.Duration("confirm"),
				NoEvacuate: a.Bool("no_evacuate")}, err
		}})
}

// SignalFailover is a real-life failover: a region degrades (its member
// services fail and slow down), the harness notices it from the workload's
// own signal (the error rate of the users sent to that region), decides to
// evacuate the region, and waits until the traffic has moved; recovery
// heals the degradation first, then restores the region. It measures the
// detection time (degradation in effect until the signal crossed the
// threshold), the decision time (until the evacuation was ordered, after
// the signal held for Confirm), and the time to full traffic shift (until
// no user entered the region any more), and records each as an event and
// as run figures.
type SignalFailover struct {
	Degrade fault.Fault
	Evac    *fault.Evacuation
	Region  string
	// Threshold is the error rate of the region's users, over Window, that
	// counts as degraded; MinOps the least completions in Window to judge.
	Threshold float64
	Window    time.Duration
	MinOps    int
	// Confirm is how long the signal must hold before the decision.
	Confirm time.Duration
	// Detect bounds the wait for the signal.
	Detect time.Duration
	// NoEvacuate detects and decides but does not evacuate: a broken world
	// whose failover automation is off.
	NoEvacuate bool

	mu      sync.Mutex
	rec     *history.Recorder
	buckets map[int64]*[2]int // unix second -> [completions, errors] of the region's users
	entered time.Time         // last completion of a user sent to the region
	figures map[string]float64
}

// Name implements fault.Fault.
func (s *SignalFailover) Name() string { return "real-life-failover" }

// Target implements fault.Fault.
func (s *SignalFailover) Target() fault.Target { return fault.Target{Regions: []string{s.Region}} }

// Args implements fault.FaultArgs.
func (s *SignalFailover) Args() map[string]string {
	return map[string]string{"threshold": strconv.FormatFloat(s.Threshold, 'g', -1, 64), "window": s.Window.String(),
		"confirm": s.Confirm.String(), "evacuate": strconv.FormatBool(!s.NoEvacuate)}
}

// UseHistory implements fault.HistoryUser: the signal watches the region's
// operations, and a Degrade that records its own gets the recorder too.
func (s *SignalFailover) UseHistory(rec *history.Recorder, phase func() string) {
	s.mu.Lock()
	s.rec = rec
	s.mu.Unlock()
	rec.Watch(s.observe)
	if u, ok := s.Degrade.(fault.HistoryUser); ok {
		u.UseHistory(rec, phase)
	}
}

// ReportSteps implements fault.StepReporter through the evacuation.
func (s *SignalFailover) ReportSteps(f func(history.Event)) { s.Evac.ReportSteps(f) }

// observe counts each completed user operation of the region's users.
func (s *SignalFailover) observe(o history.Op) {
	if o.Type == history.Invoke || o.Op == history.OpProbe || o.Entry != s.Region {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets == nil {
		s.buckets = map[int64]*[2]int{}
	}
	sec := o.Time.Unix()
	b := s.buckets[sec]
	if b == nil {
		b = &[2]int{}
		s.buckets[sec] = b
	}
	b[0]++
	if o.Type != history.OK {
		b[1]++
	}
	if o.Time.After(s.entered) {
		s.entered = o.Time
	}
}

// errorRate is the error rate of the region's users over the window that
// ends at now, and the completions it is over.
func (s *SignalFailover) errorRate(now time.Time) (float64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := now.Add(-s.Window).Unix()
	n, bad := 0, 0
	for sec, b := range s.buckets {
		if sec >= from && sec < now.Unix() {
			n += b[0]
			bad += b[1]
		}
		if sec < from-60 {
			delete(s.buckets, sec)
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(bad) / float64(n), n
}

func (s *SignalFailover) event(name string, detail map[string]string) {
	s.mu.Lock()
	rec := s.rec
	s.mu.Unlock()
	if rec != nil {
		rec.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: name, Target: s.Region, Detail: detail})
	}
}

func (s *SignalFailover) figure(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.figures == nil {
		s.figures = map[string]float64{}
	}
	s.figures[name] = d.Seconds()
}

// Figures are the measured times, in seconds: failover.detection_s,
// failover.decision_s and failover.shift_s.
func (s *SignalFailover) Figures() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]float64{}
	for k, v := range s.figures {
		out[k] = v
	}
	return out
}

// Setup implements fault.Fault.
func (s *SignalFailover) Setup(ctx context.Context) error {
	if s.Threshold <= 0 || s.Window <= 0 {
		return errors.New("real-life-failover: a threshold and a window are needed")
	}
	if s.rec == nil {
		return errors.New("real-life-failover: the signal needs the run's history (run it in an Experiment)")
	}
	return errors.Join(s.Degrade.Setup(ctx), s.Evac.Setup(ctx))
}

// Inject implements fault.Fault: degrade the region.
func (s *SignalFailover) Inject(ctx context.Context) error { return s.Degrade.Inject(ctx) }

// WaitInjected implements fault.Fault: the degradation takes effect, the signal
// crosses the threshold and holds, the region is evacuated and its users
// stop arriving there.
func (s *SignalFailover) WaitInjected(ctx context.Context) error {
	if err := s.Degrade.WaitInjected(ctx); err != nil {
		return err
	}
	degraded := time.Now()
	detect := s.Detect
	if detect <= 0 {
		detect = 2 * time.Minute
	}
	deadline := time.Now().Add(detect)
	var detected time.Time
	var rate float64
	var n int
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(250 * time.Millisecond):
		}
		now := time.Now()
		rate, n = s.errorRate(now)
		over := n >= max(s.MinOps, 1) && rate >= s.Threshold
		switch {
		case over && detected.IsZero():
			detected = now
			s.figure("failover.detection_s", detected.Sub(degraded))
			s.event("failover-detected", map[string]string{"error_rate": strconv.FormatFloat(rate, 'f', 3, 64),
				"completions": strconv.Itoa(n), "after_ms": strconv.FormatInt(detected.Sub(degraded).Milliseconds(), 10)})
		case !over:
			detected = time.Time{} // the signal must hold for Confirm
		}
		if !detected.IsZero() && now.Sub(detected) >= s.Confirm {
			break
		}
		if now.After(deadline) {
			return fmt.Errorf("the error rate of %s's users stayed under %.0f%% for %s after the degradation (last %.1f%% of %d)",
				s.Region, s.Threshold*100, detect, rate*100, n)
		}
	}
	decided := time.Now()
	s.figure("failover.decision_s", decided.Sub(detected))
	s.event("failover-decided", map[string]string{"evacuate": strconv.FormatBool(!s.NoEvacuate),
		"after_detection_ms": strconv.FormatInt(decided.Sub(detected).Milliseconds(), 10)})
	if s.NoEvacuate {
		return nil
	}
	if err := s.Evac.Inject(ctx); err != nil {
		return err
	}
	if err := s.Evac.WaitInjected(ctx); err != nil {
		return err
	}
	// The shift is complete when no user has entered the region for two
	// seconds (clients trust a route for a while).
	err := fault.PollUntil(ctx, "no user entering "+s.Region, func(context.Context) error {
		s.mu.Lock()
		last := s.entered
		s.mu.Unlock()
		if time.Since(last) < 2*time.Second {
			return fmt.Errorf("a user entered %s at %s", s.Region, last.UTC().Format(time.RFC3339Nano))
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	shifted := s.entered
	s.mu.Unlock()
	if shifted.Before(decided) {
		shifted = decided
	}
	s.figure("failover.shift_s", shifted.Sub(decided))
	s.event("failover-shifted", map[string]string{"after_decision_ms": strconv.FormatInt(shifted.Sub(decided).Milliseconds(), 10)})
	return nil
}

// Recover implements fault.Fault: heal the degradation, then bring the users back.
func (s *SignalFailover) Recover(ctx context.Context) error {
	if err := s.Degrade.Recover(ctx); err != nil {
		return err
	}
	if err := s.Degrade.WaitRecovered(ctx); err != nil {
		return err
	}
	return s.Evac.Recover(ctx)
}

// WaitRecovered implements fault.Fault.
func (s *SignalFailover) WaitRecovered(ctx context.Context) error { return s.Evac.WaitRecovered(ctx) }

// Cleanup implements fault.Fault.
func (s *SignalFailover) Cleanup(ctx context.Context) error {
	return errors.Join(s.Degrade.Cleanup(ctx), s.Evac.Cleanup(ctx))
}
