package enforcer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// detector is the detect step as the loop sees it.
type detector interface {
	SetPolicy(rules []policies.Rule, dets []policies.Detector) error
	Tick(s detect.Snapshot) []detect.Action
	Restore(ps []detect.Penalty) []detect.Action
	Release(target string) []detect.Action
	Penalties() []detect.Penalty
}

var _ detector = (*detect.Engine)(nil)

// actor wraps the engine with what the act step keeps per penalty.
type actor struct {
	eng detector
	pol *policies.Policy
	// throttles are the throttles in force, by container ID, with the
	// values each imposes (overlayPenalty tightens its container's plan).
	throttles map[string]detect.Penalty
	io        ioRates // per-device io rates, for io throttles
	// thaws are cgroups whose thaw failed (the engine has already dropped
	// their penalty): retried every tick until it works or they are gone,
	// so nothing stays frozen because one write failed.
	thaws map[string]string // cgroup → container ID
}

func newDetector(cfg Config, clock Clock) *actor {
	// Passes normally come every Interval (or sooner, woken by PSI): only a
	// gap of three missed passes means quelld was not looking and breaks a
	// rule's "for". (A fixed 3 s broke every "for" at interval = 5s.)
	eng, _ := detect.NewEngine(detect.Config{DryRun: cfg.DryRun, EvictionBudget: cfg.MaxEvictionsPerMinute,
		EvictionWindow: time.Minute, MaxGap: max(3*time.Second, 3*cfg.Interval), Now: clock.Now}, nil, nil)
	return &actor{eng: eng, throttles: map[string]detect.Penalty{}, io: ioRates{}, thaws: map[string]string{}}
}

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

// detectAndAct builds the snapshot, asks the engine, and executes (or, in
// dry-run, records) what it decided.
func (e *Enforcer) detectAndAct(ctx context.Context, pol *policies.Policy, host view.HostView, now time.Time) int {
	defer e.retryThaws(ctx)
	if pol == nil {
		// No valid policy (e.g. a bad file at start): no rule acts, but
		// penalties restored from disk must still end at their deadlines.
		errs := 0
		for _, a := range e.det.eng.Tick(detect.Snapshot{Time: now, Host: host.Signals}) {
			if a.Kind == detect.Thaw || a.Kind == detect.Unthrottle {
				if err := e.execute(ctx, nil, a); err != nil {
					errs++
				}
			}
		}
		e.persistPenalties()
		return errs
	}
	if e.det.pol != pol {
		if err := e.det.eng.SetPolicy(pol.Rules, pol.Detectors); err != nil {
			e.log.Error("rules rejected by the detection engine", "err", err)
			return 1
		}
		e.det.pol = pol
	}
	snap := e.snapshot(pol, host, now)
	errs := 0
	for _, a := range e.det.eng.Tick(snap) {
		if err := e.execute(ctx, pol, a); err != nil {
			errs++
		}
	}
	e.persistPenalties()
	return errs
}

func (e *Enforcer) snapshot(pol *policies.Policy, host view.HostView, now time.Time) detect.Snapshot {
	// The samples are from the start of the pass; the actions happen now,
	// which on a thrashing host can be seconds later.
	s := detect.Snapshot{Time: now, ActAt: e.clock.Now(), Host: host.Signals, Tenants: map[string]detect.Tenant{}}
	needProcs, needNet := false, false
	for _, d := range pol.Detectors {
		needProcs = needProcs || d.Kind == "process-name"
		needNet = needNet || d.Kind == "endpoint"
	}
	agg := map[string]*view.Usage{}
	for _, t := range e.known {
		if t.c.Tenant == "" {
			continue
		}
		if agg[t.c.Tenant] == nil {
			agg[t.c.Tenant] = &view.Usage{}
		}
		addUsage(agg[t.c.Tenant], t.usage)
	}
	tsig := tenantSignals(e.known)
	within := map[string]bool{}
	for i := range pol.Tenants {
		ten := &pol.Tenants[i]
		u := agg[ten.Name]
		if u == nil {
			u = &view.Usage{}
		}
		g := detect.Usage{}
		l := ten.Limits
		if l.CPUs != nil {
			g.CPU = *l.CPUs
		}
		if l.MemoryLow != nil {
			g.Memory = float64(*l.MemoryLow)
		} else if l.Memory != nil && ten.Class == policies.Guaranteed {
			g.Memory = float64(*l.Memory)
		}
		sig := tsig[ten.Name]
		if sig == nil {
			sig = map[string]float64{}
		}
		s.Tenants[ten.Name] = detect.Tenant{Class: ten.Class, Guarantee: g, Signals: sig}
		within[ten.Name] = (l.CPUs == nil || u.CPUs <= *l.CPUs*1.02) &&
			(l.Memory == nil || *l.Memory < 0 || u.MemoryBytes <= *l.Memory) &&
			(l.Pids == nil || *l.Pids < 0 || u.Pids <= *l.Pids)
	}
	e.det.io.update(e.known)
	for _, t := range e.known {
		c := t.c
		un := detect.Unit{ID: c.ID, Name: c.Name, Cgroup: c.Cgroup, Tenant: c.Tenant, Class: policies.Class(c.Class),
			Protected:    c.Cgroup == "" || c.Cgroup == "init.scope" || c.Cgroup == e.cfg.SelfCgroup,
			WithinLimits: c.Tenant != "" && within[c.Tenant],
			Usage: detect.Usage{CPU: t.usage.CPUs, Memory: float64(t.usage.MemoryBytes),
				IO: t.usage.IOReadBps + t.usage.IOWriteBps, Pids: float64(t.usage.Pids)}}
		if t.prevT.IsZero() {
			un.Usage = detect.Usage{CPU: -1, Memory: -1, IO: -1, Pids: -1}
		}
		if needProcs {
			un.Processes = e.processNames(c.Cgroup)
		}
		if needNet && c.PID > 0 {
			un.Endpoints = e.endpoints(c.PID)
		}
		s.Units = append(s.Units, un)
	}
	return s
}

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
		if old, ok := e.det.throttles[a.Target.ID]; ok { // already throttled: keep the tighter of each
			p = tighterThrottle(old, p)
			ev.After = throttleString(p.Throttle)
		}
		e.det.throttles[a.Target.ID] = p
		e.persistPenalties()
		err = e.reconcileOne(ctx, a.Target.Cgroup)
	case detect.Unthrottle:
		delete(e.det.throttles, a.Target.ID)
		e.persistPenalties()
		err = e.reconcileOne(ctx, a.Target.Cgroup)
	case detect.Freeze:
		e.persistPenalties()
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = e.fs.Freeze(fctx, a.Target.Cgroup)
		cancel()
		ev.After = "frozen until " + a.Deadline.Format(time.RFC3339)
	case detect.Thaw:
		err = e.fs.Thaw(ctx, a.Target.Cgroup)
		ev.After = "thawed"
		if err != nil && !errors.Is(err, limits.ErrGone) && !errors.Is(err, fs.ErrNotExist) {
			e.det.thaws[a.Target.Cgroup] = a.Target.ID // retried every tick (retryThaws)
			ev.After = "thaw failed; retried every interval"
		}
	case detect.Evict:
		// Its throttle ends with it (a container restarted with the same ID
		// must not inherit it).
		delete(e.det.throttles, a.Target.ID)
		e.preEvict(ctx, a)
		// A frozen cgroup must be thawed for its tasks to die.
		_ = e.fs.Thaw(ctx, a.Target.Cgroup)
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

// overlayPenalty tightens a container's plan by its active throttle.
func (e *Enforcer) overlayPenalty(p *plan) {
	if p.t == nil {
		return
	}
	pen, ok := e.det.throttles[p.t.c.ID]
	if !ok {
		return
	}
	why := fmt.Sprintf("throttled by %s (factor %g) until %s", pen.By(), pen.Factor, pen.Deadline.Format("15:04:05"))
	if p.why == nil {
		p.why = map[string]string{}
	}
	res := p.res.Tighten(pen.Throttle)
	for _, f := range decidedBy(p.res, pen.Throttle, res) {
		p.why[f] = why
	}
	p.res = res
}

// reconcileOne re-plans and applies one container now (a penalty changed),
// rather than waiting for the next tick.
func (e *Enforcer) reconcileOne(ctx context.Context, cg string) error {
	t := e.known[cg]
	pol := e.currentPolicy()
	if t == nil || pol == nil {
		return nil
	}
	for _, p := range e.desire(pol) {
		if p.cgroup == cg {
			p := p
			return e.apply(ctx, &p)
		}
	}
	// Not in any tenant any more: a throttle on an unmanaged container is
	// applied straight.
	p := plan{cgroup: cg, t: t, why: map[string]string{}}
	e.overlayPenalty(&p)
	return e.apply(ctx, &p)
}

func (e *Enforcer) persistPenalties() {
	var ps []detect.Penalty
	for _, p := range e.det.eng.Penalties() {
		if p.DryRun {
			continue
		}
		p.Throttle = limits.Resources{} // the values in force are the enforcer's
		if o, ok := e.det.throttles[p.Target.ID]; ok && p.Kind == detect.Throttle {
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
			e.det.throttles[p.Target.ID] = p
		}
	}
	if len(ps) == 0 {
		return
	}
	e.log.Info("penalties restored from state", "count", len(ps))
	lifted := map[string]bool{}
	for _, a := range e.det.eng.Restore(ps) {
		lifted[a.Target.ID+" "+string(a.Kind)] = true
		if a.Kind == detect.Unthrottle {
			delete(e.det.throttles, a.Target.ID)
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
		if e.cfg.DryRun || p.Kind != detect.Freeze || lifted[p.Target.ID+" "+string(detect.Thaw)] {
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

// processNames reads comm of every task in cg (for process-name detectors).
func (e *Enforcer) processNames(cg string) []string {
	b, err := os.ReadFile(filepath.Join(e.cfg.CgroupRoot, cg, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []string
	for _, f := range strings.Fields(string(b)) {
		if c, err := os.ReadFile(filepath.Join(e.cfg.ProcRoot, f, "comm")); err == nil {
			out = append(out, strings.TrimSpace(string(c)))
		}
		if exe, err := os.Readlink(filepath.Join(e.cfg.ProcRoot, f, "exe")); err == nil {
			out = append(out, filepath.Base(exe))
		}
	}
	return out
}

// tenantSignals gives each tenant's "tenant.<res>.<some|full>.<avg>"
// signals: the highest among its members (the worst-off member is the
// tenant's pressure). A signal no member could read is left out.
func tenantSignals(known map[string]*tracked) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, t := range known {
		if t.c.Tenant == "" {
			continue
		}
		m := out[t.c.Tenant]
		if m == nil {
			m = map[string]float64{}
			out[t.c.Tenant] = m
		}
		put := func(name string, v float64) {
			if old, ok := m[name]; !ok || v > old {
				m[name] = v
			}
		}
		for i, r := range psiResources {
			if t.psiOK[i] {
				psiSignals("tenant."+r, t.psi[i], &t.psiWin[i], put)
			}
		}
	}
	return out
}
