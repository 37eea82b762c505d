package fault

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// lifecycleFault is an in-test implementation of our own Fault interface: it
// breaks nothing, records the calls it gets, and fails or blocks on demand.
type lifecycleFault struct {
	name   string
	target Target

	mu     sync.Mutex
	calls  []string
	active bool // between Inject and a successful Recover
	// What the context Recover got looked like when it got it.
	healErr      error
	healDeadline time.Time
	healHasLimit bool

	setupErr, injectErr, waitInjectedErr, recoverErr error
	effectDelay                                      time.Duration // WaitInjected sleeps this long
	blockWait                                        bool          // WaitInjected blocks until ctx ends
	failRecoverOnce                                  bool
}

func newLifecycleFault(name string, ids ...string) *lifecycleFault {
	f := &lifecycleFault{name: name}
	for _, id := range ids {
		f.target.Components = append(f.target.Components, topology.Component{ID: id})
	}
	return f
}

func (f *lifecycleFault) call(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

func (f *lifecycleFault) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *lifecycleFault) IsActive() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active
}

func (f *lifecycleFault) Name() string   { return f.name }
func (f *lifecycleFault) Target() Target { return f.target }
func (f *lifecycleFault) Args() map[string]string {
	return map[string]string{"rate": "0.5"}
}

func (f *lifecycleFault) Setup(context.Context) error {
	f.call("setup")
	return f.setupErr
}

func (f *lifecycleFault) Inject(context.Context) error {
	f.call("inject")
	f.mu.Lock()
	f.active = true // a failed inject may have done part of its work
	f.mu.Unlock()
	return f.injectErr
}

func (f *lifecycleFault) WaitInjected(ctx context.Context) error {
	f.call("wait-injected")
	if f.blockWait {
		<-ctx.Done()
		return context.Cause(ctx)
	}
	time.Sleep(f.effectDelay)
	return f.waitInjectedErr
}

func (f *lifecycleFault) Recover(ctx context.Context) error {
	f.call("recover")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.healErr = ctx.Err()
	f.healDeadline, f.healHasLimit = ctx.Deadline()
	if f.failRecoverOnce {
		f.failRecoverOnce = false
		return errors.New("recover failed on purpose")
	}
	if f.recoverErr != nil {
		return f.recoverErr
	}
	f.active = false
	return nil
}

func (f *lifecycleFault) WaitRecovered(context.Context) error {
	f.call("wait-recovered")
	return nil
}

func (f *lifecycleFault) Cleanup(context.Context) error {
	f.call("cleanup")
	return nil
}

// recordedHistory returns a recorder on a fresh history file and a function that
// closes it and returns the timeline.
func recordedHistory(t *testing.T) (*history.Recorder, func() []history.Event) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := history.NewRecorder(path)
	require.NoError(t, err)
	return rec, func() []history.Event {
		require.NoError(t, rec.Close())
		h, err := history.Load(path)
		require.NoError(t, err)
		return h.Events
	}
}

func eventKinds(events []history.Event) []history.EventKind {
	out := make([]history.EventKind, len(events))
	for i, e := range events {
		out[i] = e.Kind
	}
	return out
}

func TestInjectorLifecycleRecordsEvents(t *testing.T) {
	rec, events := recordedHistory(t)
	in := NewInjector(rec)
	f := newLifecycleFault("kill-instance", "us-west-2/cassandra/a")
	f.effectDelay = 30 * time.Millisecond
	ctx := context.Background()

	require.NoError(t, in.Inject(ctx, f))
	active, target, ok := in.Active()
	require.True(t, ok)
	require.Equal(t, f, active)
	require.Equal(t, "us-west-2/cassandra/a", target.String())
	require.NoError(t, in.Recover(ctx, f))
	_, _, ok = in.Active()
	require.False(t, ok)
	require.Equal(t, []string{"setup", "inject", "wait-injected", "recover", "wait-recovered", "cleanup"}, f.Calls())

	ev := events()
	require.Equal(t, []history.EventKind{history.FaultInject, history.FaultEffect, history.FaultRecover, history.FaultHealed}, eventKinds(ev))
	for _, e := range ev {
		require.Equal(t, "kill-instance", e.Name)
		require.Equal(t, "us-west-2/cassandra/a", e.Target)
		require.False(t, e.Time.IsZero())
	}
	require.Equal(t, "0.5", ev[0].Detail["rate"], "the fault's arguments are in the inject event")
	ms, err := strconv.Atoi(ev[1].Detail["time_to_effect_ms"])
	require.NoError(t, err)
	require.GreaterOrEqual(t, ms, 30, "time to effect includes WaitInjected")
	tte, err := time.ParseDuration(ev[1].Detail["time_to_effect"])
	require.NoError(t, err)
	require.InDelta(t, ev[1].Time.Sub(ev[0].Time), tte, float64(time.Millisecond), "time to effect is the time between the events")
	require.NotEmpty(t, ev[3].Detail["time_to_recover"])
	for i := 1; i < len(ev); i++ {
		require.False(t, ev[i].Time.Before(ev[i-1].Time), "events in time order")
	}
}

func TestInjectorRefusesSecondInject(t *testing.T) {
	in := NewInjector(nil)
	ctx := context.Background()
	f := newLifecycleFault("pause-instance", "us-east-1/memcached/a")
	require.NoError(t, in.Inject(ctx, f))
	err := in.Inject(ctx, f)
	require.ErrorIs(t, err, ErrAlreadyInjected)
	require.Contains(t, err.Error(), "us-east-1/memcached/a")

	other := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	require.ErrorIs(t, in.Inject(ctx, other), ErrAlreadyInjected)
	require.Empty(t, other.Calls(), "a refused inject does not even set up")
	require.Equal(t, []string{"setup", "inject", "wait-injected"}, f.Calls())

	require.NoError(t, in.Recover(ctx, f))
	require.NoError(t, in.Inject(ctx, other), "once recovered, the next fault may be injected")
	require.NoError(t, in.Heal(ctx))
}

func TestInjectorRefusesRecoverWhenNothingInjected(t *testing.T) {
	in := NewInjector(nil)
	ctx := context.Background()
	f := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	require.ErrorIs(t, in.Recover(ctx, f), ErrNotInjected)
	require.Empty(t, f.Calls())

	require.NoError(t, in.Inject(ctx, f))
	require.NoError(t, in.Recover(ctx, f))
	require.ErrorIs(t, in.Recover(ctx, f), ErrNotInjected, "recovering twice is refused")
	require.Equal(t, 1, countOf(f.Calls(), "recover"))
}

func TestInjectorRefusesRecoverOfAnotherTarget(t *testing.T) {
	in := NewInjector(nil)
	ctx := context.Background()
	f := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	require.NoError(t, in.Inject(ctx, f))

	elsewhere := newLifecycleFault("kill-instance", "us-east-1/cassandra/b")
	err := in.Recover(ctx, elsewhere)
	require.ErrorIs(t, err, ErrOtherTarget)
	require.Contains(t, err.Error(), "us-east-1/cassandra/a is injected")
	require.ErrorIs(t, in.Recover(ctx, newLifecycleFault("pause-instance", "us-east-1/cassandra/a")), ErrOtherTarget,
		"another fault on the same target is refused too")
	require.Empty(t, elsewhere.Calls())
	require.True(t, f.IsActive(), "a refused recover leaves the fault injected")

	// The same fault built again (same name and target) is the one injected.
	require.NoError(t, in.Recover(ctx, newLifecycleFault("kill-instance", "us-east-1/cassandra/a")))
	require.False(t, f.IsActive(), "the injected fault itself was recovered")
}

func TestInjectorHealHealsActiveFault(t *testing.T) {
	rec, events := recordedHistory(t)
	in := NewInjector(rec)
	ctx := context.Background()
	require.NoError(t, in.Heal(ctx), "nothing to heal")

	f := newLifecycleFault("partition", "us-east-1->us-west-2")
	require.NoError(t, in.Inject(ctx, f))
	require.NoError(t, in.Heal(ctx))
	require.False(t, f.IsActive())
	_, _, ok := in.Active()
	require.False(t, ok)
	require.NoError(t, in.Heal(ctx), "healing twice does nothing")
	require.Equal(t, 1, countOf(f.Calls(), "recover"))
	require.Equal(t, []history.EventKind{history.FaultInject, history.FaultEffect, history.FaultRecover, history.FaultHealed}, eventKinds(events()))
}

func TestInjectorPartialInjectIsStillHealed(t *testing.T) {
	rec, events := recordedHistory(t)
	in := NewInjector(rec)
	ctx := context.Background()
	f := newLifecycleFault("kill-zone", "us-east-1/cassandra/a", "us-east-1/member/a")
	f.injectErr = errors.New("kill us-east-1/member/a: no such process")
	err := in.Inject(ctx, f)
	require.ErrorIs(t, err, f.injectErr)
	_, _, ok := in.Active()
	require.True(t, ok, "a failed inject counts as injected: part of it may have happened")
	require.NoError(t, in.Heal(ctx))
	require.False(t, f.IsActive())
	require.Equal(t, []history.EventKind{history.FaultInject, history.Note, history.FaultRecover, history.FaultHealed}, eventKinds(events()))
}

func TestInjectorFailedSetupInjectsNothing(t *testing.T) {
	in := NewInjector(nil)
	f := newLifecycleFault("link-latency", "us-east-1->us-west-2")
	f.setupErr = errors.New("bad toxic")
	require.ErrorIs(t, in.Inject(context.Background(), f), f.setupErr)
	_, _, ok := in.Active()
	require.False(t, ok)
	require.Equal(t, []string{"setup", "cleanup"}, f.Calls())
}

func TestInjectorFailedRecoverStaysActiveAndHealRetries(t *testing.T) {
	in := NewInjector(nil)
	ctx := context.Background()
	f := newLifecycleFault("pause-instance", "us-east-1/memcached/a")
	f.failRecoverOnce = true
	require.NoError(t, in.Inject(ctx, f))
	require.Error(t, in.Recover(ctx, f))
	_, _, ok := in.Active()
	require.True(t, ok, "a failed recover leaves the fault active")
	require.NoError(t, in.Heal(ctx))
	require.False(t, f.IsActive())
	require.Equal(t, 2, countOf(f.Calls(), "recover"))
}

func TestInjectorWaitHasDeadline(t *testing.T) {
	in := NewInjector(nil)
	in.WaitTimeout = 50 * time.Millisecond
	f := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	f.blockWait = true
	start := time.Now()
	err := in.Inject(context.Background(), f)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "not seen to take effect")
	require.Less(t, time.Since(start), 5*time.Second)
	require.NoError(t, in.Heal(context.Background()))
	require.False(t, f.IsActive())
}

func TestWithFaultHealsOnSuccessAndError(t *testing.T) {
	ctx := context.Background()
	f := newLifecycleFault("noop-ish", "us-east-1/member/a")
	ran := false
	require.NoError(t, WithFault(ctx, f, nil, func(context.Context) error {
		ran = true
		require.True(t, f.IsActive(), "the body runs while the fault is injected")
		return nil
	}))
	require.True(t, ran)
	require.False(t, f.IsActive())

	rec, events := recordedHistory(t)
	g := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	boom := errors.New("checker said no")
	err := WithFault(ctx, g, rec, func(context.Context) error { return boom })
	require.ErrorIs(t, err, boom)
	require.False(t, g.IsActive(), "healed after the body failed")
	require.Equal(t, []history.EventKind{history.FaultInject, history.FaultEffect, history.FaultRecover, history.FaultHealed}, eventKinds(events()))
}

func TestWithFaultHealsOnPanicAndPanicsAgain(t *testing.T) {
	rec, events := recordedHistory(t)
	f := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	require.PanicsWithValue(t, "scenario bug", func() {
		_ = WithFault(context.Background(), f, rec, func(context.Context) error { panic("scenario bug") })
	})
	require.False(t, f.IsActive(), "healed before the panic went on")
	require.Equal(t, []history.EventKind{history.FaultInject, history.FaultEffect, history.FaultRecover, history.FaultHealed}, eventKinds(events()))
}

func TestWithFaultHealsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := newLifecycleFault("partition", "us-east-1->us-west-2")
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- WithFault(ctx, f, nil, func(ctx context.Context) error {
			close(started)
			<-ctx.Done() // Ctrl-C
			return ctx.Err()
		})
	}()
	<-started
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, f.IsActive(), "healed after cancellation")
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NoError(t, f.healErr, "recover ran on a fresh context, not the cancelled one")
	require.True(t, f.healHasLimit, "the healing context has its own deadline")
	require.WithinDuration(t, time.Now().Add(DefaultHealTimeout), f.healDeadline, time.Minute)
}

func TestWithFaultHealsWhenCancelledWhileWaitingForEffect(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	f.blockWait = true
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	bodyRan := false
	err := WithFault(ctx, f, nil, func(context.Context) error { bodyRan = true; return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, bodyRan)
	require.False(t, f.IsActive(), "a fault interrupted before its effect was seen is healed")
}

func TestWithFaultReportsHealFailure(t *testing.T) {
	f := newLifecycleFault("pause-instance", "us-east-1/memcached/a")
	f.recoverErr = errors.New("resume refused")
	in := NewInjector(nil)
	err := in.Do(context.Background(), f, func(context.Context) error { return nil })
	require.ErrorIs(t, err, f.recoverErr)
	require.Contains(t, err.Error(), "heal:")
	_, _, ok := in.Active()
	require.True(t, ok, "a fault that could not be healed stays known as active")
}

func TestNoopFault(t *testing.T) {
	rec, events := recordedHistory(t)
	start := time.Now()
	require.NoError(t, WithFault(context.Background(), Noop{}, rec, func(context.Context) error { return nil }))
	require.Less(t, time.Since(start), time.Second)
	ev := events()
	require.Equal(t, []history.EventKind{history.FaultInject, history.FaultEffect, history.FaultRecover, history.FaultHealed}, eventKinds(ev))
	require.Equal(t, "noop", ev[0].Name)
	require.Equal(t, "nothing", ev[0].Target)
}

func TestPollUntilSaysWhatItWaitedFor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	last := errors.New("us-east-1/cassandra/a still sees every node UP")
	err := PollUntil(ctx, "us-west-2/cassandra/a seen DOWN", func(context.Context) error { return last })
	require.ErrorIs(t, err, last)
	require.Contains(t, err.Error(), "for us-west-2/cassandra/a seen DOWN")
	require.Contains(t, err.Error(), "deadline exceeded")

	n := 0
	require.NoError(t, PollUntil(context.Background(), "third time lucky", func(context.Context) error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}))
}

func TestFaultSetupRefusesBadArguments(t *testing.T) {
	ctx := context.Background()
	link := Target{Links: []topology.Link{{Name: "us-east-1->us-west-2", From: "us-east-1", To: "us-west-2"}}}
	member := Target{Components: []topology.Component{{ID: "us-east-1/member/a", Kind: topology.KindMember, Region: "us-east-1", Zone: "a"}}}
	cases := map[string]struct {
		f    Fault
		want string
	}{
		"unknown toxic":         {LinkToxic(nil, link, Toxic{Kind: "packet_loss"}), "unknown kind"},
		"latency without value": {LinkToxic(nil, link, Toxic{Kind: ToxicLatency}), `"latency" is required`},
		"unknown attribute":     {LinkToxic(nil, link, Toxic{Kind: ToxicBandwidth, Attributes: map[string]int64{"rate": 1, "latency": 2}}), `unknown attribute "latency"`},
		"jitter without jitter": {LinkToxic(nil, link, JitterToxic(100*time.Millisecond, 0)), "jitter > 0"},
		"toxicity above one":    {LinkToxic(nil, link, Toxic{Kind: ToxicTimeout, Toxicity: 1.5}), "toxicity"},
		"bad stream":            {LinkToxic(nil, link, Toxic{Kind: ToxicTimeout, Stream: "sideways"}), "stream"},
		"toxic on components":   {LinkToxic(nil, member, LatencyToxic(time.Second)), "needs links"},
		"partition components":  {PartitionLinks(nil, member), "needs links"},
		"kill nothing":          {KillInstance(nil, Target{}), "needs components"},
		"kill zone of two zones": {KillZone(nil, Target{Components: []topology.Component{
			{ID: "us-east-1/cassandra/a", Region: "us-east-1", Zone: "a"}, {ID: "us-east-1/cassandra/b", Region: "us-east-1", Zone: "b"}}}), "one zone"},
		"pause links":        {PauseInstance(nil, link), "needs components"},
		"no member":          {DependencyErrors(nil, link, 0.5, 0), "no member service"},
		"rate above one":     {DependencyErrors(nil, member, 1.5, 0), "[0,1]"},
		"nothing to inject":  {DependencyErrors(nil, member, 0, 0), "inject nothing"},
		"stall without hold": {StallingReads(nil, member, 0.1, 0), "slow rate 0.1 must be in [0,1] with a hold"},
		"stall rate above 1": {StallingReads(nil, member, 1.5, 100), "slow rate 1.5"},
		"drop rate above 1":  {DroppedWrites(nil, member, 1.5), "drop write rate 1.5 must be in [0,1]"},
		"drop nothing":       {DroppedWrites(nil, member, 0), "inject nothing"},
		"decreasing steps":   {EvacuateRegion(nil, "us-east-1", []float64{0.5, 0.25}, 0), "not decreasing"},
		"step above one":     {EvacuateRegion(nil, "us-east-1", []float64{2}, 0), "(0,1]"},
		"no steps":           {EvacuateRegion(nil, "us-east-1", []float64{}, 0), "no steps"},
		"negative step wait": {EvacuateRegion(nil, "us-east-1", nil, -time.Second), "step wait"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.f.Setup(ctx)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestLinkToxicDefaultsAndNames(t *testing.T) {
	link := Target{Links: []topology.Link{{Name: "us-east-1->us-west-2"}}}
	f := LinkToxic(nil, link, LatencyToxic(200*time.Millisecond))
	require.Equal(t, "link-latency", f.Name())
	require.Equal(t, Upstream, f.Toxic().Stream, "the link's own direction by default")
	require.Equal(t, 1.0, f.Toxic().Toxicity, "every connection by default")
	require.Equal(t, []string{"kong-latency-upstream"}, []string{f.toxicName(f.streams()[0])})
	both := LinkToxic(nil, link, Toxic{Kind: ToxicBandwidth, Attributes: map[string]int64{"rate": 10}, Stream: BothStreams})
	require.Equal(t, []string{"upstream", "downstream"}, both.streams())
	require.Equal(t, map[string]string{"toxic": "latency", "stream": "upstream", "toxicity": "1", "latency": "200"}, f.Args())
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func TestInjectorActiveAnswersWhileInjectWaits(t *testing.T) {
	in := NewInjector(nil)
	f := newLifecycleFault("kill-instance", "us-east-1/cassandra/a")
	f.blockWait = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Inject(ctx, f) }()
	require.Eventually(t, func() bool {
		_, target, ok := in.Active()
		return ok && target.String() == "us-east-1/cassandra/a"
	}, 5*time.Second, time.Millisecond, "Active does not wait for the inject's wait")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.NoError(t, in.Heal(context.Background()))
	require.False(t, f.IsActive())
}

// repairingFault is a lifecycleFault that leaves a repair of its target's
// components (Repairs), and fails it when told to.
type repairingFault struct {
	*lifecycleFault
	repairErr error
}

func (f *repairingFault) Repair(context.Context) ([]string, error) {
	f.call("repair")
	if f.repairErr != nil {
		return nil, f.repairErr
	}
	var ids []string
	for _, c := range f.target.Components {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func TestCombinedAndDelayedFaultsPassTheirPartsRepairsOn(t *testing.T) {
	a := &repairingFault{lifecycleFault: newLifecycleFault("kill-a", "us-east-1/cassandra/a")}
	b := &repairingFault{lifecycleFault: newLifecycleFault("kill-b", "us-east-1/cassandra/b"), repairErr: errors.New("node b did not answer")}
	plain := newLifecycleFault("partition")
	var f Fault = Together("mixed", plain, a, After(time.Millisecond, b))
	r, ok := f.(Repairs)
	require.True(t, ok, "a combination passes its parts' repairs on")
	ids, err := r.Repair(context.Background())
	require.Equal(t, []string{"us-east-1/cassandra/a"}, ids, "every part was asked; what the failing one did not repair is not named")
	require.ErrorContains(t, err, "node b did not answer")
	require.Equal(t, []string{"repair"}, a.Calls())
	require.Equal(t, []string{"repair"}, b.Calls())
	require.Empty(t, plain.Calls(), "a part without a repair is not asked")

	// A delayed fault without a repair repairs nothing.
	ids, err = After(time.Millisecond, plain).Repair(context.Background())
	require.NoError(t, err)
	require.Empty(t, ids)
}
