package local

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// GuardToxiproxy wraps the embedded toxiproxy API: toxiproxy's own CLI and
// clients keep working unchanged (they send no credentials), but no proxy
// may listen outside allowed, the world's own loopback block, so the API
// cannot be used to open a port to the network. Bodies are limited.
func GuardToxiproxy(allowed netip.Prefix, h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("User-Agent"), "Mozilla/") {
			http.Error(rw, "the link API does not serve browsers", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodPost {
			h.ServeHTTP(rw, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 1<<20))
		if err != nil {
			http.Error(rw, "request body over 1 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		if path := r.URL.Path; path == "/proxies" || path == "/populate" || strings.HasPrefix(path, "/proxies/") && strings.Count(path, "/") == 2 {
			if err := checkListens(allowed, body); err != nil {
				http.Error(rw, err.Error(), http.StatusForbidden)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(rw, r)
	})
}

// checkListens finds the listen addresses in a proxy (an object) or a list
// of proxies (an array) and accepts only those inside allowed. A body that
// is not JSON is left to toxiproxy, which refuses it.
func checkListens(allowed netip.Prefix, body []byte) error {
	var proxies []map[string]json.RawMessage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &proxies) != nil {
			return nil
		}
	} else {
		var one map[string]json.RawMessage
		if json.Unmarshal(trimmed, &one) != nil {
			return nil
		}
		proxies = append(proxies, one)
	}
	for _, p := range proxies {
		for key, raw := range p {
			// toxiproxy decodes field names as encoding/json does: in any case.
			if !strings.EqualFold(key, "listen") {
				continue
			}
			var listen string
			if err := json.Unmarshal(raw, &listen); err != nil {
				return fmt.Errorf("listen %s: not a string", raw)
			}
			if err := allowedListen(allowed, listen); err != nil {
				return err
			}
		}
	}
	return nil
}

func allowedListen(allowed netip.Prefix, listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("listen %q: %v", listen, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !allowed.Contains(ip.Unmap()) {
		return fmt.Errorf("listen %q: a link proxy listens only inside this world's addresses %s (an IP address, not a name and not every interface)", listen, allowed)
	}
	return nil
}
