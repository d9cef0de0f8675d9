package desire

import (
	"fmt"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// DevNum resolves a block device path to its major:minor numbers.
type DevNum func(path string) (major, minor uint32, err error)

// Resources turns a policy limit set into cgroup writes. Network and disk
// limits are not cgroup files and are ignored here. An io device that
// cannot be resolved is an error naming it; nothing is returned then, so a
// half-resolved io.max is never written.
func Resources(l policies.Limits, dev DevNum) (limits.Resources, error) {
	var r limits.Resources
	if l.CPUs != nil {
		q := limits.CPUQuotaFor(*l.CPUs, limits.DefaultCPUPeriod)
		r.CPUQuota, r.CPUPeriod = &q, limits.DefaultCPUPeriod
	}
	r.CPUWeight = l.CPUWeight
	r.CpusetCPUs = l.Cpuset
	r.CpusetMems = l.CpusetMems
	r.MemoryMax = l.Memory
	r.MemoryHigh = l.MemoryHigh
	r.MemoryLow = l.MemoryLow
	r.SwapMax = l.Swap
	r.PidsMax = l.Pids
	r.IOWeight = l.IOWeight
	for _, io := range l.IO {
		if dev == nil {
			return limits.Resources{}, fmt.Errorf("io limit on %s: no device resolver", io.Device)
		}
		maj, min, err := dev(io.Device)
		if err != nil {
			return limits.Resources{}, fmt.Errorf("io limit on %s: %w", io.Device, err)
		}
		r.IOMax = append(r.IOMax, limits.IOMax{Major: maj, Minor: min,
			RBPS: io.ReadBPS, WBPS: io.WriteBPS, RIOPS: io.ReadIOPS, WIOPS: io.WriteIOPS})
	}
	return r, nil
}

func ptr[T any](v T) *T { return &v }
