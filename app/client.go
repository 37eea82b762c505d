package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

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
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(data)))
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
