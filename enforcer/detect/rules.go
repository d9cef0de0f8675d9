package detect

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/policies"
)

// ruleEval is a compiled rule and its state per scope: "" for a host signal,
// the tenant's name for a "tenant.*" signal (each tenant is evaluated on its
// own, and the culprit is then taken among the *other* tenants' units: the
// tenant is the victim).
type ruleEval struct {
	r      policies.Rule
	th     threshold
	tenant bool
	scopes map[string]*ruleScope
}

type ruleScope struct {
	cond          sustain
	value         float64
	hasValue      bool
	held          time.Duration
	step          int    // index of the last step applied to culprit; -1 idle
	culprit       string // the culprit's cgroup (its key)
	culpritID     string
	culpritName   string
	stepAt        time.Time
	cooldownUntil time.Time
	waiting       string
	// settle: the last culprit was evicted or vanished while the condition
	// held. The next culprit is picked only after the condition held again
	// for the evaluation period (max(when.for, Grace)), not just when.for:
	// signals such as PSI avg10 lag the relief by about 10 s, and without
	// this the lag alone would pin the blame on a bystander.
	settle bool
}

func compileRule(r policies.Rule) (*ruleEval, error) {
	th, ok := newThreshold(r.When, r.Release)
	if !ok {
		return nil, fmt.Errorf("rule %s: when has neither above nor below", r.Name)
	}
	if r.When.Signal == "" {
		return nil, fmt.Errorf("rule %s: when has no signal", r.Name)
	}
	if len(r.Ladder) == 0 {
		return nil, fmt.Errorf("rule %s: empty ladder", r.Name)
	}
	for i, s := range r.Ladder {
		switch Kind(s.Action) {
		case Throttle, Freeze, Evict:
		default:
			return nil, fmt.Errorf("rule %s: ladder step %d: unknown action %q", r.Name, i+1, s.Action)
		}
	}
	switch r.Target.Rank {
	case "", RankCPU, RankMemory, RankIO, RankPids:
	default:
		return nil, fmt.Errorf("rule %s: unknown rank %q", r.Name, r.Target.Rank)
	}
	return &ruleEval{r: r, th: th, tenant: strings.HasPrefix(r.When.Signal, "tenant."), scopes: map[string]*ruleScope{}}, nil
}

// clearCulprit makes the scope idle (no ladder in progress).
func (sc *ruleScope) clearCulprit() {
	sc.step, sc.culprit, sc.culpritID, sc.culpritName = -1, "", "", ""
}

func (re *ruleEval) scope(name string) *ruleScope {
	sc := re.scopes[name]
	if sc == nil {
		sc = &ruleScope{step: -1}
		re.scopes[name] = sc
	}
	return sc
}

// evalRule runs one rule over the snapshot, scope by scope in name order.
func (e *Engine) evalRule(s *Snapshot, re *ruleEval, out []Action) []Action {
	if !re.tenant {
		v, ok := s.Host[re.r.When.Signal]
		return e.evalScope(s, re, "", re.scope(""), v, ok, out)
	}
	names := make([]string, 0, len(s.Tenants))
	for name := range s.Tenants {
		names = append(names, name)
	}
	for name, sc := range re.scopes { // forget idle scopes of tenants that left
		if _, ok := s.Tenants[name]; !ok && sc.step < 0 && !s.Time.Before(sc.cooldownUntil) {
			delete(re.scopes, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		v, ok := s.Tenants[name].Signals[re.r.When.Signal]
		if !ok && re.scopes[name] == nil {
			continue
		}
		out = e.evalScope(s, re, name, re.scope(name), v, ok, out)
	}
	return out
}

// evalScope advances one rule scope by one snapshot:
//
//  1. Missing value: the run of "held" observations breaks; nothing else
//     changes (a missing value is never relief).
//  2. Relieved (past the release value): an active ladder stops and the
//     rule's cooldown starts. Penalties already imposed run to their
//     deadlines; they are not lifted early, which would bring the load back.
//  3. In cooldown: nothing is done (the condition is still tracked, so a
//     condition that held through the cooldown acts as soon as it ends).
//  4. Idle, and the condition held for when.for: the top-ranked culprit gets
//     ladder step 1. Right after this rule evicted its culprit, or the
//     culprit vanished, the condition must hold for the evaluation period
//     (max(when.for, Grace)) instead: a lagging signal is not blamed on the
//     next unit in line.
//  5. Acting, and the condition held again for the evaluation period since
//     the last step (see Config.Grace): the same culprit gets the next step,
//     if it still ranks first among eligible units; if another unit now
//     ranks above it, that one is picked as a new culprit (step 1) and the
//     first one's penalty runs to its deadline.
//     After the last step (or if the culprit is gone or no longer eligible)
//     the rule goes back to 4 and picks a new culprit, skipping units it
//     already penalizes.
func (e *Engine) evalScope(s *Snapshot, re *ruleEval, scopeName string, sc *ruleScope, v float64, ok bool, out []Action) []Action {
	now := s.Time
	r := &re.r
	sc.held = sc.cond.observe(now, v, ok, re.th, e.cfg.MaxGap)
	sc.value, sc.hasValue = v, ok
	sc.waiting = ""
	if !ok {
		return out
	}
	if re.th.relieved(v) {
		sc.settle = false
		if sc.step >= 0 {
			sc.clearCulprit()
			sc.cooldownUntil = now.Add(r.Cooldown)
		}
		return out
	}
	if now.Before(sc.cooldownUntil) {
		if sc.held > 0 {
			sc.waiting = "cooldown until " + sc.cooldownUntil.Format(time.RFC3339)
		}
		return out
	}
	dry := e.cfg.DryRun || r.DryRun
	if sc.step >= 0 {
		u := e.byCg[sc.culprit]
		if u == nil || !eligible(u) || e.recentlyEvicted(now, u.Cgroup, dry) {
			if u == nil || e.recentlyEvicted(now, u.Cgroup, dry) { // gone: its load may be gone too
				sc.settle = true
				sc.cond.rearm(now)
				sc.held = 0
			}
			sc.clearCulprit()
		} else {
			if sc.held < e.evalPeriod(r, sc.step) {
				return out
			}
			next := sc.step + 1
			// Escalate only on the unit that is still the main contributor: if
			// another eligible unit now ranks above it, the pressure is that
			// one's, and the culprit's penalty runs out on its own.
			top, found := rank(s, e.tenantUse, r.Target, scopeName, func(x *Unit) bool { return e.recentlyEvicted(now, x.Cgroup, dry) })
			if next < len(r.Ladder) && found && top.u.Cgroup != u.Cgroup {
				sc.clearCulprit()
				next = len(r.Ladder) + 1 // fall through to picking a new culprit
			}
			// Host CPU pressure counts the culprit's own stalls too, and a
			// cpu.max-throttled task stalls by design: judge whether the step
			// relieved the host by the pressure on everyone else (the other
			// tenants' same signal). If they are fine, the step worked; it runs
			// out at its deadline and the ladder goes no further.
			if next < len(r.Ladder) && !re.tenant {
				if others, ok := othersPressure(s, r.When.Signal, u.Tenant); ok && !re.th.bad(others) {
					sc.waiting = fmt.Sprintf("%s is %s but the other tenants' pressure is %s: step %d of %s holds; not escalating",
						r.When.Signal, fmtVal(v), fmtVal(others), sc.step+1, u.label())
					return out
				}
			}
			if next < len(r.Ladder) {
				reason := fmt.Sprintf("%s still %s %s %s %s after step %d (%s) of rule %s; escalating on %s",
					e.signalDesc(r, scopeName), fmtVal(v), re.th.op(), fmtVal(re.th.limit), sc.held.Round(time.Millisecond),
					sc.step+1, r.Ladder[sc.step].Action, r.Name, u.label())
				return e.step(s, re, sc, next, u, reason, nil, nil, dry, out)
			}
			if next == len(r.Ladder) { // ladder exhausted: next culprit, after the signal holds again
				sc.clearCulprit()
				sc.cond.rearm(now)
				sc.held = 0
			}
		}
	}
	need := r.When.For
	if sc.settle {
		need = max(need, e.cfg.Grace)
	}
	if !sc.cond.holding() || sc.held < need {
		if sc.settle && sc.cond.holding() {
			sc.waiting = fmt.Sprintf("the last culprit is gone; %s must hold %s before another is picked", r.When.Signal, need)
		}
		return out
	}
	c, found := rank(s, e.tenantUse, r.Target, scopeName, func(u *Unit) bool {
		return e.penalizedBy(u.Cgroup, r.Name, dry) || e.recentlyEvicted(now, u.Cgroup, dry)
	})
	if !found {
		sc.waiting = "no eligible unit to act on"
		return out
	}
	rk := cmpOr(r.Target.Rank, RankCPU)
	reason := fmt.Sprintf("%s was %s %s %s for %s; %s (%s, tenant %s) used %s, the most among eligible units",
		e.signalDesc(r, scopeName), fmtVal(v), re.th.op(), fmtVal(re.th.limit), sc.held.Round(time.Millisecond),
		c.u.label(), c.u.Class, c.u.Tenant, formatUsage(c.use, rk))
	sig := map[string]float64{
		"use": figure(c.use), "score": figure(c.score),
		"tenant_guarantee": figure(usageOf(s.Tenants[c.u.Tenant].Guarantee, rk)),
		"tenant_use":       figure(usageOf(e.tenantUse[c.u.Tenant], rk)),
	}
	ev := map[string]string{"rank": rk, "class": string(c.u.Class), "tenant": c.u.Tenant}
	return e.step(s, re, sc, 0, c.u, reason, sig, ev, dry, out)
}

// step applies ladder step i of re to u. An eviction refused by the budget
// leaves the scope where it was, to retry on the next snapshot.
func (e *Engine) step(s *Snapshot, re *ruleEval, sc *ruleScope, i int, u *Unit, reason string, sig map[string]float64, ev map[string]string, dry bool, out []Action) []Action {
	now := s.Time
	st := re.r.Ladder[i]
	if sig == nil {
		sig = map[string]float64{}
	}
	if ev == nil {
		ev = map[string]string{}
	}
	sig["value"] = figure(sc.value)
	sig["threshold"] = figure(re.th.limit)
	sig["release"] = figure(re.th.release)
	ev["signal"] = re.r.When.Signal
	ev["held_for"] = sc.held.Round(time.Millisecond).String()
	d := decision{
		kind: Kind(st.Action), unit: u, factor: st.Factor, dur: st.For,
		rule: re.r.Name, step: i, reason: reason, signals: sig, evidence: ev, dryRun: dry,
	}
	if d.factor <= 0 || d.factor >= 1 {
		d.factor = e.cfg.DefaultFactor
	}
	if d.dur <= 0 {
		d.dur = e.cfg.DefaultFor
	}
	a, ok := e.impose(s.actAt(), d)
	if !ok {
		sc.waiting = fmt.Sprintf("eviction of %s deferred: budget of %d per %s used", u.label(), e.cfg.EvictionBudget, e.cfg.EvictionWindow)
		return out
	}
	sc.cond.rearm(now)
	sc.held = 0
	sc.stepAt = now
	if d.kind == Evict { // terminal for this culprit
		sc.clearCulprit()
		sc.settle = true
	} else {
		sc.step, sc.culprit, sc.culpritID, sc.culpritName = i, u.Cgroup, u.ID, u.label()
		sc.settle = false
	}
	if a != nil {
		out = append(out, *a)
	}
	return out
}

// evalPeriod is how long the condition must hold again after step i before
// step i+1: max(when.for, Grace), capped by step i's own duration.
func (e *Engine) evalPeriod(r *policies.Rule, i int) time.Duration {
	p := max(r.When.For, e.cfg.Grace)
	if d := r.Ladder[i].For; d > 0 && d < p {
		p = d
	}
	return p
}

func (e *Engine) signalDesc(r *policies.Rule, scope string) string {
	if scope == "" {
		return r.When.Signal
	}
	return r.When.Signal + " of tenant " + scope
}

// fmtVal formats a figure for reasons: large values (bytes) as integers,
// others with at most two decimals.
func fmtVal(v float64) string {
	if v >= 1e5 || v <= -1e5 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// figure is v rounded as fmtVal shows it, for Action.Signals: the numbers
// there are the ones the reason quotes. (strconv rounds a tie to even.)
func figure(v float64) float64 {
	if v >= 1e5 || v <= -1e5 {
		return math.RoundToEven(v)
	}
	return math.Round(v*100) / 100
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// othersPressure returns the highest value among the tenants other than
// except of the tenant signal matching host CPU signal sig
// ("host.cpu.some.avg10" → "tenant.cpu.some.avg10"), and false when sig is
// not a host CPU PSI signal or no other tenant reports it.
func othersPressure(s *Snapshot, sig, except string) (float64, bool) {
	// Only CPU: a cpu.max-throttled task is runnable and counts as stalled,
	// so host CPU pressure stays high by the throttle's own design. Memory
	// and io pressure that persists after a throttle is real harm to the
	// host (swap, reclaim, a saturated device) and escalates as the rule says.
	rest, ok := strings.CutPrefix(sig, "host.cpu.")
	if !ok || !(strings.HasPrefix(rest, "some.") || strings.HasPrefix(rest, "full.")) {
		return 0, false
	}
	rest = "cpu." + rest
	name := "tenant." + rest
	var worst float64
	found := false
	for t, ten := range s.Tenants {
		if t == except {
			continue
		}
		if v, ok := ten.Signals[name]; ok {
			found = true
			worst = max(worst, v)
		}
	}
	return worst, found
}
