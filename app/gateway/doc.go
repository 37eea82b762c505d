// Package gateway is the Zuul-like edge of one kong region: one Gateway per
// region, in front of that region's stateless member service instances (one
// HTTP server per zone).
//
// # Routing (every request under /v1/)
//
//  0. A request body larger than 1 MiB (app.MaxBody, what a member accepts)
//     is refused at once with 413.
//  1. Maximum traffic level first. Above MaxRPS (token bucket, burst =
//     ceil(MaxRPS/10), at least 1) or MaxConcurrency requests in flight the
//     request is answered at once with 503, Retry-After: 1 and
//     X-Kong-Shed: 1, and no member is touched. 0 means unlimited.
//  2. The member's home region is Homes[X-Kong-Geo]; a missing or unknown
//     geo counts as this region's own member, and so does every geo while
//     ignore_geo is set (a broken world: see Dynamic.IgnoreGeo).
//  3. Home is this region -> served by a member instance of this region
//     (X-Kong-Route: local). Home is elsewhere and the region is in failover
//     mode -> served locally as well (X-Kong-Route: failover).
//  4. Otherwise the request is mis-routed:
//     - isthmus mode: proxied to PeerProxy[home] (the home gateway as reached
//     over the cross-region link) with X-Kong-Hops incremented and
//     X-Kong-Entry set to this region;
//     - redirect mode: 307 with Location = PeerPublic[home] + path + query.
//     A mis-routed request that already crossed a gateway (the count after
//     this gateway, X-Kong-Hops+1, is >= 2) is refused with 508 Loop
//     Detected: the regions' directional tables disagree and proxying again
//     would bounce it between regions.
//
// Local serving is zone-aware: a round robin over zones, then over the
// instances of the chosen zone, skipping instances that the active health
// check (GET {BaseURL}/healthz every HealthInterval; down after one failure,
// up again after one success) marks unhealthy. A connection failure
// (dial/refused/reset before any response) is retried once on another
// instance; an HTTP answer, 5xx included, is never retried. A read (GET,
// HEAD) with no answer's headers within the try timeout (member_try_ms,
// default half the member timeout) is abandoned and sent once to another
// instance, within the member timeout: a stalled instance costs a read one
// try, not the whole member timeout (Ribbon's read timeout with one retry on
// the next server). Writes are not retried on a timeout. A refused or
// timed-out dial also marks that instance down until its next successful
// health check (passive ejection). If no instance is healthy the gateway
// tries them all anyway ("panic mode") rather than failing the whole region
// on a health-check blip.
//
// # Response headers
//
// Member response headers (X-Kong-Region, -Zone, -Instance, -Version,
// -Cache) and body pass through unchanged. The gateway sets X-Kong-Entry to
// its own region on every /v1/ response it sends, so the client-visible value
// is the region whose gateway first received the request.
//
// X-Kong-Route is a chain, outermost gateway first. A request proxied over
// the isthmus carries two values, in two header lines:
//
//	X-Kong-Route: isthmus     <- the entry gateway (Header.Get returns this)
//	X-Kong-Route: local       <- the home gateway's own decision
//
// so a client can tell that it was proxied (Get == "isthmus") and, from
// Header.Values(X-Kong-Route)[1] and the member's X-Kong-Region, which region
// served it and how. A shed or a 508 refusal carries no route from the
// gateway that refused it.
//
// # Admin API (same listener)
//
// In a world, every /admin/ request needs the world's secret as
// "Authorization: Bearer <secret>" (Config.AdminSecret, app.GuardAdmin).
//
//	GET  /admin/config   current configuration (JSON, see ConfigView)
//	PUT  /admin/config   partial update: {"mode","failover","max_rps","max_concurrency","home_overrides","member_try_ms","ignore_geo"}
//	GET  /admin/members  member instances and their health
//	GET  /admin/stats    per-second series for the last 300 s (see StatsReport)
//	GET  /metrics        Prometheus text format
//	GET  /healthz        200 "ok"
//
// PUT /admin/config takes any subset of
//
//	{"mode": "isthmus"|"redirect", "failover": bool, "max_rps": int >= 0, "max_concurrency": int >= 0,
//	 "home_overrides": {"geo": "region"}, "member_try_ms": int >= 0 (0: no try timeout), "ignore_geo": bool}
//
// and answers 200 with the new ConfigView, or 400 with {"error": "..."} (an
// unknown field, a wrong type, a bad value, an empty object; a home override
// to a region that is neither this one nor one with a gateway address; a
// member_try_ms above the member timeout), 413 for a body above 64 KiB, 415
// for a body not declared Content-Type: application/json (a browser's form
// post); a rejected update changes nothing. A change applies from the next
// request.
//
// GET /admin/config:
//
//	{"region": "us-east-1", "mode": "isthmus", "failover": false, "max_rps": 100,
//	 "max_concurrency": 0, "burst": 10,
//	 "members": [{"zone": "a", "instance": "i1", "base_url": "http://127.0.0.1:9101"}],
//	 "peer_proxy": {"us-west-2": "http://127.0.0.1:19200"},
//	 "peer_public": {"us-west-2": "http://127.0.0.1:9200"},
//	 "homes": {"CA": "us-west-2", "NY": "us-east-1"},
//	 "timeouts": {"member": "2s", "isthmus": "3s", "health": "1s"}, "health_interval": "1s"}
//
// GET /admin/stats[?seconds=N] (N in 1..300, default 300), oldest point
// first, one per second, zero-filled; the last point is the current second:
//
//	{"region": "us-east-1", "now": 1700000123, "window_s": 300,
//	 "series": [{"t": 1699999824, "accepted": 0, "shed": 0, "local": 0, "proxied": 0,
//	             "redirected": 0, "failover": 0, "errors": 0, "retries": 0,
//	             "p50_ms": 0, "p99_ms": 0}, ...],
//	 "totals": {"accepted": ..., "shed": ..., "local": ..., "proxied": ..., "redirected": ...,
//	            "failover": ..., "errors": ..., "retries": ..., "in_flight": ...}}
//
// accepted = requests admitted below the maximum traffic level (whatever
// happened next); shed = 503s above it (not counted in errors); errors =
// accepted requests answered 5xx, by a member or by the gateway (502, 504,
// 508, or a 5xx relayed from a peer gateway, its shedding included);
// latency = accepted requests, measured in the gateway, bucketed by the
// second they completed, within 1 % (an HDR histogram per second).
// /metrics exposes the same counters as
// kong_gateway_{accepted,shed,local,proxied,redirected,failover,errors,member_retries}_total{region},
// the histogram kong_gateway_request_duration_seconds{region,route}, and the gauges
// kong_gateway_in_flight_requests, kong_gateway_member_up{zone,instance} and
// kong_gateway_failover_mode.
package gateway
