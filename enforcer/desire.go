package enforcer

import (
	"fmt"
	"sort"

	"github.com/quell-dev/quell/enforcer/desire"
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
	by     map[string]string // file → which layer decided it (desire.Decided*)
	err    error             // the desired state could not be computed
	quota  float64           // split mode: the CPUs this member gets, remembered for the next split

	// writes and files: res.Writes() and their original keys, when
	// computed ahead (wantWrites); nil: reconcile computes them.
	writes []limits.Write
	files  map[string]bool
}

// SliceFor is the tenant slice quelld keeps for tenant (desire.SliceFor).
func SliceFor(tenant string) string { return desire.SliceFor(tenant) }

// desire computes the plans for every tenant of p: slices, split shares,
// per-container caps and penalties. Containers in no tenant get no plan.
func (e *Enforcer) desire(p *policies.Policy) []plan {
	if p == nil {
		return nil
	}
	byTenant := map[string][]*tracked{}
	now := e.clock.Now()
	for _, t := range e.known {
		if t.c.Tenant != "" && !t.settling(now) {
			byTenant[t.c.Tenant] = append(byTenant[t.c.Tenant], t)
		}
	}
	// The plans live until publish; the next pass reuses their slice
	// (at 1,000 containers, growing it anew was a megabyte a pass).
	clear(e.planBuf)
	out := e.planBuf[:0]
	for i := range p.Tenants {
		out = e.desireTenant(out, &p.Tenants[i], byTenant[p.Tenants[i].Name])
	}
	// A throttled container whose tenant sets no limits (or that left its
	// tenant) still needs its throttle: give it a plan of its own.
	planned := make(map[string]bool, len(out))
	for _, p := range out {
		planned[p.cgroup] = true
	}
	for _, t := range e.known {
		if _, ok := e.det.throttles[t.c.Cgroup]; ok && !planned[t.c.Cgroup] {
			out = append(out, e.planOf(desire.Alone(e.member(t), t.c.Tenant)))
		}
	}
	e.planBuf = out
	return out
}

func hasAggregate(l policies.Limits) bool { return desire.HasAggregate(l) }

// desireTenant plans one tenant (desire.Tenant) from its tracked members.
// A tenant with per-container caps only plans each container on its own
// (the same plans: no member's depends on another's), and a container
// whose inputs did not change since its last plan (the same tenant
// policy, the same runtime ceilings, no throttle) gets that plan again
// without planning. The plans are appended to out.
func (e *Enforcer) desireTenant(out []plan, ten *policies.Tenant, ms []*tracked) []plan {
	sort.Slice(ms, func(a, b int) bool { return ms[a].c.Cgroup < ms[b].c.Cgroup })
	if !desire.HasAggregate(ten.Limits) {
		for _, t := range ms {
			out = append(out, e.desireAlone(ten, t)...)
		}
		return out
	}
	cs := make([]desire.Container, len(ms))
	for i, t := range ms {
		cs[i] = e.member(t)
		cs[i].Runtime, cs[i].RuntimeErr = e.runtimeCached(t)
	}
	sl := desire.Slice{Quota: e.sliceQuota[ten.Name], Last: e.sliceLast[ten.Name]}
	for _, p := range desire.Tenant(ten, cs, sl, limits.DeviceNumber) {
		out = append(out, e.planOf(p))
	}
	return out
}

// desireAlone plans t, a member of a tenant without aggregate limits,
// reusing its last plan when nothing it depends on changed.
func (e *Enforcer) desireAlone(ten *policies.Tenant, t *tracked) []plan {
	rt, rtErr := e.runtimeCached(t)
	_, throttled := e.det.throttles[t.c.Cgroup]
	m := &t.plans
	if m.ok && m.ten == ten && m.id == t.c.ID && m.rtGen == t.rt.gen && rtErr == nil && !throttled {
		return m.plans
	}
	c := e.member(t)
	c.Runtime, c.RuntimeErr = rt, rtErr
	var out []plan
	for _, p := range desire.Tenant(ten, []desire.Container{c}, desire.Slice{}, limits.DeviceNumber) {
		out = append(out, e.planOf(p))
	}
	// Kept for the next pass unless it depends on something not in the
	// key: a throttle, a failed read, an io limit by device path (a
	// device may come or go).
	m.ok = rtErr == nil && !throttled && len(ten.Container.IO) == 0
	for i := range out {
		m.ok = m.ok && out[i].err == nil
		out[i].wantWrites()
	}
	if m.ok {
		m.ten, m.id, m.rtGen, m.plans = ten, t.c.ID, t.rt.gen, out
	} else {
		m.plans = nil
	}
	return out
}

// planMemo is a container's last plans and what they were made from.
type planMemo struct {
	ok    bool
	ten   *policies.Tenant
	id    string
	rtGen uint64
	plans []plan
}

// runtimeMemo is runtimeOf's last answer and the runtime limits it was
// parsed from (runtimeOf parses them each time; they seldom change).
type runtimeMemo struct {
	ok  bool
	src uint64 // tracked.runtimeGen when parsed
	res limits.Resources
	gen uint64 // counts the changes of res
}

// runtimeCached is runtimeOf, parsed again only when t's runtime limits
// changed (adoptRuntime changes them in place).
func (e *Enforcer) runtimeCached(t *tracked) (limits.Resources, error) {
	m := &t.rt
	if m.ok && t.runtime != nil && t.runtimeGen == m.src {
		return m.res, nil
	}
	r, err := e.runtimeOf(t)
	if err != nil {
		m.ok = false
		m.gen++
		return r, err
	}
	m.ok, m.src, m.res = true, t.runtimeGen, r
	m.gen++
	return r, nil
}

// wantWrites fills p's writes and their original keys (reconcile's), so
// that a plan reused pass after pass is turned into writes once.
func (p *plan) wantWrites() {
	p.writes = p.res.Writes()
	p.files = make(map[string]bool, len(p.writes))
	for _, w := range p.writes {
		p.files[origKey(w.File, w.Value)] = true
	}
}

// member is t as planning sees it: its usage, its last CPU share and the
// throttle in force on it.
func (e *Enforcer) member(t *tracked) desire.Container {
	u := t.usage
	c := desire.Container{Cgroup: t.c.Cgroup, ID: t.c.ID, LastQuota: t.quota, Last: t.last, Usage: desire.Usage{CPUs: u.CPUs,
		Memory: u.MemoryBytes, Swap: u.SwapBytes, Pids: u.Pids, Throttled: u.ThrottledPct > 0}}
	if pen, ok := e.det.throttles[t.c.Cgroup]; ok {
		c.Throttle = &desire.Throttle{Res: pen.Throttle,
			Why: fmt.Sprintf("throttled by %s (factor %g) until %s", pen.By(), pen.Factor, pen.Deadline.Format("15:04:05"))}
	}
	return c
}

// planOf is p with the container it is for.
func (e *Enforcer) planOf(p desire.Plan) plan {
	pl := plan{cgroup: p.Cgroup, tenant: p.Tenant, mode: p.Mode, res: p.Res, why: p.Why, by: p.By, err: p.Err, quota: p.Quota}
	if p.ID != "" {
		pl.t = e.known[p.Cgroup]
	}
	return pl
}

// membersOf lists the tracked containers of tenant.
func (e *Enforcer) membersOf(tenant string) []*tracked {
	var ms []*tracked
	for _, t := range e.known {
		if t.c.Tenant == tenant {
			ms = append(ms, t)
		}
	}
	return ms
}
