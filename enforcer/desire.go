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
	var out []plan
	for i := range p.Tenants {
		out = append(out, e.desireTenant(&p.Tenants[i], byTenant[p.Tenants[i].Name])...)
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
	return out
}

func hasAggregate(l policies.Limits) bool { return desire.HasAggregate(l) }

// desireTenant plans one tenant (desire.Tenant) from its tracked members.
func (e *Enforcer) desireTenant(ten *policies.Tenant, ms []*tracked) []plan {
	sort.Slice(ms, func(a, b int) bool { return ms[a].c.Cgroup < ms[b].c.Cgroup })
	cs := make([]desire.Container, len(ms))
	for i, t := range ms {
		cs[i] = e.member(t)
		cs[i].Runtime, cs[i].RuntimeErr = e.runtimeOf(t)
	}
	var out []plan
	sl := desire.Slice{Quota: e.sliceQuota[ten.Name], Last: e.sliceLast[ten.Name]}
	for _, p := range desire.Tenant(ten, cs, sl, limits.DeviceNumber) {
		out = append(out, e.planOf(p))
	}
	return out
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
