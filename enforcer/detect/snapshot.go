package detect

import (
	"net/netip"
	"time"

	"github.com/quell-dev/quell/policies"
)

// Snapshot is everything detection needs from one observe step.
type Snapshot struct {
	// Time the samples were taken. Ticks must not go backwards; a gap longer
	// than Config.MaxGap between two snapshots breaks every "for" duration.
	Time time.Time

	// ActAt is when this snapshot's actions are carried out (the act step's
	// clock, after observing). Penalties run for their duration from here,
	// so a slow pass (quelld itself stalled on a thrashing host) does not eat
	// into them: a 5 s throttle decided on 8 s-old samples still lasts 5 s.
	// Zero or before Time: Time.
	ActAt time.Time

	// Host signals by name: "host.cpu.some.avg10", "host.memory.full.avg10",
	// "host.memory.available" (bytes), … A signal whose read failed must be
	// left out, never set to 0: a missing signal breaks "for" and never
	// counts as relief.
	Host map[string]float64

	// Tenants by name: their guarantees (for ranking) and their own signals
	// ("tenant.cpu.some.avg10", …).
	Tenants map[string]Tenant

	// Units are the cgroups quell manages, each once. A unit that was in the
	// previous snapshot and is not in this one is gone: its penalties are
	// forgotten without lifting actions.
	Units []Unit
}

// Tenant is what ranking and tenant signals need about one tenant.
type Tenant struct {
	Class policies.Class
	// Guarantee is what the tenant is guaranteed of each resource in
	// aggregate (e.g. its cpus for a guaranteed tenant or a share of the host
	// by cpu_weight, memory_low, …); a zero field means "nothing guaranteed".
	Guarantee Usage
	// Signals of the tenant, named "tenant.<resource>.<some|full>.<avg>"
	// (as in a rule's when.signal). Left out when unreadable.
	Signals map[string]float64
}

// Usage is a sample of resource use. A negative field means "unknown" (the
// read failed): such a unit is not ranked on that resource.
type Usage struct {
	CPU    float64 // CPUs (cores' worth of time per second)
	Memory float64 // bytes
	IO     float64 // bytes/s, read + write
	Pids   float64 // tasks
}

// Unit is one container cgroup in a snapshot.
type Unit struct {
	ID   string // container ID, for reasons, events and `quell release ID`
	Name string // human name for reasons; ID when empty
	// Cgroup is relative to the cgroup root, no leading "/". It is the key
	// of everything the engine keeps about a unit (penalties, ladders,
	// detector state, evictions): IDs come from cgroup names a tenant may
	// choose, so two units may share one, never a cgroup.
	Cgroup string
	Tenant string // "" when unassigned (never a rule target)
	Class  policies.Class

	// Protected units (quelld's own cgroup, init.scope, the root) are never
	// targets of anything. The enforcer filters them before detection; this
	// is the second lock.
	Protected bool

	// WithinLimits is true when the unit and its tenant use no more than
	// their own limits. A guaranteed unit within its limits is never a target.
	WithinLimits bool

	Usage Usage

	// Processes are comm names and exe basenames of the unit's tasks (for
	// process-name detectors); Endpoints are remote addresses of its
	// connections (for endpoint detectors). Nil when not collected.
	Processes []string
	Endpoints []netip.AddrPort

	// Identity names the container across restarts, whatever its ID and
	// cgroup: its runtime and the name the runtime gave it (and the pod,
	// for Kubernetes). "" when the runtime gave it no name. A quarantine
	// watches it.
	Identity string
	// Populated: whether the cgroup holds a process (cgroup.events). The
	// enforcer reads it for units a quarantine watches (Engine.Quarantined);
	// nil when not read or unreadable.
	Populated *bool
}

// Ref names a unit in actions and penalties.
type Ref struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Cgroup string `json:"cgroup"`
}

func (u *Unit) ref() Ref { return Ref{ID: u.ID, Name: u.Name, Cgroup: u.Cgroup} }

func (u *Unit) label() string {
	if u.Name != "" {
		return u.Name
	}
	return u.ID
}

// actAt is when penalties imposed from s start.
func (s *Snapshot) actAt() time.Time {
	if s.ActAt.After(s.Time) {
		return s.ActAt
	}
	return s.Time
}
