// Package desire owns the arithmetic of what quell wants on a cgroup: a
// policy limit set as limits.Resources (Resources) and a tenant's total
// divided among its containers in split mode (SplitCPU, SplitBytes,
// SplitEven, Stable). Which tenant, cgroup and penalty get what is decided
// by package enforcer; desire is pure: no I/O (device paths go through the
// DevNum it is handed), no clock, no state.
package desire
