package metrics

import (
	"sort"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/internal/safetext"
)

// DefaultMaxContainers is how many containers get per-container series
// unless told otherwise: about 40 series each, so at most some 40,000.
const DefaultMaxContainers = 1000

// Collector exports the enforcer's latest View at each scrape. Its state is
// the count of series it had to drop and the tenant counters (tenantTotals):
// two scrapes of the same View give the same exposition.
//
// Label values come from whoever created a container (names, IDs, cgroup
// names): each is escaped and capped (labelValue), so it is valid UTF-8 and
// carries no control character. A series that still cannot be built, or
// that would repeat another's labels, is skipped and counted in
// quell_metrics_series_dropped_total: one bad container never fails the
// scrape.
//
// Per-container series are bounded: beyond MaxContainers containers, the
// rest are left out (quell_metrics_containers_omitted says how many);
// penalized containers come first, then those in a tenant, each in cgroup
// order. Tenant and host series always count every container.
type Collector struct {
	view    func() *view.View
	max     int
	dropped atomic.Uint64
	tenants *tenantTotals
}

// maxLabelRunes caps one label value (a 1 MiB name is no label).
const maxLabelRunes = 128

// labelValue is s as a label value: control characters, bidi overrides
// and invalid UTF-8 escaped (safetext), at most maxLabelRunes runes.
func labelValue(s string) string { return safetext.Escape(s, maxLabelRunes) }

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector reading current at each scrape, with
// per-container series for at most maxContainers containers (0 means
// DefaultMaxContainers). When current returns nil (no observation yet),
// nothing is exported.
func NewCollector(current func() *view.View, maxContainers int) *Collector {
	if maxContainers <= 0 {
		maxContainers = DefaultMaxContainers
	}
	return &Collector{view: current, max: maxContainers, tenants: newTenantTotals()}
}

// Describe sends every descriptor the Collector can export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs() {
		ch <- d
	}
}

// emitter sends series, escaping label values and dropping (and counting)
// a series it cannot build or has already sent.
type emitter struct {
	ch      chan<- prometheus.Metric
	seen    map[*prometheus.Desc]map[string]bool
	dropped *atomic.Uint64
}

func (e *emitter) emit(d *prometheus.Desc, kind prometheus.ValueType, val float64, labels ...string) {
	safe := make([]string, len(labels))
	for i, l := range labels {
		safe[i] = labelValue(l)
	}
	key := strings.Join(safe, "\x00") // no label value holds a NUL once escaped
	if e.seen[d][key] {
		e.dropped.Add(1)
		return
	}
	m, err := prometheus.NewConstMetric(d, kind, val, safe...)
	if err != nil {
		e.dropped.Add(1)
		return
	}
	if e.seen[d] == nil {
		e.seen[d] = map[string]bool{}
	}
	e.seen[d][key] = true
	e.ch <- m
}

func (e *emitter) gauge(d *prometheus.Desc, val float64, labels ...string) {
	e.emit(d, prometheus.GaugeValue, val, labels...)
}

func (e *emitter) counter(d *prometheus.Desc, val float64, labels ...string) {
	e.emit(d, prometheus.CounterValue, val, labels...)
}

// Collect exports the current View.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	v := c.view()
	if v == nil {
		return
	}
	e := &emitter{ch: ch, seen: map[*prometheus.Desc]map[string]bool{}, dropped: &c.dropped}
	defer func() { e.counter(seriesDropped, float64(c.dropped.Load())) }()
	collectStatus(v, e)
	collectHost(v.Host, e)
	totals := c.tenants.update(v)
	for _, t := range v.Tenants {
		e.gauge(tenantInfo, 1, t.Name, t.Class, t.Mode)
		e.gauge(tenantCtrs, float64(t.Containers), t.Name)
		collectGauges(tenantGauge, t.Usage, e, t.Name)
		l := t.Limits
		collectLimits(tenantLimit, e, l.CPUs, l.MemoryBytes, l.SwapBytes, l.Pids, l.NetEgress/8, l.NetIngress/8, l.DiskBytes, t.Name)
		tot := totals[t.Name]
		for i, d := range tenantCounterDescs {
			e.counter(d, tot[i], t.Name)
		}
	}
	shown := capContainers(v.Containers, c.max)
	e.gauge(containersOmitted, float64(len(v.Containers)-len(shown)))
	for _, ct := range shown {
		labels := []string{ct.Tenant, shortID(ct.ID), ct.Name}
		e.gauge(containerInfo, 1, ct.Tenant, shortID(ct.ID), ct.Name, ct.Class, ct.Runtime, ct.Cgroup)
		collectGauges(containerGauge, ct.Usage, e, labels...)
		cl := ct.Set
		collectLimits(containerLimit, e, cl.CPUs, cl.MemoryBytes, cl.SwapBytes, cl.Pids, 0, 0, 0, labels...) // no network or disk limit per container
		collectCounters(ct.Usage, e, labels...)
		e.counter(containerCtr.errors, float64(ct.ErrorsTotal), labels...)
	}
	counts := map[string]int{"throttle": 0, "freeze": 0}
	for _, p := range v.Penalties {
		counts[p.Action]++
	}
	for a, n := range counts {
		e.gauge(penalties, float64(n), a)
	}
	e.gauge(quarantined, float64(len(v.Quarantine)))
}

// capContainers returns at most max of cs: penalized first, then those in
// a tenant, then the rest, each group in the View's (cgroup) order.
func capContainers(cs []view.ContainerView, max int) []view.ContainerView {
	if len(cs) <= max {
		return cs
	}
	rank := func(c *view.ContainerView) int {
		switch {
		case c.Penalty != nil:
			return 0
		case c.Tenant != "":
			return 1
		}
		return 2
	}
	out := append([]view.ContainerView(nil), cs...)
	sort.SliceStable(out, func(a, b int) bool { return rank(&out[a]) < rank(&out[b]) })
	return out[:max]
}

func collectStatus(v *view.View, e *emitter) {
	e.gauge(policyValid, b2f(v.Policy.Valid))
	if !v.Policy.LoadedAt.IsZero() {
		e.gauge(policyLoaded, unix(v.Policy.LoadedAt))
	}
	if !v.Policy.Tried.IsZero() {
		e.gauge(policyTried, unix(v.Policy.Tried))
	}
	e.gauge(watched, float64(v.Loop.Watched))
	if !v.Loop.LastTick.IsZero() {
		e.gauge(lastTick, unix(v.Loop.LastTick))
		e.gauge(lastTickSecs, v.Loop.LastDuration.Seconds())
	}
	e.counter(loopPasses, float64(v.Loop.Ticks))
	e.counter(loopErrors, float64(v.Loop.ErrorsTotal))
	e.gauge(dryRun, b2f(v.DryRun))
	if !v.Time.IsZero() {
		e.gauge(viewTimestamp, unix(v.Time))
	}
}

func collectHost(h view.HostView, e *emitter) {
	if h.CPUs > 0 {
		e.gauge(hostCPUs, float64(h.CPUs))
	}
	if h.MemTotal > 0 {
		e.gauge(hostMemTotal, float64(h.MemTotal))
		e.gauge(hostMemAvail, float64(h.MemAvailable))
	}
	names := make([]string, 0, len(h.Signals))
	for k := range h.Signals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// Other signals (host.memory.available, a percentage) are
		// exported in base units elsewhere (quell_host_memory_*).
		if res, kind, win, ok := splitPSISignal(k); ok {
			e.gauge(hostPressure, h.Signals[k]/100, res, kind, win)
		}
	}
	collectStall(hostStall, h.Pressure, e)
}

func collectStall(d stallDescs, p [3]*view.StallCounters, e *emitter, labels ...string) {
	for i, s := range p {
		if s == nil {
			continue
		}
		e.counter(d.waiting[i], s.SomeSeconds, labels...)
		if s.HasFull {
			e.counter(d.stalled[i], s.FullSeconds, labels...)
		}
	}
}

func collectGauges(d gaugeDescs, u view.Usage, e *emitter, labels ...string) {
	e.gauge(d.mem, float64(u.MemoryBytes), labels...)
	e.gauge(d.swap, float64(u.SwapBytes), labels...)
	e.gauge(d.pids, float64(u.Pids), labels...)
	e.gauge(d.disk, float64(u.DiskBytes), labels...)
}

// collectCounters exports the container's counters that were read.
func collectCounters(u view.Usage, e *emitter, labels ...string) {
	d, c := containerCtr, u.Counters
	if c.CPU != nil {
		e.counter(d.cpu, c.CPU.UsageSeconds, labels...)
		e.counter(d.cpuUser, c.CPU.UserSeconds, labels...)
		e.counter(d.cpuSystem, c.CPU.SystemSeconds, labels...)
		if c.CPU.Throttling {
			e.counter(d.periods, float64(c.CPU.Periods), labels...)
			e.counter(d.throttledPeriods, float64(c.CPU.ThrottledPeriods), labels...)
			e.counter(d.throttledSecs, c.CPU.ThrottledSeconds, labels...)
		}
	}
	if c.IO != nil {
		e.counter(d.ioReadBytes, float64(c.IO.ReadBytes), labels...)
		e.counter(d.ioWriteBytes, float64(c.IO.WriteBytes), labels...)
		e.counter(d.ioReads, float64(c.IO.ReadOps), labels...)
		e.counter(d.ioWrites, float64(c.IO.WriteOps), labels...)
	}
	if c.Net != nil {
		e.counter(d.netRxBytes, float64(c.Net.RxBytes), labels...)
		e.counter(d.netTxBytes, float64(c.Net.TxBytes), labels...)
		e.counter(d.netRxPackets, float64(c.Net.RxPackets), labels...)
		e.counter(d.netTxPackets, float64(c.Net.TxPackets), labels...)
	}
	e.counter(d.oom, float64(u.OOMKills), labels...)
	collectStall(d.stall, c.Pressure, e, labels...)
}

// collectLimits exports the limits that are set (non-zero).
func collectLimits(d limitDescs, e *emitter, cpus float64, mem, swap, pids int64, egressBps, ingressBps, disk uint64, labels ...string) {
	if cpus > 0 {
		e.gauge(d.cpu, cpus, labels...)
	}
	if mem > 0 {
		e.gauge(d.mem, float64(mem), labels...)
	}
	if swap > 0 {
		e.gauge(d.swap, float64(swap), labels...)
	}
	if pids > 0 {
		e.gauge(d.pids, float64(pids), labels...)
	}
	if egressBps > 0 {
		e.gauge(d.netEgress, float64(egressBps), labels...)
	}
	if ingressBps > 0 {
		e.gauge(d.netIngress, float64(ingressBps), labels...)
	}
	if disk > 0 {
		e.gauge(d.disk, float64(disk), labels...)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
