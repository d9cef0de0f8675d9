// Package systemd owns quell's side of the service manager: quelld's unit
// and sysusers files (embedded), sd_notify readiness and watchdog pings, a
// journald slog handler, and resource properties of systemd-owned units
// (scopes, services, the slices quell makes) set over D-Bus by Units, so that
// `systemctl daemon-reload` keeps them instead of reverting cgroupfs writes.
//
// It never decides what to limit (the enforcer does) and never writes
// cgroupfs (package limits does); of quell's packages it imports only limits
// and internal/cpuset.
package systemd
