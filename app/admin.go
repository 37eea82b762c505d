package app

import (
	"crypto/subtle"
	"net/http"
	"path"
	"strings"
)

// AdminPrefix is where every server of the application keeps the endpoints
// that steer it (faults, modes, evacuations, overrides).
const AdminPrefix = "/admin/"

// GuardAdmin wraps a server's handler so that its admin endpoints answer
// only requests that carry the world's secret as "Authorization: Bearer
// <secret>"; the data path (/v1/..., /healthz, /metrics) stays open, as a
// region's users reach it. A browser sends no such header across origins
// without a CORS preflight, which these servers never grant, so a web page
// cannot steer a world either. An empty secret guards nothing (a server run
// by hand, outside a world).
func GuardAdmin(secret string, h http.Handler) http.Handler {
	if secret == "" {
		return h
	}
	guarded := RequireSecret(secret, h)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// Judged on the cleaned path, as the mux routes it.
		if p := path.Clean("/" + r.URL.Path); strings.HasPrefix(p+"/", AdminPrefix) {
			guarded.ServeHTTP(rw, r)
			return
		}
		h.ServeHTTP(rw, r)
	})
}

// SecretHeader carries a world's secret, as "Bearer <secret>".
const SecretHeader = "Authorization"

// RequireSecret wraps h so that every request must carry the world's
// secret in SecretHeader (401 otherwise); an empty secret lets none in.
func RequireSecret(secret string, h http.Handler) http.Handler {
	want := []byte("Bearer " + secret)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if secret == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get(SecretHeader)), want) != 1 {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="kong world"`)
			http.Error(rw, "this needs the world's secret (Authorization: Bearer <secret>): kong's commands and harness send it", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(rw, r)
	})
}
