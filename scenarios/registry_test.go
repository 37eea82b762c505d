package scenarios

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/registry"
)

func withRegistry(t *testing.T) {
	saved := registered
	registered = &registry.Of[Spec]{}
	t.Cleanup(func() { registered = saved })
}

func TestRegisterGetAll(t *testing.T) {
	withRegistry(t)
	_, err := Get("split-brain")
	require.ErrorContains(t, err, "no scenarios are registered")
	noop := func(context.Context, Spec, *Env) (*run.Outcome, error) { return nil, nil }
	Register(Spec{Name: "split-brain", Run: noop})
	Register(Spec{Name: "chaos-gorilla", Profile: "small", Run: noop})
	s, err := Get("split-brain")
	require.NoError(t, err)
	require.Equal(t, "default", s.Profile, "the default profile is filled in")
	require.NotZero(t, s.Timeout)
	require.Equal(t, "kong run split-brain --seed 7 --world w", s.Replay("w", 7))
	_, err = Get("chaos-kongg")
	require.EqualError(t, err, `unknown scenario "chaos-kongg": the scenarios are chaos-gorilla, split-brain (see kong list)`)
	require.Equal(t, []string{"chaos-gorilla", "split-brain"}, Names(All()))
}

func TestRegisterRefusesBadSpecs(t *testing.T) {
	withRegistry(t)
	noop := func(context.Context, Spec, *Env) (*run.Outcome, error) { return nil, nil }
	require.PanicsWithValue(t, `scenario name "two words": use lower-case words joined by dashes`, func() { Register(Spec{Name: "two words", Run: noop}) })
	require.Panics(t, func() { Register(Spec{Name: "no-run"}) })
	Register(Spec{Name: "once", Run: noop})
	require.PanicsWithValue(t, "scenario once registered twice", func() { Register(Spec{Name: "once", Run: noop}) })
}

func TestRegisterRefusesBadVariants(t *testing.T) {
	withRegistry(t)
	noop := func(context.Context, Spec, *Env) (*run.Outcome, error) { return nil, nil }
	good := Variant{Name: "no-failover", Broken: "failover off", Checker: "availability", Reason: "observe", Run: noop}
	rows := []struct {
		name   string
		change func(v *Variant)
		want   string
	}{
		{"a slash in the name", func(v *Variant) { v.Name = "no/failover" }, `broken world name "no/failover"`},
		{"nothing broken", func(v *Variant) { v.Broken = "" }, "does not say what is broken"},
		{"no checker", func(v *Variant) { v.Checker = "" }, "names no checker and reason"},
		{"no reason", func(v *Variant) { v.Reason = "" }, "names no checker and reason"},
		{"its checker also invalid", func(v *Variant) { v.AlsoInvalid = []string{"availability"} }, "availability is its checker"},
		{"no run", func(v *Variant) { v.Run = nil }, "has no Run"},
		{"short in a long scenario", func(v *Variant) { v.Short = true }, "is Short but its scenario is not"},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			v := good
			row.change(&v)
			s := Spec{Name: fmt.Sprintf("s%d", i), Run: noop, Broken: []Variant{v}}
			msg := panicOf(t, func() { Register(s) })
			require.Contains(t, msg, "scenario "+s.Name+": ")
			require.Contains(t, msg, row.want)
		})
	}
	require.PanicsWithValue(t, "scenario twice: broken world no-failover declared twice", func() {
		Register(Spec{Name: "twice", Run: noop, Broken: []Variant{good, good}})
	})
	short := good
	short.Short = true
	Register(Spec{Name: "short", Short: true, Run: noop, Broken: []Variant{short}})
	s, err := Get("short")
	require.NoError(t, err)
	require.NotNil(t, s.Quick, "Quick defaults to Run")
}

// panicOf is the text of the panic f raises.
func panicOf(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() { msg, _ = recover().(string) }()
	f()
	t.Fatal("no panic")
	return ""
}

// Judge passes a broken world caught by its checker for its reason, and
// names every way a broken world can be caught for the wrong one.
func TestVariantJudge(t *testing.T) {
	v := Variant{Name: "no-failover", Checker: "availability", Reason: "region us-west-2 phase observe", AlsoInvalid: []string{"shedding"}}
	res := func(checker string, valid history.Verdict, reason string) history.Result {
		return history.Result{Checker: checker, Valid: valid, Reason: reason}
	}
	outcome := func(status history.Status, rs ...history.Result) *run.Outcome {
		return &run.Outcome{Status: status, Verdict: history.Result{Checker: "all", Children: rs}}
	}
	healthy := outcome(history.StatusPassed, res("availability", history.VerdictValid, "all 10 region/phase pairs at or above SLO"),
		res("lost-writes", history.VerdictValid, ""))
	caught := res("availability", history.VerdictInvalid, "below SLO: region us-west-2 phase observe: availability 0.7")
	require.NoError(t, v.Judge(healthy, outcome(history.StatusFailed, caught, res("lost-writes", history.VerdictValid, ""))))
	require.NoError(t, v.Judge(healthy, outcome(history.StatusFailed, caught, res("shedding", history.VerdictInvalid, "data tier peak"))),
		"a checker the variant names as also invalid")
	require.NoError(t, v.Judge(healthy, outcome(history.StatusFailed, caught, res("lost-writes", history.VerdictUnknown, "too few"))),
		"another checker unknown")

	rows := []struct {
		name            string
		healthy, broken *run.Outcome
		want            string
	}{
		{"the broken world passed", healthy, outcome(history.StatusPassed, res("availability", history.VerdictValid, "")),
			"run passed, not failed"},
		{"its checker unknown", healthy, outcome(history.StatusFailed, res("availability", history.VerdictUnknown, "too few operations")),
			"availability is unknown in the broken world, not invalid"},
		{"for another reason", healthy, outcome(history.StatusFailed, res("availability", history.VerdictInvalid, "below SLO: region us-east-1 phase inject")),
			`its reason does not contain "region us-west-2 phase observe"`},
		{"another checker invalid too", healthy, outcome(history.StatusFailed, caught, res("lost-writes", history.VerdictInvalid, "1 lost")),
			"lost-writes is invalid in the broken world too"},
		{"its checker absent", healthy, outcome(history.StatusFailed, res("lost-writes", history.VerdictInvalid, "1 lost")),
			"has no availability checker"},
		{"invalid in the healthy run already", outcome(history.StatusFailed, res("availability", history.VerdictInvalid, "below SLO")),
			outcome(history.StatusFailed, caught), "availability is invalid in the healthy run, so the broken world proves nothing"},
		{"unknown in the healthy run", outcome(history.StatusFailed, res("availability", history.VerdictUnknown, "too few")),
			outcome(history.StatusFailed, caught), "availability is unknown in the healthy run"},
		{"absent from the healthy run", outcome(history.StatusPassed), outcome(history.StatusFailed, caught),
			"the healthy run has no availability checker"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			require.ErrorContains(t, v.Judge(row.healthy, row.broken), row.want)
		})
	}
}

// Every scenario says how long its timed phases are planned to take, so
// that a game day's first round can estimate its time left.
func TestEveryScenarioIsPlanned(t *testing.T) {
	for _, s := range All() {
		require.Positive(t, s.Planned, "%s: set Spec.Planned", s.Name)
		require.Less(t, s.Planned, s.Timeout, "%s: its plan fits in its timeout", s.Name)
	}
	rc, err := Get("replication-check")
	require.NoError(t, err)
	require.Equal(t, 5*time.Second+1_000_000*time.Second/1500, rc.Planned, "the game day's million records at its pace, after its steady phase")
	require.Equal(t, 5*time.Second+1000*time.Second, ReplicationOptions{}.planned(), "unpaced: at a thousand a second")
}
