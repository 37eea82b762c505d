package director

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChangeLogKeepsTheLastChanges(t *testing.T) {
	d := mustNew(t, twoRegions())
	const made = MaxChanges + 150 // after the start entry
	for i := range made {
		mustChange(t)(d.Evacuate(east, float64(i%2)/2))
	}
	log := d.Changes()
	require.Len(t, log, MaxChanges)
	assert.Equal(t, made+1-MaxChanges, d.Dropped())
	assert.Equal(t, d.Dropped(), log[0].Seq, "the first change kept follows the dropped ones")
	assert.Equal(t, made, log[len(log)-1].Seq, "the last change is kept")
	for i := 1; i < len(log); i++ {
		require.Equal(t, log[i-1].Seq+1, log[i].Seq, "a gap in the log")
	}
	// A change after the bound is reached still gets the next seq.
	c := mustChange(t)(d.Restore(""))
	assert.Equal(t, made+1, c.Seq)
	assert.Len(t, d.Changes(), MaxChanges)

	h := d.Handler(nil)
	var cr ChangesResponse
	require.NoError(t, json.Unmarshal([]byte(call(t, h, "GET", "/admin/changes", "").body), &cr))
	assert.Len(t, cr.Changes, MaxChanges)
	assert.Equal(t, made+2-MaxChanges, cr.Dropped)
	require.NoError(t, json.Unmarshal([]byte(call(t, h, "GET", fmt.Sprintf("/admin/changes?since=%d", made-1), "").body), &cr))
	require.Len(t, cr.Changes, 2)
	assert.Equal(t, made, cr.Changes[0].Seq)
}

func TestHTTPRefusesHostileInput(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)
	huge := `{"geo": "` + strings.Repeat("g", maxBody) + `"}`
	const form, text = "application/x-www-form-urlencoded", "text/plain"
	cases := []struct {
		name, method, target, ctype, body string
		status                            int
		reason                            string
	}{
		{"evacuate: form post", "POST", "/admin/evacuate", form, "region=us-east-1&fraction=1", 415, "application/json"},
		{"evacuate: text/plain JSON", "POST", "/admin/evacuate", text, `{"region": "us-east-1", "fraction": 1}`, 415, "application/json"},
		{"evacuate: JSON without a type", "POST", "/admin/evacuate", "", `{"region": "us-east-1", "fraction": 1}`, 415, "no Content-Type"},
		{"restore: empty form post", "POST", "/admin/restore", form, "", 415, "application/json"},
		{"weights: multipart", "PUT", "/admin/weights", "multipart/form-data; boundary=b", "--b--", 415, "application/json"},
		{"override: form post", "PUT", "/admin/override", form, "geo=us-east-1&region=us-west-2", 415, "application/json"},
		{"evacuate: huge body", "POST", "/admin/evacuate", "application/json", huge, 413, "more than 1048576 bytes"},
		{"weights: huge body", "PUT", "/admin/weights", "application/json", `{"geo": "us-east-1", "weights": {` +
			strings.Repeat(`"us-east-1": 1, `, maxBody/15) + `"us-west-2": 1}}`, 413, "more than"},
		{"evacuate: bad JSON", "POST", "/admin/evacuate", "application/json", `{"region": `, 400, "bad body"},
		{"evacuate: unknown field", "POST", "/admin/evacuate", "application/json", `{"region": "us-east-1", "share": 1}`, 400, `unknown field "share"`},
		{"evacuate: trailing data", "POST", "/admin/evacuate", "application/json", `{"region": "us-east-1", "fraction": 1} x`, 400, "unexpected data"},
		{"evacuate: NaN-ish fraction", "POST", "/admin/evacuate", "application/json", `{"region": "us-east-1", "fraction": 1e999}`, 400, "bad body"},
		{"weights: negative", "PUT", "/admin/weights", "application/json", `{"geo": "us-east-1", "weights": {"us-east-1": -1}}`, 400, ""},
		{"override: unknown region", "PUT", "/admin/override", "application/json", `{"geo": "us-east-1", "region": "mars"}`, 400, "mars"},
		{"bounce: form post", "PUT", "/admin/bounce", form, "bounce=true", 415, "application/json"},
		{"bounce: no switch", "PUT", "/admin/bounce", "application/json", `{}`, 400, "missing bounce"},
		{"bounce: unknown field", "PUT", "/admin/bounce", "application/json", `{"bounce": true, "every": 2}`, 400, `unknown field "every"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, h, c.method, c.target, c.body, "Content-Type", c.ctype)
			requireError(t, r, c.status, c.reason)
		})
	}
	assert.Len(t, d.Changes(), 1, "a refused request changed the table")

	// Without a body and without a type, restore is fine (restores every region).
	r := call(t, h, "POST", "/admin/restore", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
}

// FuzzDirectorAdmin: an admin request never panics; it is answered 200
// with the change made, or a 4xx saying why, and the effective table stays
// a distribution for every geo.
func FuzzDirectorAdmin(f *testing.F) {
	f.Add(uint8(0), "application/json", `{"geo": "us-east-1", "weights": {"us-east-1": 1, "us-west-2": 3}}`)
	f.Add(uint8(1), "application/json", `{"geo": "us-west-2", "region": "us-east-1"}`)
	f.Add(uint8(2), "application/json", `{"region": "us-east-1", "fraction": 0.5}`)
	f.Add(uint8(2), "application/json", `{"region": "us-east-1", "fraction": 1}`)
	f.Add(uint8(3), "", ``)
	f.Add(uint8(3), "application/json", `{"region": "us-west-2"}`)
	f.Add(uint8(0), "application/json", `{"geo": "us-east-1", "weights": {"us-east-1": 1e308, "us-west-2": 1e308}}`)
	f.Add(uint8(2), "application/x-www-form-urlencoded", `region=us-east-1&fraction=1`)
	f.Add(uint8(4), "application/json", `{"bounce": true}`)
	f.Fuzz(func(t *testing.T, which uint8, ctype, body string) {
		routes := []struct{ method, path string }{
			{"PUT", "/admin/weights"}, {"PUT", "/admin/override"}, {"POST", "/admin/evacuate"}, {"POST", "/admin/restore"},
			{"PUT", "/admin/bounce"},
		}
		route := routes[int(which)%len(routes)]
		d := mustNew(t, twoRegions())
		h := d.Handler(nil)
		// Evacuate half of us-west-2 first: every change then meets a table
		// with all three layers in use.
		mustChange(t)(d.Evacuate(west, 0.5))
		r := call(t, h, route.method, route.path, body, "Content-Type", ctype)
		switch r.status {
		case http.StatusOK:
			var c Change
			require.NoError(t, json.Unmarshal([]byte(r.body), &c), r.body)
			require.Len(t, d.Changes(), 3)
			require.Equal(t, 2, c.Seq)
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			var e ErrorResponse
			require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
			require.NotEmpty(t, e.Error)
			require.Len(t, d.Changes(), 2, "a refused request changed the table")
		default:
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		for geo, dist := range d.Table().Effective {
			sum := 0.0
			for region, share := range dist {
				require.False(t, math.IsNaN(share) || share < 0 || share > 1+1e-9, "%s -> %s: %v", geo, region, share)
				sum += share
			}
			require.InDelta(t, 1, sum, 1e-9, "geo %s: %v", geo, dist)
		}
	})
}
