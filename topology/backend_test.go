package topology

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// downOnly is a Backend whose Down answers from a table; its other
// methods are not called.
type downOnly struct {
	Backend
	results map[string]error
	grace   []time.Duration
}

func (b *downOnly) Down(_ context.Context, world string, grace time.Duration) error {
	b.grace = append(b.grace, grace)
	return b.results[world]
}

func TestDownWorldsSaysWhatBecameOfEach(t *testing.T) {
	broken := errors.New("world c: 2 processes would not stop")
	b := &downOnly{results: map[string]error{"a": nil, "b": ErrNotUp, "c": broken}}
	var out bytes.Buffer
	err := DownWorlds(context.Background(), b, []string{"a", "b", "c"}, time.Minute, &out)
	require.ErrorIs(t, err, broken)
	require.NotErrorIs(t, err, ErrNotUp, "a world that is not up is no error")
	require.Equal(t, "world a is down\nworld b is not up: nothing to do\n", out.String())
	require.Equal(t, []time.Duration{time.Minute, time.Minute, time.Minute}, b.grace)
	require.NoError(t, DownWorlds(context.Background(), b, nil, time.Minute, &out), "no worlds: nothing to do")
}
