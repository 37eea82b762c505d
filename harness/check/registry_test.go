package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/registry"
)

// Every registered checker builds a checker of the name it is registered
// under (the name run.json and the reports record), says what it judges,
// and finds nothing valid in an empty history: a checker with nothing to
// judge says unknown.
func TestRegisteredCheckers(t *testing.T) {
	entries := Registered()
	require.NotEmpty(t, entries)
	empty := history.NewIndex(&history.History{})
	for _, e := range entries {
		c := e.New()
		assert.Equal(t, e.Name, c.Name())
		assert.NotEmpty(t, e.Description, e.Name)
		assert.Equal(t, history.VerdictUnknown, c.Check(empty).Valid, "%s on an empty history", e.Name)
	}
}

type named string

func (n named) Name() string { return string(n) }
func (n named) Check(*history.Index) history.Result {
	return history.Result{Valid: history.VerdictValid}
}

func TestRegisterRefusesBadEntries(t *testing.T) {
	saved := registered
	registered = &registry.Of[Entry]{}
	t.Cleanup(func() { registered = saved })
	entry := func(name string) Entry {
		return Entry{Description: "judges " + name, New: func() Checker { return named(name) }}
	}
	require.PanicsWithValue(t, `check.Register: checker name "": use lower-case words joined by dashes`, func() { Register(entry("")) })
	require.PanicsWithValue(t, `check.Register: checker name "two words": use lower-case words joined by dashes`, func() { Register(entry("two words")) })
	require.Panics(t, func() { Register(Entry{Description: "no constructor"}) })
	require.Panics(t, func() { Register(Entry{New: func() Checker { return named("undescribed") }}) })
	Register(entry("once"))
	require.PanicsWithValue(t, `check.Register("once"): registered twice`, func() { Register(entry("once")) })
	require.Len(t, Registered(), 1)
	assert.Equal(t, "once", Registered()[0].Name)
}
