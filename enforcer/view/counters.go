package view

// Counters are a cgroup's cumulative kernel counters at its last good read.
// They only grow while the cgroup lives; a cgroup removed and made again
// under the same path starts again from zero. Exporters hand them on as
// counters (Prometheus *_total), so that readers compute rates over any
// window they like. A nil group was never read: it is not a zero.
type Counters struct {
	CPU *CPUCounters `json:"cpu,omitempty"` // cpu.stat
	IO  *IOCounters  `json:"io,omitempty"`  // io.stat, summed over devices
	Net *NetCounters `json:"net,omitempty"` // the container's host-side veth, when quell shapes it
	// Pressure are the stall totals of cpu.pressure, memory.pressure and
	// io.pressure, in that order.
	Pressure [3]*StallCounters `json:"pressure,omitempty"`
}

// CPUCounters are cpu.stat's counters in seconds and periods. Periods,
// ThrottledPeriods and ThrottledSeconds are only valid when Throttling
// (the cpu controller is enabled for the cgroup).
type CPUCounters struct {
	UsageSeconds     float64 `json:"usage_seconds"`
	UserSeconds      float64 `json:"user_seconds"`
	SystemSeconds    float64 `json:"system_seconds"`
	Throttling       bool    `json:"throttling"`
	Periods          uint64  `json:"periods"`
	ThrottledPeriods uint64  `json:"throttled_periods"`
	ThrottledSeconds float64 `json:"throttled_seconds"`
}

// IOCounters are io.stat's rbytes, wbytes, rios and wios summed over the
// devices the cgroup did I/O on.
type IOCounters struct {
	ReadBytes  uint64 `json:"read_bytes"`
	WriteBytes uint64 `json:"write_bytes"`
	ReadOps    uint64 `json:"read_ops"`
	WriteOps   uint64 `json:"write_ops"`
}

// NetCounters are bytes and packets received by and sent from the
// container, as its host-side veth counts them.
type NetCounters struct {
	RxBytes   uint64 `json:"rx_bytes"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	TxPackets uint64 `json:"tx_packets"`
}

// StallCounters are a pressure file's total= values in seconds: the time
// some task was stalled (Some) and, when HasFull, the time all non-idle
// tasks were (Full).
type StallCounters struct {
	SomeSeconds float64 `json:"some_seconds"`
	FullSeconds float64 `json:"full_seconds"`
	HasFull     bool    `json:"has_full"`
}
