package metrics

import (
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

const (
	webID  = "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70f"
	jobID  = "9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
	nspawn = "build-runner-1"
)

// fixedView is a host with two tenants, three containers (one unassigned) and
// a throttle in force.
func fixedView() *view.View {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return &view.View{
		Time:   at,
		Source: "quelld",
		Policy: view.PolicyStatus{Valid: true, Summary: "2 tenants, 1 rule", LoadedAt: at.Add(-time.Hour), Tried: at.Add(-time.Hour)},
		Host: view.HostView{CPUs: 8, MemTotal: 16 << 30, MemAvailable: 9 << 30, Signals: map[string]float64{
			"host.cpu.some.avg10":    42.5,
			"host.cpu.some.avg1":     50,
			"host.memory.full.avg60": 1.5,
			"host.memory.available":  56.25, // a percentage: exported as quell_host_memory_available_bytes
		}, Pressure: [3]*view.StallCounters{{SomeSeconds: 900.5, HasFull: true}, {SomeSeconds: 30, FullSeconds: 10, HasFull: true}, {SomeSeconds: 60, FullSeconds: 45, HasFull: true}}},
		Tenants: []view.TenantView{
			{Name: "acme", Class: "guaranteed", Mode: "slice", Containers: 1,
				Usage:  view.Usage{CPUs: 1.25, ThrottledPct: 12.5, MemoryBytes: 512 << 20, SwapBytes: 1 << 20, IOReadBps: 3_100_000, IOWriteBps: 1_000_000, Pids: 42, NetRxBps: 8_000_000, NetTxBps: 16_000_000, DiskBytes: 2 << 30, CPUPressure: 10, MemoryPressure: 0, IOPressure: 5},
				Limits: view.TenantLimits{CPUs: 2.5, MemoryBytes: 4 << 30, SwapBytes: 1 << 30, Pids: 4096, NetEgress: 100_000_000, NetIngress: 200_000_000, DiskBytes: 20 << 30}},
			{Name: "ci", Class: "best-effort", Mode: "caps", Containers: 1,
				Usage: view.Usage{CPUs: 3.5, ThrottledPct: 50, MemoryBytes: 1 << 30, Pids: 300, CPUPressure: 60}},
		},
		Containers: []view.ContainerView{
			{Container: view.Container{ID: webID, Cgroup: "system.slice/docker-" + webID + ".scope", Runtime: "docker", Name: "acme-web", Tenant: "acme", Class: "guaranteed"},
				Usage: view.Usage{CPUs: 1.25, ThrottledPct: 12.5, MemoryBytes: 512 << 20, Pids: 42, OOMKills: 2, Counters: view.Counters{
					CPU:      &view.CPUCounters{UsageSeconds: 3600.5, UserSeconds: 3000.25, SystemSeconds: 600.25, Throttling: true, Periods: 36000, ThrottledPeriods: 4500, ThrottledSeconds: 120.75},
					IO:       &view.IOCounters{ReadBytes: 10 << 20, WriteBytes: 4 << 20, ReadOps: 2560, WriteOps: 1024},
					Net:      &view.NetCounters{RxBytes: 1 << 30, TxBytes: 2 << 30, RxPackets: 700000, TxPackets: 1400000},
					Pressure: [3]*view.StallCounters{{SomeSeconds: 12.5, FullSeconds: 0, HasFull: true}, {SomeSeconds: 1.5, FullSeconds: 0.5, HasFull: true}, {SomeSeconds: 3, FullSeconds: 2, HasFull: true}},
				}},
				Limits: []view.Limit{{File: "cpu.max", Value: "250000 100000"}, {File: "memory.max", Value: "1073741824"}, {File: "memory.swap.max", Value: "268435456"}, {File: "pids.max", Value: "4096"}},
				Set:    view.ContainerLimits{CPUs: 2.5, MemoryBytes: 1 << 30, SwapBytes: 256 << 20, Pids: 4096}},
			{Container: view.Container{ID: jobID, Cgroup: "system.slice/docker-" + jobID + ".scope", Runtime: "docker", Name: "ci-job", Tenant: "ci", Class: "best-effort"},
				Usage: view.Usage{CPUs: 3.5, ThrottledPct: 50, MemoryBytes: 1 << 30, Pids: 300, CPUPressure: 60, Counters: view.Counters{
					CPU: &view.CPUCounters{UsageSeconds: 7200, UserSeconds: 7000, SystemSeconds: 200}, // no cpu controller: no throttling counters
					IO:  &view.IOCounters{},
				}},
				Errors: []string{"write cpu.max: device busy"}, ErrorsTotal: 7, Penalty: &view.PenaltyView{ID: jobID, Action: "throttle", Rule: "cpu-contention"}},
			{Container: view.Container{ID: nspawn, Cgroup: "machine.slice/systemd-nspawn@build-runner-1.service", Runtime: "nspawn"}},
		},
		Penalties:  []view.PenaltyView{{ID: jobID, Action: "throttle", Rule: "cpu-contention", Factor: 0.5, Since: at.Add(-time.Minute), Deadline: at.Add(time.Minute)}},
		Quarantine: []view.QuarantineView{{ID: "c0ffee", Rule: "miner"}},
		Loop:       view.LoopStatus{Interval: time.Second, LastTick: at, LastDuration: 25 * time.Millisecond, Watched: 57, Errors: 1, ErrorsTotal: 9, Ticks: 3600},
	}
}
