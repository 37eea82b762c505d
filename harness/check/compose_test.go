package check

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

func TestSyntheticHistoryAllValid(t *testing.T) {
	h := synthHistory(20_000)
	r := allCheckers().Check(history.NewIndex(h))
	for _, c := range r.Children {
		assert.Equal(t, history.VerdictValid, c.Valid, "%s: %s %v", c.Checker, c.Reason, c.Details)
	}
	require.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Equal(t, fmt.Sprintf("all %d checkers valid", len(Registered())), r.Reason)
}

func TestComposeOneInvalidMakesAllInvalid(t *testing.T) {
	h := synthHistory(20_000)
	// Lose one acknowledged write in eu-west: its probe returns nothing.
	var key string
	for i := range h.Ops {
		o := &h.Ops[i]
		if o.Op == history.OpProbe && o.Type == history.OK && o.Region == "eu-west" && o.Version > 0 {
			o.Version, key = 0, o.Key
			break
		}
	}
	require.NotEmpty(t, key)
	r := allCheckers().Check(history.NewIndex(h))
	require.Equal(t, history.VerdictInvalid, r.Valid)
	// Convergence sees the same stale probe, but probing stopped before its
	// bound had passed, so it cannot tell: unknown, and invalid wins.
	assert.Equal(t, "convergence: unknown; lost-writes: invalid", r.Reason)
	require.Len(t, r.Children, len(Registered()))
	for _, c := range r.Children {
		switch c.Checker {
		case "lost-writes":
			assert.Equal(t, history.VerdictInvalid, c.Valid)
			assert.Contains(t, c.Reason, "key "+key+" in region eu-west")
		case "convergence":
			assert.Equal(t, history.VerdictUnknown, c.Valid)
			assert.Contains(t, c.Reason, "key "+key+" in region eu-west")
		default:
			assert.Equal(t, history.VerdictValid, c.Valid, "%s: %s", c.Checker, c.Reason)
		}
	}
}

func TestComposeHandMade(t *testing.T) {
	b := newHB().phase("steady-state", 0).
		add(op{Name: history.OpWriteProfile, Key: "k1", Session: "s1", Home: "us-east", Region: "us-east", Version: 1, At: 0, Dur: 10}).
		many(120, 10, op{Key: "k1", Session: "s1", Home: "us-east", Region: "us-east", Version: 1, At: 100, Dur: 10}).
		event(history.FaultHealed, "noop", 2000).
		add(probe("k1", "us-east", 1, 3000), probe("k1", "eu-west", 1, 3000))
	checkers := Compose{
		&Availability{SLO: 0.99, MinOps: 100},
		NewLatency("steady-state", 2),
		&LostWrites{},
		&StaleReads{Bound: time.Second},
		&SessionStickiness{},
		&Convergence{MaxConvergence: 5 * time.Second},
	}
	r := checkers.Check(history.NewIndex(b.history()))
	require.Equal(t, history.VerdictValid, r.Valid, r.Reason)

	// A session moving region without reason: only that checker fails,
	// and the whole is invalid.
	b.add(op{Key: "k1", Session: "s1", Home: "us-east", Region: "eu-west", Version: 1, At: 1500, Dur: 10})
	r = checkers.Check(history.NewIndex(b.history()))
	require.Equal(t, history.VerdictInvalid, r.Valid)
	assert.Equal(t, "session-stickiness: invalid", r.Reason)

	// Unknown ranks between: adding an unknown checker to a valid set gives
	// unknown, and invalid still wins over it.
	r = Compose{&LostWrites{}, &Shedding{}}.Check(history.NewIndex(newHB().add(
		op{Name: history.OpWriteProfile, Key: "k1", Version: 1, Dur: 1}, probe("k1", "us-east", 1, 10)).history()))
	assert.Equal(t, history.VerdictUnknown, r.Valid)
	r = Compose{&Shedding{}, &LostWrites{}}.Check(history.NewIndex(newHB().add(
		op{Name: history.OpWriteProfile, Key: "k1", Version: 1, Dur: 1}, probe("k1", "us-east", 0, 10)).history()))
	assert.Equal(t, history.VerdictInvalid, r.Valid)
	assert.Equal(t, "lost-writes: invalid; shedding: unknown", r.Reason)
}

func TestExpectHarm(t *testing.T) {
	harmless := func() *history.History {
		return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 2, 5000)).history()
	}
	cases := []checkCase{
		{
			name:    "no-op fault with harm expected must fail",
			checker: NewExpectHarm(&LostWrites{}),
			history: harmless,
			want:    history.VerdictInvalid,
			reason:  []string{"harm expected but lost-writes found none"},
		},
		{
			name:    "harm found",
			checker: NewExpectHarm(&LostWrites{}),
			history: func() *history.History {
				return writesK1().add(probe("k1", "us-east", 2, 5000), probe("k1", "eu-west", 1, 5000)).history()
			},
			want:   history.VerdictValid,
			reason: []string{"harm expected and found by lost-writes", "region eu-west"},
		},
		{
			name:    "unknown stays unknown",
			checker: NewExpectHarm(&LostWrites{}),
			history: func() *history.History { return writesK1().history() },
			want:    history.VerdictUnknown,
		},
		{
			name:    "whole composition as inner",
			checker: NewExpectHarm(allCheckers()),
			history: func() *history.History { return synthHistory(20_000) },
			want:    history.VerdictInvalid,
			reason:  []string{"all found none"},
		},
	}
	runCases(t, cases)
	assert.Equal(t, "expect-harm(lost-writes)", NewExpectHarm(&LostWrites{}).Name())
}

func TestExpectHarmInnerPanicIsUnknown(t *testing.T) {
	r := NewExpectHarm(panicky{}).Check(history.NewIndex(&history.History{}))
	assert.Equal(t, history.VerdictUnknown, r.Valid)
	assert.Contains(t, r.Reason, "checker panicked")
}

type panicky struct{}

func (panicky) Name() string                        { return "panicky" }
func (panicky) Check(*history.Index) history.Result { panic("boom") }

func TestRecorderRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := history.NewRecorder(path)
	require.NoError(t, err)
	want := newHB().phase("steady-state", 0).event(history.FaultInject, "partition", 100).
		add(op{Name: history.OpWriteProfile, Key: "k1", Session: "s1", Home: "us-east", Entry: "us-east", Region: "us-east",
			Version: 7, At: 10, Dur: 3, Failover: true, Pxy: true, Phase: "steady-state"},
			op{Key: "k1", Region: "eu-west", Type: history.Fail, Shed: true, Cache: true, At: 20, Dur: 1}).history()
	want.Ops[1].Status, want.Ops[1].Error, want.Ops[1].Zone, want.Ops[1].Instance = 200, "", "us-east-1a", "gw-1"
	want.Events[1].Detail = map[string]string{"from": "us-east", "to": "eu-west"}
	for _, e := range want.Events {
		rec.Event(e)
	}
	for _, o := range want.Ops {
		rec.Op(o)
	}
	require.NoError(t, rec.Close())

	got, err := history.Load(path)
	require.NoError(t, err)
	require.Len(t, got.Ops, len(want.Ops))
	require.Len(t, got.Events, len(want.Events))
	for i := range want.Ops {
		assert.True(t, want.Ops[i].Time.Equal(got.Ops[i].Time))
		got.Ops[i].Time = want.Ops[i].Time
	}
	for i := range want.Events {
		assert.True(t, want.Events[i].Time.Equal(got.Events[i].Time))
		got.Events[i].Time = want.Events[i].Time
	}
	assert.Equal(t, want.Ops, got.Ops)
	assert.Equal(t, want.Events, got.Events)

	// A run killed mid-write leaves a truncated last line: skipped.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	trunc := append(append([]byte{}, data...), []byte(`{"op":{"type":"ok","time":"2026-01-0`)...)
	got, err = history.Read(bytes.NewReader(trunc))
	require.NoError(t, err)
	assert.Len(t, got.Ops, len(want.Ops))
	assert.Len(t, got.Events, len(want.Events))

	// A bad line in the middle is an error naming its line.
	lines := strings.SplitAfter(string(data), "\n")
	require.Greater(t, len(lines), 4)
	bad := strings.Join(lines[:2], "") + "{not json\n" + strings.Join(lines[2:], "")
	_, err = history.Read(strings.NewReader(bad))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "history line 3")

	// The checkers give the same verdicts on the history read back.
	orig := (&Availability{SLO: 0.5, MinOps: 1}).Check(history.NewIndex(want))
	back := (&Availability{SLO: 0.5, MinOps: 1}).Check(history.NewIndex(got))
	assert.Equal(t, orig.Valid, back.Valid)
	assert.Equal(t, orig.Figures, back.Figures)
}
