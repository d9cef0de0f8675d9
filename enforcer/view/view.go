package view

import "time"

// View is the daemon's picture of the host at one moment: what the API
// serves, what `quell top`, `status`, `tenants`, `containers` and
// `explain` render, and what metrics export. It is a value: the loop
// publishes a fresh one each interval and readers never see it change.
type View struct {
	Time       time.Time       `json:"time"`
	Source     string          `json:"source"` // "quelld" or "cgroupfs" (read directly, no daemon)
	DryRun     bool            `json:"dry_run"`
	Policy     PolicyStatus    `json:"policy"`
	Host       HostView        `json:"host"`
	Tenants    []TenantView    `json:"tenants"`
	Containers []ContainerView `json:"containers"`
	Penalties  []PenaltyView   `json:"penalties"`
	// Quarantine are evicted containers watched for their runtime's
	// restart: one seen running again is evicted on sight.
	Quarantine []QuarantineView `json:"quarantine,omitempty"`
	// Rules are the policy's rules, one per scope (a tenant signal's rule
	// has one per tenant), as detection last saw them.
	Rules []RuleView `json:"rules,omitempty"`
	Loop  LoopStatus `json:"loop"`
}

// RuleView is one rule in one scope: its signal's last value, how long its
// condition has held, the ladder step it is on, and why it does not act
// when its condition holds but it does nothing.
type RuleView struct {
	Rule          string        `json:"rule"`
	Tenant        string        `json:"tenant,omitempty"` // the scope of a tenant signal
	Signal        string        `json:"signal"`
	Value         float64       `json:"value"`
	HasValue      bool          `json:"has_value"` // false: the signal was missing at the last pass
	HeldFor       time.Duration `json:"held_for_ns"`
	Step          int           `json:"step"`              // the last ladder step applied, from 1; 0 while idle
	Culprit       string        `json:"culprit,omitempty"` // container ID the ladder acts on
	CulpritName   string        `json:"culprit_name,omitempty"`
	CooldownUntil time.Time     `json:"cooldown_until,omitzero"`
	Waiting       string        `json:"waiting,omitempty"`
}

// PolicyStatus says which policy is in force and whether the last load worked.
type PolicyStatus struct {
	Valid    bool      `json:"valid"`   // the last load attempt succeeded
	Summary  string    `json:"summary"` // of the policy in force
	Files    []string  `json:"files"`
	Errors   []string  `json:"errors,omitempty"`   // of the last failed load; the last good policy stays in force
	Warnings []string  `json:"warnings,omitempty"` // of the policy in force: valid but unsafe among hostile tenants
	LoadedAt time.Time `json:"loaded_at"`          // when the policy in force was loaded
	Tried    time.Time `json:"tried_at"`           // last load attempt
}

// HostView holds host-wide signals.
type HostView struct {
	CPUs         int                `json:"cpus"`
	MemTotal     int64              `json:"mem_total_bytes"`
	MemAvailable int64              `json:"mem_available_bytes"`
	Signals      map[string]float64 `json:"signals"` // e.g. host.cpu.some.avg10
	// Pressure are the stall totals of /proc/pressure/{cpu,memory,io};
	// nil where the file could not be read.
	Pressure [3]*StallCounters `json:"pressure,omitempty"`
}

// TenantView is a tenant's aggregate usage against its limits.
type TenantView struct {
	Name       string       `json:"name"`
	Class      string       `json:"class"`
	Mode       string       `json:"mode"` // "slice": limits on quell.slice/quell-<name>.slice; "split": divided among containers; "caps": per-container only
	Containers int          `json:"containers"`
	Usage      Usage        `json:"usage"`
	Limits     TenantLimits `json:"limits"`
	LastAction string       `json:"last_action,omitempty"`
}

// TenantLimits are the aggregate limits of a tenant; zero means unlimited.
type TenantLimits struct {
	CPUs        float64 `json:"cpus,omitempty"`
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
	SwapBytes   int64   `json:"swap_bytes,omitempty"`
	Pids        int64   `json:"pids,omitempty"`
	NetEgress   uint64  `json:"net_egress_bits,omitempty"`
	NetIngress  uint64  `json:"net_ingress_bits,omitempty"`
	DiskBytes   uint64  `json:"disk_bytes,omitempty"`
}

// ContainerView is one container with its usage and what quell set on it.
type ContainerView struct {
	Container
	Usage   Usage           `json:"usage"`
	Limits  []Limit         `json:"limits,omitempty"`
	Set     ContainerLimits `json:"set,omitzero"`     // Limits as numbers; absent when none is set
	Errors  []string        `json:"errors,omitempty"` // writes the kernel refused, reads that failed
	Penalty *PenaltyView    `json:"penalty,omitempty"`

	// ErrorsTotal counts Errors over every pass since quelld found the
	// container.
	ErrorsTotal uint64 `json:"errors_total,omitempty"`
}

// ContainerLimits are the limits in force on a container, as numbers: the
// daemon computes them from the values in Limits, so readers parse no
// cgroup file. Zero means unset, unlimited ("max") or unreadable: a limit
// is never made up.
type ContainerLimits struct {
	CPUs        float64 `json:"cpus,omitempty"`         // cpu.max quota / period
	MemoryBytes int64   `json:"memory_bytes,omitempty"` // memory.max
	SwapBytes   int64   `json:"swap_bytes,omitempty"`   // memory.swap.max
	Pids        int64   `json:"pids,omitempty"`         // pids.max
}

// PenaltyView is an active throttle or freeze.
type PenaltyView struct {
	ID       string    `json:"id"` // container ID it applies to
	Cgroup   string    `json:"cgroup"`
	Action   string    `json:"action"` // throttle | freeze
	Rule     string    `json:"rule"`
	Factor   float64   `json:"factor,omitempty"`
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
	Reason   string    `json:"reason"`
}

// QuarantineView is an evicted container that is evicted again on sight
// until Until.
type QuarantineView struct {
	ID       string    `json:"id"` // container ID last evicted
	Cgroup   string    `json:"cgroup"`
	Identity string    `json:"identity"` // runtime + name (+ pod), or the cgroup when it had none
	Rule     string    `json:"rule"`     // the rule or detector that evicted it
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Kills    int       `json:"kills"`
	Reason   string    `json:"reason"`
}

// LoopStatus tells whether the loop is healthy.
type LoopStatus struct {
	Interval     time.Duration `json:"interval_ns"`
	LastTick     time.Time     `json:"last_tick"`
	LastDuration time.Duration `json:"last_duration_ns"`
	Watched      int           `json:"watched_cgroups"`
	Errors       int           `json:"errors_last_tick"`
	ErrorsTotal  uint64        `json:"errors_total"` // errors in every pass since start
	Ticks        uint64        `json:"ticks"`        // passes since start
	Woken        uint64        `json:"woken_ticks"`  // of them, passes a PSI trigger woke (not the interval)
	FullReads    uint64        `json:"full_reads"`   // containers read in full (not cpu.stat alone) since start
}

// Event is one thing quell did or decided, kept in the state dir and shown by
// `quell events`.
type Event struct {
	Seq     uint64             `json:"seq"`
	Time    time.Time          `json:"time"`
	Kind    string             `json:"kind"` // limit | restore | throttle | unthrottle | freeze | thaw | evict | policy | error
	Rule    string             `json:"rule,omitempty"`
	Tenant  string             `json:"tenant,omitempty"`
	Target  string             `json:"target,omitempty"` // container ID or cgroup
	Cgroup  string             `json:"cgroup,omitempty"`
	Reason  string             `json:"reason"`
	Before  string             `json:"before,omitempty"`
	After   string             `json:"after,omitempty"`
	DryRun  bool               `json:"dry_run,omitempty"`
	Signals map[string]float64 `json:"signals,omitempty"`
	// Evidence are the facts behind a decision that are not numbers (the
	// process name and pattern a detector matched, an endpoint, …).
	Evidence map[string]string `json:"evidence,omitempty"`
}

// PlanEntry is what `quell plan` shows for one cgroup: the writes quell
// would make, old → new, and why. Nothing is written to produce it.
type PlanEntry struct {
	Cgroup    string   `json:"cgroup"`
	Container string   `json:"container,omitempty"` // ID, empty for a tenant slice
	Tenant    string   `json:"tenant"`
	Changes   []Change `json:"changes"`
}

// Change is one file's planned or applied change.
type Change struct {
	File string `json:"file"`
	Old  string `json:"old"`
	New  string `json:"new"`
	Why  string `json:"why"` // e.g. "tenant acme limits.cpus = 2.5 split among 3 containers by demand"
	// DecidedBy (explain): policy, runtime or penalty (see Limit).
	DecidedBy string `json:"decided_by,omitempty"`
}

// Explanation is what `quell explain ID|CGROUP` tells a human.
type Explanation struct {
	Container ContainerView `json:"container"`
	Tenant    *TenantView   `json:"tenant,omitempty"`
	Match     string        `json:"match"`  // why this tenant (or why none)
	Meta      string        `json:"meta"`   // where the metadata came from, or why it could not be read
	Limits    []Change      `json:"limits"` // file, original → current, why
	Rules     []string      `json:"rules"`  // rules and detectors that can target it, or why none can
	Events    []Event       `json:"events"` // what quell did to it, newest last
}
