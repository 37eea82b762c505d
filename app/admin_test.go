package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGuardAdmin(t *testing.T) {
	const secret = "s3cret"
	reached := 0
	h := GuardAdmin(secret, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { reached++ }))
	for _, r := range []struct {
		name, method, path, ctype, auth string
		want                            int
	}{
		{"admin put without secret", "PUT", "/admin/faults", "application/json", "", 401},
		{"admin get without secret", "GET", "/admin/config", "", "", 401},
		{"browser form post", "POST", "/admin/evacuate", "application/x-www-form-urlencoded", "", 401},
		{"wrong secret", "POST", "/admin/restore", "application/json", "Bearer nope", 401},
		{"secret without Bearer", "POST", "/admin/restore", "application/json", secret, 401},
		{"bare admin", "POST", "/admin", "application/json", "", 401},
		{"dot segments", "POST", "/v1/../admin/evacuate", "application/json", "", 401},
		{"double slash", "POST", "//admin/evacuate", "application/json", "", 401},
		{"admin with secret", "PUT", "/admin/faults", "application/json", "Bearer " + secret, 200},
		{"data path", "GET", "/v1/members/1", "", "", 200},
		{"health", "GET", "/healthz", "", "", 200},
	} {
		before := reached
		req := httptest.NewRequest(r.method, r.path, strings.NewReader("{}"))
		if r.ctype != "" {
			req.Header.Set("Content-Type", r.ctype)
		}
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, r.want, rec.Code, r.name)
		require.Equal(t, r.want == 200, reached == before+1, r.name)
	}
	// Outside a world (no secret) nothing is guarded.
	open := GuardAdmin("", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {}))
	rec := httptest.NewRecorder()
	open.ServeHTTP(rec, httptest.NewRequest("PUT", "/admin/faults", nil))
	require.Equal(t, 200, rec.Code)
}

func TestClientSendsTheSecretAndJSON(t *testing.T) {
	var got struct{ auth, ctype, body, path string }
	srv := httptest.NewServer(GuardAdmin("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.auth, got.ctype, got.body, got.path = r.Header.Get(SecretHeader), r.Header.Get("Content-Type"), string(b), r.URL.RequestURI()
		_, _ = io.WriteString(w, `{"ok":true}`)
	})))
	defer srv.Close()
	ctx := context.Background()

	var out struct{ OK bool }
	require.NoError(t, NewClient(srv.URL+"/", "s3cret").Do(ctx, http.MethodPut, "/admin/x?a=1", map[string]int{"n": 1}, &out))
	require.True(t, out.OK)
	require.Equal(t, "Bearer s3cret", got.auth)
	require.Equal(t, "application/json", got.ctype)
	require.Equal(t, `{"n":1}`, got.body)
	require.Equal(t, "/admin/x?a=1", got.path)

	err := NewClient(srv.URL, "wrong").Do(ctx, http.MethodGet, "/admin/x", nil, nil)
	require.ErrorContains(t, err, "GET "+srv.URL+"/admin/x: 401 Unauthorized: this needs the world's secret")
}

// An answer without a body is not one of the application's servers: the
// error says what did answer.
func TestClientNamesAnEmptyAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "elsewhere/1.0")
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	err := NewClient(srv.URL, "").Do(context.Background(), http.MethodGet, "/admin/stats", nil, nil)
	require.ErrorContains(t, err, `404 Not Found: an empty answer (Content-Type "", Server "elsewhere/1.0"): not one of the application's servers`)
}
