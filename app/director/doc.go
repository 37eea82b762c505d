// Package director is kong's geo-DNS: clients (the load generator's device
// sessions) ask it which region's gateway to use, as Netflix's clients asked
// UltraDNS directional records with a Route53 layer on top.
//
// The state has three layers. Each geo has a directional record, its home
// region, and a weight distribution over regions (100% home by default).
// An override forces a geo to one region (the Route53 layer). An evacuated
// fraction per region moves that part of its share to the regions that are
// not evacuated, split by their spare capacity: capacity minus the expected
// load the weights and overrides already send them (by capacity when none
// has spare). Evacuating a region in steps (0.25, 0.5, 1) moves its users
// gradually, and restoring it brings the original table back.
//
// Route is deterministic per key (a device session id): weighted rendezvous
// hashing keeps a session on its region until the distribution changes, and
// then moves it only away from a region whose share shrank. A broken-world
// switch, bounce, makes Route answer each session with another region than
// the one it gave it last, round robin over the regions taking traffic. Every change is
// appended to a change log with its time and the resulting effective table,
// for reports to draw the traffic shift; the log keeps the last MaxChanges
// (1000) changes and counts the ones it dropped.
//
// HTTP API (JSON; in a world, every /admin/ request needs the world's secret
// as "Authorization: Bearer <secret>", see Config.AdminSecret):
//
//	GET    /v1/route?geo=G&key=K  -> {"geo", "region", "gateway"}
//	GET    /admin/table           -> Table
//	PUT    /admin/weights         {"geo", "weights": {"<region>": w}} -> Change
//	PUT    /admin/override        {"geo", "region"} -> Change
//	DELETE /admin/override?geo=G  -> Change
//	POST   /admin/evacuate        {"region", "fraction"} -> Change
//	POST   /admin/restore         {"region"} or no body (every region) -> Change
//	PUT    /admin/bounce          {"bounce": true|false} -> Change
//	GET    /admin/changes[?since=seq] -> {"changes": [Change...], "dropped": n}
//	GET    /healthz               -> ok
//	GET    /metrics               -> Prometheus text
//
// A request body must be declared Content-Type: application/json and hold
// at most 1 MiB. Errors are {"error": "..."}: 400 for bad input (naming the
// culprit), 409 for an evacuation that would leave no region taking traffic,
// 413 for a larger body, 415 for a body of another type (a browser's form
// post in particular).
package director
