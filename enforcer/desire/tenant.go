package desire

// tenant.go plans one tenant: its slice, the split of its aggregate among
// its members, and the per-container caps merged in (pure: plain data in,
// plans out).

import (
	"fmt"
	"strings"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// SliceFor is the tenant slice quelld keeps for tenant: containers started
// with it as their cgroup parent are limited by the kernel as one group.
func SliceFor(tenant string) string { return "quell.slice/quell-" + tenant + ".slice" }

// Container is one member of a tenant as planning needs it.
type Container struct {
	Cgroup    string
	ID        string
	Usage     Usage
	LastQuota float64   // the CPUs the last split gave it (0 for none)
	Throttle  *Throttle // its penalty in force, nil for none
}

// Usage is what a member used over the last interval.
type Usage struct {
	CPUs      float64
	Memory    int64 // bytes
	Swap      int64 // bytes
	Pids      int64
	Throttled bool // the kernel throttled its CPU
}

// Plan is the desired state of one cgroup, with the reason for each file.
type Plan struct {
	Cgroup string
	ID     string // container ID; "" for a tenant slice
	Tenant string
	Mode   string // slice | split | caps
	Res    limits.Resources
	Why    map[string]string // file → why
	Err    error             // the desired state could not be computed
	Quota  float64           // split mode: the CPUs this member gets, remembered for the next split
}

// HasAggregate reports whether l sets any tenant-wide limit (then the
// tenant has a slice).
func HasAggregate(l policies.Limits) bool {
	return l.CPUs != nil || l.CPUWeight != nil || l.Cpuset != nil || l.CpusetMems != nil ||
		l.Memory != nil || l.MemoryHigh != nil || l.MemoryLow != nil || l.Swap != nil ||
		l.Pids != nil || len(l.IO) > 0 || l.IOWeight != nil
}

// Tenant plans tenant ten and its containers, ms sorted by cgroup (those
// under its slice count as in it): the slice's aggregate, each member's
// share when the aggregate is split, and the per-container caps merged in.
// sliceQuota is the CPUs the slice got at the last split (0 for none). It
// returns no plan for a container when the tenant sets no limits at all.
// A limit that cannot be expressed is the plan's Err.
// Each container's throttle (Container.Throttle) is laid over its plan
// last, so a penalty tightens whatever the policy gave it.
func Tenant(ten *policies.Tenant, ms []Container, sliceQuota float64, dev DevNum) []Plan {
	out := plan(ten, ms, sliceQuota, dev)
	byID := make(map[string]*Throttle, len(ms))
	for _, c := range ms {
		if c.Throttle != nil {
			byID[c.ID] = c.Throttle
		}
	}
	for i := range out {
		if th := byID[out[i].ID]; th != nil && out[i].ID != "" {
			out[i] = overlay(out[i], th)
		}
	}
	return out
}

// plan is Tenant before the throttles.
func plan(ten *policies.Tenant, ms []Container, sliceQuota float64, dev DevNum) []Plan {
	slice := SliceFor(ten.Name)
	var inside, outside []Container
	for _, t := range ms {
		if strings.HasPrefix(t.Cgroup, slice+"/") {
			inside = append(inside, t)
		} else {
			outside = append(outside, t)
		}
	}
	caps, capErr := Resources(ten.Container, dev)
	var out []Plan
	if !HasAggregate(ten.Limits) {
		for _, t := range ms {
			out = append(out, capsPlan(ten, t, caps, capErr, "caps"))
		}
		return out
	}
	agg, aggErr := Resources(ten.Limits, dev)
	// Members of the split: the slice (as one, when it holds containers)
	// and every container outside it.
	type member struct {
		cgroup string
		c      *Container // nil for the slice
		u      Usage
		quota  float64
	}
	var members []member
	if len(inside) > 0 {
		var u Usage
		for _, t := range inside {
			u.CPUs += t.Usage.CPUs
			u.Memory += t.Usage.Memory
			u.Swap += t.Usage.Swap
			u.Pids += t.Usage.Pids
		}
		members = append(members, member{cgroup: slice, u: u, quota: sliceQuota})
	}
	for i := range outside {
		t := &outside[i]
		members = append(members, member{cgroup: t.Cgroup, c: t, u: t.Usage, quota: t.LastQuota})
	}
	mode := "slice"
	if len(outside) > 0 {
		mode = "split"
	}
	// The slice always carries the whole aggregate when it is the only member
	// or empty, so a container started in it is limited from its first moment.
	slicePlan := Plan{Cgroup: slice, Tenant: ten.Name, Mode: mode, Res: agg, Err: aggErr,
		Why: whyAll(agg, fmt.Sprintf("tenant %s aggregate limits (tenant slice)", ten.Name))}
	n := len(members)
	if n <= 1 && len(inside) > 0 || n == 0 {
		out = append(out, slicePlan)
		for _, t := range inside {
			out = append(out, capsPlan(ten, t, caps, capErr, mode))
		}
		return out
	}
	if len(inside) == 0 {
		out = append(out, slicePlan)
	}
	// Split the aggregate among the members.
	l := ten.Limits
	dm := make([]Member, n)
	for i, m := range members {
		dm[i] = Member{Cgroup: m.cgroup, CPUs: m.u.CPUs, LastQuota: m.quota, Throttled: m.u.Throttled,
			Memory: m.u.Memory, Swap: m.u.Swap, Pids: m.u.Pids}
	}
	shares := make([]limits.Resources, n)
	for i := range shares {
		shares[i] = agg // cpuset and the like apply to each as is
		shares[i].IOMax = nil
	}
	quotas := make([]float64, n)
	whyShare := map[string]string{}
	split := fmt.Sprintf("tenant %s", ten.Name)
	if l.CPUs != nil {
		cpu := Stable(SplitCPU(*l.CPUs, dm), dm, *l.CPUs)
		for i := range shares {
			q := limits.CPUQuotaFor(cpu[i], limits.DefaultCPUPeriod)
			shares[i].CPUQuota, shares[i].CPUPeriod = &q, limits.DefaultCPUPeriod
			quotas[i] = cpu[i]
		}
		whyShare["cpu.max"] = fmt.Sprintf("%s limits.cpus = %g split among %d members by demand", split, *l.CPUs, n)
	}
	splitBytes := func(total *int64, used func(Usage) int64, set func(*limits.Resources, *int64), file, key string) {
		if total == nil {
			return
		}
		if *total < 0 { // "max": nothing to divide
			return
		}
		u := make([]int64, n)
		for i, m := range members {
			u[i] = used(m.u)
		}
		vs := SplitBytes(*total, u, -1)
		for i := range shares {
			v := vs[i]
			set(&shares[i], &v)
		}
		whyShare[file] = fmt.Sprintf("%s limits.%s = %d split among %d members: each its use plus the tenant's headroom", split, key, *total, n)
	}
	splitBytes(l.Memory, func(u Usage) int64 { return u.Memory }, func(r *limits.Resources, v *int64) { r.MemoryMax = v }, "memory.max", "memory")
	splitBytes(l.MemoryHigh, func(u Usage) int64 { return u.Memory }, func(r *limits.Resources, v *int64) { r.MemoryHigh = v }, "memory.high", "memory_high")
	splitBytes(l.Swap, func(u Usage) int64 { return u.Swap }, func(r *limits.Resources, v *int64) { r.SwapMax = v }, "memory.swap.max", "swap")
	splitBytes(l.Pids, func(u Usage) int64 { return u.Pids }, func(r *limits.Resources, v *int64) { r.PidsMax = v }, "pids.max", "pids")
	if l.MemoryLow != nil && *l.MemoryLow > 0 {
		v := int64(SplitEven(uint64(*l.MemoryLow), n, 0))
		for i := range shares {
			shares[i].MemoryLow = &v
		}
		whyShare["memory.low"] = fmt.Sprintf("%s limits.memory_low divided equally among %d members", split, n)
	}
	for _, w := range []struct {
		v   *uint64
		set func(*limits.Resources, *uint64)
		f   string
	}{{l.CPUWeight, func(r *limits.Resources, v *uint64) { r.CPUWeight = v }, "cpu.weight"},
		{l.IOWeight, func(r *limits.Resources, v *uint64) { r.IOWeight = v }, "io.weight"}} {
		if w.v != nil {
			v := SplitEven(*w.v, n, 1)
			for i := range shares {
				w.set(&shares[i], &v)
			}
			whyShare[w.f] = fmt.Sprintf("%s weight %d divided among %d members", split, *w.v, n)
		}
	}
	for _, d := range agg.IOMax {
		part := limits.IOMax{Major: d.Major, Minor: d.Minor,
			RBPS: splitRate(d.RBPS, n), WBPS: splitRate(d.WBPS, n), RIOPS: splitRate(d.RIOPS, n), WIOPS: splitRate(d.WIOPS, n)}
		for i := range shares {
			shares[i].IOMax = append(shares[i].IOMax, part)
		}
		whyShare["io.max"] = fmt.Sprintf("%s io limits divided equally among %d members", split, n)
	}
	for i, m := range members {
		if m.c == nil {
			out = append(out, Plan{Cgroup: slice, Tenant: ten.Name, Mode: mode, Res: shares[i], Err: aggErr, Quota: quotas[i],
				Why: whyOf(shares[i], whyShare, "tenant "+ten.Name+" aggregate (tenant slice's share)")})
			for _, t := range inside {
				out = append(out, capsPlan(ten, t, caps, capErr, mode))
			}
			continue
		}
		p := Plan{Cgroup: m.cgroup, ID: m.c.ID, Tenant: ten.Name, Mode: mode, Err: errorsJoin(aggErr, capErr), Quota: quotas[i]}
		p.Res, p.Why = merge(shares[i], whyOf(shares[i], whyShare, ""), caps, "tenant "+ten.Name+" per-container cap ([tenant.container])")
		out = append(out, p)
	}
	return out
}

func splitRate(v uint64, n int) uint64 {
	if v == 0 {
		return 0
	}
	return SplitEven(v, n, 1)
}

func capsPlan(ten *policies.Tenant, t Container, caps limits.Resources, err error, mode string) Plan {
	return Plan{Cgroup: t.Cgroup, ID: t.ID, Tenant: ten.Name, Mode: mode, Res: caps, Err: err,
		Why: whyAll(caps, "tenant "+ten.Name+" per-container cap ([tenant.container])")}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// whyAll gives every file of r the same reason.
func whyAll(r limits.Resources, why string) map[string]string {
	m := map[string]string{}
	for _, w := range r.Writes() {
		m[w.File] = why
	}
	return m
}

func whyOf(r limits.Resources, specific map[string]string, fallback string) map[string]string {
	m := map[string]string{}
	for _, w := range r.Writes() {
		if s, ok := specific[w.File]; ok {
			m[w.File] = s
		} else if fallback != "" {
			m[w.File] = fallback
		} else {
			m[w.File] = "tenant aggregate"
		}
	}
	return m
}
