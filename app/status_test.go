package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStatusWriterKeepsTheFinalStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &StatusWriter{ResponseWriter: rec}
	assert.Zero(t, w.Status, "nothing answered yet")
	w.WriteHeader(http.StatusEarlyHints)
	assert.Zero(t, w.Status, "an informational status is not the final one")
	w.WriteHeader(http.StatusNotFound)
	w.WriteHeader(http.StatusOK)
	assert.Equal(t, http.StatusNotFound, w.Status, "the first final status is kept")

	rec = httptest.NewRecorder()
	w = &StatusWriter{ResponseWriter: rec}
	_, err := w.Write([]byte("x"))
	assert.NoError(t, err)
	assert.Equal(t, http.StatusOK, w.Status, "a body without a header is a 200")
	w.Flush()
	assert.True(t, rec.Flushed)
	assert.Same(t, rec, w.Unwrap())
}
