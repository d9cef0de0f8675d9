package detect

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// decision is a penalty an evaluator wants to impose.
type decision struct {
	kind     Kind // Throttle, Freeze or Evict
	unit     *Unit
	factor   float64
	dur      time.Duration
	rule     string
	detector string
	step     int
	reason   string
	signals  map[string]float64
	evidence map[string]string
	dryRun   bool
}

// impose turns a decision into an action and records the penalty.
//
//   - Throttle/Freeze: a penalty of the same kind (and dry-run-ness) already
//     on the unit is merged: the smaller factor and the later deadline win.
//     If that changes nothing, no action is emitted, but the decision counts
//     as done (ok is true).
//   - Evict: allowed only within the eviction budget (dry runs do not spend
//     it); when the budget is used up ok is false and nothing is recorded.
//     The unit is skipped by ranking for Config.EvictRetry.
func (e *Engine) impose(now time.Time, d decision) (act *Action, ok bool) {
	a := &Action{
		Kind: d.kind, Target: d.unit.ref(), Rule: d.rule, Detector: d.detector,
		Step: d.step, Reason: d.reason, Signals: d.signals, Evidence: d.evidence, DryRun: d.dryRun,
	}
	if d.kind == Evict {
		if !d.dryRun {
			if !e.budget.allow(now) {
				return nil, false
			}
			e.budget.spend(now)
		}
		e.evicted[evictKey{d.unit.Cgroup, d.dryRun}] = now
		if !d.dryRun {
			e.quarantine(now, d.unit, d.rule, d.detector, d.reason)
		}
		return a, true
	}
	if d.kind == Throttle {
		a.Factor = d.factor
	}
	a.Deadline = now.Add(d.dur)
	p := &Penalty{
		Target: a.Target, Kind: d.kind, Factor: a.Factor, Rule: d.rule, Detector: d.detector,
		Step: d.step, Since: now, Deadline: a.Deadline, Reason: d.reason, DryRun: d.dryRun,
	}
	k := keyOf(p)
	if old, ok := e.penalties[k]; ok {
		changed := false
		if d.kind == Throttle && p.Factor < old.Factor {
			old.Factor, changed = p.Factor, true
		}
		if p.Deadline.After(old.Deadline) {
			old.Deadline, changed = p.Deadline, true
		}
		if !changed {
			return nil, true
		}
		old.Rule, old.Detector, old.Step, old.Reason = p.Rule, p.Detector, p.Step, p.Reason
		a.Factor, a.Deadline = old.Factor, old.Deadline
		return a, true
	}
	e.penalties[k] = p
	return a, true
}

// expire lifts the penalties whose deadline has come, and those of units
// absent from the snapshot. A unit that was told to be evicted and is gone
// is simply forgotten; any other absent unit gets its lifting action anyway
// (the act step treats a cgroup that no longer exists as done): a unit
// missing from one snapshot by mistake must not stay frozen forever.
func (e *Engine) expire(now time.Time, out []Action) []Action {
	for _, k := range e.sortedPenaltyKeys() {
		p := e.penalties[k]
		if _, present := e.byCg[p.Target.Cgroup]; !present {
			delete(e.penalties, k)
			if _, evicted := e.evicted[evictKey{p.Target.Cgroup, p.DryRun}]; !evicted {
				out = append(out, liftAction(p, fmt.Sprintf("%s of %s lifted: the unit is no longer observed", p.Kind, p.Target.label())))
			}
			continue
		}
		if now.Before(p.Deadline) {
			continue
		}
		delete(e.penalties, k)
		out = append(out, liftAction(p, fmt.Sprintf("%s of %s ended at its deadline %s", p.Kind, p.Target.label(), p.Deadline.Format(time.RFC3339))))
	}
	return out
}

func liftAction(p *Penalty, reason string) Action {
	return Action{
		Kind: lift(p.Kind), Target: p.Target, Rule: p.Rule, Detector: p.Detector,
		Step: p.Step, Reason: reason, DryRun: p.DryRun,
	}
}

func (r Ref) label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

func (e *Engine) sortedPenaltyKeys() []penaltyKey {
	keys := make([]penaltyKey, 0, len(e.penalties))
	for k := range e.penalties {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b penaltyKey) int {
		return cmp.Or(cmp.Compare(a.cgroup, b.cgroup), cmp.Compare(a.kind, b.kind), boolCmp(a.dryRun, b.dryRun))
	})
	return keys
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}

// penalizedBy reports whether the unit at cgroup cg has a live penalty decided by rule.
func (e *Engine) penalizedBy(cg, rule string, dryRun bool) bool {
	for _, k := range [...]Kind{Throttle, Freeze} {
		if p, ok := e.penalties[penaltyKey{cg, k, dryRun}]; ok && p.Rule == rule {
			return true
		}
	}
	return false
}

type evictKey struct {
	cgroup string
	dryRun bool
}

// recentlyEvicted reports whether the unit at cgroup cg was told to be
// evicted less than EvictRetry ago (and so should not be picked again).
func (e *Engine) recentlyEvicted(now time.Time, cg string, dryRun bool) bool {
	t, ok := e.evicted[evictKey{cg, dryRun}]
	return ok && now.Sub(t) < e.cfg.EvictRetry
}
