package detect

import (
	"cmp"
	"slices"
	"time"
)

// State is the engine's view for `quell status` and `quell explain`.
type State struct {
	Time      time.Time   `json:"time"` // of the last snapshot
	DryRun    bool        `json:"dry_run"`
	Penalties []Penalty   `json:"penalties"` // sorted by unit ID, cgroup, then kind
	Rules     []RuleState `json:"rules"`
	Evictions struct {
		Used   int           `json:"used"` // in the window ending at Time
		Max    int           `json:"max"`
		Window time.Duration `json:"window"`
	} `json:"evictions"`
}

// RuleState is one rule in one scope.
type RuleState struct {
	Rule          string        `json:"rule"`
	Tenant        string        `json:"tenant,omitempty"` // scope of a tenant signal
	Signal        string        `json:"signal"`
	Value         float64       `json:"value"`
	HasValue      bool          `json:"has_value"`         // false: signal missing in the last snapshot
	HeldFor       time.Duration `json:"held_for"`          // how long the condition has held (since the last step when acting)
	Step          int           `json:"step"`              // last ladder step applied (0-based); -1 idle
	Culprit       string        `json:"culprit,omitempty"` // unit ID the ladder acts on
	CulpritCgroup string        `json:"culprit_cgroup,omitempty"`
	CulpritName   string        `json:"culprit_name,omitempty"`
	StepAt        time.Time     `json:"step_at,omitzero"`
	CooldownUntil time.Time     `json:"cooldown_until,omitzero"`
	Waiting       string        `json:"waiting,omitempty"` // why it is not acting though the condition holds
}

// State returns a copy of the engine's state.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	var st State
	st.Time, st.DryRun = e.last, e.cfg.DryRun
	st.Penalties = e.penaltiesLocked()
	st.Rules = e.rulesLocked()
	st.Evictions.Used = e.budget.used(e.last)
	st.Evictions.Max, st.Evictions.Window = e.cfg.EvictionBudget, e.cfg.EvictionWindow
	return st
}

// Rules returns each rule's state in each of its scopes (the view shows
// them every pass; State also copies the penalties, which the view reads
// apart).
func (e *Engine) Rules() []RuleState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rulesLocked()
}

func (e *Engine) rulesLocked() []RuleState {
	var out []RuleState
	for _, re := range e.rules {
		names := make([]string, 0, len(re.scopes))
		for n := range re.scopes {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			sc := re.scopes[n]
			out = append(out, RuleState{
				Rule: re.r.Name, Tenant: n, Signal: re.r.When.Signal,
				Value: sc.value, HasValue: sc.hasValue, HeldFor: sc.held,
				Step: sc.step, Culprit: sc.culpritID, CulpritCgroup: sc.culprit, CulpritName: sc.culpritName,
				StepAt: sc.stepAt, CooldownUntil: sc.cooldownUntil, Waiting: sc.waiting,
			})
		}
	}
	return out
}

// Penalties returns the penalties in force (and dry-run ones), for the state
// file; feed them to Restore after a restart.
func (e *Engine) Penalties() []Penalty {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.penaltiesLocked()
}

func (e *Engine) penaltiesLocked() []Penalty {
	out := make([]Penalty, 0, len(e.penalties))
	for _, p := range e.penalties {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Penalty) int {
		return cmp.Or(cmp.Compare(a.Target.ID, b.Target.ID), cmp.Compare(a.Target.Cgroup, b.Target.Cgroup),
			cmp.Compare(a.Kind, b.Kind), boolCmp(a.DryRun, b.DryRun))
	})
	return out
}
