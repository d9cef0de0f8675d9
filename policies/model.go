package policies

import "time"

// Class is a tenant's service class.
type Class string

const (
	Guaranteed Class = "guaranteed"
	Burstable  Class = "burstable" // the default
	BestEffort Class = "best-effort"
)

// Policy is the merged content of every policy file, in lexical file order.
type Policy struct {
	Tenants   []Tenant
	Rules     []Rule
	Detectors []Detector
	Files     []string // files read, in order

	matchers []tenantMatcher // compiled Tenants[i].Match, built by Load and Parse
}

// Pos is where something was defined.
type Pos struct {
	File string
	Line int
	Col  int
}

// Tenant is one [[tenant]] table.
type Tenant struct {
	Name      string
	Class     Class
	Match     Match
	Limits    Limits // aggregate across the tenant's containers
	Container Limits // caps on each container of the tenant
	// Override lets the policy loosen limits the container runtime set
	// (`override = true`). By default (false) a limit the runtime set on a
	// container's cgroup is a ceiling the policy only tightens.
	Override bool
	Pos      Pos
}

// Match selects containers; every non-empty field must hold (AND).
// Within a field any entry may match (OR); Labels must all match.
type Match struct {
	Cgroups []string          // globs on the cgroup path relative to the cgroup root, no leading "/"
	Names   []string          // globs on the container name
	Labels  map[string]string // exact values; a value of "*" means "key present"
	// TrustedLabels are matched only against labels the runtime itself set
	// (Container.TrustedLabels), never against ones the container's creator
	// supplied: e.g. io.kubernetes.pod.namespace as containerd's CRI plugin
	// recorded it for the pod sandbox. Same value rules as Labels.
	TrustedLabels map[string]string
}

// Limits is a set of optional limits; nil means "not set".
type Limits struct {
	CPUs       *float64 // cpu.max quota/period, in CPUs
	CPUWeight  *uint64  // cpu.weight 1..10000
	Cpuset     *string  // cpuset.cpus
	CpusetMems *string  // cpuset.mems
	Memory     *int64   // bytes, memory.max
	MemoryHigh *int64   // bytes, memory.high
	MemoryLow  *int64   // bytes, memory.low
	Swap       *int64   // bytes, memory.swap.max
	Pids       *int64   // pids.max
	IO         []IOLimit
	IOWeight   *uint64 // io.weight 1..10000
	Net        *NetLimit
	Disk       *DiskLimit
	Ulimits    *Ulimits // [tenant.container] only (ulimits.go)
}

// IOLimit is one io.max entry. Zero rates mean "not limited".
type IOLimit struct {
	Device    string // a block device path, e.g. /dev/vda
	ReadBPS   uint64 // bytes/s
	WriteBPS  uint64
	ReadIOPS  uint64
	WriteIOPS uint64
}

// NetLimit is a bandwidth limit in bits per second; 0 means not limited.
type NetLimit struct {
	EgressBits  uint64
	IngressBits uint64
}

// DiskLimit is a project-quota limit; 0 means not limited.
type DiskLimit struct {
	Bytes   uint64
	Inodes  uint64
	Volumes []string // extra directories to put under the container's project
}

// Signal condition of a rule.
type When struct {
	Signal string // e.g. host.cpu.some.avg10, tenant.memory.full.avg10
	Above  *float64
	Below  *float64
	For    time.Duration
}

// Target restricts a rule's culprits.
type Target struct {
	Classes []Class  // empty: every class
	Tenants []string // empty: every tenant; otherwise names of defined tenants
	Rank    string   // cpu | memory | io | pids; defaults to the resource of When.Signal
}

// Step is one rung of a ladder.
type Step struct {
	Action string        // throttle | freeze | evict
	Factor float64       // throttle only, 0 < f < 1
	For    time.Duration // throttle/freeze duration; 0 for evict
}

// Rule is one [[rule]] table.
type Rule struct {
	Name     string
	When     When
	Release  *float64 // hysteresis: released when the signal is back below (or above) this; defaults to the threshold
	Target   Target
	Ladder   []Step
	Cooldown time.Duration
	// Quarantine is how long a container this rule evicted is remembered:
	// seen running again (restarted by its runtime) within it, it is
	// evicted again on sight. nil: DefaultQuarantine; 0: not remembered.
	Quarantine *time.Duration
	DryRun     bool
	Pos        Pos
}

// DefaultQuarantine is a rule's or detector's quarantine when it sets none.
const DefaultQuarantine = 10 * time.Minute

// QuarantineOr is q, or DefaultQuarantine when q is nil.
func QuarantineOr(q *time.Duration) time.Duration {
	if q == nil {
		return DefaultQuarantine
	}
	return *q
}

// Detector is one [[detector]] table.
type Detector struct {
	Name      string
	Kind      string // flat-cpu | process-name | endpoint
	MinCPUs   float64
	MaxStddev float64       // flat-cpu: max standard deviation of CPUs over the window
	Window    time.Duration // flat-cpu
	Names     []string      // process-name: globs on comm or exe basename
	Ports     []int         // endpoint: denied remote ports
	Addresses []string      // endpoint: denied remote CIDRs
	Action    string        // throttle | freeze | evict
	Factor    float64
	For       time.Duration
	Classes   []Class
	// Quarantine: as Rule.Quarantine, for containers this detector evicted.
	Quarantine *time.Duration
	Pos        Pos
}

// Container is what matching needs to know about a container.
type Container struct {
	Cgroup string            // relative to the cgroup root, no leading "/"
	Name   string            // may be empty when metadata is unreadable
	Labels map[string]string // labels and annotations, whoever set them
	// TrustedLabels are the labels the runtime set itself (not the
	// container's creator); only these satisfy Match.TrustedLabels.
	TrustedLabels map[string]string
}

// Options carry the facts about the host that validation needs.
type Options struct {
	HostCPUs     int                     // cpus may not exceed it; 0 = don't check
	DeviceExists func(path string) error // nil = don't check io devices
}

// Actions of a ladder step or a detector.
const (
	ActionThrottle = "throttle" // lower the culprit's cpu.max (and io.max) by Factor for For
	ActionFreeze   = "freeze"   // freeze the culprit's cgroup for For
	ActionEvict    = "evict"    // kill the culprit's cgroup; always the last step
)

// Detector kinds.
const (
	KindFlatCPU     = "flat-cpu"     // near-constant CPU use over Window (crypto miners)
	KindProcessName = "process-name" // a process whose comm or exe basename matches Names
	KindEndpoint    = "endpoint"     // a connection to a denied port or address
)

// Ranks: what a rule's culprits are ordered by.
const (
	RankCPU    = "cpu"
	RankMemory = "memory"
	RankIO     = "io"
	RankPids   = "pids"
)
