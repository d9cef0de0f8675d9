package enforcer

import (
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/policies"
)

// classify assigns c to the first tenant whose match holds; an unmatched
// container is left alone (Tenant ""). A pod's sandbox (pause) container is
// in no tenant: it is not a workload, so no rule targets it and no split
// counts it.
func classify(p *policies.Policy, c *view.Container) {
	c.Tenant, c.Class = "", ""
	if c.Sandbox {
		c.MatchReason = "pod sandbox (pause) container: not a workload, in no tenant"
		return
	}
	if p == nil {
		c.MatchReason = "no valid policy loaded"
		return
	}
	t, why := p.Match(policies.Container{Cgroup: c.Cgroup, Name: c.Name, Labels: c.Labels, TrustedLabels: c.TrustedLabels})
	c.MatchReason = why
	if t == nil {
		return
	}
	c.Tenant = t.Name
	c.Class = string(t.Class)
	if c.Class == "" {
		c.Class = string(policies.Burstable)
	}
}

// classifyAll re-classifies every known container (after a policy change).
func (e *Enforcer) classifyAll(p *policies.Policy) {
	for _, t := range e.known {
		classify(p, &t.c)
	}
	e.classifiedWith = p
}

// policyChanged reports whether containers were classified with another policy.
func (e *Enforcer) policyChanged(p *policies.Policy) bool { return e.classifiedWith != p }
