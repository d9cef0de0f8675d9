package enforcer

// penalties.go keeps the penalties in force: persistence, restore after a
// restart, release, thaw retries and standing down. (Their throttles reach
// the plans through desire: member, desire.Tenant, desire.Alone.)

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	if err := e.save(); err != nil {
		e.log.Error("save penalties", "err", err)
	}
}

// restorePenalties reloads penalties kept on disk after a restart: expired
// ones are lifted at once (a freeze is thawed), live ones keep their
// deadline.
func (e *Enforcer) restorePenalties(ctx context.Context) {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	ps := e.store.Penalties()
	for _, p := range ps {
		if p.Kind == detect.Throttle && !e.cfg.DryRun {
			e.det.throttles[p.Target.Cgroup] = p
		}
	}
	if len(ps) == 0 {
		return
	}
	e.log.Info("penalties restored from state", "count", len(ps))
	lifted := map[string]bool{}
	for _, a := range e.det.eng.Restore(ps) {
		lifted[a.Target.Cgroup+" "+string(a.Kind)] = true
		if a.Kind == detect.Unthrottle {
			delete(e.det.throttles, a.Target.Cgroup)
		}
		if a.Kind == detect.Thaw {
			if err := e.fs.Thaw(ctx, a.Target.Cgroup); err != nil && !errors.Is(err, limits.ErrGone) && !errors.Is(err, fs.ErrNotExist) {
				e.log.Warn("thaw after restart failed; retried every interval", "cgroup", a.Target.Cgroup, "err", err)
				e.det.thaws[a.Target.Cgroup] = a.Target.ID
			}
		}
		e.events.add(view.Event{Time: e.clock.Now(), Kind: string(a.Kind), Target: a.Target.ID, Cgroup: a.Target.Cgroup,
			Rule: a.Rule + a.Detector, Reason: "after restart: " + a.Reason})
	}
	// A freeze whose deadline is still ahead holds again: quelld thawed it
	// when it stood down (or it is still frozen after a crash; freezing
	// again is harmless). Its deadline thaws it as usual.
	for _, p := range ps {
		if e.cfg.DryRun || p.Kind != detect.Freeze || lifted[p.Target.Cgroup+" "+string(detect.Thaw)] {
			continue // dry-run writes nothing: a freeze from before is only ever lifted
		}
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := e.fs.Freeze(fctx, p.Target.Cgroup)
		cancel()
		if err != nil {
			e.log.Warn("freeze again after restart", "cgroup", p.Target.Cgroup, "err", err)
			continue
		}
		e.events.add(view.Event{Time: e.clock.Now(), Kind: string(detect.Freeze), Target: p.Target.ID, Cgroup: p.Target.Cgroup,
			Rule: p.Rule + p.Detector, Reason: "after restart: freeze held until its deadline " + p.Deadline.Format(time.RFC3339),
			After: "frozen until " + p.Deadline.Format(time.RFC3339)})
	}
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

// retryThaws thaws again the cgroups whose thaw failed, until it works or
// the cgroup is gone.
func (e *Enforcer) retryThaws(ctx context.Context) int {
	errs := 0
	for cg, id := range e.det.thaws {
		err := e.fs.Thaw(ctx, cg)
		switch {
		case err == nil:
			delete(e.det.thaws, cg)
			e.events.add(view.Event{Time: e.clock.Now(), Kind: "thaw", Target: id, Cgroup: cg, Reason: "thaw retried and done", After: "thawed"})
		case errors.Is(err, limits.ErrGone) || errors.Is(err, fs.ErrNotExist):
			delete(e.det.thaws, cg)
		default:
			errs++
			e.log.Error("thaw retry failed; trying again next interval", "cgroup", cg, "err", err)
		}
	}
	return errs
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
			if err := e.fs.Thaw(ctx, p.Target.Cgroup); err != nil {
				e.log.Warn("thaw on stop", "cgroup", p.Target.Cgroup, "err", err)
			}
			e.events.add(view.Event{Time: e.clock.Now(), Kind: "thaw", Target: p.Target.ID, Cgroup: p.Target.Cgroup,
				Reason: "quelld stopping: nothing stays frozen (the freeze is re-applied on start if its deadline is still ahead)"})
		}
	}
	if err := e.save(); err != nil {
		e.log.Error("save state", "err", err)
	}
}
