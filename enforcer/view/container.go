package view

import "time"

// Container is one discovered container cgroup and what quell knows of it.
type Container struct {
	ID      string            `json:"id"`      // runtime ID (64 hex for Docker/containerd/podman) or the cgroup's base name
	Cgroup  string            `json:"cgroup"`  // relative to the cgroup root, no leading "/"
	Runtime string            `json:"runtime"` // docker | containerd | cri-o | podman | nspawn | lxc | unknown
	Name    string            `json:"name,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// TrustedLabels are the labels the runtime set itself (see
	// policies' trusted_labels); also in Labels.
	TrustedLabels map[string]string `json:"trusted_labels,omitempty"`
	PID           int               `json:"pid,omitempty"` // init PID, 0 when unknown
	Bundle        string            `json:"bundle,omitempty"`
	// Sources says where each fact came from ("name", "labels", "pid",
	// "data-root" → a runtime state file or an engine's API).
	Sources map[string]string `json:"sources,omitempty"`
	// MetaErr says why runtime metadata could not be read; the container is
	// then classified by its cgroup path alone.
	MetaErr string `json:"meta_error,omitempty"`
	// Sandbox marks a Kubernetes pod's sandbox (pause) container, as its CRI
	// runtime labels it: not a workload, so in no tenant.
	Sandbox bool `json:"sandbox,omitempty"`

	Tenant      string `json:"tenant,omitempty"`
	Class       string `json:"class,omitempty"`
	MatchReason string `json:"match_reason"`
}

// Usage is one observation of a cgroup's counters turned into rates.
type Usage struct {
	At             time.Time `json:"at"`
	CPUs           float64   `json:"cpus"`           // CPU usage rate over the last interval
	Window         float64   `json:"window_s"`       // seconds the rates (CPUs, throttled, io) cover, ending At
	ThrottledPct   float64   `json:"throttled_pct"`  // nr_throttled / nr_periods over the interval, %
	MemoryBytes    int64     `json:"memory_bytes"`   // memory.current
	SwapBytes      int64     `json:"swap_bytes"`     // memory.swap.current
	IOReadBps      float64   `json:"io_read_bps"`    // bytes/s
	IOWriteBps     float64   `json:"io_write_bps"`   // bytes/s
	Pids           int64     `json:"pids"`           // pids.current
	NetRxBps       float64   `json:"net_rx_bps"`     // bits/s to the container
	NetTxBps       float64   `json:"net_tx_bps"`     // bits/s from the container
	DiskBytes      int64     `json:"disk_bytes"`     // project quota usage
	CPUPressure    float64   `json:"cpu_some_avg10"` // cpu.pressure some avg10
	MemoryPressure float64   `json:"mem_some_avg10"` // memory.pressure some avg10
	IOPressure     float64   `json:"io_some_avg10"`  // io.pressure some avg10
	OOMKills       uint64    `json:"oom_kills"`      // memory.events oom_kill
	// Counters are the cumulative counters the rates above come from
	// (containers only; a tenant's are left empty).
	Counters Counters `json:"counters,omitzero"`
}

// Limit is what quell set on a cgroup file, for display.
type Limit struct {
	File     string `json:"file"`
	Value    string `json:"value"`
	Original string `json:"original,omitempty"`
	Why      string `json:"why,omitempty"`
	// DecidedBy is which decided the value: "policy" (the tenant's limits,
	// split share or per-container cap), "runtime" (the container
	// runtime's own limit, tighter than the policy's: a ceiling quell
	// keeps) or "penalty" (a throttle in force); "" when quell no longer
	// plans the file.
	DecidedBy string `json:"decided_by,omitempty"`
}
