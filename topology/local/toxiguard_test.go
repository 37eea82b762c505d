package local

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestToxiproxyGuardKeepsListenersInTheWorld(t *testing.T) {
	allowed := netip.MustParsePrefix("127.116.0.0/16")
	reached := 0
	h := GuardToxiproxy(allowed, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		reached++
		rw.WriteHeader(http.StatusCreated)
	}))
	for _, r := range []struct {
		name, method, path, ua, body string
		want                         int
	}{
		{"create inside", "POST", "/proxies", "", `{"name":"x","listen":"127.116.3.1:7000","upstream":"127.116.2.1:7000"}`, 201},
		{"create on every interface", "POST", "/proxies", "", `{"name":"x","listen":"0.0.0.0:7000","upstream":"127.0.0.1:22"}`, 403},
		{"create on an empty host", "POST", "/proxies", "", `{"name":"x","listen":":7000","upstream":"127.0.0.1:22"}`, 403},
		{"create on IPv6 any", "POST", "/proxies", "", `{"name":"x","listen":"[::]:7000","upstream":"127.0.0.1:22"}`, 403},
		{"create on a name", "POST", "/proxies", "", `{"name":"x","listen":"localhost:7000","upstream":"127.0.0.1:22"}`, 403},
		{"create in another world", "POST", "/proxies", "", `{"name":"x","listen":"127.117.3.1:7000","upstream":"127.0.0.1:22"}`, 403},
		{"listen in capitals", "POST", "/proxies", "", `{"name":"x","LISTEN":"0.0.0.0:7000","upstream":"127.0.0.1:22"}`, 403},
		{"listen not a string", "POST", "/proxies", "", `{"name":"x","listen":7000}`, 403},
		{"populate with one bad", "POST", "/populate", "", `[{"name":"a","listen":"127.116.3.1:1"},{"name":"b","listen":"10.0.0.1:1"}]`, 403},
		{"populate inside", "POST", "/populate", "", `[{"name":"a","listen":"127.116.3.1:1"}]`, 201},
		{"update to outside", "POST", "/proxies/a", "", `{"listen":"0.0.0.0:9"}`, 403},
		{"update enabled only", "POST", "/proxies/a", "", `{"enabled":false}`, 201},
		{"toxic", "POST", "/proxies/a/toxics", "", `{"type":"latency","attributes":{"latency":100}}`, 201},
		{"reset", "POST", "/reset", "", ``, 201},
		{"huge body", "POST", "/proxies", "", strings.Repeat(" ", 2<<20), 413},
		{"browser", "POST", "/reset", "Mozilla/5.0", ``, 403},
		{"read", "GET", "/proxies", "", ``, 201},
	} {
		before := reached
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		if r.ua != "" {
			req.Header.Set("User-Agent", r.ua)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, r.want, rec.Code, "%s: %s", r.name, rec.Body.String())
		require.Equal(t, r.want == 201, reached == before+1, "%s: reached toxiproxy", r.name)
	}
}

func FuzzToxiproxyGuard(f *testing.F) {
	for _, s := range []string{`{"listen":"127.116.0.1:1"}`, `[{"listen":"0.0.0.0:1"}]`, `{"listen":7}`, `[`, `null`, `[null]`} {
		f.Add(s)
	}
	allowed := netip.MustParsePrefix("127.116.0.0/16")
	f.Fuzz(func(t *testing.T, body string) {
		var seen []byte
		h := GuardToxiproxy(allowed, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			seen = make([]byte, r.ContentLength)
			_, _ = r.Body.Read(seen)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/proxies", strings.NewReader(body)))
		if seen == nil {
			return
		}
		// Decode the body as toxiproxy does (into a struct, field names in
		// any case): whatever listen it finds must lie inside the world.
		type proxy struct{ Listen string }
		var listens []string
		var one proxy
		var many []proxy
		if json.Unmarshal(seen, &one) == nil {
			listens = append(listens, one.Listen)
		} else if json.Unmarshal(seen, &many) == nil {
			for _, p := range many {
				listens = append(listens, p.Listen)
			}
		}
		for _, l := range listens {
			if l != "" && allowedListen(allowed, l) != nil {
				t.Fatalf("a proxy listening on %q reached toxiproxy: %q", l, body)
			}
		}
	})
}
