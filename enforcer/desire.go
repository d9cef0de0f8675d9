package enforcer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/quell-dev/quell/enforcer/desire"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// plan is the desired state of one cgroup, with the reason for each file.
type plan struct {
	cgroup string
	t      *tracked // nil for a tenant slice
	tenant string
	mode   string
	res    limits.Resources
	why    map[string]string // file → why
	err    error             // the desired state could not be computed
	quota  float64           // split mode: the CPUs this member gets, remembered for the next split
}

// SliceFor is the tenant slice quelld keeps for tenant: containers started
// with it as their cgroup parent are limited by the kernel as one group.
func SliceFor(tenant string) string { return "quell.slice/quell-" + tenant + ".slice" }

// desire computes the plans for every tenant of p: slices, split shares,
// per-container caps and penalties. Containers in no tenant get no plan.
func (e *Enforcer) desire(p *policies.Policy) []plan {
	if p == nil {
		return nil
	}
	byTenant := map[string][]*tracked{}
	for _, t := range e.known {
		if t.c.Tenant != "" {
			byTenant[t.c.Tenant] = append(byTenant[t.c.Tenant], t)
		}
	}
	var out []plan
	for i := range p.Tenants {
		ten := &p.Tenants[i]
		ms := byTenant[ten.Name]
		sort.Slice(ms, func(a, b int) bool { return ms[a].c.Cgroup < ms[b].c.Cgroup })
		out = append(out, e.desireTenant(ten, ms)...)
	}
	// A throttled container whose tenant sets no limits (or that left its
	// tenant) still needs its throttle: give it a plan of its own.
	planned := make(map[string]bool, len(out))
	for _, p := range out {
		planned[p.cgroup] = true
	}
	for _, t := range e.known {
		if _, ok := e.det.throttles[t.c.ID]; ok && !planned[t.c.Cgroup] {
			out = append(out, plan{cgroup: t.c.Cgroup, t: t, tenant: t.c.Tenant, mode: "caps", why: map[string]string{}})
		}
	}
	for i := range out {
		e.overlayPenalty(&out[i])
	}
	return out
}

func hasAggregate(l policies.Limits) bool {
	return l.CPUs != nil || l.CPUWeight != nil || l.Cpuset != nil || l.CpusetMems != nil ||
		l.Memory != nil || l.MemoryHigh != nil || l.MemoryLow != nil || l.Swap != nil ||
		l.Pids != nil || len(l.IO) > 0 || l.IOWeight != nil
}

func (e *Enforcer) desireTenant(ten *policies.Tenant, ms []*tracked) []plan {
	slice := SliceFor(ten.Name)
	var inside, outside []*tracked
	for _, t := range ms {
		if strings.HasPrefix(t.c.Cgroup, slice+"/") {
			inside = append(inside, t)
		} else {
			outside = append(outside, t)
		}
	}
	caps, capErr := desire.Resources(ten.Container, limits.DeviceNumber)
	var out []plan
	if !hasAggregate(ten.Limits) {
		for _, t := range ms {
			out = append(out, e.capsPlan(ten, t, caps, capErr, "caps"))
		}
		return out
	}
	agg, aggErr := desire.Resources(ten.Limits, limits.DeviceNumber)
	// Members of the split: the slice (as one, when it holds containers)
	// and every container outside it.
	type member struct {
		cgroup string
		t      *tracked
		u      view.Usage
		quota  float64
	}
	var members []member
	if len(inside) > 0 {
		var u view.Usage
		for _, t := range inside {
			u.CPUs += t.usage.CPUs
			u.MemoryBytes += t.usage.MemoryBytes
			u.SwapBytes += t.usage.SwapBytes
			u.Pids += t.usage.Pids
		}
		members = append(members, member{cgroup: slice, u: u, quota: e.sliceQuota[ten.Name]})
	}
	for _, t := range outside {
		members = append(members, member{cgroup: t.c.Cgroup, t: t, u: t.usage, quota: t.quota})
	}
	mode := "slice"
	if len(outside) > 0 {
		mode = "split"
	}
	// The slice always carries the whole aggregate when it is the only member
	// or empty, so a container started in it is limited from its first moment.
	slicePlan := plan{cgroup: slice, tenant: ten.Name, mode: mode, res: agg, err: aggErr,
		why: whyAll(agg, fmt.Sprintf("tenant %s aggregate limits (tenant slice)", ten.Name))}
	n := len(members)
	if n <= 1 && len(inside) > 0 || n == 0 {
		out = append(out, slicePlan)
		for _, t := range inside {
			out = append(out, e.capsPlan(ten, t, caps, capErr, mode))
		}
		return out
	}
	if len(inside) == 0 {
		out = append(out, slicePlan)
	}
	// Split the aggregate among the members.
	l := ten.Limits
	dm := make([]desire.Member, n)
	for i, m := range members {
		dm[i] = desire.Member{Cgroup: m.cgroup, CPUs: m.u.CPUs, LastQuota: m.quota, Throttled: m.u.ThrottledPct > 0,
			Memory: m.u.MemoryBytes, Swap: m.u.SwapBytes, Pids: m.u.Pids}
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
		cpu := desire.Stable(desire.SplitCPU(*l.CPUs, dm), dm, *l.CPUs)
		for i := range shares {
			q := limits.CPUQuotaFor(cpu[i], limits.DefaultCPUPeriod)
			shares[i].CPUQuota, shares[i].CPUPeriod = &q, limits.DefaultCPUPeriod
			quotas[i] = cpu[i]
		}
		whyShare["cpu.max"] = fmt.Sprintf("%s limits.cpus = %g split among %d members by demand", split, *l.CPUs, n)
	}
	splitBytes := func(total *int64, used func(view.Usage) int64, set func(*limits.Resources, *int64), file, key string) {
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
		vs := desire.SplitBytes(*total, u, -1)
		for i := range shares {
			v := vs[i]
			set(&shares[i], &v)
		}
		whyShare[file] = fmt.Sprintf("%s limits.%s = %d split among %d members: each its use plus the tenant's headroom", split, key, *total, n)
	}
	splitBytes(l.Memory, func(u view.Usage) int64 { return u.MemoryBytes }, func(r *limits.Resources, v *int64) { r.MemoryMax = v }, "memory.max", "memory")
	splitBytes(l.MemoryHigh, func(u view.Usage) int64 { return u.MemoryBytes }, func(r *limits.Resources, v *int64) { r.MemoryHigh = v }, "memory.high", "memory_high")
	splitBytes(l.Swap, func(u view.Usage) int64 { return u.SwapBytes }, func(r *limits.Resources, v *int64) { r.SwapMax = v }, "memory.swap.max", "swap")
	splitBytes(l.Pids, func(u view.Usage) int64 { return u.Pids }, func(r *limits.Resources, v *int64) { r.PidsMax = v }, "pids.max", "pids")
	if l.MemoryLow != nil && *l.MemoryLow > 0 {
		v := int64(desire.SplitEven(uint64(*l.MemoryLow), n, 0))
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
			v := desire.SplitEven(*w.v, n, 1)
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
		if m.t == nil {
			out = append(out, plan{cgroup: slice, tenant: ten.Name, mode: mode, res: shares[i], err: aggErr, quota: quotas[i],
				why: whyOf(shares[i], whyShare, "tenant "+ten.Name+" aggregate (tenant slice's share)")})
			for _, t := range inside {
				out = append(out, e.capsPlan(ten, t, caps, capErr, mode))
			}
			continue
		}
		p := plan{cgroup: m.cgroup, t: m.t, tenant: ten.Name, mode: mode, err: errorsJoin(aggErr, capErr), quota: quotas[i]}
		p.res, p.why = merge(shares[i], whyOf(shares[i], whyShare, ""), caps, "tenant "+ten.Name+" per-container cap ([tenant.container])")
		out = append(out, p)
	}
	return out
}

func splitRate(v uint64, n int) uint64 {
	if v == 0 {
		return 0
	}
	return desire.SplitEven(v, n, 1)
}

func (e *Enforcer) capsPlan(ten *policies.Tenant, t *tracked, caps limits.Resources, err error, mode string) plan {
	return plan{cgroup: t.c.Cgroup, t: t, tenant: ten.Name, mode: mode, res: caps, err: err,
		why: whyAll(caps, "tenant "+ten.Name+" per-container cap ([tenant.container])")}
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
