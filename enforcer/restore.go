package enforcer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/systemd"
)

// RestoreAll undoes everything quell did that the state dir remembers, for
// an uninstall (`quelld --restore-all`, with quelld stopped): every frozen
// cgroup is thawed, every penalty is dropped, and every file quell changed
// gets its kept original back (through systemd as well for systemd-owned
// units, so a later `systemctl daemon-reload` does not bring quell's limits
// back). Originals of cgroups that have gone are forgotten. Originals that
// could not be written back are kept in the state file, so RestoreAll can
// be run again; the returned error joins every failure (nil when all is
// restored). Network shaping quell marked as its own is removed from the
// host's links, and every directory the state dir records as tagged with a
// project quota is put back in project 0, the projects' limits cleared and
// their IDs freed (restore_netdisk.go). Processes that still hold the
// ulimits quell set get their container's original back (ulimits_apply.go).
//
// It is refused in dry-run and read-only mode, and must not run while a
// quelld loop runs on the same state dir.
func (e *Enforcer) RestoreAll(ctx context.Context) error {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	if e.cfg.ReadOnly || e.cfg.DryRun {
		return errors.New("restore all: refused in dry-run or read-only mode (nothing would be written)")
	}
	var errs []error
	for _, p := range e.store.Penalties() {
		if p.Kind != detect.Freeze {
			continue // a throttle is a cpu.max/memory.high value: its original comes back below
		}
		err := e.fs.Thaw(ctx, p.Target.Cgroup)
		if err != nil && !isGone(err) {
			errs = append(errs, fmt.Errorf("thaw %s: %w", p.Target.Cgroup, err))
			continue
		}
		e.events.add(view.Event{Time: e.clock.Now(), Kind: "thaw", Target: p.Target.ID, Cgroup: p.Target.Cgroup, Rule: p.By(),
			Reason: "quell told to restore everything: penalty lifted", After: "thawed"})
	}
	e.store.SetPenalties(nil)
	e.det.throttles = map[string]detect.Penalty{}

	for _, cg := range e.store.Cgroups() {
		orig := e.store.Originals(cg)
		back := make([]limits.Write, 0, len(orig))
		for k, v := range orig {
			back = append(back, limits.Write{File: fileOfKey(k), Value: v})
		}
		sort.Slice(back, func(a, b int) bool { return back[a].File < back[b].File })
		e.restoreUnit(ctx, cg, back)
		err := e.fs.Restore(ctx, cg, back)
		if isGone(err) {
			e.store.Forget(cg)
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.store.Forget(cg)
		e.events.add(view.Event{Time: e.clock.Now(), Kind: "restore", Cgroup: cg, Target: idOf(cg, e.known),
			Reason: "quell told to restore everything: originals restored", After: writesString(back)})
	}
	errs = append(errs, e.restoreNetDisk(ctx)...)
	errs = append(errs, e.restoreAllUlimits()...)
	if err := e.save(); err != nil {
		errs = append(errs, fmt.Errorf("save state: %w", err))
	}
	return errors.Join(errs...)
}

// restoreUnit hands originals to systemd for a systemd-owned unit, so that
// the unit's properties no longer carry quell's values (a daemon-reload
// would write them back into cgroupfs). Call it before the cgroupfs
// Restore; failures are logged, the cgroupfs write still happens.
func (e *Enforcer) restoreUnit(ctx context.Context, cg string, back []limits.Write) {
	if e.units == nil {
		return
	}
	res, err := limits.ParseWrites(back)
	if err != nil {
		e.log.Warn("restore: originals not expressible as systemd properties; cgroupfs only", "cgroup", cg, "err", err)
		return
	}
	if _, err := e.units.SetUnit(ctx, cg, res); err != nil && !errors.Is(err, systemd.ErrNoSuchUnit) {
		e.log.Warn("restore through systemd failed; cgroupfs only (a daemon-reload may bring quell's values back)", "cgroup", cg, "err", err)
	}
}

func isGone(err error) bool {
	return errors.Is(err, limits.ErrGone) || errors.Is(err, fs.ErrNotExist)
}
