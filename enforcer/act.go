package enforcer

// act.go is the detect-and-act step of a pass: the engine, what the act
// step keeps beside it, and detectAndAct.

import (
	"context"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/policies"
)

// detector is the detect step as the loop sees it.
type detector interface {
	SetPolicy(rules []policies.Rule, dets []policies.Detector) error
	Tick(s detect.Snapshot) []detect.Action
	Restore(ps []detect.Penalty) []detect.Action
	Release(target string) []detect.Action
	Penalties() []detect.Penalty
	Quarantined(cg, identity string) bool
	Quarantines() []detect.Quarantine
	RestoreQuarantines(qs []detect.Quarantine)
	Rules() []detect.RuleState
}

var _ detector = (*detect.Engine)(nil)

// actor wraps the engine with what the act step keeps per penalty.
type actor struct {
	eng detector
	pol *policies.Policy
	// throttles are the throttles in force, by cgroup (never by container
	// ID: two cgroups may claim one ID), with the values each imposes
	// (desire lays it over its container's plan).
	throttles map[string]detect.Penalty
	io        ioRates // per-device io rates, for io throttles
	// thaws are cgroups whose thaw failed or is not confirmed yet (the
	// engine has already dropped their penalty): retried every pass until
	// the kernel confirms it or they are gone, and kept in the state file,
	// so nothing stays frozen because one write failed, the kernel was
	// slow, or quelld restarted (freezer.go).
	thaws map[string]pending
	// freezes are freezes written but not confirmed yet (checked every pass).
	freezes map[string]pending
}

func newDetector(cfg Config, clock Clock) *actor {
	// Passes normally come every Interval (or sooner, woken by PSI): only a
	// gap of three missed passes means quelld was not looking and breaks a
	// rule's "for". (A fixed 3 s broke every "for" at interval = 5s.)
	eng, _ := detect.NewEngine(detect.Config{DryRun: cfg.DryRun, EvictionBudget: cfg.MaxEvictionsPerMinute,
		EvictionWindow: time.Minute, MaxGap: max(3*time.Second, 3*cfg.Interval), Now: clock.Now}, nil, nil)
	return &actor{eng: eng, throttles: map[string]detect.Penalty{}, io: ioRates{}, thaws: map[string]pending{}, freezes: map[string]pending{}}
}

// detectAndAct builds the snapshot, asks the engine, and executes (or, in
// dry-run, records) what it decided.
func (e *Enforcer) detectAndAct(ctx context.Context, pol *policies.Policy, host view.HostView, now time.Time) int {
	defer e.confirmPending(ctx)
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
