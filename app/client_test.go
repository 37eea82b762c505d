package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

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
