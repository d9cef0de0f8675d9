package desire

import (
	"testing"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// A throttle is laid over its container's plan last: the tighter ceiling
// wins and says why, a looser one changes nothing, and its neighbours'
// plans are untouched.
func TestTenantLaysThrottleOverItsContainer(t *testing.T) {
	t.Parallel()
	mem, quota, loose, weight := int64(1<<30), int64(20000), int64(4<<30), uint64(1)
	ten := &policies.Tenant{Name: "acme", Container: policies.Limits{Memory: &mem}}
	th := &Throttle{Res: limits.Resources{CPUQuota: &quota, CPUWeight: &weight, MemoryMax: &loose}, Why: "throttled by cpu-rule"}
	ps := Tenant(ten, []Container{{Cgroup: "system.slice/a.scope", ID: "a", Throttle: th}, {Cgroup: "system.slice/b.scope", ID: "b"}}, Slice{}, nil)
	if len(ps) != 2 {
		t.Fatalf("plans = %+v", ps)
	}
	a, b := ps[0], ps[1]
	if a.Res.CPUQuota == nil || *a.Res.CPUQuota != quota || a.Why["cpu.max"] != th.Why || a.Why["cpu.weight"] != th.Why {
		t.Errorf("throttled plan cpu: %+v why %v", a.Res, a.Why)
	}
	if *a.Res.MemoryMax != mem || a.Why["memory.max"] == th.Why {
		t.Errorf("a looser throttle memory.max %d (why %q) changed the cap %d", *a.Res.MemoryMax, a.Why["memory.max"], mem)
	}
	if b.Res.CPUQuota != nil || b.Res.CPUWeight != nil {
		t.Errorf("the neighbour got the throttle: %+v", b.Res)
	}
}

// A container its tenant does not plan gets its throttle alone, or nothing.
func TestAlone(t *testing.T) {
	t.Parallel()
	q := int64(5000)
	p := Alone(Container{Cgroup: "x.scope", ID: "x", Throttle: &Throttle{Res: limits.Resources{CPUQuota: &q}, Why: "w"}}, "acme")
	if p.Mode != "caps" || p.Tenant != "acme" || p.Res.CPUQuota == nil || *p.Res.CPUQuota != q || p.Why["cpu.max"] != "w" {
		t.Errorf("throttled alone: %+v", p)
	}
	p = Alone(Container{Cgroup: "x.scope", ID: "x"}, "acme")
	if p.Mode != "" || p.Tenant != "" || len(p.Res.Writes()) != 0 {
		t.Errorf("unthrottled alone: %+v", p)
	}
}
