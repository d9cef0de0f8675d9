package metrics

import (
	"sync"

	"github.com/quell-dev/quell/enforcer/view"
)

// The tenant counters, in tenantCounterDescs' order.
const (
	tcCPU = iota
	tcThrottled
	tcIORead
	tcIOWrite
	tcNetRx
	tcNetTx
	tcOOM
	nTenantCounters
)

type tenantSample [nTenantCounters]float64

// tenantTotals turns the counters of a tenant's containers, which come and
// go, into tenant counters that never go down: a sum over the containers
// present would drop whenever one left, and Prometheus would take the drop
// for a restart of quelld and make a spike of it. At each scrape it adds
// each container's growth since the previous scrape to its tenant's total:
//   - a container seen for the first time adds its whole counter (its
//     usage since it started, which the tenant did use);
//   - a counter that went back (the cgroup was made again under the same
//     path) adds its new value;
//   - a container that moved to another tenant (a policy change) adds
//     nothing at that scrape; its later growth counts for the new tenant;
//   - a container that left adds nothing more: what it used after the
//     previous scrape is lost, at most one scrape interval's worth.
//
// A counter that was never read (nil in view.Counters) adds nothing.
type tenantTotals struct {
	mu    sync.Mutex
	last  map[string]lastSample // by cgroup
	total map[string]*tenantSample
}

type lastSample struct {
	tenant string
	vals   tenantSample
	have   [nTenantCounters]bool
}

func newTenantTotals() *tenantTotals {
	return &tenantTotals{last: map[string]lastSample{}, total: map[string]*tenantSample{}}
}

// sampleOf is a container's counters in tenant order; have says which were read.
func sampleOf(u view.Usage) (s tenantSample, have [nTenantCounters]bool) {
	c := u.Counters
	set := func(i int, v float64) { s[i], have[i] = v, true }
	if c.CPU != nil {
		set(tcCPU, c.CPU.UsageSeconds)
		if c.CPU.Throttling {
			set(tcThrottled, c.CPU.ThrottledSeconds)
		}
	}
	if c.IO != nil {
		set(tcIORead, float64(c.IO.ReadBytes))
		set(tcIOWrite, float64(c.IO.WriteBytes))
	}
	if c.Net != nil {
		set(tcNetRx, float64(c.Net.RxBytes))
		set(tcNetTx, float64(c.Net.TxBytes))
	}
	set(tcOOM, float64(u.OOMKills))
	return s, have
}

// update adds v's growth and returns each tenant's totals (a copy), for
// the tenants v has; a tenant without containers has zeros.
func (t *tenantTotals) update(v *view.View) map[string]tenantSample {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := make(map[string]bool, len(v.Containers))
	for _, ct := range v.Containers {
		if ct.Tenant == "" || seen[ct.Cgroup] {
			continue
		}
		seen[ct.Cgroup] = true
		cur, have := sampleOf(ct.Usage)
		prev, known := t.last[ct.Cgroup]
		tot := t.total[ct.Tenant]
		if tot == nil {
			tot = &tenantSample{}
			t.total[ct.Tenant] = tot
		}
		next := lastSample{tenant: ct.Tenant}
		for i := range cur {
			if !have[i] { // unread: keep the last good value as the baseline
				next.vals[i], next.have[i] = prev.vals[i], prev.have[i]
				continue
			}
			next.vals[i], next.have[i] = cur[i], true
			switch {
			case known && prev.tenant != ct.Tenant:
			case known && prev.have[i] && cur[i] >= prev.vals[i]:
				tot[i] += cur[i] - prev.vals[i]
			default: // first sight, first read, or went back
				tot[i] += cur[i]
			}
		}
		t.last[ct.Cgroup] = next
	}
	for cg, s := range t.last {
		if !seen[cg] || s.tenant == "" {
			delete(t.last, cg)
		}
	}
	out := make(map[string]tenantSample, len(v.Tenants))
	for _, tv := range v.Tenants {
		if tot := t.total[tv.Name]; tot != nil {
			out[tv.Name] = *tot
		} else {
			out[tv.Name] = tenantSample{}
		}
	}
	return out
}
