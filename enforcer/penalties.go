package enforcer

// penalties.go keeps the penalties in force: persistence, restore after a
// restart, release, thaw retries and standing down. (Their throttles reach
// the plans through desire: member, desire.Tenant, desire.Alone.)

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
)

// Penalties lists the active penalties for the view.
func (a *actor) Penalties() []view.PenaltyView {
	var out []view.PenaltyView
	for _, p := range a.eng.Penalties() {
		if p.DryRun {
			continue
		}
		out = append(out, penaltyView(p))
	}
	return out
}

// persistPenalties hands the penalties, pending thaws and quarantines to
// the state store and saves it.
func (e *Enforcer) persistPenalties() {
	var ps []detect.Penalty
	for _, p := range e.det.eng.Penalties() {
		if p.DryRun {
			continue
		}
		p.Throttle = limits.Resources{} // the values in force are the enforcer's
		if o, ok := e.det.throttles[p.Target.Cgroup]; ok && p.Kind == detect.Throttle {
			p.Throttle = o.Throttle
		}
		ps = append(ps, p)
	}
	e.store.SetPenalties(ps)
	e.persistThaws()
	e.store.SetQuarantines(e.det.eng.Quarantines())
	if err := e.save(); err != nil {
		e.log.Error("save penalties", "err", err)
	}
}

// restorePenalties reloads penalties kept on disk after a restart: expired
// ones are lifted at once (a freeze is thawed), live ones keep their
// deadline. Thaws still pending when quelld stopped are retried, and the
// quarantine of evicted containers resumes.
func (e *Enforcer) restorePenalties(ctx context.Context) {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	e.restoreThaws()
	e.det.eng.RestoreQuarantines(e.store.Quarantines())
	var ps []detect.Penalty
	for _, p := range e.store.Penalties() {
		if p.Target.Cgroup == "" { // never written so; the root is never penalised
			e.log.Warn("penalty without a cgroup in the state file ignored", "container", p.Target.ID, "kind", p.Kind)
			continue
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if p.Kind == detect.Throttle && !e.cfg.DryRun {
			e.det.throttles[p.Target.Cgroup] = p
		}
	}
	if len(ps) == 0 {
		e.confirmPending(ctx)
		return
	}
	e.log.Info("penalties restored from state", "count", len(ps))
	lifted := map[string]bool{}
	for _, a := range e.det.eng.Restore(ps) {
		lifted[a.Target.Cgroup+" "+string(a.Kind)] = true
		after := ""
		if a.Kind == detect.Unthrottle {
			delete(e.det.throttles, a.Target.Cgroup)
		}
		if a.Kind == detect.Thaw {
			var err error
			if after, err = e.thaw(ctx, a.Target.Cgroup, a.Target.ID); err != nil {
				e.log.Warn("thaw after restart failed; retried every pass", "cgroup", a.Target.Cgroup, "err", err)
			}
		}
		e.events.add(view.Event{Time: e.clock.Now(), Kind: string(a.Kind), Target: a.Target.ID, Cgroup: a.Target.Cgroup,
			Rule: a.Rule + a.Detector, Reason: "after restart: " + a.Reason, After: after})
	}
	// A freeze whose deadline is still ahead holds again: quelld thawed it
	// when it stood down (or it is still frozen after a crash; freezing
	// again is harmless). Its deadline thaws it as usual.
	for _, p := range ps {
		if e.cfg.DryRun || p.Kind != detect.Freeze || lifted[p.Target.Cgroup+" "+string(detect.Thaw)] {
			continue // dry-run writes nothing: a freeze from before is only ever lifted
		}
		if _, err := e.freeze(ctx, p.Target.Cgroup, p.Target.ID); err != nil {
			e.log.Warn("freeze again after restart", "cgroup", p.Target.Cgroup, "err", err)
			continue
		}
		e.events.add(view.Event{Time: e.clock.Now(), Kind: string(detect.Freeze), Target: p.Target.ID, Cgroup: p.Target.Cgroup,
			Rule: p.Rule + p.Detector, Reason: "after restart: freeze held until its deadline " + p.Deadline.Format(time.RFC3339),
			After: "frozen until " + p.Deadline.Format(time.RFC3339)})
	}
	e.confirmPending(ctx)
	e.persistPenalties()
}

// Release lifts every penalty on the container with this ID (or name or
// cgroup), as `quell release` asks.
func (e *Enforcer) Release(ctx context.Context, id string) error {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	acts := e.det.eng.Release(id)
	if len(acts) == 0 {
		return fmt.Errorf("no penalty on %q: %w", id, view.ErrNotFound)
	}
	pol := e.currentPolicy()
	var errs []error
	for _, a := range acts {
		a.Reason = "released by an operator (quell release): " + a.Reason
		if err := e.execute(ctx, pol, a); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", a.Kind, a.Target.Cgroup, err))
		}
	}
	e.persistPenalties()
	return errors.Join(errs...)
}

// standDown thaws everything quell froze (quelld is stopping: nothing may
// stay frozen) and keeps the rest of the state for the next start.
func (e *Enforcer) standDown() {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range e.det.eng.Penalties() {
		if p.Kind == detect.Freeze && !p.DryRun {
			// Written, confirmed for at most freezeWait: a thaw the kernel
			// has not confirmed is not pending (the penalty is kept and
			// lifted or re-applied on start).
			if err := e.setFrozen(ctx, p.Target.Cgroup, false, freezeWait); err != nil {
				e.log.Warn("thaw on stop", "cgroup", p.Target.Cgroup, "err", err)
			}
			e.events.add(view.Event{Time: e.clock.Now(), Kind: "thaw", Target: p.Target.ID, Cgroup: p.Target.Cgroup,
				Reason: "quelld stopping: nothing stays frozen (the freeze is re-applied on start if its deadline is still ahead)"})
		}
	}
	for _, cg := range sortedKeys(e.det.thaws) { // written once more; kept for the next start
		_ = e.setFrozen(ctx, cg, false, confirmWait)
	}
	if err := e.save(); err != nil {
		e.log.Error("save state", "err", err)
	}
}
