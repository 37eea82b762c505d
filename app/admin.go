package app

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
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

// Client calls one server of the application as kong does: every request
// carries the world's secret (SecretHeader), a body goes as JSON, and a
// 2xx answer is decoded; any other status is an error with the answer's
// text. The typed admin clients of the member service, the gateway and
// the director are built on it.
type Client struct {
	base, secret string
}

// clientHTTP bounds every call of a Client.
var clientHTTP = &http.Client{Timeout: 10 * time.Second}

// NewClient returns a client of the server at base (scheme://host:port)
// that sends secret (none when empty).
func NewClient(base, secret string) Client {
	return Client{base: strings.TrimRight(base, "/"), secret: secret}
}

// Do sends method path (with its query) and body (nil: none) as JSON, and
// decodes a 2xx answer into out (nil: discarded).
func (c Client) Do(ctx context.Context, method, path string, body, out any) error {
	url := c.base + path
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.secret != "" {
		req.Header.Set(SecretHeader, "Bearer "+c.secret)
	}
	resp, err := clientHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		text := strings.TrimSpace(string(data))
		if text == "" {
			// Every server of the application says why; an empty answer
			// comes from something else at that address: say what it is.
			text = fmt.Sprintf("an empty answer (Content-Type %q, Server %q): not one of the application's servers",
				resp.Header.Get("Content-Type"), resp.Header.Get("Server"))
		}
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, text)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode the answer: %w", method, url, err)
		}
	}
	return nil
}

// Call is Do for an answer of type T.
func Call[T any](ctx context.Context, c Client, method, path string, body any) (T, error) {
	var out T
	err := c.Do(ctx, method, path, body, &out)
	return out, err
}
