package enforcer

// execute.go carries out one action of the engine (throttle, unthrottle,
// freeze, thaw, evict), records its event, and re-plans the one container
// a penalty changed.

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/desire"
	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// execute carries out one action. Penalties are persisted before a freeze
// so that a crash right after it still has the deadline on disk.
func (e *Enforcer) execute(ctx context.Context, pol *policies.Policy, a detect.Action) error {
	who := a.Rule
	if who == "" {
		who = a.Detector
	}
	t := e.known[a.Target.Cgroup]
	ev := view.Event{Time: e.clock.Now(), Kind: string(a.Kind), Rule: who, Target: a.Target.ID, Cgroup: a.Target.Cgroup,
		Reason: a.Reason, DryRun: a.DryRun, Signals: map[string]float64{}}
	if t != nil {
		ev.Tenant = t.c.Tenant
	}
	maps.Copy(ev.Signals, a.Signals)
	if len(a.Evidence) > 0 {
		ev.Evidence = maps.Clone(a.Evidence)
	}
	var p detect.Penalty
	if a.Kind == detect.Throttle {
		p = e.throttleOf(pol, a, t)
		ev.After = throttleString(p.Throttle)
	}
	if a.DryRun {
		ev.Reason = "dry-run, nothing done: " + ev.Reason
		if ev.After != "" {
			ev.After = "would set " + ev.After
		}
		e.events.add(ev)
		return nil
	}
	var err error
	began := e.clock.Now()
	defer func() {
		if d := e.clock.Now().Sub(began); d > time.Second {
			e.log.Warn("slow action: the kernel took long to carry it out", "kind", a.Kind, "cgroup", a.Target.Cgroup, "took", d.Round(time.Millisecond))
		}
	}()
	switch a.Kind {
	case detect.Throttle:
		if old, ok := e.det.throttles[a.Target.Cgroup]; ok { // already throttled: keep the tighter of each
			p = tighterThrottle(old, p)
			ev.After = throttleString(p.Throttle)
		}
		e.det.throttles[a.Target.Cgroup] = p
		e.persistPenalties()
		err = e.reconcileOne(ctx, a.Target.Cgroup)
	case detect.Unthrottle:
		delete(e.det.throttles, a.Target.Cgroup)
		e.persistPenalties()
		err = e.reconcileOne(ctx, a.Target.Cgroup)
	case detect.Freeze:
		e.persistPenalties()
		var confirmed bool
		confirmed, err = e.freeze(ctx, a.Target.Cgroup, a.Target.ID)
		ev.After = "frozen until " + a.Deadline.Format(time.RFC3339)
		if err == nil && !confirmed {
			ev.After += " (written; the kernel has not confirmed it yet: checked on the next pass)"
		}
	case detect.Thaw:
		ev.After, err = e.thaw(ctx, a.Target.Cgroup, a.Target.ID)
	case detect.Evict:
		// Its throttle ends with it (a container restarted at the same
		// cgroup must not inherit it).
		delete(e.det.throttles, a.Target.Cgroup)
		delete(e.det.freezes, a.Target.Cgroup)
		e.preEvict(ctx, a)
		// cgroup.kill reaches frozen tasks too (a fatal signal ends a
		// frozen task); the thaw is written, never waited for.
		_ = e.setFrozen(ctx, a.Target.Cgroup, false, 0)
		err = e.fs.Kill(a.Target.Cgroup)
		ev.After = "killed (cgroup.kill)"
	}
	if err != nil && (errors.Is(err, limits.ErrGone) || errors.Is(err, fs.ErrNotExist)) &&
		(a.Kind == detect.Thaw || a.Kind == detect.Unthrottle) {
		ev.After = "container gone; nothing left to lift"
		err = nil
	}
	if err != nil {
		ev.Reason += "; FAILED: " + err.Error()
		e.log.Error("action failed", "kind", a.Kind, "cgroup", a.Target.Cgroup, "err", err)
	}
	e.events.add(ev)
	// Actions are rare and matter: on disk now, not at the end of the tick
	// (a crash right after a freeze must not lose its event).
	if serr := e.save(); serr != nil {
		e.log.Error("save state after action", "err", serr)
	}
	return err
}

func rankOf(pol *policies.Policy, rule string) string {
	if pol == nil {
		return ""
	}
	for _, r := range pol.Rules {
		if r.Name == rule {
			return r.Target.Rank
		}
	}
	return ""
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// reconcileOne re-plans and applies one container now (a penalty changed),
// rather than waiting for the next tick: only its tenant is planned.
func (e *Enforcer) reconcileOne(ctx context.Context, cg string) error {
	t := e.known[cg]
	pol := e.currentPolicy()
	if t == nil || pol == nil {
		return nil
	}
	for i := range pol.Tenants {
		if ten := &pol.Tenants[i]; t.c.Tenant != "" && ten.Name == t.c.Tenant {
			for _, p := range e.desireTenant(nil, ten, e.membersOf(ten.Name)) {
				if p.cgroup == cg {
					return e.apply(ctx, &p)
				}
			}
		}
	}
	// Not planned by its tenant (none, or one that sets no limits): a
	// throttled container gets a plan of its own (as in desire); a throttle
	// just lifted is applied straight.
	p := e.planOf(desire.Alone(e.member(t), t.c.Tenant))
	return e.apply(ctx, &p)
}

// preEvict runs the configured hook, bounded to 10 s.
func (e *Enforcer) preEvict(ctx context.Context, a detect.Action) {
	if len(e.cfg.PreEvictHook) == 0 {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(hctx, e.cfg.PreEvictHook[0], e.cfg.PreEvictHook[1:]...)
	cmd.Env = append(os.Environ(), "QUELL_CONTAINER="+a.Target.ID, "QUELL_CGROUP="+a.Target.Cgroup,
		"QUELL_RULE="+a.Rule+a.Detector, "QUELL_REASON="+a.Reason)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.log.Warn("pre-evict hook failed; evicting anyway", "err", err, "output", strings.TrimSpace(string(out)))
	}
}
