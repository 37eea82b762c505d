package scenarios

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/run"
)

func withRegistry(t *testing.T) {
	saved := registry
	registry = map[string]Spec{}
	t.Cleanup(func() { registry = saved })
}

func TestRegisterGetAll(t *testing.T) {
	withRegistry(t)
	_, err := Get("split-brain")
	require.ErrorContains(t, err, "no scenarios are registered")
	noop := func(context.Context, *Env) (*run.Outcome, error) { return nil, nil }
	Register(Spec{Name: "split-brain", Run: noop})
	Register(Spec{Name: "chaos-gorilla", Profile: "small", Run: noop})
	s, err := Get("split-brain")
	require.NoError(t, err)
	require.Equal(t, "default", s.Profile, "the default profile is filled in")
	require.NotZero(t, s.Timeout)
	_, err = Get("chaos-kongg")
	require.EqualError(t, err, `unknown scenario "chaos-kongg": the scenarios are chaos-gorilla, split-brain (see kong list)`)
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"chaos-gorilla", "split-brain"}, names)
}

func TestRegisterRefusesBadSpecs(t *testing.T) {
	withRegistry(t)
	noop := func(context.Context, *Env) (*run.Outcome, error) { return nil, nil }
	require.PanicsWithValue(t, `scenario name "two words": use lower-case words joined by dashes`, func() { Register(Spec{Name: "two words", Run: noop}) })
	require.Panics(t, func() { Register(Spec{Name: "no-run"}) })
	Register(Spec{Name: "once", Run: noop})
	require.PanicsWithValue(t, "scenario once registered twice", func() { Register(Spec{Name: "once", Run: noop}) })
}
