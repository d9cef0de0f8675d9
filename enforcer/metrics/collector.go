package metrics

import (
	"sort"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/internal/safetext"
)

// Collector exports the enforcer's latest View at each scrape. Besides the
// count of series it had to drop, it holds no state of its own: two scrapes
// of the same View give the same exposition.
//
// Label values come from whoever created a container (names, IDs, cgroup
// names): each is escaped and capped (labelValue), so it is valid UTF-8 and
// carries no control character. A series that still cannot be built, or
// that would repeat another's labels, is skipped and counted in
// quell_metrics_series_dropped_total: one bad container never fails the
// scrape.
type Collector struct {
	view    func() *view.View
	dropped atomic.Uint64
}

// maxLabelRunes caps one label value (a 1 MiB name is no label).
const maxLabelRunes = 128

// labelValue is s as a label value: control characters, bidi overrides
// and invalid UTF-8 escaped (safetext), at most maxLabelRunes runes.
func labelValue(s string) string { return safetext.Escape(s, maxLabelRunes) }

var seriesDropped = prometheus.NewDesc("quell_metrics_series_dropped_total",
	"Series not exported because their labels were unusable or repeated another series' (a container's metadata), since quelld started.", nil, nil)

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
	ch <- seriesDropped
}

// Collect exports the current View.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	v := c.view()
	if v == nil {
		return
	}
	defer func() {
		ch <- prometheus.MustNewConstMetric(seriesDropped, prometheus.CounterValue, float64(c.dropped.Load()))
	}()
	seen := map[*prometheus.Desc]map[string]bool{}
	emit := func(d *prometheus.Desc, kind prometheus.ValueType, val float64, labels ...string) {
		safe := make([]string, len(labels))
		for i, l := range labels {
			safe[i] = labelValue(l)
		}
		key := strings.Join(safe, "\x00") // no label value holds a NUL once escaped
		if seen[d][key] {
			c.dropped.Add(1)
			return
		}
		m, err := prometheus.NewConstMetric(d, kind, val, safe...)
		if err != nil {
			c.dropped.Add(1)
			return
		}
		if seen[d] == nil {
			seen[d] = map[string]bool{}
		}
		seen[d][key] = true
		ch <- m
	}
	g := func(d *prometheus.Desc, val float64, labels ...string) {
		emit(d, prometheus.GaugeValue, val, labels...)
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
		emit(containerOOM, prometheus.CounterValue, float64(ct.Usage.OOMKills), labels...)
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
