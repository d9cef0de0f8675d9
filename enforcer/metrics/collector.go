package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quell-dev/quell/enforcer/view"
)

// Collector exports the enforcer's latest View at each scrape. It holds no
// state of its own: two scrapes of the same View give the same exposition.
type Collector struct {
	view func() *view.View
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector reading current at each scrape. When
// current returns nil (no observation yet), nothing is exported.
func NewCollector(current func() *view.View) *Collector {
	return &Collector{view: current}
}

// Describe sends every descriptor the Collector can export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs() {
		ch <- d
	}
}

// Collect exports the current View.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	v := c.view()
	if v == nil {
		return
	}
	g := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	collectStatus(v, g)
	collectHost(v.Host, g)
	for _, t := range v.Tenants {
		g(tenantInfo, 1, t.Name, t.Class, t.Mode)
		g(tenantCtrs, float64(t.Containers), t.Name)
		collectUsage(tenantUsage, t.Usage, g, t.Name)
		l := t.Limits
		collectLimits(tenantLimit, g, l.CPUs, l.MemoryBytes, l.SwapBytes, l.Pids, l.NetEgress/8, l.NetIngress/8, l.DiskBytes, t.Name)
	}
	for _, ct := range v.Containers {
		labels := []string{ct.Tenant, shortID(ct.ID), ct.Name}
		g(containerInfo, 1, ct.Tenant, shortID(ct.ID), ct.Name, ct.Class, ct.Runtime, ct.Cgroup)
		collectUsage(containerUsage, ct.Usage, g, labels...)
		cl := ct.Set
		collectLimits(containerLimit, g, cl.CPUs, cl.MemoryBytes, cl.SwapBytes, cl.Pids, 0, 0, 0, labels...)
		ch <- prometheus.MustNewConstMetric(containerOOM, prometheus.CounterValue, float64(ct.Usage.OOMKills), labels...)
		g(containerErrors, float64(len(ct.Errors)), labels...)
	}
	counts := map[string]int{"throttle": 0, "freeze": 0}
	for _, p := range v.Penalties {
		counts[p.Action]++
	}
	for a, n := range counts {
		g(penalties, float64(n), a)
	}
}

type gaugeFunc func(d *prometheus.Desc, val float64, labels ...string)

func collectStatus(v *view.View, g gaugeFunc) {
	g(policyValid, b2f(v.Policy.Valid))
	if !v.Policy.LoadedAt.IsZero() {
		g(policyLoaded, unix(v.Policy.LoadedAt))
	}
	if !v.Policy.Tried.IsZero() {
		g(policyTried, unix(v.Policy.Tried))
	}
	g(watched, float64(v.Loop.Watched))
	if !v.Loop.LastTick.IsZero() {
		g(lastTick, unix(v.Loop.LastTick))
		g(lastTickSecs, v.Loop.LastDuration.Seconds())
	}
	g(loopErrors, float64(v.Loop.Errors))
	g(dryRun, b2f(v.DryRun))
	if !v.Time.IsZero() {
		g(viewTimestamp, unix(v.Time))
	}
}

func collectHost(h view.HostView, g gaugeFunc) {
	if h.CPUs > 0 {
		g(hostCPUs, float64(h.CPUs))
	}
	if h.MemTotal > 0 {
		g(hostMemTotal, float64(h.MemTotal))
		g(hostMemAvail, float64(h.MemAvailable))
	}
	names := make([]string, 0, len(h.Signals))
	for k := range h.Signals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if res, kind, win, ok := splitPSISignal(k); ok {
			g(hostPressure, h.Signals[k]/100, res, kind, win)
		} else {
			g(hostSignal, h.Signals[k], k)
		}
	}
}

func collectUsage(d usageDescs, u view.Usage, g gaugeFunc, labels ...string) {
	g(d.cpu, u.CPUs, labels...)
	g(d.throttled, u.ThrottledPct/100, labels...)
	g(d.mem, float64(u.MemoryBytes), labels...)
	g(d.swap, float64(u.SwapBytes), labels...)
	g(d.ioRead, u.IOReadBps, labels...)
	g(d.ioWrite, u.IOWriteBps, labels...)
	g(d.pids, float64(u.Pids), labels...)
	g(d.netRx, u.NetRxBps/8, labels...)
	g(d.netTx, u.NetTxBps/8, labels...)
	g(d.disk, float64(u.DiskBytes), labels...)
	g(d.pressure, u.CPUPressure/100, append(labels, "cpu")...)
	g(d.pressure, u.MemoryPressure/100, append(labels, "memory")...)
	g(d.pressure, u.IOPressure/100, append(labels, "io")...)
}

// collectLimits exports the limits that are set (non-zero).
func collectLimits(d limitDescs, g gaugeFunc, cpus float64, mem, swap, pids int64, egressBps, ingressBps, disk uint64, labels ...string) {
	if cpus > 0 {
		g(d.cpu, cpus, labels...)
	}
	if mem > 0 {
		g(d.mem, float64(mem), labels...)
	}
	if swap > 0 {
		g(d.swap, float64(swap), labels...)
	}
	if pids > 0 {
		g(d.pids, float64(pids), labels...)
	}
	if egressBps > 0 {
		g(d.netEgress, float64(egressBps), labels...)
	}
	if ingressBps > 0 {
		g(d.netIngress, float64(ingressBps), labels...)
	}
	if disk > 0 {
		g(d.disk, float64(disk), labels...)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
