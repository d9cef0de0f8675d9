// Package enforcer owns quelld's loop: discover → classify → desire →
// reconcile → observe → detect → act → record. Each step lives in its own
// file or sub-package; this package wires them together and holds the
// in-memory view that the API and the CLI read. It never talks to the kernel
// directly: the kernel side is in package limits (cgroupfs, tc, quotas) and
// package systemd (D-Bus).
package enforcer
