package desire

import (
	"testing"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// docker run -m 64m --cpus 0.2 under [tenant.container] memory = 256MiB,
// cpus = 1: the runtime's limits stay and say so; a tighter cap wins;
// override = true lets the policy loosen; weights stay the policy's.
func TestTenantKeepsRuntimeLimitsAsCeilings(t *testing.T) {
	t.Parallel()
	n := func(v int64) *int64 { return &v }
	rt := limits.Resources{MemoryMax: n(64 << 20), CPUQuota: n(20000), CPUPeriod: 100000, PidsMax: n(limits.Max), CPUWeight: func() *uint64 { v := uint64(5); return &v }()}
	mem, cpus, w := int64(256<<20), 1.0, uint64(300)
	ten := &policies.Tenant{Name: "acme", Container: policies.Limits{Memory: &mem, CPUs: &cpus, CPUWeight: &w}}
	c := []Container{{Cgroup: "system.slice/docker-a.scope", ID: "a", Runtime: rt}}
	p := Tenant(ten, c, Slice{}, nil)[0]
	if *p.Res.MemoryMax != 64<<20 || *p.Res.CPUQuota != 20000 || p.By["memory.max"] != DecidedRuntime || p.By["cpu.max"] != DecidedRuntime {
		t.Fatalf("looser policy: %+v by %v, want the runtime's 64 MiB and 0.2 CPU, decided by runtime", p.Res, p.By)
	}
	if *p.Res.CPUWeight != 300 || p.By["cpu.weight"] != DecidedPolicy || p.Res.PidsMax != nil {
		t.Fatalf("non-ceilings and unplanned files: %+v by %v", p.Res, p.By)
	}
	small := int64(32 << 20)
	ten.Container.Memory = &small
	p = Tenant(ten, c, Slice{}, nil)[0]
	if *p.Res.MemoryMax != 32<<20 || p.By["memory.max"] != DecidedPolicy {
		t.Fatalf("tighter policy: memory %d by %q", *p.Res.MemoryMax, p.By["memory.max"])
	}
	ten.Container.Memory, ten.Override = &mem, true
	p = Tenant(ten, c, Slice{}, nil)[0]
	if *p.Res.MemoryMax != 256<<20 || *p.Res.CPUQuota != 100000 || p.By["memory.max"] != DecidedPolicy {
		t.Fatalf("override: %+v by %v, want the policy's", p.Res, p.By)
	}
}

// In split mode each member's share is held under its own runtime limit
// and what it cannot take goes to its sibling; the total still holds.
func TestSplitMemberBoundedByItsRuntime(t *testing.T) {
	t.Parallel()
	n := func(v int64) *int64 { return &v }
	mem, pids, cpus := int64(1<<30), int64(100), 2.0
	ten := &policies.Tenant{Name: "acme", Limits: policies.Limits{Memory: &mem, Pids: &pids, CPUs: &cpus}}
	ms := []Container{
		{Cgroup: "system.slice/docker-a.scope", ID: "a", Runtime: limits.Resources{MemoryMax: n(100 << 20), PidsMax: n(10), CPUQuota: n(20000), CPUPeriod: 100000},
			Usage: Usage{CPUs: 0.2, Throttled: true}, LastQuota: 0.2},
		{Cgroup: "system.slice/docker-b.scope", ID: "b", Usage: Usage{CPUs: 1.5, Throttled: true}, LastQuota: 1},
	}
	ps := Tenant(ten, ms, Slice{}, nil)
	a, b := ps[1], ps[2]
	if *a.Res.MemoryMax != 100<<20 || *b.Res.MemoryMax != 1<<30-100<<20 {
		t.Errorf("memory: a %d (runtime 100 MiB), b %d: want a held at its runtime's, b the rest", *a.Res.MemoryMax, *b.Res.MemoryMax)
	}
	if *a.Res.PidsMax != 10 || *b.Res.PidsMax != 90 {
		t.Errorf("pids: a %d, b %d; want 10 (its runtime's) and 90", *a.Res.PidsMax, *b.Res.PidsMax)
	}
	if *a.Res.CPUQuota != 20000 || a.Quota > 0.2+1e-9 || b.Quota < 1.8-1e-9 {
		t.Errorf("cpu: a quota %d (%g CPUs), b %g CPUs; want a at its runtime's 0.2, b 1.8", *a.Res.CPUQuota, a.Quota, b.Quota)
	}
}
