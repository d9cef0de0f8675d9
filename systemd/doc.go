// Package systemd owns quell's side of the service manager: the quelld unit
// file (embedded, installed by `make install`), sd_notify readiness and
// watchdog pings, and changing resource limits of systemd-owned units
// (scopes, services, slices) through D-Bus, so that `systemctl daemon-reload`
// keeps them instead of reverting cgroupfs writes.
//
// It translates limits.Resources into unit properties and talks to PID 1; it
// never decides what to limit (the enforcer does) and never writes cgroupfs
// itself (package limits does). It imports nothing of quell's but limits.
package systemd
