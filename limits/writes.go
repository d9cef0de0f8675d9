package limits

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// DefaultCPUPeriod is the cpu.max period, in µs, used when
// Resources.CPUPeriod is 0. It is the kernel's own default.
const DefaultCPUPeriod uint64 = 100000

// MinCPUQuota is the smallest cpu.max quota, in µs, the kernel accepts
// (1 ms); smaller values are refused with EINVAL.
const MinCPUQuota int64 = 1000

// CPUQuotaFor converts a number of CPUs into a cpu.max quota in µs for the
// given period (0 means DefaultCPUPeriod). The result is rounded to the
// nearest µs and never below MinCPUQuota, so a tiny or non-positive cpus
// still yields a quota the kernel accepts (1 ms per period). NaN or
// infinite cpus yield MinCPUQuota and Max respectively; validating the
// number is the caller's job.
func CPUQuotaFor(cpus float64, period uint64) int64 {
	if period == 0 {
		period = DefaultCPUPeriod
	}
	q := cpus * float64(period)
	switch {
	case q != q: // NaN
		return MinCPUQuota
	case q >= 1<<62:
		return Max
	case q < float64(MinCPUQuota):
		return MinCPUQuota
	}
	return int64(q + 0.5)
}

// Writes turns r into the cgroupfs writes that make a cgroup match it, in
// the order they must be written. Nil fields produce no write. Values are
// spelled the way the kernel prints them back, so a read-back compares as
// text in most cases (see Diff for the exceptions).
//
// Order and why:
//  1. cpuset.cpus, cpuset.mems: placement first, so the quota below is
//     enforced on the CPUs the cgroup will actually run on.
//  2. cpu.weight, cpu.max.
//  3. io.weight, then io.max, one write per device (the kernel parses one
//     device per write(2)), sorted by MAJ:MIN.
//  4. memory.low, memory.high, memory.max, memory.swap.max. cgroup v2 does
//     not cross-check these files (memory.high above memory.max is accepted),
//     so any order is legal; this one is the gentle one when lowering:
//     memory.high reclaims synchronously without invoking the OOM killer,
//     so by the time memory.max is lowered usage is already near the target
//     and an OOM kill is less likely. memory.swap.max comes last so that the
//     reclaim caused by lowering memory.max may still swap out.
//  5. pids.max (lowering below pids.current only blocks new forks).
//
// cpu.max is written only when CPUQuota is set; CPUPeriod alone writes
// nothing. Max (or any negative value) in an int64 field is written as
// "max". A zero rate in an IOMax is written as "max"; an IOMax with all
// four rates zero therefore removes the device's limit.
func (r Resources) Writes() []Write {
	var ws []Write
	if r.CpusetCPUs != nil {
		ws = append(ws, Write{"cpuset.cpus", *r.CpusetCPUs})
	}
	if r.CpusetMems != nil {
		ws = append(ws, Write{"cpuset.mems", *r.CpusetMems})
	}
	if r.CPUWeight != nil {
		ws = append(ws, Write{"cpu.weight", strconv.FormatUint(*r.CPUWeight, 10)})
	}
	if r.CPUQuota != nil {
		period := r.CPUPeriod
		if period == 0 {
			period = DefaultCPUPeriod
		}
		ws = append(ws, Write{"cpu.max", maxOrInt(*r.CPUQuota) + " " + strconv.FormatUint(period, 10)})
	}
	if r.IOWeight != nil {
		ws = append(ws, Write{"io.weight", "default " + strconv.FormatUint(*r.IOWeight, 10)})
	}
	if len(r.IOMax) > 0 {
		devs := slices.Clone(r.IOMax)
		slices.SortStableFunc(devs, func(a, b IOMax) int {
			if c := cmp.Compare(a.Major, b.Major); c != 0 {
				return c
			}
			return cmp.Compare(a.Minor, b.Minor)
		})
		for _, d := range devs {
			ws = append(ws, Write{"io.max", d.String()})
		}
	}
	for _, m := range []struct {
		file string
		v    *int64
	}{
		{"memory.low", r.MemoryLow},
		{"memory.high", r.MemoryHigh},
		{"memory.max", r.MemoryMax},
		{"memory.swap.max", r.SwapMax},
		{"pids.max", r.PidsMax},
	} {
		if m.v != nil {
			ws = append(ws, Write{m.file, maxOrInt(*m.v)})
		}
	}
	return ws
}

// String formats d as one io.max line the way the kernel prints it:
// "MAJ:MIN rbps=N wbps=N riops=N wiops=N", a zero rate spelled "max".
func (d IOMax) String() string {
	return fmt.Sprintf("%d:%d rbps=%s wbps=%s riops=%s wiops=%s",
		d.Major, d.Minor, maxOrUint(d.RBPS), maxOrUint(d.WBPS), maxOrUint(d.RIOPS), maxOrUint(d.WIOPS))
}

func maxOrInt(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

func maxOrUint(v uint64) string {
	if v == 0 {
		return "max"
	}
	return strconv.FormatUint(v, 10)
}
