// Package app is the reference active-active application that lives in a
// kong world: a stateless member service per zone, an EVCache-style cache
// client, cross-region cache invalidation over SQS, a Zuul-like gateway per
// region, and a director that plays geo-DNS. It knows nothing of the harness:
// everything the harness needs to judge it travels in the headers below.
package app

import "net/url"

// The member API, as the member service serves it and as the gateway, the
// harness and the benchmarks call it: a member's profile (GET, PUT
// ProfileWrite) and viewing history (GET, POST HistoryWrite), and every
// server's health check.
const (
	// PathHealth answers 200 "ok" on the member service, the gateway and
	// the director.
	PathHealth = "/healthz"
	// ResourceProfile and ResourceHistory are a member's two resources.
	ResourceProfile = "profile"
	ResourceHistory = "history"
)

// membersPath is the prefix of every member resource.
const membersPath = "/v1/members/"

// MemberPath is the path of resource (ResourceProfile or ResourceHistory)
// of member id.
func MemberPath(id, resource string) string {
	return membersPath + url.PathEscape(id) + "/" + resource
}

// MemberRoute is the pattern (net/http.ServeMux) the member service serves
// method on resource with; the member id is its {id} wildcard.
func MemberRoute(method, resource string) string {
	return method + " " + membersPath + "{id}/" + resource
}

// ProfileWrite is the body of a profile's PUT.
type ProfileWrite struct {
	Name string `json:"name"`
	Plan string `json:"plan"`
}

// HistoryWrite is the body of a viewing's POST to a history.
type HistoryWrite struct {
	Title string `json:"title"`
}

// Request headers a client sends.
const (
	// HeaderGeo is the client's geo; its directional record gives the
	// member's home region.
	HeaderGeo = "X-Kong-Geo"
	// HeaderSession is the device session id.
	HeaderSession = "X-Kong-Session"
)

// Response headers that say who served a request and how it got there.
const (
	HeaderRegion   = "X-Kong-Region"   // region of the member instance that served it
	HeaderZone     = "X-Kong-Zone"     // its zone
	HeaderInstance = "X-Kong-Instance" // its instance id
	HeaderVersion  = "X-Kong-Version"  // write timestamp (µs) of the data returned or written
	HeaderCache    = "X-Kong-Cache"    // "hit" or "miss"
	// HeaderRoute says how the gateway routed it: RouteLocal, RouteIsthmus,
	// RouteRedirect or RouteFailover.
	HeaderRoute = "X-Kong-Route"
	// HeaderEntry is the region whose gateway first received the request.
	HeaderEntry = "X-Kong-Entry"
	// HeaderShed is "1" on a request the gateway refused above its maximum traffic level.
	HeaderShed = "X-Kong-Shed"
	// HeaderHops counts gateways a request crossed (loop guard for isthmus).
	HeaderHops = "X-Kong-Hops"
)

// How a gateway handled a request.
const (
	RouteLocal    = "local"    // the member's home is this region
	RouteIsthmus  = "isthmus"  // proxied to the home region's gateway over a cross-region link
	RouteRedirect = "redirect" // answered with a redirect to the home region's gateway
	RouteFailover = "failover" // served here although home is elsewhere: the region is in failover mode
)

// Gateway modes for mis-routed requests.
const (
	ModeIsthmus  = "isthmus"
	ModeRedirect = "redirect"
)
