// Package api owns quelld's local control API: HTTP+JSON over a Unix socket
// (default /run/quell/quelld.sock), the server that serves it from a
// [Source], the authorisation of callers by their peer credentials, and the
// [Client] the quell CLI uses.
//
// Endpoints (all answer JSON; errors are {"error": "..."}):
//
//	GET  /v1/view                          the current view.View
//	GET  /v1/events?since=N&limit=M&wait=D events with Seq > N, oldest first; wait long-polls up to D
//	GET  /v1/explain/{id-or-cgroup}        a view.Explanation (404 when unknown)
//	GET  /v1/plan                          []view.PlanEntry; nothing is written
//	GET  /v1/version                       {"version": "..."}
//	POST /v1/reload                        re-read the policy (root only)
//	POST /v1/release/{id}                  lift a container's penalty (root only; 404 when none)
//
// Who may do what is decided from the connecting process's credentials
// (SO_PEERCRED): uid 0 may do everything, members of group quell may read,
// everyone else is refused with 403 and told how to get access.
//
// The package does no enforcement and reads no cgroup: everything it serves
// comes from the Source the daemon hands it. Its types come from package view;
// it never imports package enforcer.
package api
