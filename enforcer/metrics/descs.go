package metrics

import "github.com/prometheus/client_golang/prometheus"

// usageDescs are the per-tenant or per-container usage series; the label
// names differ, the meanings do not.
type usageDescs struct {
	cpu, throttled, mem, swap, ioRead, ioWrite, pids, netRx, netTx, disk, pressure *prometheus.Desc
}

func newUsageDescs(scope, what string, labels []string) usageDescs {
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc("quell_"+scope+"_"+name, help+" of the "+what+".", append(append([]string{}, labels...), extra...), nil)
	}
	return usageDescs{
		cpu:       d("cpu_usage_cpus", "CPU usage rate over the last interval, in CPUs,"),
		throttled: d("cpu_throttled_ratio", "Fraction of CFS periods throttled over the last interval (0..1),"),
		mem:       d("memory_usage_bytes", "memory.current"),
		swap:      d("swap_usage_bytes", "memory.swap.current"),
		ioRead:    d("io_read_bytes_per_second", "Block io read rate"),
		ioWrite:   d("io_write_bytes_per_second", "Block io write rate"),
		pids:      d("pids", "pids.current"),
		netRx:     d("network_receive_bytes_per_second", "Network receive rate"),
		netTx:     d("network_transmit_bytes_per_second", "Network transmit rate"),
		disk:      d("disk_usage_bytes", "Disk usage counted by the project quota"),
		pressure:  d("pressure_some_avg10_ratio", "PSI some avg10 (0..1) by resource (cpu, memory, io)", "resource"),
	}
}

// limitDescs are the limits quell enforces on a tenant or a container; a
// series is only exported for a limit that is set.
type limitDescs struct {
	cpu, mem, swap, pids, netEgress, netIngress, disk *prometheus.Desc
}

func newLimitDescs(scope, what string, labels []string) limitDescs {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("quell_"+scope+"_"+name, help+" of the "+what+"; absent when unlimited.", labels, nil)
	}
	return limitDescs{
		cpu:        d("cpu_limit_cpus", "CPU limit in CPUs"),
		mem:        d("memory_limit_bytes", "Memory limit (memory.max)"),
		swap:       d("swap_limit_bytes", "Swap limit (memory.swap.max)"),
		pids:       d("pids_limit", "pids.max"),
		netEgress:  d("network_transmit_limit_bytes_per_second", "Egress bandwidth limit"),
		netIngress: d("network_receive_limit_bytes_per_second", "Ingress bandwidth limit"),
		disk:       d("disk_limit_bytes", "Disk quota"),
	}
}

var (
	tenantLabels    = []string{"tenant"}
	containerLabels = []string{"tenant", "container", "name"}

	tenantUsage     = newUsageDescs("tenant", "tenant's containers together", tenantLabels)
	tenantLimit     = newLimitDescs("tenant", "tenant (aggregate)", tenantLabels)
	containerUsage  = newUsageDescs("container", "container", containerLabels)
	containerLimit  = newLimitDescs("container", "container as quell set it", containerLabels)
	tenantInfo      = prometheus.NewDesc("quell_tenant_info", "Tenant class and enforcement mode; always 1.", []string{"tenant", "class", "mode"}, nil)
	tenantCtrs      = prometheus.NewDesc("quell_tenant_containers", "Containers assigned to the tenant.", tenantLabels, nil)
	containerInfo   = prometheus.NewDesc("quell_container_info", "Container identity; always 1.", []string{"tenant", "container", "name", "class", "runtime", "cgroup"}, nil)
	containerOOM    = prometheus.NewDesc("quell_container_oom_kills_total", "OOM kills in the container (memory.events oom_kill).", containerLabels, nil)
	containerErrors = prometheus.NewDesc("quell_container_errors", "Failed reads and refused writes on the container in the last pass.", containerLabels, nil)

	hostCPUs      = prometheus.NewDesc("quell_host_cpus", "CPUs on the host.", nil, nil)
	hostMemTotal  = prometheus.NewDesc("quell_host_memory_total_bytes", "MemTotal of the host.", nil, nil)
	hostMemAvail  = prometheus.NewDesc("quell_host_memory_available_bytes", "MemAvailable of the host.", nil, nil)
	hostPressure  = prometheus.NewDesc("quell_host_pressure_ratio", "Host PSI averages (0..1) by resource, kind (some, full) and window (avg10, avg60, avg300).", []string{"resource", "kind", "window"}, nil)
	hostSignal    = prometheus.NewDesc("quell_host_signal", "Other host signals rules can use, by name, in their own units.", []string{"signal"}, nil)
	penalties     = prometheus.NewDesc("quell_penalties_active", "Active penalties by action (throttle, freeze).", []string{"action"}, nil)
	policyValid   = prometheus.NewDesc("quell_policy_valid", "1 when the last policy load succeeded, 0 when it failed (the last good policy stays in force).", nil, nil)
	policyLoaded  = prometheus.NewDesc("quell_policy_loaded_timestamp_seconds", "When the policy in force was loaded, Unix time.", nil, nil)
	policyTried   = prometheus.NewDesc("quell_policy_last_reload_attempt_timestamp_seconds", "When a policy load was last attempted, Unix time.", nil, nil)
	watched       = prometheus.NewDesc("quell_watched_cgroups", "Cgroups quell watches.", nil, nil)
	lastTick      = prometheus.NewDesc("quell_loop_last_tick_timestamp_seconds", "When the enforcer loop last ran, Unix time.", nil, nil)
	lastTickSecs  = prometheus.NewDesc("quell_loop_last_tick_duration_seconds", "How long the last loop pass took.", nil, nil)
	loopErrors    = prometheus.NewDesc("quell_loop_errors", "Errors in the last loop pass.", nil, nil)
	dryRun        = prometheus.NewDesc("quell_dry_run", "1 when quelld only records what it would do.", nil, nil)
	viewTimestamp = prometheus.NewDesc("quell_view_timestamp_seconds", "When the exported observation was made, Unix time.", nil, nil)
)

func (u usageDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{u.cpu, u.throttled, u.mem, u.swap, u.ioRead, u.ioWrite, u.pids, u.netRx, u.netTx, u.disk, u.pressure}
}

func (l limitDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{l.cpu, l.mem, l.swap, l.pids, l.netEgress, l.netIngress, l.disk}
}

func allDescs() []*prometheus.Desc {
	out := []*prometheus.Desc{tenantInfo, tenantCtrs, containerInfo, containerOOM, containerErrors,
		hostCPUs, hostMemTotal, hostMemAvail, hostPressure, hostSignal, penalties,
		policyValid, policyLoaded, policyTried, watched, lastTick, lastTickSecs, loopErrors, dryRun, viewTimestamp}
	out = append(out, tenantUsage.all()...)
	out = append(out, tenantLimit.all()...)
	out = append(out, containerUsage.all()...)
	out = append(out, containerLimit.all()...)
	return out
}
