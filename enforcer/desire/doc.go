// Package desire owns pure planning: the limits quell wants on each cgroup
// of a tenant (Tenant) — its per-container caps, its aggregate on its tenant
// slice or divided among its containers when they live elsewhere ("split
// mode": SplitCPU, SplitBytes, SplitEven, Stable) — and which layer (share,
// cap, throttle) decided each file (DecidedBy). It is pure: no I/O (device
// paths go through the DevNum it is handed), no clock, no state; the same
// inputs always give the same limits, which is what makes `quell plan`,
// dry-run and "writes nothing the second time" work.
package desire
