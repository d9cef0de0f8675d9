package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/quell-dev/quell/enforcer/view"
)

// ctr is a container of tenant with cpu seconds, io bytes and OOM kills.
func ctr(cg, tenant string, cpu float64, io uint64, oom uint64) view.ContainerView {
	return view.ContainerView{Container: view.Container{ID: cg, Cgroup: cg, Tenant: tenant, Name: cg},
		Usage: view.Usage{OOMKills: oom, Counters: view.Counters{
			CPU: &view.CPUCounters{UsageSeconds: cpu}, IO: &view.IOCounters{ReadBytes: io, WriteBytes: io}}}}
}

// counters gathers every counter of reg as "name{labels}" → value.
func counters(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestTenantCountersMonotonicAcrossPasses feeds the collector a tenant's
// life: containers that start, leave, are made again under the same path
// (their counters back to zero), fail a read, and move to another tenant.
// No tenant counter ever goes down, and each counts what its containers
// used while the collector saw them.
func TestTenantCountersMonotonicAcrossPasses(t *testing.T) {
	t.Parallel()
	tenants := []view.TenantView{{Name: "acme"}, {Name: "ci"}}
	unread := ctr("b", "acme", 0, 0, 1)     // memory.events kept from the last read, as the enforcer does
	unread.Usage.Counters = view.Counters{} // cpu.stat and io.stat failed this pass
	passes := []struct {
		name       string
		containers []view.ContainerView
		acmeCPU    float64 // quell_tenant_cpu_usage_seconds_total{tenant="acme"} after it
		ciCPU      float64
	}{
		{"two containers", []view.ContainerView{ctr("a", "acme", 10, 100, 0), ctr("b", "acme", 5, 50, 0)}, 15, 0},
		{"both grow", []view.ContainerView{ctr("a", "acme", 12, 200, 0), ctr("b", "acme", 6, 60, 1)}, 18, 0},
		{"a leaves", []view.ContainerView{ctr("b", "acme", 7, 70, 1)}, 19, 0},
		{"b's reads fail", []view.ContainerView{unread}, 19, 0},
		{"b read again", []view.ContainerView{ctr("b", "acme", 9, 90, 1)}, 21, 0},
		{"b made again (counters reset)", []view.ContainerView{ctr("b", "acme", 1, 10, 0)}, 22, 0},
		{"b moves to ci", []view.ContainerView{ctr("b", "ci", 3, 30, 0)}, 22, 0},
		{"b grows in ci", []view.ContainerView{ctr("b", "ci", 4, 40, 0)}, 22, 1},
		{"a new container", []view.ContainerView{ctr("b", "ci", 4, 40, 0), ctr("c", "acme", 2, 20, 0)}, 24, 1},
	}
	var cur *view.View
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(func() *view.View { return cur }, 0))
	prev := map[string]float64{}
	for _, p := range passes {
		cur = &view.View{Policy: view.PolicyStatus{Valid: true}, Tenants: tenants, Containers: p.containers}
		got := counters(t, reg)
		for _, c := range []struct {
			tenant string
			want   float64
		}{{"acme", p.acmeCPU}, {"ci", p.ciCPU}} {
			if v := got["quell_tenant_cpu_usage_seconds_total{tenant="+c.tenant+"}"]; v != c.want {
				t.Errorf("%s: tenant %s cpu = %v, want %v", p.name, c.tenant, v, c.want)
			}
		}
		for k, v := range prev {
			if !strings.HasPrefix(k, "quell_tenant_") {
				continue
			}
			if now, ok := got[k]; !ok || now < v {
				t.Errorf("%s: %s went from %v to %v (present %v)", p.name, k, v, now, ok)
			}
		}
		prev = got
	}
	t.Logf("FIGURE tenant counters after %d passes: acme cpu %v s, io read %v B, oom %v", len(passes),
		prev["quell_tenant_cpu_usage_seconds_total{tenant=acme}"], prev["quell_tenant_io_read_bytes_total{tenant=acme}"], prev["quell_tenant_oom_kills_total{tenant=acme}"])
}

// TestContainerCountersOnlyWhenRead: a counter whose file was never read
// is absent, not a zero that would jump to the real value later.
func TestContainerCountersOnlyWhenRead(t *testing.T) {
	t.Parallel()
	c := ctr("x", "acme", 5, 0, 0)
	c.Usage.Counters.IO = nil
	v := &view.View{Tenants: []view.TenantView{{Name: "acme"}}, Containers: []view.ContainerView{c}}
	col := NewCollector(func() *view.View { return v }, 0)
	for name, want := range map[string]int{
		"quell_container_cpu_usage_seconds_total":            1,
		"quell_container_io_read_bytes_total":                0,
		"quell_container_cpu_cfs_periods_total":              0, // no cpu controller
		"quell_container_network_receive_bytes_total":        0, // not shaped
		"quell_container_pressure_cpu_waiting_seconds_total": 0,
	} {
		if n := testutil.CollectAndCount(col, name); n != want {
			t.Errorf("%s: %d series, want %d", name, n, want)
		}
	}
}

// TestSeriesCap: beyond the cap, per-container series stop growing; the
// penalized container is kept, the omitted ones are counted, and tenant
// totals still include every container.
func TestSeriesCap(t *testing.T) {
	t.Parallel()
	const n, maxC = 500, 20
	v := &view.View{Tenants: []view.TenantView{{Name: "acme"}}}
	for i := range n {
		tenant := "acme"
		if i%2 == 1 {
			tenant = ""
		}
		v.Containers = append(v.Containers, ctr(fmt.Sprintf("c%03d", i), tenant, 1, 1, 0))
	}
	v.Containers[n-1].Penalty = &view.PenaltyView{Action: "freeze"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(func() *view.View { return v }, maxC))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	series := map[string]int{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
		total += len(mf.GetMetric())
	}
	if got := series["quell_container_info"]; got != maxC {
		t.Errorf("quell_container_info: %d series, want the cap %d", got, maxC)
	}
	for name, k := range series {
		if strings.HasPrefix(name, "quell_container_") && k > maxC {
			t.Errorf("%s: %d series over the cap %d", name, k, maxC)
		}
	}
	want := `# HELP quell_metrics_containers_omitted Containers whose per-container series were left out at the last scrape because of the series cap (tenant totals still count them).
# TYPE quell_metrics_containers_omitted gauge
quell_metrics_containers_omitted 480
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "quell_metrics_containers_omitted"); err != nil {
		t.Error(err)
	}
	if c := counters(t, reg); c["quell_tenant_cpu_usage_seconds_total{tenant=acme}"] != n/2 {
		t.Errorf("tenant cpu = %v, want %d: tenant totals count the omitted containers too", c["quell_tenant_cpu_usage_seconds_total{tenant=acme}"], n/2)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "quell_container_info" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == "container" && l.GetValue() == "c499"
			}
		}
	}
	if !found {
		t.Error("the penalized container c499 was left out by the cap")
	}
	t.Logf("FIGURE series cap: %d containers, cap %d: %d series in all", n, maxC, total)
}
