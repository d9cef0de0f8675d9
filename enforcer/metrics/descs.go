package metrics

import "github.com/prometheus/client_golang/prometheus"

// Names follow node_exporter and cAdvisor: base units in the name
// (_seconds, _bytes), cumulative kernel counters as *_total so that
// rate() works at any scrape interval, gauges only for limits and current
// values, one unit per metric.

var (
	tenantLabels    = []string{"tenant"}
	containerLabels = []string{"tenant", "container", "name"}
)

func desc(name, help string, labels []string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string{}, labels...), extra...), nil)
}

// limitDescs are the limits quell enforces on a tenant or a container; a
// series is only exported for a limit that is set. Network and disk limits
// are the tenant's only (nil for containers).
type limitDescs struct {
	cpu, mem, swap, pids, netEgress, netIngress, disk *prometheus.Desc
}

func newLimitDescs(scope, what string, labels []string, netDisk bool) limitDescs {
	d := func(name, help string) *prometheus.Desc {
		return desc("quell_"+scope+"_"+name, help+" of the "+what+"; absent when unlimited.", labels)
	}
	l := limitDescs{
		cpu:  d("cpu_limit_cpus", "CPU limit in CPUs"),
		mem:  d("memory_limit_bytes", "Memory limit (memory.max)"),
		swap: d("swap_limit_bytes", "Swap limit (memory.swap.max)"),
		pids: d("pids_limit", "pids.max"),
	}
	if netDisk {
		l.netEgress = d("network_transmit_limit_bytes_per_second", "Egress bandwidth limit")
		l.netIngress = d("network_receive_limit_bytes_per_second", "Ingress bandwidth limit")
		l.disk = d("disk_limit_bytes", "Disk quota")
	}
	return l
}

func (l limitDescs) all() []*prometheus.Desc {
	var out []*prometheus.Desc
	for _, d := range []*prometheus.Desc{l.cpu, l.mem, l.swap, l.pids, l.netEgress, l.netIngress, l.disk} {
		if d != nil {
			out = append(out, d)
		}
	}
	return out
}

// gaugeDescs are current values of a tenant (summed over its containers)
// or of a container.
type gaugeDescs struct {
	mem, swap, pids, disk *prometheus.Desc
}

func newGaugeDescs(scope, what string, labels []string) gaugeDescs {
	d := func(name, help string) *prometheus.Desc {
		return desc("quell_"+scope+"_"+name, help+" of the "+what+".", labels)
	}
	return gaugeDescs{
		mem:  d("memory_usage_bytes", "memory.current"),
		swap: d("swap_usage_bytes", "memory.swap.current"),
		pids: d("pids", "pids.current"),
		disk: d("disk_usage_bytes", "Disk usage counted by the project quota"),
	}
}

func (g gaugeDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{g.mem, g.swap, g.pids, g.disk}
}

// stallDescs are PSI stall totals by resource (cpu, memory, io): waiting is
// the pressure file's "some" line, stalled its "full" line, as
// node_exporter's node_pressure_* and cAdvisor's container_pressure_*.
type stallDescs struct {
	waiting, stalled [3]*prometheus.Desc
}

func newStallDescs(prefix, what string, labels []string) stallDescs {
	var s stallDescs
	for i, r := range psiResources {
		s.waiting[i] = desc(prefix+"_pressure_"+r+"_waiting_seconds_total",
			"Time in which at least one task of the "+what+" waited for "+r+" (PSI some total).", labels)
		s.stalled[i] = desc(prefix+"_pressure_"+r+"_stalled_seconds_total",
			"Time in which all non-idle tasks of the "+what+" stalled on "+r+" (PSI full total).", labels)
	}
	return s
}

func (s stallDescs) all() []*prometheus.Desc { return append(s.waiting[:], s.stalled[:]...) }

// psiResources are the pressure files, in view.Counters.Pressure's order.
var psiResources = [3]string{"cpu", "memory", "io"}

// containerCounters are one container's cumulative kernel counters.
type containerCounters struct {
	cpu, cpuUser, cpuSystem, periods, throttledPeriods, throttledSecs,
	ioReadBytes, ioWriteBytes, ioReads, ioWrites,
	netRxBytes, netTxBytes, netRxPackets, netTxPackets,
	oom, errors *prometheus.Desc
	stall stallDescs
}

func newContainerCounters() containerCounters {
	d := func(name, help string) *prometheus.Desc {
		return desc("quell_container_"+name, help, containerLabels)
	}
	return containerCounters{
		cpu:              d("cpu_usage_seconds_total", "CPU time consumed by the container (cpu.stat usage_usec)."),
		cpuUser:          d("cpu_user_seconds_total", "User CPU time consumed by the container (cpu.stat user_usec)."),
		cpuSystem:        d("cpu_system_seconds_total", "System CPU time consumed by the container (cpu.stat system_usec)."),
		periods:          d("cpu_cfs_periods_total", "Enforcement periods elapsed for the container's cpu.max (cpu.stat nr_periods)."),
		throttledPeriods: d("cpu_cfs_throttled_periods_total", "Periods in which the container was throttled (cpu.stat nr_throttled)."),
		throttledSecs:    d("cpu_cfs_throttled_seconds_total", "Time the container was throttled (cpu.stat throttled_usec)."),
		ioReadBytes:      d("io_read_bytes_total", "Bytes the container read from block devices (io.stat rbytes, all devices)."),
		ioWriteBytes:     d("io_written_bytes_total", "Bytes the container wrote to block devices (io.stat wbytes, all devices)."),
		ioReads:          d("io_reads_total", "Block reads completed for the container (io.stat rios, all devices)."),
		ioWrites:         d("io_writes_total", "Block writes completed for the container (io.stat wios, all devices)."),
		netRxBytes:       d("network_receive_bytes_total", "Bytes received by the container (its host-side veth; shaped containers only)."),
		netTxBytes:       d("network_transmit_bytes_total", "Bytes sent by the container (its host-side veth; shaped containers only)."),
		netRxPackets:     d("network_receive_packets_total", "Packets received by the container (its host-side veth; shaped containers only)."),
		netTxPackets:     d("network_transmit_packets_total", "Packets sent by the container (its host-side veth; shaped containers only)."),
		oom:              d("oom_kills_total", "OOM kills in the container (memory.events oom_kill)."),
		errors:           d("errors_total", "Failed reads and refused writes on the container since quelld found it."),
		stall:            newStallDescs("quell_container", "container", containerLabels),
	}
}

func (c containerCounters) all() []*prometheus.Desc {
	return append([]*prometheus.Desc{c.cpu, c.cpuUser, c.cpuSystem, c.periods, c.throttledPeriods, c.throttledSecs,
		c.ioReadBytes, c.ioWriteBytes, c.ioReads, c.ioWrites, c.netRxBytes, c.netTxBytes, c.netRxPackets, c.netTxPackets,
		c.oom, c.errors}, c.stall.all()...)
}

// tenantCounterDescs are the tenant's counters, in tenantCounter order.
var tenantCounterDescs = func() [nTenantCounters]*prometheus.Desc {
	d := func(name, help string) *prometheus.Desc {
		return desc("quell_tenant_"+name, help+" by the tenant's containers, counted by quelld since it started.", tenantLabels)
	}
	return [nTenantCounters]*prometheus.Desc{
		tcCPU:       d("cpu_usage_seconds_total", "CPU time consumed"),
		tcThrottled: d("cpu_cfs_throttled_seconds_total", "Time throttled"),
		tcIORead:    d("io_read_bytes_total", "Bytes read from block devices"),
		tcIOWrite:   d("io_written_bytes_total", "Bytes written to block devices"),
		tcNetRx:     d("network_receive_bytes_total", "Bytes received"),
		tcNetTx:     d("network_transmit_bytes_total", "Bytes sent"),
		tcOOM:       d("oom_kills_total", "OOM kills suffered"),
	}
}()

var (
	tenantGauge    = newGaugeDescs("tenant", "tenant's containers together", tenantLabels)
	tenantLimit    = newLimitDescs("tenant", "tenant (aggregate)", tenantLabels, true)
	containerGauge = newGaugeDescs("container", "container", containerLabels)
	containerLimit = newLimitDescs("container", "container as quell set it", containerLabels, false)
	containerCtr   = newContainerCounters()
	hostStall      = newStallDescs("quell_host", "host", nil)

	tenantInfo    = desc("quell_tenant_info", "Tenant class and enforcement mode; always 1.", []string{"tenant", "class", "mode"})
	tenantCtrs    = desc("quell_tenant_containers", "Containers assigned to the tenant.", tenantLabels)
	containerInfo = desc("quell_container_info", "Container identity; always 1.", []string{"tenant", "container", "name", "class", "runtime", "cgroup"})

	hostCPUs      = desc("quell_host_cpus", "CPUs on the host.", nil)
	hostMemTotal  = desc("quell_host_memory_total_bytes", "MemTotal of the host.", nil)
	hostMemAvail  = desc("quell_host_memory_available_bytes", "MemAvailable of the host.", nil)
	hostPressure  = desc("quell_host_pressure_ratio", "Host PSI averages (0..1) as quell's rules see them, by resource (cpu, memory, io), kind (some, full) and window (recent, avg1, avg10, avg60, avg300).", []string{"resource", "kind", "window"})
	penalties     = desc("quell_penalties_active", "Active penalties by action (throttle, freeze).", []string{"action"})
	quarantined   = desc("quell_quarantined_containers", "Evicted containers that are evicted again on sight if their runtime restarts them.", nil)
	policyValid   = desc("quell_policy_valid", "1 when the last policy load succeeded, 0 when it failed (the last good policy stays in force).", nil)
	policyLoaded  = desc("quell_policy_loaded_timestamp_seconds", "When the policy in force was loaded, Unix time.", nil)
	policyTried   = desc("quell_policy_last_reload_attempt_timestamp_seconds", "When a policy load was last attempted, Unix time.", nil)
	watched       = desc("quell_watched_cgroups", "Cgroups quell watches.", nil)
	lastTick      = desc("quell_loop_last_tick_timestamp_seconds", "When the enforcer loop last ran, Unix time.", nil)
	lastTickSecs  = desc("quell_loop_last_tick_duration_seconds", "How long the last loop pass took.", nil)
	loopPasses    = desc("quell_loop_passes_total", "Loop passes since quelld started.", nil)
	loopErrors    = desc("quell_loop_errors_total", "Errors in all loop passes since quelld started (failed reads, refused writes).", nil)
	dryRun        = desc("quell_dry_run", "1 when quelld only records what it would do.", nil)
	viewTimestamp = desc("quell_view_timestamp_seconds", "When the exported observation was made, Unix time.", nil)

	seriesDropped = desc("quell_metrics_series_dropped_total",
		"Series not exported because their labels were unusable or repeated another series' (a container's metadata), since quelld started.", nil)
	containersOmitted = desc("quell_metrics_containers_omitted",
		"Containers whose per-container series were left out at the last scrape because of the series cap (tenant totals still count them).", nil)
)

func allDescs() []*prometheus.Desc {
	out := []*prometheus.Desc{tenantInfo, tenantCtrs, containerInfo,
		hostCPUs, hostMemTotal, hostMemAvail, hostPressure, penalties, quarantined,
		policyValid, policyLoaded, policyTried, watched, lastTick, lastTickSecs, loopPasses, loopErrors, dryRun, viewTimestamp,
		seriesDropped, containersOmitted}
	out = append(out, tenantCounterDescs[:]...)
	out = append(out, tenantGauge.all()...)
	out = append(out, tenantLimit.all()...)
	out = append(out, containerGauge.all()...)
	out = append(out, containerLimit.all()...)
	out = append(out, containerCtr.all()...)
	out = append(out, hostStall.all()...)
	return out
}
