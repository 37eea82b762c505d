package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// What a client builds with MemberPath is what the service's MemberRoute
// serves, with the member id as its wildcard.
func TestMemberPathMatchesMemberRoute(t *testing.T) {
	mux := http.NewServeMux()
	var got string
	mux.HandleFunc(MemberRoute(http.MethodPut, ResourceProfile), func(_ http.ResponseWriter, r *http.Request) { got = r.PathValue("id") })
	mux.HandleFunc(MemberRoute(http.MethodGet, ResourceHistory), func(_ http.ResponseWriter, r *http.Request) { got = "history of " + r.PathValue("id") })
	for path, want := range map[string]string{
		MemberPath("m-17", ResourceProfile): "m-17",
		MemberPath("a b", ResourceProfile):  "a b",
	} {
		got = ""
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, path, nil))
		assert.Equal(t, http.StatusOK, rec.Code, path)
		assert.Equal(t, want, got, path)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, MemberPath("m-1", ResourceHistory), nil))
	assert.Equal(t, "history of m-1", got)
	assert.Equal(t, "/v1/members/m-1/history", MemberPath("m-1", ResourceHistory))
}
