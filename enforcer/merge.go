package enforcer

import (
	"github.com/quell-dev/quell/limits"
)

// merge combines a split share with the per-container caps: for each
// numeric limit the tighter wins (Max counts as unlimited), for the rest the
// cap wins when set. why is updated for the files the cap decided.
func merge(share limits.Resources, why map[string]string, caps limits.Resources, capWhy string) (limits.Resources, map[string]string) {
	r := share
	capFiles := map[string]bool{}
	tighter := func(a, b *int64, file string) *int64 {
		switch {
		case b == nil:
			return a
		case a == nil || *a == limits.Max || (*b != limits.Max && *b < *a):
			capFiles[file] = true
			return b
		}
		return a
	}
	r.MemoryMax = tighter(share.MemoryMax, caps.MemoryMax, "memory.max")
	r.MemoryHigh = tighter(share.MemoryHigh, caps.MemoryHigh, "memory.high")
	r.SwapMax = tighter(share.SwapMax, caps.SwapMax, "memory.swap.max")
	r.PidsMax = tighter(share.PidsMax, caps.PidsMax, "pids.max")
	if caps.CPUQuota != nil && (share.CPUQuota == nil || *share.CPUQuota == limits.Max ||
		(*caps.CPUQuota != limits.Max && *caps.CPUQuota < *share.CPUQuota)) {
		r.CPUQuota, r.CPUPeriod = caps.CPUQuota, caps.CPUPeriod
		capFiles["cpu.max"] = true
	}
	if caps.MemoryLow != nil {
		r.MemoryLow = caps.MemoryLow
		capFiles["memory.low"] = true
	}
	if caps.CPUWeight != nil {
		r.CPUWeight = caps.CPUWeight
		capFiles["cpu.weight"] = true
	}
	if caps.IOWeight != nil {
		r.IOWeight = caps.IOWeight
		capFiles["io.weight"] = true
	}
	if caps.CpusetCPUs != nil {
		r.CpusetCPUs = caps.CpusetCPUs
		capFiles["cpuset.cpus"] = true
	}
	if caps.CpusetMems != nil {
		r.CpusetMems = caps.CpusetMems
		capFiles["cpuset.mems"] = true
	}
	if len(caps.IOMax) > 0 {
		r.IOMax = mergeIO(share.IOMax, caps.IOMax)
		capFiles["io.max"] = true
	}
	out := map[string]string{}
	for k, v := range why {
		out[k] = v
	}
	for f := range capFiles {
		out[f] = capWhy
	}
	return r, out
}

func mergeIO(share, caps []limits.IOMax) []limits.IOMax {
	min := func(a, b uint64) uint64 {
		if a == 0 {
			return b
		}
		if b == 0 || a < b {
			return a
		}
		return b
	}
	out := append([]limits.IOMax(nil), share...)
	for _, c := range caps {
		found := false
		for i := range out {
			if out[i].Major == c.Major && out[i].Minor == c.Minor {
				out[i].RBPS, out[i].WBPS = min(out[i].RBPS, c.RBPS), min(out[i].WBPS, c.WBPS)
				out[i].RIOPS, out[i].WIOPS = min(out[i].RIOPS, c.RIOPS), min(out[i].WIOPS, c.WIOPS)
				found = true
			}
		}
		if !found {
			out = append(out, c)
		}
	}
	return out
}
