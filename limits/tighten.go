package limits

import "math/bits"

// Tighten returns r with o imposed on it: what a per-container cap does to
// a container's share of its tenant, what a penalty does to a container's
// plan, what a second throttle does to the first. Neither r nor o is
// modified, and the result shares no memory with them.
//
// For the limits that are ceilings, the tighter of the two wins: a field
// one of them leaves nil is taken from the other, and Max (any negative
// value, as for Writes) is the loosest value there is.
//   - memory.max, memory.high, memory.swap.max, pids.max: the lower.
//   - cpu.max: the lower CPU share, quota per period, each period 0 meaning
//     DefaultCPUPeriod, so 25000/50000 and 50000/100000 are equal. The
//     winner's quota and period are taken together; on a tie r's stay.
//     When neither sets CPUQuota, r's CPUPeriod stays.
//   - io.max: device by device and rate by rate the lower, a zero rate
//     meaning "max". r's devices keep their order; devices only o limits
//     follow in o's order. An empty o.IOMax lifts nothing (a non-nil empty
//     r.IOMax, which makes systemd lift every io limit, stays so).
//
// On a tie r's value stays (the same number either way).
//
// The other files have no "tighter": cpu.weight and io.weight are relative
// shares, not ceilings; cpuset.cpus and cpuset.mems place the cgroup
// rather than bound it; memory.low is a protection (more of it is not
// tighter). For these o's value wins whenever o sets it, which is what
// quell has always done: a per-container cap's weight, cpuset and
// memory.low replace the container's share of the tenant's, and a CPU
// throttle's cpu.weight 1 replaces the container's weight.
func (r Resources) Tighten(o Resources) Resources {
	t := Resources{
		CPUQuota:   clonePtr(r.CPUQuota),
		CPUPeriod:  r.CPUPeriod,
		MemoryMax:  lower(r.MemoryMax, o.MemoryMax),
		MemoryHigh: lower(r.MemoryHigh, o.MemoryHigh),
		SwapMax:    lower(r.SwapMax, o.SwapMax),
		PidsMax:    lower(r.PidsMax, o.PidsMax),
		CPUWeight:  clonePtr(orElse(o.CPUWeight, r.CPUWeight)),
		IOWeight:   clonePtr(orElse(o.IOWeight, r.IOWeight)),
		CpusetCPUs: clonePtr(orElse(o.CpusetCPUs, r.CpusetCPUs)),
		CpusetMems: clonePtr(orElse(o.CpusetMems, r.CpusetMems)),
		MemoryLow:  clonePtr(orElse(o.MemoryLow, r.MemoryLow)),
		IOMax:      tightenIO(r.IOMax, o.IOMax),
	}
	if cpuTighter(o, r) {
		t.CPUQuota, t.CPUPeriod = clonePtr(o.CPUQuota), o.CPUPeriod
	}
	return t
}

// lower is the tighter of two ceilings (nil = not set, negative = Max), a
// fresh pointer; a on a tie.
func lower(a, b *int64) *int64 {
	switch {
	case b == nil:
		return clonePtr(a)
	case a == nil:
		return clonePtr(b)
	case *b < 0:
		return clonePtr(a)
	case *a < 0 || *b < *a:
		return clonePtr(b)
	}
	return clonePtr(a)
}

// cpuTighter reports whether o's cpu.max replaces r's: r sets none, or o's
// is a strictly lower CPU share (a negative quota being unlimited).
func cpuTighter(o, r Resources) bool {
	switch {
	case o.CPUQuota == nil:
		return false
	case r.CPUQuota == nil:
		return true
	case *o.CPUQuota < 0:
		return false
	case *r.CPUQuota < 0:
		return true
	}
	// qo/po < qr/pr without division: qo·pr < qr·po, in 128 bits.
	hi1, lo1 := bits.Mul64(uint64(*o.CPUQuota), periodOr(r.CPUPeriod))
	hi2, lo2 := bits.Mul64(uint64(*r.CPUQuota), periodOr(o.CPUPeriod))
	return hi1 < hi2 || hi1 == hi2 && lo1 < lo2
}

func periodOr(p uint64) uint64 {
	if p == 0 {
		return DefaultCPUPeriod
	}
	return p
}

// tightenIO tightens r by o device by device (see Tighten).
func tightenIO(r, o []IOMax) []IOMax {
	out := append(r[:0:0], r...) // a copy, nil and empty kept apart
	for _, d := range o {
		found := false
		for i := range out {
			if out[i].Major == d.Major && out[i].Minor == d.Minor {
				b := &out[i]
				b.RBPS, b.WBPS = lowerRate(b.RBPS, d.RBPS), lowerRate(b.WBPS, d.WBPS)
				b.RIOPS, b.WIOPS = lowerRate(b.RIOPS, d.RIOPS), lowerRate(b.WIOPS, d.WIOPS)
				found = true
			}
		}
		if !found {
			out = append(out, d)
		}
	}
	return out
}

// lowerRate is the tighter of two io.max rates, 0 meaning unlimited.
func lowerRate(a, b uint64) uint64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func orElse[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
