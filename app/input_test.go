package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidMemberID(t *testing.T) {
	// The ids kong's own clients use: the workload's (m<N>, herd<N>), the
	// benchmark's, the world tests'.
	for _, id := range []string{"m0", "m123456", "herd42", "bench-7", "frozen-1", "rep-1", "w1", "never-written",
		"fault-world", "a.b_c:d-e", "Z", strings.Repeat("x", MaxMemberIDLen)} {
		assert.NoError(t, ValidMemberID(id), id)
	}
	bad := map[string]string{
		"":                                    "empty",
		strings.Repeat("x", MaxMemberIDLen+1): "more than 128",
		"a b":                                 "byte 1 (' ') is not allowed",
		"a\x00b":                              "is not allowed",
		"a\nb":                                "is not allowed",
		"a\x7fb":                              "is not allowed",
		"a/b":                                 "is not allowed",
		"a%20b":                               "is not allowed",
		"é":                                   "is not allowed",
		"m1?x=1":                              "is not allowed",
	}
	for id, want := range bad {
		err := ValidMemberID(id)
		require.Error(t, err, "%q", id)
		assert.Contains(t, err.Error(), want, "%q", id)
	}
}

// FuzzValidMemberID: an accepted id is a legal memcached key with the
// cache's prefix, and a path segment that needs no escaping.
func FuzzValidMemberID(f *testing.F) {
	for _, s := range []string{"m1", "herd-3", "", "a b", "\x00", strings.Repeat("a", 129), "é", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidMemberID(id) != nil {
			return
		}
		key := "p:" + id
		require.LessOrEqual(t, len(key), 250)
		for i := 0; i < len(key); i++ {
			require.Greater(t, key[i], byte(' '), "%q", id)
			require.Less(t, key[i], byte(0x7f), "%q", id)
		}
		require.NotContains(t, id, "/")
		require.NotContains(t, id, "%")
	})
}

func TestCheckJSONContentType(t *testing.T) {
	req := func(ct, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPut, "/x", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return r
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		assert.NoError(t, CheckJSONContentType(req(ct, `{}`)), ct)
	}
	assert.NoError(t, CheckJSONContentType(req("", "")), "no body and no type: nothing to read")

	for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain",
		"application/jsonx", "application/json-patch+json", "json", ";;;"} {
		err := CheckJSONContentType(req(ct, `{}`))
		require.ErrorIs(t, err, ErrContentType, ct)
		assert.Contains(t, err.Error(), "application/json")
	}
	require.ErrorIs(t, CheckJSONContentType(req("", `{}`)), ErrContentType, "a body without a type")
	require.ErrorIs(t, CheckJSONContentType(req("application/x-www-form-urlencoded", "")), ErrContentType,
		"a form post without fields is a form post")

	chunked := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader("{}"))
	chunked.ContentLength, chunked.TransferEncoding = -1, []string{"chunked"}
	require.ErrorIs(t, CheckJSONContentType(chunked), ErrContentType, "a body of unknown length without a type")
}
