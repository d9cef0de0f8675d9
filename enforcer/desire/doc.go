// Package desire owns pure planning: the limits quell wants on each cgroup,
// a tenant's per-container caps, its aggregate (on its tenant slice, or
// divided among its containers when they live elsewhere: "split mode"), and
// how a layer (a cap, a throttle) is merged in (Tenant, DecidedBy). It is pure: no I/O, no clock; the same inputs always give the
// same limits, which is what makes `quell plan`, dry-run and "writes nothing
// the second time" work.
package desire
