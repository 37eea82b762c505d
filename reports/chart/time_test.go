package chart

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWindowsKeepAtMostMaxPoints(t *testing.T) {
	w := NewWindows(13)
	assert.Equal(t, Windows{K: 1, N: 13, Seconds: 13}, w)
	assert.Equal(t, 0.5, w.X()[0])

	w = NewWindows(1201) // three seconds a window, the last one short
	assert.Equal(t, Windows{K: 3, N: 401, Seconds: 1201}, w)
	lo, hi := w.Span(400)
	assert.Equal(t, [2]int{1200, 1201}, [2]int{lo, hi})
	assert.Equal(t, 1.5, w.X()[0])
	assert.Equal(t, 1200.5, w.X()[400])
	assert.LessOrEqual(t, NewWindows(100_000).N, MaxPoints)
}
