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
	LastQuota float64          // the CPUs the last split gave it (0 for none)
	Last      limits.Resources // the limits its plan had last pass (the split's Last)
	Throttle  *Throttle        // its penalty in force, nil for none
	// Runtime holds the limits its container runtime set (Docker's -m,
	// --cpus, a kubelet's pod limits, a later docker update): the values
	// of the ceiling files before quell changed them. Unless its tenant
	// says override = true, they are ceilings its plan only tightens
	// (Ceiling). RuntimeErr: they could not be read; the plan is then an
	// error and quell keeps what it set.
	Runtime    limits.Resources
	RuntimeErr error
}

// Slice is what planning remembers of a tenant slice between passes.
type Slice struct {
	Quota float64          // the CPUs it got at the last split (0 for none)
	Last  limits.Resources // the limits its plan had last pass
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
	// By says which layer decided each file: DecidedPolicy,
	// DecidedRuntime or DecidedPenalty.
	By map[string]string
}

// The layers that decide a file (Plan.By).
const (
	DecidedPolicy  = "policy"  // the tenant's limits, split share or per-container cap
	DecidedRuntime = "runtime" // the container runtime's own limit, tighter than the policy's
	DecidedPenalty = "penalty" // a throttle in force
)

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
// sl is what the slice got at the last pass. It returns no plan for a
// container when the tenant sets no limits at all. A limit that cannot be
// expressed is the plan's Err.
// Each container's runtime limits (Container.Runtime) are ceilings laid
// over its plan unless the tenant says override = true; its throttle
// (Container.Throttle) is laid over last, so a penalty tightens whatever
// the policy and the runtime gave it. Plan.By says which decided each file.
func Tenant(ten *policies.Tenant, ms []Container, sl Slice, dev DevNum) []Plan {
	out := plan(ten, ms, sl, dev)
	byCgroup := make(map[string]*Container, len(ms))
	for i := range ms {
		byCgroup[ms[i].Cgroup] = &ms[i]
	}
	shared := map[string]map[string]string{} // By maps by their files: one per distinct set, shared (never changed in place)
	for i := range out {
		out[i].By = byPolicy(out[i].Res, shared)
		c := byCgroup[out[i].Cgroup]
		if c == nil || out[i].ID == "" {
			continue
		}
		if c.RuntimeErr != nil {
			out[i].Err = errorsJoin(out[i].Err, fmt.Errorf("the runtime's own limits (ceilings) cannot be read: %w", c.RuntimeErr))
		}
		if !ten.Override {
			out[i] = Ceiling(out[i], c.Runtime)
		}
		if c.Throttle != nil {
			out[i] = overlay(out[i], c.Throttle)
		}
	}
	return out
}

// plan is Tenant before the runtime ceilings and the throttles.
func plan(ten *policies.Tenant, ms []Container, sl Slice, dev DevNum) []Plan {
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
	// One reason map for every member the caps alone plan: shared, as a
	// plan's maps are never changed in place (Ceiling and overlay copy
	// them first); a map per container was a kilobyte each at 10,000.
	capsWhy := whyAll(caps, "tenant "+ten.Name+" per-container cap ([tenant.container])")
	var out []Plan
	if !HasAggregate(ten.Limits) {
		for _, t := range ms {
			out = append(out, capsPlan(ten, t, caps, capErr, "caps", capsWhy))
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
		last   limits.Resources
		bound  limits.Resources // the most it may get: per-container cap and runtime ceiling
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
		members = append(members, member{cgroup: slice, u: u, quota: sl.Quota, last: sl.Last})
	}
	for i := range outside {
		t := &outside[i]
		bound := caps
		if !ten.Override {
			bound = bound.Tighten(ceilings(t.Runtime))
		}
		members = append(members, member{cgroup: t.Cgroup, c: t, u: t.Usage, quota: t.LastQuota, last: t.Last, bound: bound})
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
			out = append(out, capsPlan(ten, t, caps, capErr, mode, capsWhy))
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
			Memory: m.u.Memory, Swap: m.u.Swap, Pids: m.u.Pids, MaxCPUs: cpusOf(m.bound)}
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
	splitBytes := func(total *int64, slack int64, used func(Usage) int64, field func(*limits.Resources) **int64, file, key string) {
		if total == nil {
			return
		}
		if *total < 0 { // "max": nothing to divide
			return
		}
		bs := make([]Bytes, n)
		for i, m := range members {
			bs[i] = Bytes{Used: used(m.u), Last: valueOr(*field(&m.last), -1), Cap: valueOr(*field(&m.bound), -1)}
		}
		vs := SplitBytes(*total, slack, bs)
		for i := range shares {
			v := vs[i]
			*field(&shares[i]) = &v
		}
		whyShare[file] = fmt.Sprintf("%s limits.%s = %d split among %d members: each its use plus an equal part of the tenant's headroom", split, key, *total, n)
	}
	splitBytes(l.Memory, MemorySlack, func(u Usage) int64 { return u.Memory }, func(r *limits.Resources) **int64 { return &r.MemoryMax }, "memory.max", "memory")
	splitBytes(l.MemoryHigh, MemorySlack, func(u Usage) int64 { return u.Memory }, func(r *limits.Resources) **int64 { return &r.MemoryHigh }, "memory.high", "memory_high")
	splitBytes(l.Swap, SwapSlack, func(u Usage) int64 { return u.Swap }, func(r *limits.Resources) **int64 { return &r.SwapMax }, "memory.swap.max", "swap")
	splitBytes(l.Pids, PidsSlack, func(u Usage) int64 { return u.Pids }, func(r *limits.Resources) **int64 { return &r.PidsMax }, "pids.max", "pids")
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
				out = append(out, capsPlan(ten, t, caps, capErr, mode, capsWhy))
			}
			continue
		}
		p := Plan{Cgroup: m.cgroup, ID: m.c.ID, Tenant: ten.Name, Mode: mode, Err: errorsJoin(aggErr, capErr), Quota: quotas[i]}
		p.Res, p.Why = merge(shares[i], whyOf(shares[i], whyShare, ""), caps, "tenant "+ten.Name+" per-container cap ([tenant.container])")
		out = append(out, p)
	}
	return out
}

// valueOr is *p, or or when p is nil or Max.
func valueOr(p *int64, or int64) int64 {
	if p == nil || *p < 0 {
		return or
	}
	return *p
}

// cpusOf is r's cpu.max in CPUs, 0 when r sets none or "max".
func cpusOf(r limits.Resources) float64 {
	if r.CPUQuota == nil || *r.CPUQuota < 0 {
		return 0
	}
	p := r.CPUPeriod
	if p == 0 {
		p = limits.DefaultCPUPeriod
	}
	return float64(*r.CPUQuota) / float64(p)
}

func splitRate(v uint64, n int) uint64 {
	if v == 0 {
		return 0
	}
	return SplitEven(v, n, 1)
}

func capsPlan(ten *policies.Tenant, t Container, caps limits.Resources, err error, mode string, why map[string]string) Plan {
	return Plan{Cgroup: t.Cgroup, ID: t.ID, Tenant: ten.Name, Mode: mode, Res: caps, Err: err, Why: why}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// byPolicy is byAll(r, DecidedPolicy), the same map for plans that set
// the same files.
func byPolicy(r limits.Resources, shared map[string]map[string]string) map[string]string {
	ws := r.Writes()
	var k strings.Builder
	for _, w := range ws {
		k.WriteString(w.File)
		k.WriteByte(0)
	}
	if m, ok := shared[k.String()]; ok {
		return m
	}
	m := make(map[string]string, len(ws))
	for _, w := range ws {
		m[w.File] = DecidedPolicy
	}
	shared[k.String()] = m
	return m
}

// byAll says that layer decided every file of r.
func byAll(r limits.Resources, layer string) map[string]string {
	m := map[string]string{}
	for _, w := range r.Writes() {
		m[w.File] = layer
	}
	return m
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
