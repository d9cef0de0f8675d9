package detect

import (
	"time"

	"github.com/quell-dev/quell/limits"
)

// Kind is what an Action does.
type Kind string

const (
	Throttle   Kind = "throttle"   // cap the unit's CPU to Factor × its current use until Deadline
	Unthrottle Kind = "unthrottle" // lift a throttle
	Freeze     Kind = "freeze"     // cgroup.freeze=1 until Deadline
	Thaw       Kind = "thaw"       // cgroup.freeze=0
	Evict      Kind = "evict"      // kill the cgroup (cgroup.kill)
)

// Action is one decision for the act step. When DryRun is set it must only
// be recorded, never executed.
type Action struct {
	Kind     Kind               `json:"kind"`
	Target   Ref                `json:"target"`
	Rule     string             `json:"rule,omitempty"`     // the rule that decided, or
	Detector string             `json:"detector,omitempty"` // the detector that decided
	Step     int                `json:"step"`               // ladder index (0-based); 0 for detectors
	Factor   float64            `json:"factor,omitempty"`   // Throttle only
	Deadline time.Time          `json:"deadline,omitzero"`  // Throttle/Freeze: when it is lifted
	Reason   string             `json:"reason"`             // one human sentence
	Signals  map[string]float64 `json:"signals,omitempty"`  // the figures behind Reason, rounded as Reason shows them
	// Evidence are the facts behind Reason that are not figures: names
	// (rank, class, tenant, signal, process, pattern), an endpoint or a
	// CIDR, and durations spelled as Reason spells them (held_for, window).
	Evidence map[string]string `json:"evidence,omitempty"`
	DryRun   bool              `json:"dry_run,omitempty"`
}

// Penalty is a throttle or freeze in force (or, when DryRun, one that would
// be). It is quell's one penalty type: the engine keeps its penalties in it,
// the enforcer adds the Throttle it imposed, the state file stores it (in
// its own spelling, see package state) and the view is made from it. The
// enforcer persists Engine.Penalties() so a restart can Restore them.
type Penalty struct {
	Target   Ref       `json:"target"`
	Kind     Kind      `json:"kind"` // Throttle or Freeze
	Factor   float64   `json:"factor,omitempty"`
	Rule     string    `json:"rule,omitempty"`
	Detector string    `json:"detector,omitempty"`
	Step     int       `json:"step"`
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
	Reason   string    `json:"reason"`
	DryRun   bool      `json:"dry_run,omitempty"`
	// Throttle is what a throttle imposes on its container's limits, fixed
	// when it is imposed (the engine leaves it empty; the enforcer sets it
	// and the state file keeps it, so a restart re-applies the same).
	Throttle limits.Resources `json:"-"`
}

// By names who decided the penalty: the rule, else the detector.
func (p Penalty) By() string {
	if p.Rule != "" {
		return p.Rule
	}
	return p.Detector
}

// lift returns the kind that undoes a penalty kind.
func lift(k Kind) Kind {
	if k == Freeze {
		return Thaw
	}
	return Unthrottle
}

// penaltyKey keys a penalty by its unit's cgroup, the one thing two units
// cannot share: container IDs come from names anyone can give a cgroup.
type penaltyKey struct {
	cgroup string
	kind   Kind
	dryRun bool
}

func keyOf(p *Penalty) penaltyKey { return penaltyKey{p.Target.Cgroup, p.Kind, p.DryRun} }
