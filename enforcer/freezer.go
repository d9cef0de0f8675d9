package enforcer

// freezer.go: freezes and thaws the loop asks of the kernel, with short
// deadlines. The kernel confirms a freeze or thaw in cgroup.events
// ("frozen 1/0"); it may take long (a task in uninterruptible sleep) or
// never come (a thaw under a frozen parent stays frozen). The loop never
// waits for it beyond freezeWait: a freeze or thaw not confirmed by then
// stays pending, is checked again on every pass, and pending thaws are in
// the state file so a restart still finishes them.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
)

const (
	// freezeWait is the longest an action waits for the kernel to confirm
	// a freeze or thaw it just wrote.
	freezeWait = 200 * time.Millisecond
	// confirmWait is the longest a pass waits on one pending freeze or thaw.
	confirmWait = 20 * time.Millisecond
)

// pending is a freeze or thaw written but not confirmed.
type pending struct {
	id    string // container ID, for events
	since time.Time
}

// setFrozen writes cg's cgroup.freeze and waits up to wait for the kernel
// to confirm it. Errors are limits.FS's (limits.ErrFreezeTimeout: written,
// not confirmed yet).
func (e *Enforcer) setFrozen(ctx context.Context, cg string, frozen bool, wait time.Duration) error {
	fctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if frozen {
		return e.fs.Freeze(fctx, cg)
	}
	return e.fs.Thaw(fctx, cg)
}

// thaw thaws cg (container id) for an action: nil when the kernel
// confirmed it or cg is gone; otherwise the thaw is pending (retried and
// confirmed on later passes, kept in the state file) and after says so.
func (e *Enforcer) thaw(ctx context.Context, cg, id string) (after string, err error) {
	err = e.setFrozen(ctx, cg, false, freezeWait)
	delete(e.det.freezes, cg)
	switch {
	case err == nil:
		delete(e.det.thaws, cg)
		return "thawed", nil
	case isGone(err):
		delete(e.det.thaws, cg)
		return "container gone; nothing left to lift", nil
	}
	if _, ok := e.det.thaws[cg]; !ok {
		e.det.thaws[cg] = pending{id: id, since: e.clock.Now()}
	}
	e.persistThaws()
	if errors.Is(err, limits.ErrFreezeTimeout) {
		return "thaw written; the kernel has not confirmed it yet (cgroup.events still frozen 1, e.g. a frozen parent): checked on every pass", nil
	}
	return "thaw failed; retried every pass", err
}

// freeze freezes cg for an action: a freeze the kernel has not confirmed
// within freezeWait is in force all the same (cgroup.freeze is 1) and is
// confirmed on a later pass; only a failed write is an error.
func (e *Enforcer) freeze(ctx context.Context, cg, id string) (confirmed bool, err error) {
	delete(e.det.thaws, cg)
	e.persistThaws()
	err = e.setFrozen(ctx, cg, true, freezeWait)
	if errors.Is(err, limits.ErrFreezeTimeout) {
		e.det.freezes[cg] = pending{id: id, since: e.clock.Now()}
		return false, nil
	}
	return err == nil, err
}

// confirmPending checks the pending freezes and thaws once each (a thaw
// is written again), at most confirmWait each: confirmed ones are
// recorded and dropped, gone ones dropped. It returns the number of
// thaws that failed outright (a write error, not a wait).
func (e *Enforcer) confirmPending(ctx context.Context) int {
	errs := 0
	for _, cg := range sortedKeys(e.det.thaws) {
		p := e.det.thaws[cg]
		err := e.setFrozen(ctx, cg, false, confirmWait)
		switch {
		case err == nil:
			delete(e.det.thaws, cg)
			e.events.add(view.Event{Time: e.clock.Now(), Kind: "thaw", Target: p.id, Cgroup: cg,
				Reason: "thaw confirmed by the kernel (cgroup.events frozen 0), " + e.clock.Now().Sub(p.since).Round(time.Millisecond).String() + " after it was asked for",
				After:  "thawed"})
		case isGone(err):
			delete(e.det.thaws, cg)
		case errors.Is(err, limits.ErrFreezeTimeout):
			// Still frozen (a frozen parent, or a slow kernel): next pass.
		default:
			errs++
			e.log.Error("thaw retry failed; trying again next pass", "cgroup", cg, "err", err)
		}
	}
	for _, cg := range sortedKeys(e.det.freezes) {
		p := e.det.freezes[cg]
		v, err := e.fs.Read(cg, "cgroup.events")
		switch {
		case isGone(err):
			delete(e.det.freezes, cg)
		case err == nil && strings.Contains(v, "frozen 1"):
			delete(e.det.freezes, cg)
			e.log.Info("freeze confirmed", "cgroup", cg, "after", e.clock.Now().Sub(p.since).Round(time.Millisecond))
		}
	}
	e.persistThaws()
	return errs
}

// persistThaws hands the pending thaws to the state store.
func (e *Enforcer) persistThaws() {
	ts := make([]state.Thaw, 0, len(e.det.thaws))
	for _, cg := range sortedKeys(e.det.thaws) {
		ts = append(ts, state.Thaw{Cgroup: cg, ID: e.det.thaws[cg].id, Since: e.det.thaws[cg].since})
	}
	e.store.SetThaws(ts)
}

// restoreThaws takes back the thaws pending when quelld stopped.
func (e *Enforcer) restoreThaws() {
	for _, t := range e.store.Thaws() {
		if t.Cgroup != "" {
			e.det.thaws[t.Cgroup] = pending{id: t.ID, since: t.Since}
		}
	}
	if n := len(e.det.thaws); n > 0 {
		e.log.Info("thaws pending before the restart are retried", "count", n)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
