package desire

import (
	"testing"

	"github.com/quell-dev/quell/policies"
)

// Planning is data in, plans out: a tenant whose containers live outside
// its slice has its CPUs split among them and the slice keeps the whole;
// one whose containers are all in its slice is limited there as one.
func TestTenantPlansSliceAndSplit(t *testing.T) {
	t.Parallel()
	cpus := 2.0
	ten := &policies.Tenant{Name: "acme", Limits: policies.Limits{CPUs: &cpus}}
	out := []Container{{Cgroup: "system.slice/a.scope", ID: "a", Usage: Usage{CPUs: 1.5}}, {Cgroup: "system.slice/b.scope", ID: "b", Usage: Usage{CPUs: 0.1}}}
	ps := Tenant(ten, out, Slice{}, nil)
	if len(ps) != 3 || ps[0].Cgroup != SliceFor("acme") || ps[0].ID != "" || ps[1].ID != "a" || ps[2].ID != "b" {
		t.Fatalf("plans = %+v, want the slice then a and b", ps)
	}
	if ps[1].Mode != "split" || ps[1].Quota+ps[2].Quota < 1.99 || ps[1].Quota+ps[2].Quota > 2.01 || ps[1].Quota <= ps[2].Quota {
		t.Errorf("split quotas %g + %g: want 2 CPUs, the busier more", ps[1].Quota, ps[2].Quota)
	}
	in := []Container{{Cgroup: SliceFor("acme") + "/c.scope", ID: "c"}}
	ps = Tenant(ten, in, Slice{}, nil)
	if len(ps) != 2 || ps[0].Mode != "slice" || *ps[0].Res.CPUQuota != 200000 || ps[1].ID != "c" || ps[1].Res.CPUQuota != nil {
		t.Fatalf("in-slice plans = %+v", ps)
	}
}
