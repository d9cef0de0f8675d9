package enforcer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/discover"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/policies"
)

// discover rescans the cgroup tree: new containers are added (with their
// runtime metadata) and classified, vanished ones dropped (their originals
// forgotten: the cgroup and its files are gone with them). A known cgroup
// made again at the same path (a restarted container: another inode) has
// its metadata re-read and its limits re-read and re-written; every known
// container's metadata is re-read once per resync, so a new init PID is
// seen even when the restart was missed.
func (e *Enforcer) discover(p *policies.Policy) int {
	found, err := discover.Walk(e.cfg.CgroupRoot, e.skip)
	found = e.dropSelf(found)
	errs := 0
	capped := errors.Is(err, discover.ErrTooMany)
	if capped && !e.walkCapped {
		e.log.Warn("too many container cgroups; the rest are not tracked", "max", discover.MaxContainers)
	}
	e.walkCapped = capped
	if err != nil && !onlyTooMany(err) {
		e.log.Warn("discover", "err", err)
		errs++
	}
	now := e.clock.Now()
	seen := make(map[string]bool, len(found))
	for _, f := range found {
		seen[f.Cgroup] = true
		t := e.known[f.Cgroup]
		switch {
		case t == nil:
			t = &tracked{found: f, foundAt: now}
			e.known[f.Cgroup] = t
			e.readMeta(t)
			e.log.Info("container found", "cgroup", f.Cgroup, "runtime", f.Runtime, "name", t.c.Name)
		case f.Ino != t.found.Ino:
			// Removed and made again at the same path: a restarted
			// container, with a new init and the runtime's limits.
			old := t.c.PID
			t.found = f
			delete(e.applied, f.Cgroup)
			e.readMeta(t)
			e.log.Info("container cgroup recreated", "cgroup", f.Cgroup, "name", t.c.Name, "old_pid", old, "pid", t.c.PID)
		case metaDue(t, now) || now.Sub(t.metaAt) >= e.cfg.Resync:
			e.readMeta(t)
		}
	}
	e.refuseDuplicateIDs()
	for _, f := range found {
		classify(p, &e.known[f.Cgroup].c)
	}
	e.classifiedWith = p
	for cg := range e.known {
		// After a failed walk a container not seen may just be in a
		// directory that could not be listed: only a cgroup whose directory
		// is really gone is dropped (and its originals forgotten).
		if !seen[cg] && (err == nil || e.cgroupGone(cg)) {
			e.log.Info("container gone", "cgroup", cg)
			delete(e.known, cg)
			delete(e.applied, cg)
			e.store.Forget(cg)
		}
	}
	return errs
}

// onlyTooMany reports whether err holds nothing but ErrTooMany.
func onlyTooMany(err error) bool {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err == discover.ErrTooMany
	}
	for _, e := range j.Unwrap() {
		if e != discover.ErrTooMany {
			return false
		}
	}
	return true
}

// readMeta (re)reads t's runtime metadata, keeping the tenant decision to
// the caller. Metadata whose state does not describe t's cgroup is refused
// (see discover.Roots.Check): the container keeps no name, labels or PID
// from it, and says why in MetaErr. Without a PID from runtime state, the
// first process in the cgroup in a mount namespace of its own stands in
// for the init.
func (e *Enforcer) readMeta(t *tracked) {
	f := t.found
	c := view.Container{ID: f.ID, Cgroup: f.Cgroup, Runtime: f.Runtime}
	r := e.cfg.Runtimes
	if r.Proc == "" {
		r.Proc = e.cfg.ProcRoot
	}
	if r.CgroupMount == "" {
		r.CgroupMount = e.cfg.CgroupRoot
	}
	m, err := r.ReadMeta(f)
	t.metaAt = e.clock.Now()
	t.noState = errors.Is(err, discover.ErrNoState) && r.StatePending(f)
	if err != nil {
		c.MetaErr = err.Error()
		quiet := errors.Is(err, discover.ErrNoState) || errors.Is(err, discover.ErrIncomplete)
		if !quiet && c.MetaErr != t.metaLog {
			e.log.Warn("read container metadata", "cgroup", f.Cgroup, "err", err)
		}
	}
	t.metaLog = c.MetaErr
	if m.PID == 0 {
		if pid, err := discover.ContainedPID(e.cfg.ProcRoot, e.cfg.CgroupRoot, f.Cgroup); err == nil {
			m.PID = pid
		}
	}
	c.Name, c.Labels, c.TrustedLabels, c.PID, c.Bundle, c.Sandbox = m.Name, m.Labels, m.Trusted, m.PID, m.Bundle, m.Sandbox
	c.Sources = m.Sources
	t.c = c
}

// refuseDuplicateIDs keeps a runtime ID's metadata on one cgroup at most:
// when several cgroups claim one ID and more than one of them kept its
// metadata, none keeps it (each is then classified by its path alone).
// State cross-checks already refuse every claimant but the cgroup the
// runtime named, so this only bites across runtimes.
func (e *Enforcer) refuseDuplicateIDs() {
	byID := map[string][]*tracked{}
	for _, t := range e.known {
		byID[t.c.ID] = append(byID[t.c.ID], t)
	}
	for id, ts := range byID {
		if len(ts) < 2 {
			continue
		}
		var cgs []string
		var kept []*tracked
		for _, t := range ts {
			cgs = append(cgs, t.c.Cgroup)
			if t.c.MetaErr == "" || strings.Contains(t.c.MetaErr, discover.ErrIncomplete.Error()) {
				kept = append(kept, t)
			}
		}
		sort.Strings(cgs)
		if len(kept) < 2 {
			continue
		}
		why := "container ID " + id + " is claimed by cgroups " + strings.Join(cgs, ", ") + ": metadata refused"
		for i, t := range kept {
			if i == 0 && t.dupLog != why {
				e.log.Warn("duplicate container ID: metadata refused", "id", id, "cgroups", strings.Join(cgs, " "))
			}
			t.c = view.Container{ID: t.c.ID, Cgroup: t.c.Cgroup, Runtime: t.c.Runtime, MetaErr: why}
			t.metaLog, t.dupLog = why, why
		}
	}
}

const (
	// metaEager: for this long after a container is found, metadata it
	// lacks is read again every pass (runc writes its state within
	// milliseconds of the cgroup; an engine API answers within a pass or
	// two).
	metaEager = 5 * time.Second
	// metaRetryMax bounds the span between later reads: they spread out
	// with the container's age (a quarter of it), so cgroups that never
	// get runtime state (bare cgroups, another tool's) cost one read per
	// metaRetryMax each, not one per pass — at 1,000 of them in the lab,
	// reading every pass cost 0.5 s of CPU a pass.
	metaRetryMax = 30 * time.Second
)

// metaDue reports whether t's metadata is missing and due to be read
// again: every pass while it is young or its runtime is still writing its
// state (see stateWait), then at spans growing with its age.
func metaDue(t *tracked, now time.Time) bool {
	if t.c.MetaErr == "" {
		return false
	}
	age := now.Sub(t.foundAt)
	if t.noState || age < metaEager {
		return true
	}
	return now.Sub(t.metaAt) >= min(age/4, metaRetryMax)
}

// retryMeta re-reads the metadata of containers that lacked it when due
// (metaDue) and re-classifies them, so a container is under its tenant's
// limits within one interval even when quelld saw its cgroup before its
// runtime state.
func (e *Enforcer) retryMeta(p *policies.Policy, now time.Time) {
	var again []*tracked
	for _, t := range e.known {
		if !metaDue(t, now) {
			continue
		}
		e.readMeta(t)
		again = append(again, t)
	}
	if len(again) == 0 {
		return
	}
	e.refuseDuplicateIDs()
	for _, t := range again {
		classify(p, &t.c)
	}
}

// skip keeps the walk out of quelld's own cgroup and quell's tenant slices
// (whose children are found as containers only when they are containers).
func (e *Enforcer) skip(rel string) bool {
	if rel == "init.scope" {
		return true
	}
	self := e.cfg.SelfCgroup
	return self != "" && rel == self
}

// dropSelf removes the container quelld itself runs in: a container
// cgroup that is quelld's own cgroup, or an ancestor of it (podman with
// crun runs the process in a "container" child of libpod-<id>.scope), or
// below it. limits.FS already refuses cgroupfs writes there, but a
// systemd-owned scope is changed through D-Bus, which FS does not see: in
// the lab, quelld in a podman container under a catch-all tenant set its
// own scope's MemoryMax and TasksMax that way.
func (e *Enforcer) dropSelf(found []discover.Found) []discover.Found {
	self := e.cfg.SelfCgroup
	if self == "" {
		return found
	}
	out := found[:0]
	for _, f := range found {
		if f.Cgroup == self || strings.HasPrefix(self, f.Cgroup+"/") || strings.HasPrefix(f.Cgroup, self+"/") {
			continue
		}
		out = append(out, f)
	}
	return out
}

// cgroupGone reports whether cg's directory no longer exists.
func (e *Enforcer) cgroupGone(cg string) bool {
	_, err := os.Stat(filepath.Join(e.cfg.CgroupRoot, cg))
	return errors.Is(err, fs.ErrNotExist)
}
