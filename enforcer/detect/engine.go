package detect

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quell-dev/quell/policies"
)

// Engine evaluates rules and detectors snapshot by snapshot. Tick is meant
// to be called from one goroutine (the enforcer loop); State, Penalties,
// Release, Restore and SetPolicy may be called from others.
type Engine struct {
	mu        sync.Mutex
	cfg       Config
	rules     []*ruleEval
	dets      []*detEval
	penalties map[penaltyKey]*Penalty
	evicted   map[evictKey]time.Time
	// quarantined are the units evicted within their rule's or detector's
	// quarantine (see Quarantine).
	quarantined []*Quarantine
	budget      budget
	last        time.Time

	// Per tick, rebuilt by Tick: units by cgroup.
	byCg      map[string]*Unit
	tenantUse map[string]Usage
}

// NewEngine compiles rules and detectors. It returns an error naming the
// rule or detector for anything it cannot evaluate (no threshold, an empty
// ladder, an unknown action, kind or rank, a bad glob or CIDR); the policies
// package validates the same, so this is a second check.
func NewEngine(cfg Config, rules []policies.Rule, dets []policies.Detector) (*Engine, error) {
	cfg = cfg.withDefaults()
	e := &Engine{
		cfg:       cfg,
		penalties: map[penaltyKey]*Penalty{},
		evicted:   map[evictKey]time.Time{},
		budget:    budget{max: cfg.EvictionBudget, per: cfg.EvictionWindow},
		byCg:      map[string]*Unit{},
		tenantUse: map[string]Usage{},
	}
	if err := e.SetPolicy(rules, dets); err != nil {
		return nil, err
	}
	return e, nil
}

// SetPolicy replaces the rules and detectors (a policy reload). On error
// nothing changes. State is kept for rules and detectors whose name (and,
// for rules, signal; for flat-cpu, window) is unchanged; penalties are kept
// and run to their deadlines whatever the new policy says.
func (e *Engine) SetPolicy(rules []policies.Rule, dets []policies.Detector) error {
	var errs []error
	var rs []*ruleEval
	var ds []*detEval
	for _, r := range rules {
		re, err := compileRule(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rs = append(rs, re)
	}
	for _, d := range dets {
		de, err := compileDetector(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ds = append(ds, de)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, re := range rs {
		for _, old := range e.rules {
			if old.r.Name == re.r.Name && old.r.When.Signal == re.r.When.Signal {
				re.scopes = old.scopes
			}
		}
		for _, sc := range re.scopes {
			if sc.step >= len(re.r.Ladder) { // the ladder got shorter
				sc.step, sc.culprit, sc.culpritName = -1, "", ""
			}
		}
	}
	for _, de := range ds {
		for _, old := range e.dets {
			if old.d.Name == de.d.Name && old.d.Kind == de.d.Kind && old.d.Window == de.d.Window {
				de.rings, de.hits = old.rings, old.hits
			}
		}
	}
	e.rules, e.dets = rs, ds
	return nil
}

// Tick evaluates one snapshot and returns the actions to take, in order:
// first lifting expired penalties (Unthrottle, Thaw), then evictions of
// quarantined units seen running again (see Quarantine), then each rule's
// decision (rules in policy order), then each detector's. A snapshot older
// than the previous one is ignored (nil).
//
// Units absent from the snapshot are gone: their penalties are lifted (see
// expire) and their detector and ranking state is dropped.
func (e *Engine) Tick(s Snapshot) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.Time
	if now.Before(e.last) {
		return nil
	}
	e.last = now
	clear(e.byCg)
	for i := range s.Units {
		e.byCg[s.Units[i].Cgroup] = &s.Units[i]
	}
	sumByTenant(s.Units, e.tenantUse)
	var out []Action
	out = e.expire(now, out)
	out = e.onSight(&s, out)
	for k := range e.evicted {
		if e.byCg[k.cgroup] == nil {
			delete(e.evicted, k)
		}
	}
	for _, re := range e.rules {
		out = e.evalRule(&s, re, out)
	}
	for _, de := range e.dets {
		de.forget(e.byCg)
		out = e.evalDetector(&s, de, out)
	}
	// Do not keep pointers into the caller's snapshot.
	clear(e.byCg)
	return out
}

// Restore loads penalties saved before a restart. Penalties whose deadline
// has passed (by Config.Now) are not kept: a lifting action (Unthrottle or
// Thaw) is returned for each, so nothing stays frozen because quelld died.
// Live ones are kept with their deadlines and lifted by a later Tick at
// their deadline (or at once if their unit is not in that snapshot). Penalties of other
// kinds are ignored. Rule ladders and cooldowns are not restored.
func (e *Engine) Restore(ps []Penalty) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	var out []Action
	for _, p := range ps {
		if p.Kind != Throttle && p.Kind != Freeze {
			continue
		}
		if !now.Before(p.Deadline) {
			out = append(out, liftAction(&p, fmt.Sprintf("restored %s of %s had expired at %s while quelld was down",
				p.Kind, p.Target.label(), p.Deadline.Format(time.RFC3339))))
			continue
		}
		k := keyOf(&p)
		if old, ok := e.penalties[k]; ok && !p.Deadline.After(old.Deadline) {
			continue
		}
		e.penalties[k] = &p
	}
	return out
}

// Release lifts every penalty (real and dry-run) of the units whose ID or
// cgroup is target (an ID two cgroups share releases both), as `quell release` asks, and returns the lifting
// actions; none when it has no penalty. Rules whose ladder was acting on it
// stop and enter their cooldown; detectors leave it alone for
// DetectorCooldown.
func (e *Engine) Release(target string) []Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	var out []Action
	cgs := map[string]bool{} // the released units, by cgroup
	for _, k := range e.sortedPenaltyKeys() {
		p := e.penalties[k]
		if p.Target.ID != target && p.Target.Cgroup != target {
			continue
		}
		cgs[p.Target.Cgroup] = true
		delete(e.penalties, k)
		out = append(out, liftAction(p, fmt.Sprintf("%s of %s lifted by the operator", p.Kind, p.Target.label())))
	}
	if len(cgs) == 0 {
		cgs[target] = true
	}
	for _, re := range e.rules {
		for _, sc := range re.scopes {
			if sc.culprit != "" && (cgs[sc.culprit] || sc.culpritID == target) {
				sc.clearCulprit()
				sc.cooldownUntil = now.Add(re.r.Cooldown)
			}
		}
	}
	for _, de := range e.dets {
		for cg := range cgs {
			if h := de.hits[cg]; h != nil {
				h.until, h.rearmAt = now, now.Add(e.cfg.DetectorCooldown)
			}
		}
	}
	return out
}
